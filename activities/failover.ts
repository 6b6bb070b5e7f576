/**
 * The failover's observations (src/failover/observe.ts), thin: the probe of a cluster, the standby
 * and its mirror, the newest verified backup set. Observations never write anything.
 */
import type { ClusterSpec } from '../src/config/spec';
import { newestVerifiedSet, observeCluster, observeStandby } from '../src/failover/observe';
import type { BackupObservation, ClusterObservation, StandbyObservation } from '../src/failover/types';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export function failoverActivities(_deps: ActivityDeps) {
  return {
    /** One direct probe of a cluster; finishes within timeoutMs (default 10 s) even when nothing answers. */
    async observeClusterActivity(input: { spec: ClusterSpec; timeoutMs?: number }): Promise<ClusterObservation> {
      return observeCluster(input.spec, { timeoutMs: input.timeoutMs });
    },

    /** The standby's health and the mirror primary → standby (positions, their age, lag when the primary answers). */
    async observeStandbyActivity(input: { primary: ClusterSpec; standby: ClusterSpec; timeoutMs?: number }): Promise<StandbyObservation> {
      return observeStandby(input.primary, input.standby, { timeoutMs: input.timeoutMs });
    },

    /** The newest backup set that covers the cluster and verifies (reads a sample of its data: heartbeats). */
    async newestVerifiedSetActivity(input: { spec: ClusterSpec }): Promise<BackupObservation & { why?: string }> {
      const phase = 'newest-verified-set';
      return withHeartbeat({ phase }, (beat) => newestVerifiedSet(input.spec, (m) => beat({ phase, subject: m })));
    },
  };
}
