/**
 * Holds: mutual exclusion through Temporal's workflow-ID uniqueness. A hold is a workflow under a
 * fixed ID that does nothing but run (workflows/hold.ts), started with ID conflict policy FAIL, so
 * of two takers exactly one starts it; who holds it is in its memo (read with describe, no worker
 * needed). It ends by termination of the exact run that was read, so an old release never ends a
 * newer hold. Used by the failover's promotion hold and the drills' one-at-a-time lock.
 */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { LifeboatError } from '../errors';
import { CONTROL_TASK_QUEUE } from './taskQueues.pure';

/** What every hold says of its holder. */
export interface HoldBase {
  /** The workflow that holds it… */
  holder: string;
  /** …and its run (a later run under the same workflow ID is another holder). */
  holderRunId?: string;
  /** ISO time it was taken. */
  since: string;
}

export interface HoldKind {
  /** The workflow type of the hold (registered by the worker). */
  type: string;
  /** The memo key its holder is kept under. */
  memoKey: string;
  /** For messages: "the promotion hold", "the drill lock". */
  name: string;
}

export type TakeHold<H> = { taken: true; hold: H } | { taken: false; held: H };

/** The running hold under `workflowId`, with its run ID, if any. */
export async function runningHold<H extends HoldBase>(client: Client, kind: HoldKind, workflowId: string): Promise<{ hold: H; runId: string } | undefined> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.status.name !== 'RUNNING') return undefined;
    const hold = d.memo?.[kind.memoKey] as H | undefined;
    if (!hold?.holder) throw new LifeboatError('Unreachable', `${kind.name} ${workflowId} runs without saying who holds it`);
    return { hold, runId: d.runId };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/**
 * Takes the hold for `want`'s holder; idempotent (a retry of the same run gets it again). `stale`, when
 * given, says whether a hold found taken may be ended and taken over (its holder has ended).
 */
export async function takeHold<H extends HoldBase>(
  client: Client,
  kind: HoldKind,
  workflowId: string,
  want: H,
  opts: { summary: string; stale?: (held: H) => Promise<boolean>; isSelf?: (held: H) => boolean },
): Promise<TakeHold<H>> {
  const isSelf = opts.isSelf ?? ((held: H) => held.holder === want.holder && held.holderRunId === want.holderRunId);
  // A few tries at most: a hold that ended (or was ended as stale) between the refused start and the read is taken next time.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await client.workflow.start(kind.type, {
        workflowId,
        taskQueue: CONTROL_TASK_QUEUE,
        args: [want],
        memo: { [kind.memoKey]: want },
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        staticSummary: opts.summary,
      });
      return { taken: true, hold: want };
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    const running = await runningHold<H>(client, kind, workflowId);
    if (!running) continue;
    const held = running.hold;
    if (isSelf(held)) return { taken: true, hold: held };
    if (!opts.stale || !(await opts.stale(held))) return { taken: false, held };
    await endHold(client, workflowId, running.runId, `its holder ${held.holder} has ended (taken over by ${want.holder})`);
  }
  throw new LifeboatError('Unreachable', `${kind.name} ${workflowId} could be neither taken nor read: try again`);
}

/** Ends the run `runId` of the hold (a run already ended is fine). */
export async function endHold(client: Client, workflowId: string, runId: string, reason: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId, runId).terminate(reason);
    return true;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}

/** Whether the workflow run `holder`/`holderRunId` still runs (a hold's holder; without the run ID, its newest run). */
export async function holderRuns(client: Client, hold: Pick<HoldBase, 'holder' | 'holderRunId'>): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(hold.holder, hold.holderRunId).describe()).status.name === 'RUNNING';
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}
