/**
 * A drill's control plane (issue 16): which drills run (Temporal visibility, LifeboatKind=drill),
 * stopping them (DRILL_STOP_SIGNAL, then waiting until each has ended: the workflow reverts its
 * faults before it ends), and telling people a drill runs (an info alert to the Alertmanagers).
 * Shared by the activities (drillOthersRunningActivity, drillNotifyActivity) and `lifeboat drill stop`.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { sleep } from '../core/poll';
import { LifeboatError } from '../errors';
import { type PostableAlert, postAlerts, type AlertDelivery } from '../monitoring/alerts';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND } from '../temporal/searchAttributes';
import { DRILL_KIND, DRILL_STOP_SIGNAL } from './ids.pure';

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The visibility query of running drills (of one cluster). Pure. */
export function runningDrillsQuery(cluster?: string): string {
  return [`${LIFEBOAT_KIND.name} = ${quote(DRILL_KIND)}`, ...(cluster ? [`${LIFEBOAT_CLUSTER.name} = ${quote(cluster)}`] : []), `ExecutionStatus = 'Running'`].join(' AND ');
}

export interface RunningDrill {
  workflowId: string;
  runId: string;
  cluster?: string;
  startTime: string;
}

const clusterOf = (w: WorkflowExecutionInfo): string | undefined => {
  const v = w.typedSearchAttributes?.get(LIFEBOAT_CLUSTER);
  return typeof v === 'string' ? v : undefined;
};

/**
 * The running drills (of one cluster), oldest first. Visibility is eventually consistent: a drill
 * started a moment ago can be missing for a second on a loaded server.
 */
export async function runningDrills(client: Client, cluster?: string): Promise<RunningDrill[]> {
  const out: RunningDrill[] = [];
  for await (const w of client.workflow.list({ query: runningDrillsQuery(cluster) })) {
    const c = clusterOf(w);
    out.push({ workflowId: w.workflowId, runId: w.runId, ...(c ? { cluster: c } : {}), startTime: w.startTime.toISOString() });
  }
  return out.sort((a, b) => a.startTime.localeCompare(b.startTime) || a.workflowId.localeCompare(b.workflowId));
}

/** What `drill stop` saw for one drill. */
export interface StopOutcome {
  workflowId: string;
  runId?: string;
  /** Its status at the end of the wait: completed, failed, canceled, terminated, timed-out, or still running. */
  status: string;
  /** Not running when asked: nothing was sent. */
  alreadyEnded: boolean;
  signalled: boolean;
  /** Signal sent → run closed, ms. */
  tookMs?: number;
  /** From the drill's result: its faults' reverts (mode and whether there was anything to undo). */
  reverts?: { fault: string; mode: string; alreadyDone: boolean }[];
  error?: string;
}

export interface StopOptions {
  reason?: string;
  by?: string;
  /** How long to wait for each drill to end (default 120 s). */
  timeoutMs?: number;
  /** Called as each drill is signalled and as each ends. */
  onEvent?: (line: string) => void;
}

const statusName = (name: string) => name.toLowerCase().replace(/_/g, '-');

/** The stop signal's argument: who asked and why (the workflow records it as the reason the drill stopped). */
export interface DrillStopRequest {
  reason: string;
  by?: string;
}

/**
 * Stops one drill: sends DRILL_STOP_SIGNAL (the workflow reverts at once and records the drill as
 * stopped), then waits until the run has ended. A run that is not a drill is refused; one that has
 * already ended is reported as such, nothing sent.
 */
