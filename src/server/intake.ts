/**
 * An accepted alert, handed to Temporal:
 * - firing → SignalWithStart of the `failover` workflow under failoverWorkflowId(cluster, incident),
 *   conflict policy USE_EXISTING (a duplicate joins the running run as a `failoverAlert` signal) and
 *   reuse policy REJECT_DUPLICATE (an incident whose run has ended is never started again: "already
 *   handled");
 * - resolved → the `failoverResolved` signal to that run if it is still running; none is started.
 * The call is the SDK's signalWithStart with the same fields, made on the workflow service directly
 * for one thing the SDK drops: the answer's `started` (a new run, or a duplicate that joined one),
 * which the audit log records.
 * Outcomes are typed: `transient` (Temporal unreachable, overloaded, timed out: answer 5xx, the sender
 * retries) apart from everything Temporal answered.
 */
import { randomUUID } from 'node:crypto';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter, encodeWorkflowIdConflictPolicy, encodeWorkflowIdReusePolicy } from '@temporalio/common';
import type { AlertEvent, FailoverInput } from '../failover/types';
import { FAILOVER_ALERT_SIGNAL, FAILOVER_RESOLVED_SIGNAL, FAILOVER_WORKFLOW_TYPE } from '../failover/ids.pure';
import { CONTROL_TASK_QUEUE } from '../temporal/taskQueues.pure';

export type IntakeAction =
  /** A new failover run. */
  | 'started'
  /** A duplicate: the running run got the alert as a signal. */
  | 'signalled'
  /** The incident's run has ended: nothing started (REJECT_DUPLICATE). */
  | 'already-handled'
  /** A resolved alert reached the running run. */
  | 'resolved-signalled'
  /** A resolved alert with no running run for its incident. */
  | 'resolved-no-run';

export type IntakeResult = { ok: true; action: IntakeAction; runId?: string } | { ok: false; transient: boolean; error: string };

/** gRPC status codes (grpc/doc/statuscodes.md). */
const GRPC = { CANCELLED: 1, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, ALREADY_EXISTS: 6, RESOURCE_EXHAUSTED: 8, ABORTED: 10, INTERNAL: 13, UNAVAILABLE: 14 } as const;
/** Codes a retry can fix. */
const TRANSIENT = new Set<number>([GRPC.UNAVAILABLE, GRPC.DEADLINE_EXCEEDED, GRPC.RESOURCE_EXHAUSTED, GRPC.ABORTED, GRPC.INTERNAL, GRPC.UNKNOWN, GRPC.CANCELLED]);

function failure(e: unknown): IntakeResult {
  const code = (e as { code?: unknown }).code;
  const message = ((e as Error).message ?? String(e)).split('\n')[0]!.slice(0, 300);
  // Anything without a gRPC code (a connection that never came up) is transient too.
  return { ok: false, transient: typeof code !== 'number' || TRANSIENT.has(code), error: `Temporal: ${message}` };
}

const deadline = (ms: number): Date => new Date(Date.now() + ms);

export async function startOrSignal(client: Client, workflowId: string, alert: AlertEvent, timeoutMs: number): Promise<IntakeResult> {
  const input: FailoverInput = { primary: { cluster: alert.cluster }, alert };
  try {
    const res = await client.connection.withDeadline(deadline(timeoutMs), () =>
      client.workflowService.signalWithStartWorkflowExecution({
        namespace: client.options.namespace,
        identity: client.options.identity,
        requestId: randomUUID(),
        workflowId,
        workflowType: { name: FAILOVER_WORKFLOW_TYPE },
        taskQueue: { name: CONTROL_TASK_QUEUE },
        input: { payloads: [defaultPayloadConverter.toPayload(input)] },
        signalName: FAILOVER_ALERT_SIGNAL,
        signalInput: { payloads: [defaultPayloadConverter.toPayload(alert)] },
        workflowIdConflictPolicy: encodeWorkflowIdConflictPolicy('USE_EXISTING'),
        workflowIdReusePolicy: encodeWorkflowIdReusePolicy('REJECT_DUPLICATE'),
      }),
    );
    return { ok: true, action: res.started ? 'started' : 'signalled', runId: res.runId ?? undefined };
  } catch (e) {
    if ((e as { code?: unknown }).code === GRPC.ALREADY_EXISTS) return { ok: true, action: 'already-handled' };
    return failure(e);
  }
}

export async function signalResolved(client: Client, workflowId: string, alert: AlertEvent, timeoutMs: number): Promise<IntakeResult> {
  try {
    await client.connection.withDeadline(deadline(timeoutMs), () => client.workflow.getHandle(workflowId).signal(FAILOVER_RESOLVED_SIGNAL, alert));
    return { ok: true, action: 'resolved-signalled' };
  } catch (e) {
    // Never started, or ended: a resolved alert has nothing to stand down.
    if (e instanceof WorkflowNotFoundError) return { ok: true, action: 'resolved-no-run' };
    return failure(e);
  }
}

/** Temporal answers (for /healthz). */
export async function temporalAnswers(client: Client, timeoutMs: number): Promise<string | undefined> {
  try {
    await client.connection.withDeadline(deadline(timeoutMs), () => client.workflowService.getSystemInfo({}));
    return undefined;
  } catch (e) {
    return ((e as Error).message ?? String(e)).split('\n')[0]!.slice(0, 200);
  }
}
