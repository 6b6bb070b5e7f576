/** A drill's faults and their reverts, and the target's inventory (issue 16). Thin: src/drills/faults.ts, src/drills/inventory.ts. */
import type { ClusterSpec } from '../src/config/spec';
import { LifeboatError } from '../src/errors';
import type { AppliedFault, FaultSpec, Inventory, RevertMode, RevertResult } from '../src/drills/records';
import type { ActivityDeps } from './deps';

const notYet = (what: string) => new LifeboatError('InvalidInput', `${what} is not built yet`);

export function drillFaultActivities(_deps: ActivityDeps) {
  return {
    /** The target's inventory (topics, groups, znodes, broker configs); a read, never a write. */
    async drillInventoryActivity(_input: { spec: ClusterSpec; drillId: string; excludeTopics?: string[] }): Promise<Inventory> {
      throw notYet('drillInventoryActivity');
    },
    /** Applies one fault (broker faults on the broker's host task queue); idempotent: a second run finds it applied and returns the same record. */
    async drillApplyFaultActivity(_input: { spec: ClusterSpec; drillId: string; fault: FaultSpec }): Promise<AppliedFault> {
      throw notYet('drillApplyFaultActivity');
    },
    /** Undoes an applied fault (restore) or drops what it kept (discard); runs twice without harm. */
    async drillRevertFaultActivity(_input: { spec: ClusterSpec; drillId: string; applied: AppliedFault; mode: RevertMode }): Promise<RevertResult> {
      throw notYet('drillRevertFaultActivity');
    },
  };
}