export async function stopDrill(client: Client, workflowId: string, opts: StopOptions = {}): Promise<StopOutcome> {
  const handle = client.workflow.getHandle(workflowId);
  let desc;
  try {
    desc = await handle.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new LifeboatError('WorkflowNotFound', `no workflow ${workflowId} in namespace ${client.options.namespace}`);
    throw e;
  }
  if (desc.type !== 'drill') throw new LifeboatError('InvalidInput', `${workflowId} is a ${desc.type} run, not a drill: lifeboat drill stop only stops drills`);
  if (desc.status.name !== 'RUNNING') {
    opts.onEvent?.(`${workflowId}: not running (${statusName(desc.status.name)}), nothing to stop`);
    return { workflowId, runId: desc.runId, status: statusName(desc.status.name), alreadyEnded: true, signalled: false };
  }
  const request: DrillStopRequest = { reason: opts.reason ?? 'stopped with lifeboat drill stop', ...(opts.by ? { by: opts.by } : {}) };
  const t0 = Date.now();
  // Signal this run, not a later one that might reuse the ID.
  const run = client.workflow.getHandle(workflowId, desc.runId);
  try {
    await run.signal(DRILL_STOP_SIGNAL, request);
  } catch (e) {
    if (!(e instanceof WorkflowNotFoundError)) throw e;
    // Ended between describe and signal.
  }
  opts.onEvent?.(`${workflowId}: stop sent, waiting for it to revert and end`);
  const deadline = t0 + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const d = await run.describe();
    if (d.status.name !== 'RUNNING') {
      const tookMs = Date.now() - t0;
      const outcome: StopOutcome = { workflowId, runId: desc.runId, status: statusName(d.status.name), alreadyEnded: false, signalled: true, tookMs };
      if (d.status.name === 'COMPLETED') {
        const record = (await run.result().catch(() => undefined)) as { reverts?: { fault: { kind: string }; mode: string; alreadyDone: boolean }[] } | undefined;
        if (record?.reverts) outcome.reverts = record.reverts.map((r) => ({ fault: r.fault.kind, mode: r.mode, alreadyDone: r.alreadyDone }));
      }
      opts.onEvent?.(`${workflowId}: ${outcome.status} after ${(tookMs / 1000).toFixed(1)} s${outcome.reverts ? `, ${outcome.reverts.length} fault(s) reverted` : ''}`);
      return outcome;
    }
    if (Date.now() > deadline) {
      const error = `still running ${Math.round((Date.now() - t0) / 1000)} s after the stop signal (see it in the Temporal UI; lifeboat status ${workflowId})`;
      opts.onEvent?.(`${workflowId}: ${error}`);
      return { workflowId, runId: desc.runId, status: 'running', alreadyEnded: false, signalled: true, error };
    }
    await sleep(250);
  }
}

/** Stops every running drill (of one cluster) at once and waits for each; [] when none runs. */
export async function stopAllDrills(client: Client, cluster: string | undefined, opts: StopOptions = {}): Promise<StopOutcome[]> {
  const drills = await runningDrills(client, cluster);
  return Promise.all(drills.map((d) => stopDrill(client, d.workflowId, opts)));
}

// ───────────────────────────── notifying people ─────────────────────────────

export const DRILL_ALERT_NAME = 'LifeboatDrillRunning';
export const DRILL_ALERT_SOURCE = 'lifeboat-drill';
/** The phases a drill notifies (§8.3); posting one resolves the others, so a drill has one alert up at a time. */
export const DRILL_PHASES = ['prepare', 'start', 'execute', 'verify', 'review'] as const;

export interface DrillNotice {
  cluster: string;
  drillId: string;
  scenario: string;
  phase: string;
  summary: string;
  /** The drill ended: every phase's alert resolved. */
  ended?: boolean;
  /** Seconds a firing alert stays up if no later notice comes (a drill whose worker is gone); default 12 h. */
  ttlSeconds?: number;
  /** A link to the drill's run (the Temporal UI). */
  generatorURL?: string;
  now?: Date;
}

/**
 * The alerts of a drill notice (pure): the phase's own firing (info severity) unless the drill
 * ended, every other phase of the same drill resolved. An alert's identity is its labels.
 */
export function drillAlerts(n: DrillNotice): PostableAlert[] {
  const now = n.now ?? new Date();
  const at = now.toISOString();
  const before = new Date(now.getTime() - 1000).toISOString();
  const until = new Date(now.getTime() + (n.ttlSeconds ?? 12 * 3600) * 1000).toISOString();
  const phases = [...new Set<string>([...DRILL_PHASES, n.phase])];
  return phases.map((phase) => {
    const firing = !n.ended && phase === n.phase;
    return {
      labels: { alertname: DRILL_ALERT_NAME, cluster: n.cluster, drill: n.drillId, scenario: n.scenario, phase, severity: 'info', source: DRILL_ALERT_SOURCE },
      annotations: { summary: n.summary, ...(n.ended ? { ended: 'true' } : {}) },
      startsAt: firing ? at : before,
      endsAt: firing ? until : at,
      ...(n.generatorURL ? { generatorURL: n.generatorURL } : {}),
    };
  });
}

/** Posts a drill notice to the Alertmanagers; never throws for one that fails (each delivery says). */
export async function notifyDrill(urls: string[], n: DrillNotice): Promise<AlertDelivery[]> {
  if (!urls.length) return [];
  return postAlerts(urls, n.cluster, drillAlerts(n));
}
