/**
 * One drill at a time on a cluster: a hold (src/temporal/hold.ts) under `lock-drill-<cluster>`, taken
 * by a drill before it prepares and ended when its record is made. Visibility (the look for other
 * running drills) lags: two drills started together both found none and both applied faults. A lock
 * whose drill has ended without ending it (terminated) is stale and taken over. A drill is its workflow
 * ID (unique per drill; a reset is the same drill in a new run).
 */
import type { Client } from '@temporalio/client';
import { endHold, type HoldBase, type HoldKind, holderRuns, runningHold, takeHold, type TakeHold } from '../temporal/hold';
import { DRILL_LOCK_WORKFLOW_TYPE, drillLockWorkflowId } from './ids.pure';

export interface DrillLock extends HoldBase {
  cluster: string;
}

const LOCK: HoldKind = { type: DRILL_LOCK_WORKFLOW_TYPE, memoKey: 'drillLock', name: 'the drill lock' };

export async function takeDrillLock(client: Client, want: Omit<DrillLock, 'since'>, now = new Date()): Promise<TakeHold<DrillLock>> {
  return takeHold<DrillLock>(client, LOCK, drillLockWorkflowId(want.cluster), { ...want, since: now.toISOString() }, {
    summary: `drills of ${want.cluster}: ${want.holder} runs`,
    // A drill's workflow ID is its own (a reset gives it a new run, not a new drill): judged by that.
    isSelf: (held) => held.holder === want.holder,
    stale: async (held) => !(await holderRuns(client, { holder: held.holder })),
  });
}

/** Ends the lock of `cluster` if the drill `holder` (a workflow ID: any of its runs) holds it; true when it did. */
export async function releaseDrillLock(client: Client, cluster: string, holder: string): Promise<boolean> {
  const running = await runningHold<DrillLock>(client, LOCK, drillLockWorkflowId(cluster));
  if (!running || running.hold.holder !== holder) return false;
  return endHold(client, drillLockWorkflowId(cluster), running.runId, `drill ${holder} ended`);
}
