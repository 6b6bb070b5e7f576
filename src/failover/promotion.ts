/**
 * The promotion hold of a primary (ids.pure.ts; a hold of src/temporal/hold.ts): taken by a failover
 * just before it stops the mirror, kept after the promotion until the failback ends it. Two incidents
 * of one outage (Alertmanager groups by alertname, so a broker alert and a ZooKeeper alert are two
 * incidents and two failover runs) cannot both promote, and a later incident of a primary already
 * failed over stands down instead of moving the groups back to the mirror's positions and running the
 * client-switch hooks again. It is never taken over: a holder that ended may have promoted.
 */
import type { Client } from '@temporalio/client';
import { endHold, type HoldKind, runningHold, takeHold, type TakeHold } from '../temporal/hold';
import { endsHold, PROMOTION_WORKFLOW_TYPE, type PromotionEnd, type PromotionHold, promotionWorkflowId } from './ids.pure';

export type TakeResult = TakeHold<PromotionHold>;
export type ReleaseResult = { released: true; hold: PromotionHold } | { released: false; why: 'not held' } | { released: false; why: 'held by another'; held: PromotionHold };

const PROMOTION: HoldKind = { type: PROMOTION_WORKFLOW_TYPE, memoKey: 'promotionHold', name: 'the promotion hold' };

/** The running hold of `primary`, if any. */
export async function promotionHeld(client: Client, primary: string): Promise<PromotionHold | undefined> {
  return (await runningHold<PromotionHold>(client, PROMOTION, promotionWorkflowId(primary)))?.hold;
}

/** Takes the hold for `want.holder`'s run; idempotent (a retry of the same run gets it again, another run under the same ID does not). */
export async function takePromotion(client: Client, want: Omit<PromotionHold, 'since'>, now = new Date()): Promise<TakeResult> {
  return takeHold<PromotionHold>(client, PROMOTION, promotionWorkflowId(want.primary), { ...want, since: now.toISOString() }, { summary: `${want.primary} failed over to ${want.standby} by ${want.holder}` });
}

/**
 * Ends the hold of `primary` (only `end.holder`'s, or one of `end.standby`, when given); idempotent.
 * The run read is terminated by its run ID, so a hold taken since by another failover is never ended,
 * and no worker is needed (an operator's release works with the workers down).
 */
export async function releasePromotion(client: Client, primary: string, end: PromotionEnd): Promise<ReleaseResult> {
  const running = await runningHold<PromotionHold>(client, PROMOTION, promotionWorkflowId(primary));
  if (!running) return { released: false, why: 'not held' };
  if (!endsHold(end, running.hold)) return { released: false, why: 'held by another', held: running.hold };
  if (!(await endHold(client, promotionWorkflowId(primary), running.runId, `${end.reason} (by ${end.by})`))) return { released: false, why: 'not held' };
  return { released: true, hold: running.hold };
}
