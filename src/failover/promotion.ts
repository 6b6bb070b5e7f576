/**
 * The promotion hold of a primary (ids.pure.ts): taken by a failover just before it stops the mirror,
 * kept after the promotion until the failback ends it. Temporal's workflow-ID uniqueness makes the
 * take atomic: two incidents of one outage (Alertmanager groups by alertname, so a broker alert and
 * a ZooKeeper alert are two incidents and two failover runs) cannot both promote, and a later
 * incident of a primary already failed over stands down instead of moving the groups back to the
 * mirror's positions and running the client-switch hooks again.
 * The hold is a workflow that runs until it is ended; who holds it is in its memo (read without a worker).
 */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { LifeboatError } from '../errors';
import { CONTROL_TASK_QUEUE } from '../temporal/taskQueues.pure';
import { endsHold, heldBySelf, PROMOTION_WORKFLOW_TYPE, type PromotionEnd, type PromotionHold, promotionWorkflowId } from './ids.pure';

export type TakeResult = { taken: true; hold: PromotionHold } | { taken: false; held: PromotionHold };
export type ReleaseResult = { released: true; hold: PromotionHold } | { released: false; why: 'not held' } | { released: false; why: 'held by another'; held: PromotionHold };

const MEMO_KEY = 'promotionHold';

/** The running hold of `primary`, if any. */
export async function promotionHeld(client: Client, primary: string): Promise<PromotionHold | undefined> {
  return (await runningHold(client, primary))?.hold;
}

async function runningHold(client: Client, primary: string): Promise<{ hold: PromotionHold; runId: string } | undefined> {
  try {
    const d = await client.workflow.getHandle(promotionWorkflowId(primary)).describe();
    if (d.status.name !== 'RUNNING') return undefined;
    const hold = d.memo?.[MEMO_KEY] as PromotionHold | undefined;
    if (!hold?.holder) throw new LifeboatError('Unreachable', `the promotion hold ${promotionWorkflowId(primary)} runs without saying who holds it`);
    return { hold, runId: d.runId };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/** Takes the hold for `want.holder`'s run; idempotent (a retry of the same run gets it again, another run under the same ID does not). */
export async function takePromotion(client: Client, want: Omit<PromotionHold, 'since'>, now = new Date()): Promise<TakeResult> {
  const workflowId = promotionWorkflowId(want.primary);
  // Twice at most: a hold that ended between the refused start and the read is taken on the second try.
  for (let attempt = 0; attempt < 2; attempt++) {
    const hold: PromotionHold = { ...want, since: now.toISOString() };
    try {
      await client.workflow.start(PROMOTION_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: CONTROL_TASK_QUEUE,
        args: [hold],
        memo: { [MEMO_KEY]: hold },
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        staticSummary: `${want.primary} failed over to ${want.standby} by ${want.holder}`,
      });
      return { taken: true, hold };
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    const held = await promotionHeld(client, want.primary);
    if (held) return heldBySelf(held, want.holder, want.holderRunId) ? { taken: true, hold: held } : { taken: false, held };
  }
  throw new LifeboatError('Unreachable', `the promotion hold ${workflowId} could be neither taken nor read: try again`);
}

/**
 * Ends the hold of `primary` (only `end.holder`'s, or one of `end.standby`, when given); idempotent.
 * The run read is terminated by its run ID, so a hold taken since by another failover is never ended,
 * and no worker is needed (an operator's release works with the workers down).
 */
export async function releasePromotion(client: Client, primary: string, end: PromotionEnd): Promise<ReleaseResult> {
  const running = await runningHold(client, primary);
  if (!running) return { released: false, why: 'not held' };
  if (!endsHold(end, running.hold)) return { released: false, why: 'held by another', held: running.hold };
  try {
    await client.workflow.getHandle(promotionWorkflowId(primary), running.runId).terminate(`${end.reason} (by ${end.by})`);
  } catch (e) {
    // Ended in between: nothing is held any more.
    if (e instanceof WorkflowNotFoundError) return { released: false, why: 'not held' };
    throw e;
  }
  return { released: true, hold: running.hold };
}
