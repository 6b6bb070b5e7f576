/**
 * Starting and following Lifeboat runs, for every entry point (the CLI, the HTTP server): a client
 * from Temporal's env conventions, a run started under its per-target workflow ID (a second run of
 * one target is refused, not queued), its description, its progress while it runs, and its result
 * with a failure mapped to the LifeboatError it carries. Nothing here prints: callers get progress
 * through a callback and draw it as they like.
 *
 * Runs are typed by workflow function: the workflow's name is a key of the workflows module (its
 * export name is its Temporal workflow type), so the arguments and the result are that function's,
 * and a renamed or removed workflow fails to compile. Only types come from workflows/.
 */
import {
  Client,
  Connection,
  type WorkflowExecutionDescription,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { defaultPayloadConverter, type SearchAttributePair } from '@temporalio/common';
import type * as workflows from '../../workflows';
import type { RunStatus } from '../../workflows/support/tracker';
import { parseProgress, type Progress } from '../core/progress';
import { abortReason, sleep } from '../core/poll';
import { type ErrorType, isErrorType, LifeboatError } from '../errors';
import { temporalSettings, type TemporalSettings, temporalUnreachable } from './connection';
import { CONTROL_TASK_QUEUE } from './taskQueues.pure';

/** Every workflow the worker registers, by its workflow type. */
export type LifeboatWorkflows = typeof workflows;
export type WorkflowName = keyof LifeboatWorkflows & string;
export type WorkflowArgs<N extends WorkflowName> = Parameters<LifeboatWorkflows[N]>;
export type WorkflowResult<N extends WorkflowName> = Awaited<ReturnType<LifeboatWorkflows[N]>>;

/** A connected client with the settings it came from (namespace, UI link base). */
export interface TemporalClient {
  client: Client;
  settings: TemporalSettings;
  close(): Promise<void>;
}

/** Connects from the env conventions (src/temporal/connection.ts); an unreachable server is one line, exit 18. */
export async function connectTemporal(settings: TemporalSettings = temporalSettings()): Promise<TemporalClient> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...settings.connection, connectTimeout: 5000 });
  } catch (e) {
    throw temporalUnreachable(settings.address, e);
  }
  return { client: new Client({ connection, namespace: settings.namespace }), settings, close: () => connection.close() };
}

export interface StartRunOptions<N extends WorkflowName> {
  /** The per-target ID (`recover-<cluster>`, `backup-<cluster>`): one run of it at a time. */
  workflowId: string;
  args: WorkflowArgs<N>;
  /** Default: the control queue. */
  taskQueue?: string;
  /** The one line the Temporal UI shows for the run. */
  summary?: string;
  memo?: Record<string, unknown>;
  typedSearchAttributes?: SearchAttributePair[];
}

export interface StartedRun {
  workflowId: string;
  runId: string;
}

/**
 * Starts a run under its per-target workflow ID with conflict policy FAIL: while one runs, a second
 * is refused with UnsafeTarget (exit 15) naming the running one, never started beside it.
 */
export async function startRun<N extends WorkflowName>(client: Client, workflow: N, opts: StartRunOptions<N>): Promise<StartedRun> {
  try {
    const handle = await client.workflow.start<LifeboatWorkflows[N]>(workflow, {
      taskQueue: opts.taskQueue ?? CONTROL_TASK_QUEUE,
      workflowId: opts.workflowId,
      args: opts.args,
      workflowIdConflictPolicy: 'FAIL',
      ...(opts.summary !== undefined ? { staticSummary: opts.summary } : {}),
      ...(opts.memo ? { memo: opts.memo } : {}),
      ...(opts.typedSearchAttributes ? { typedSearchAttributes: opts.typedSearchAttributes } : {}),
    });
    return { workflowId: opts.workflowId, runId: handle.firstExecutionRunId };
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) {
      throw new LifeboatError(
        'UnsafeTarget',
        `${opts.workflowId} is already running — only one at a time per cluster. Follow it with "lifeboat status ${opts.workflowId}" or wait for it to end.`,
      );
    }
    throw e;
  }
}

