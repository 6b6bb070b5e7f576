/** A drill's control-plane activities (issue 16): other drills running on the same cluster, and notifying people. */
import type { ClusterSpec } from '../src/config/spec';
import { LifeboatError } from '../src/errors';
import type { ActivityDeps } from './deps';

const notYet = (what: string) => new LifeboatError('InvalidInput', `${what} is not built yet`);

export function drillControlActivities(_deps: ActivityDeps) {
  return {
    /** Workflow IDs of other drills running on the cluster (Temporal visibility: LifeboatKind=drill, LifeboatCluster). */
    async drillOthersRunningActivity(_input: { cluster: string; selfWorkflowId: string }): Promise<string[]> {
      throw notYet('drillOthersRunningActivity');
    },
    /** Tells people a drill phase began or ended (an info alert to the Alertmanagers; resolved at the drill's end). */
    async drillNotifyActivity(_input: { spec: ClusterSpec; drillId: string; phase: string; summary: string; ended?: boolean }): Promise<{ delivered: number }> {
      throw notYet('drillNotifyActivity');
    },
  };
}
