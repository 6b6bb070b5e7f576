/**
 * What the workflow-facing commands share: a Temporal client from the env conventions, starting a
 * run under its per-target workflow ID (a second recovery of one cluster is refused clearly), and
 * following a run's `status` query so people see progress while they wait.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { type ErrorType, isErrorType, LifeboatError } from '../errors';
import { temporalSettings, type TemporalSettings, temporalUnreachable, workflowUiLink } from '../temporal/connection';
import type { Output } from './output';

export interface CliTemporal {
  client: Client;
  settings: TemporalSettings;
  close(): Promise<void>;
}

export async function connectTemporal(): Promise<CliTemporal> {
  const settings = temporalSettings();
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...settings.connection, connectTimeout: 5000 });
  } catch (e) {
    throw temporalUnreachable(settings.address, e);
  }
  return { client: new Client({ connection, namespace: settings.namespace }), settings, close: () => connection.close() };
}

export async function startUnique(
  t: CliTemporal,
  workflow: string,
  workflowId: string,
  args: unknown[],
  opts: { taskQueue: string; summary: string },
): Promise<string> {
  try {
    const handle = await t.client.workflow.start(workflow, {
      taskQueue: opts.taskQueue,
      workflowId,
      args,
      workflowIdConflictPolicy: 'FAIL',
      staticSummary: opts.summary,
    });
    return handle.firstExecutionRunId;
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) {
      throw new LifeboatError(
        'UnsafeTarget',
        `${workflowId} is already running — only one at a time per cluster. Follow it with "lifeboat status ${workflowId}" or wait for it to end.`,
      );
    }
    throw e;
  }
}

/** A run's handle and description; a workflow ID that does not exist is one clear line (exit 14). */
export async function describeRun(t: CliTemporal, workflowId: string) {
  const handle = t.client.workflow.getHandle(workflowId);
  try {
    return { handle, desc: await handle.describe() };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new LifeboatError('WorkflowNotFound', `no workflow ${workflowId} in namespace ${t.settings.namespace}`);
    throw e;
  }
}

/**
 * A failed run as one line with the failure's own type (workflow → activity → cause) and its exit
 * code; a failure of no Lifeboat type is a plain error (exit 1); other errors as they are.
 */
export function workflowFailure(e: unknown, workflowId: string): unknown {
  if (!(e instanceof WorkflowFailedError)) return e;
  let type: ErrorType | undefined;
  let message = e.message;
  for (let c = e.cause as { message?: string; type?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) {
    if (c.message) message = c.message;
    if (isErrorType(c.type)) type = c.type;
  }
  return type ? new LifeboatError(type, `${workflowId} failed: ${message}`) : new Error(`${workflowId} failed: ${message}`);
}

interface StatusLike {
  step: string;
  awaitingApproval?: { question: string; deadline: string };
  progress?: unknown;
}

/** What a running activity says it waits for (`waiting` in its heartbeat, e.g. "ZooKeeper h:2181 (connection refused)"). */
async function waitingFor(handle: ReturnType<Client['workflow']['getHandle']>): Promise<string | undefined> {
  const desc = await handle.describe();
  for (const a of desc.raw.pendingActivities ?? []) {
    const payload = a.heartbeatDetails?.payloads?.[0];
    try {
      const details = payload ? (defaultPayloadConverter.fromPayload(payload as never) as { waiting?: unknown }) : undefined;
      if (typeof details?.waiting === 'string') return details.waiting;
    } catch {
      /* details of another shape */
    }
  }
  return undefined;
}

/** Waits for the result while printing each new step (and approval requests) as progress. */
export async function follow<T>(t: CliTemporal, workflowId: string, out: Output): Promise<T> {
  const handle = t.client.workflow.getHandle(workflowId);
  out.progress(`${workflowId}: ${workflowUiLink(t.settings, workflowId) ?? ''}`, { workflowId, ui: workflowUiLink(t.settings, workflowId) });
  let last = '';
  let done = false;
  let wake = () => {};
  const poll = (async () => {
    while (!done) {
      try {
        const s = await handle.query<StatusLike>('status');
        const waiting = s.awaitingApproval ? undefined : await waitingFor(handle);
        const line = s.awaitingApproval
          ? `waiting for approval: ${s.awaitingApproval.question} — lifeboat approve ${workflowId}`
          : `step: ${s.step}${waiting ? ` — waiting for ${waiting}` : ''}`;
        if (line !== last) {
          out.progress(`${workflowId}: ${line}`, { workflowId, step: s.step, awaitingApproval: s.awaitingApproval, ...(waiting ? { waiting } : {}) });
          last = line;
        }
      } catch {
        /* not started yet, or finished */
      }
      // Cut short when the run ends: the command returns as soon as the result is in.
      await new Promise<void>((r) => {
        if (done) return r();
        const timer = setTimeout(r, 1000);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
  })();
  try {
    return (await handle.result()) as T;
  } catch (e) {
    throw workflowFailure(e, workflowId);
  } finally {
    done = true;
    wake();
    await poll;
  }
}