/** A run's handle and description; a workflow ID that does not exist is one clear line (exit 14). */
export async function describeRun(client: Client, workflowId: string): Promise<{ handle: WorkflowHandle; desc: WorkflowExecutionDescription }> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    return { handle, desc: await handle.describe() };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new LifeboatError('WorkflowNotFound', `no workflow ${workflowId} in namespace ${client.options.namespace}`);
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

/** What a running activity heartbeats: typed progress, and what it waits for ("ZooKeeper h:2181 (connection refused)"). */
export interface ActivityBeat {
  activity: string;
  progress?: Progress;
  waiting?: string;
}

/** The running activities' latest heartbeat details, read as data from another process (never trusted to have a shape). */
export function activityBeats(desc: WorkflowExecutionDescription): ActivityBeat[] {
  const beats: ActivityBeat[] = [];
  for (const a of desc.raw.pendingActivities ?? []) {
    const payload = a.heartbeatDetails?.payloads?.[0];
    let details: unknown;
    try {
      details = payload ? defaultPayloadConverter.fromPayload(payload as never) : undefined;
    } catch {
      /* details in an encoding we do not read */
    }
    const waiting = (details as { waiting?: unknown } | undefined)?.waiting;
    const progress = parseProgress(details);
    beats.push({ activity: a.activityType?.name ?? '', ...(progress ? { progress } : {}), ...(typeof waiting === 'string' ? { waiting } : {}) });
  }
  return beats;
}

/** One look at a running run, as a follower's callback gets it. */
export interface RunProgress {
  workflowId: string;
  /** The run's `status` query answer (step, plan, approval it waits for). */
  status: RunStatus;
  /** The newest typed progress: a running activity's heartbeat, else the status query's own. */
  progress?: Progress;
  /** What a running activity waits for, when it says. */
  waiting?: string;
}

/** Reads one RunProgress: the status query and, unless an approval is awaited, the running activities' heartbeats. */
export async function runProgress(client: Client, workflowId: string): Promise<RunProgress> {
  const handle = client.workflow.getHandle(workflowId);
  const status = await handle.query<RunStatus>('status');
  const beats = status.awaitingApproval ? [] : activityBeats(await handle.describe());
  const progress = beats.find((b) => b.progress)?.progress ?? parseProgress(status.progress);
  const waiting = beats.find((b) => b.waiting)?.waiting;
  return { workflowId, status, ...(progress ? { progress } : {}), ...(waiting ? { waiting } : {}) };
}

export interface FollowOptions {
  /** Called with each look that differs from the last one (a new step, approval, progress or wait). */
  onProgress?: (update: RunProgress) => void;
  /** Between looks (default 1 s). */
  intervalMs?: number;
  /** Stops following (not the run): rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Waits for a run's result, reporting its progress meanwhile; a failed run throws the LifeboatError
 * its failure carries (workflowFailure). Progress stops as soon as the result is in.
 */
export async function followRun<N extends WorkflowName>(client: Client, workflowId: string, opts: FollowOptions = {}): Promise<WorkflowResult<N>> {
  const handle = client.workflow.getHandle<LifeboatWorkflows[N]>(workflowId);
  const stop = new AbortController();
  const outer = opts.signal;
  const onOuterAbort = () => stop.abort(abortReason(outer!));
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const watching = opts.onProgress ? watch(client, workflowId, opts.onProgress, opts.intervalMs ?? 1000, stop.signal) : Promise.resolve();
  try {
    const result = outer ? await client.withAbortSignal(stop.signal, () => handle.result()) : await handle.result();
    return result as WorkflowResult<N>;
  } catch (e) {
    if (outer?.aborted) throw abortReason(outer);
    throw workflowFailure(e, workflowId);
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
    stop.abort();
    await watching;
  }
}

async function watch(client: Client, workflowId: string, onProgress: (u: RunProgress) => void, intervalMs: number, signal: AbortSignal): Promise<void> {
  let last = '';
  while (!signal.aborted) {
    try {
      const update = await runProgress(client, workflowId);
      const key = JSON.stringify([update.status.step, update.status.awaitingApproval, update.progress, update.waiting]);
      if (key !== last && !signal.aborted) {
        last = key;
        onProgress(update);
      }
    } catch {
      /* not started yet, finished, a query the worker could not answer now, or the callback failed: progress never ends the wait */
    }
    await sleep(intervalMs, signal).catch(() => undefined);
  }
}
