/**
 * The tiered backup plan as Temporal Schedules: one schedule per tier and cluster
 * (`lifeboat-backup-<cluster>-<tier>`), each starting the `backup` workflow. `applySchedules` makes
 * the server match the plan (create, update what differs, optionally delete tiers no longer planned),
 * so it can be re-run after every edit of the cluster spec. Overlap is SKIP (a run that comes due
 * while the tier's previous one still runs is dropped, not queued) and the catch-up window is
 * explicit (design.md).
 */
import {
  type CalendarSpec,
  type CalendarSpecDescription,
  type Client,
  type DayOfWeek,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptions,
  ScheduleNotFoundError,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import { invalidParts } from '../backup/plan.pure';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import { TASK_QUEUE } from './connection';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND } from './searchAttributes';

export const SCHEDULE_TIERS = ['hourly', 'daily', 'weekly', 'monthly'] as const;
export type ScheduleTier = (typeof SCHEDULE_TIERS)[number];

const ID_PREFIX = 'lifeboat-backup-';
export const scheduleId = (cluster: string, tier: ScheduleTier): string => `${ID_PREFIX}${cluster}-${tier}`;

/** The cluster and tier a Lifeboat schedule ID names (the tier is the last segment, so any cluster name parses). */
export function parseScheduleId(id: string): { cluster: string; tier: ScheduleTier } | undefined {
  const m = /^lifeboat-backup-([a-z0-9][a-z0-9-]*)-(hourly|daily|weekly|monthly)$/.exec(id);
  return m ? { cluster: m[1]!, tier: m[2] as ScheduleTier } : undefined;
}

export function isScheduleTier(t: string): t is ScheduleTier {
  return (SCHEDULE_TIERS as readonly string[]).includes(t);
}

interface TierTiming {
  /** 0–59 */
  minute: number;
  /** 0–23, or every hour */
  hour: number | '*';
  dayOfWeek?: DayOfWeek;
  dayOfMonth?: number;
  incremental: boolean;
  catchupWindowMs: number;
  text: string;
}

// Hourly runs at :15 so it never starts together with the full backups at the top of the hour.
const TIMING: Record<ScheduleTier, TierTiming> = {
  hourly: { minute: 15, hour: '*', incremental: true, catchupWindowMs: 10 * 60_000, text: 'every hour at :15' },
  daily: { minute: 0, hour: 1, incremental: false, catchupWindowMs: 60 * 60_000, text: 'every day at 01:00' },
  weekly: { minute: 0, hour: 2, dayOfWeek: 'SUNDAY', incremental: false, catchupWindowMs: 60 * 60_000, text: 'every Sunday at 02:00' },
  monthly: { minute: 0, hour: 3, dayOfMonth: 1, incremental: false, catchupWindowMs: 60 * 60_000, text: 'on the 1st of every month at 03:00' },
};

/** The part of workflows/backup.ts's BackupInput a schedule sets (src/ does not import workflows/; a test keeps them in step). */
export interface ScheduledBackupInput {
  spec: ClusterSpec;
  tier: ScheduleTier;
  incremental: boolean;
  logdirMode: 'hot';
  parts?: string[];
}

export interface PlanOptions {
  /** Default: all four. */
  tiers?: ScheduleTier[];
  /** Parts of every scheduled backup (default: the workflow's, i.e. everything the spec has). */
  parts?: string[];
  /** IANA time zone of the calendar times (default UTC). */
  timezone?: string;
}

export interface TierSchedule {
  id: string;
  cluster: string;
  tier: ScheduleTier;
  incremental: boolean;
  /** For people: "every hour at :15 UTC, incremental". */
  description: string;
  options: ScheduleOptions;
}

const range = <T>(start: T, end: T = start) => [{ start, end, step: 1 }];

/** A tier's calendar in the fully expanded form the server describes, so it compares field by field. */
function calendarOf(t: TierTiming, tier: ScheduleTier): CalendarSpecDescription {
  return {
    second: range(0),
    minute: range(t.minute),
    hour: t.hour === '*' ? range(0, 23) : range(t.hour),
    dayOfMonth: t.dayOfMonth === undefined ? range(1, 31) : range(t.dayOfMonth),
    month: range('JANUARY', 'DECEMBER'),
    year: [],
    dayOfWeek: t.dayOfWeek === undefined ? range('SUNDAY', 'SATURDAY') : range(t.dayOfWeek),
    comment: `lifeboat ${tier} backup`,
  };
}

/** The schedules a cluster should have. Pure; refuses what the scheduled runs would fail on anyway. */
export function planSchedules(spec: ClusterSpec, opts: PlanOptions = {}): TierSchedule[] {
  if (!spec.repository) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository section, so there is nothing to back up into`);
  const tiers = opts.tiers ?? [...SCHEDULE_TIERS];
  const badTiers = tiers.filter((t) => !isScheduleTier(t));
  if (badTiers.length) throw new LifeboatError('InvalidInput', `unknown schedule tiers: ${badTiers.join(', ')} (tiers: ${SCHEDULE_TIERS.join(', ')})`);
  if (!tiers.length) throw new LifeboatError('InvalidInput', 'no tiers to schedule');
  if (opts.parts) {
    if (!opts.parts.length) throw new LifeboatError('InvalidInput', 'an empty parts list');
    const bad = invalidParts(spec, opts.parts);
    if (bad.length) throw new LifeboatError('InvalidInput', `unknown backup parts for ${spec.name}: ${bad.join(', ')}`);
  }
  const timezone = opts.timezone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new LifeboatError('InvalidInput', `unknown time zone "${timezone}" (an IANA name such as UTC or Europe/Berlin)`);
  }

  return SCHEDULE_TIERS.filter((t) => tiers.includes(t)).map((tier) => {
    const timing = TIMING[tier];
    const id = scheduleId(spec.name, tier);
    const kind = timing.incremental ? 'incremental' : 'full';
    // Cold log-dir copies stop brokers; a schedule never does that.
    const input: ScheduledBackupInput = { spec, tier, incremental: timing.incremental, logdirMode: 'hot', ...(opts.parts ? { parts: opts.parts } : {}) };
    const attributes = [
      { key: LIFEBOAT_CLUSTER, value: spec.name },
      { key: LIFEBOAT_KIND, value: 'backup' },
    ];
    return {
      id,
      cluster: spec.name,
      tier,
      incremental: timing.incremental,
      description: `${timing.text} ${timezone}, ${kind}`,
      options: {
        scheduleId: id,
        spec: { calendars: [calendarOf(timing, tier) as CalendarSpec], timezone },
        action: {
          type: 'startWorkflow',
          workflowType: 'backup',
          // The server appends the scheduled time, so every run has its own ID.
          workflowId: `backup-${spec.name}-${tier}`,
          taskQueue: TASK_QUEUE,
          args: [input],
          memo: { cluster: spec.name, tier, schedule: id },
          typedSearchAttributes: attributes,
          staticSummary: `${tier} ${kind} backup of ${spec.name} (schedule ${id})`,
        },
        policies: { overlap: 'SKIP', catchupWindow: timing.catchupWindowMs, pauseOnFailure: false },
        memo: { cluster: spec.name, tier },
        typedSearchAttributes: attributes,
      },
    };
  });
}

/** JSON with sorted keys and undefined dropped: how payloads come back from the server. */
function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );
}

type Comparable = Record<string, unknown>;

function comparableOfPlan(s: TierSchedule): Comparable {
  const o = s.options;
  const a = o.action;
  return {
    calendars: o.spec.calendars,
    intervals: [],
    timezone: o.spec.timezone,
    overlap: o.policies?.overlap,
    catchupWindow: o.policies?.catchupWindow,
    pauseOnFailure: o.policies?.pauseOnFailure,
    workflowType: a.workflowType,
    workflowId: a.workflowId,
    taskQueue: a.taskQueue,
    args: a.args,
    memo: a.memo,
    summary: a.staticSummary,
    cluster: s.cluster,
    kind: 'backup',
  };
}

function keyword(sa: ScheduleDescription['action']['typedSearchAttributes'], name: string): unknown {
  if (!sa) return undefined;
  const pairs = Array.isArray(sa) ? sa : sa.getAll();
  return pairs.find((p) => p.key.name === name)?.value;
}

function comparableOfLive(d: ScheduleDescription): Comparable {
  const a = d.action;
  return {
    calendars: d.spec.calendars ?? [],
    intervals: d.spec.intervals ?? [],
    timezone: d.spec.timezone,
    overlap: d.policies.overlap,
    catchupWindow: d.policies.catchupWindow,
    pauseOnFailure: d.policies.pauseOnFailure,
    workflowType: a.workflowType,
    workflowId: a.workflowId,
    taskQueue: a.taskQueue,
    args: a.args,
    memo: a.memo,
    summary: a.staticSummary,
    cluster: keyword(a.typedSearchAttributes, LIFEBOAT_CLUSTER.name),
    kind: keyword(a.typedSearchAttributes, LIFEBOAT_KIND.name),
  };
}

/** Which fields of a live schedule differ from the plan (empty: nothing to do). */
export function scheduleDiff(plan: TierSchedule, live: ScheduleDescription): string[] {
  const want = comparableOfPlan(plan);
  const have = comparableOfLive(live);
  return Object.keys(want).filter((k) => canon(want[k]) !== canon(have[k]));
}

export type ApplyAction = 'create' | 'update' | 'unchanged' | 'delete' | 'extra';

export interface ApplyChange {
  id: string;
  tier: ScheduleTier;
  /** `extra`: installed but not in the plan, kept because --prune was not given. */
  action: ApplyAction;
  /** Fields that differed (update). */
  changed?: string[];
  description?: string;
  dryRun: boolean;
}

const notFound = (client: Client, id: string) =>
  new LifeboatError('WorkflowNotFound', `no schedule ${id} in namespace ${client.options.namespace} (lifeboat schedule list shows the installed ones)`);

/** Runs fn on a schedule's handle; a schedule that does not exist is one clear error (exit 14). */
async function withSchedule<T>(client: Client, id: string, fn: (h: ScheduleHandle) => Promise<T>): Promise<T> {
  try {
    return await fn(client.schedule.getHandle(id));
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw notFound(client, id);
    throw e;
  }
}

/** The schedule's description, or undefined when it does not exist. */
export async function findSchedule(client: Client, id: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return undefined;
    throw e;
  }
}

/**
 * Makes the cluster's schedules match the plan. Updates keep a schedule's paused state and note
 * (an operator's pause survives a re-apply); `prune` deletes the cluster's tiers the plan dropped.
 */
export async function applySchedules(
  client: Client,
  cluster: string,
  plan: TierSchedule[],
  opts: { prune?: boolean; dryRun?: boolean } = {},
): Promise<ApplyChange[]> {
  if (plan.some((s) => s.cluster !== cluster)) throw new LifeboatError('InvalidInput', `the plan is not all for cluster ${cluster}`);
  const dryRun = opts.dryRun ?? false;
  const changes: ApplyChange[] = [];
  for (const s of plan) {
    const live = await findSchedule(client, s.id);
    const base = { id: s.id, tier: s.tier, description: s.description, dryRun };
    if (!live) {
      if (!dryRun) await client.schedule.create({ ...s.options, state: { note: 'installed by lifeboat schedule apply' } });
      changes.push({ ...base, action: 'create' });
      continue;
    }
    const changed = scheduleDiff(s, live);
    if (!changed.length) {
      changes.push({ ...base, action: 'unchanged' });
      continue;
    }
    if (!dryRun) {
      await withSchedule(client, s.id, (h) =>
        h.update((prev) => ({
          spec: s.options.spec,
          action: s.options.action,
          policies: s.options.policies,
          typedSearchAttributes: s.options.typedSearchAttributes,
          state: { paused: prev.state.paused, note: prev.state.note, remainingActions: prev.state.remainingActions },
        })),
      );
    }
    changes.push({ ...base, action: 'update', changed });
  }
  const planned = new Set(plan.map((s) => s.tier));
  // Known IDs are described directly: listing schedules is only eventually consistent.
  for (const tier of SCHEDULE_TIERS.filter((t) => !planned.has(t))) {
    const id = scheduleId(cluster, tier);
    if (!(await findSchedule(client, id))) continue;
    if (opts.prune && !dryRun) await withSchedule(client, id, (h) => h.delete());
    changes.push({ id, tier, action: opts.prune ? 'delete' : 'extra', dryRun });
  }
  return changes;
}

export interface ScheduleState {
  id: string;
  cluster: string;
  tier: ScheduleTier;
  paused: boolean;
  note?: string;
  description: string;
  overlap: ScheduleOverlapPolicy;
  catchupWindowMs: number;
  nextRuns: string[];
  running: string[];
  lastRun?: { workflowId: string; runId: string; startedAt: string; status: string };
  actionsTaken: number;
  skippedOverlap: number;
  missedCatchupWindow: number;
}

function describeCalendar(d: ScheduleDescription): string {
  const fmt = (r: { start: unknown; end: unknown }[]) => r.map((x) => (x.start === x.end ? String(x.start) : `${String(x.start)}-${String(x.end)}`)).join(',');
  const cals = (d.spec.calendars ?? []).map((c) => `min ${fmt(c.minute)} hour ${fmt(c.hour)} day ${fmt(c.dayOfMonth)} weekday ${fmt(c.dayOfWeek)}`);
  const ivs = (d.spec.intervals ?? []).map((i) => `every ${i.every / 1000}s`);
  return [...cals, ...ivs].join('; ') + ` ${d.spec.timezone ?? 'UTC'}`;
}

async function stateOf(client: Client, id: string, d: ScheduleDescription): Promise<ScheduleState> {
  const parsed = parseScheduleId(id)!;
  const last = d.info.recentActions.at(-1);
  let lastRun: ScheduleState['lastRun'];
  if (last) {
    const { workflowId, firstExecutionRunId: runId } = last.action.workflow;
    let status = 'UNKNOWN';
    try {
      status = (await client.workflow.getHandle(workflowId, runId).describe()).status.name;
    } catch {
      /* deleted by namespace retention */
    }
    lastRun = { workflowId, runId, startedAt: last.takenAt.toISOString(), status };
  }
  const timing = TIMING[parsed.tier];
  const standard = canon(d.spec.calendars) === canon([calendarOf(timing, parsed.tier)]) && !d.spec.intervals?.length;
  return {
    id,
    ...parsed,
    paused: d.state.paused,
    note: d.state.note || undefined,
    description: standard ? `${timing.text} ${d.spec.timezone ?? 'UTC'}` : describeCalendar(d),
    overlap: d.policies.overlap,
    catchupWindowMs: d.policies.catchupWindow,
    nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    lastRun,
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
  };
}

/**
 * Lifeboat's schedules: of one cluster (described by ID, strongly consistent), or all of them
 * (from the schedule list, which can lag a few seconds behind changes).
 */
export async function listSchedules(client: Client, cluster?: string): Promise<ScheduleState[]> {
  const ids: string[] = [];
  if (cluster) ids.push(...SCHEDULE_TIERS.map((t) => scheduleId(cluster, t)));
  else for await (const s of client.schedule.list()) if (parseScheduleId(s.scheduleId)) ids.push(s.scheduleId);
  const out: ScheduleState[] = [];
  // By cluster, then hourly → monthly.
  const key = (id: string) => `${parseScheduleId(id)!.cluster}\0${SCHEDULE_TIERS.indexOf(parseScheduleId(id)!.tier)}`;
  ids.sort((a, b) => key(a).localeCompare(key(b)));
  for (const id of ids) {
    const d = await findSchedule(client, id);
    if (d) out.push(await stateOf(client, id, d));
  }
  return out;
}

export async function scheduleState(client: Client, id: string): Promise<ScheduleState> {
  const d = await withSchedule(client, id, (h) => h.describe());
  return stateOf(client, id, d);
}

export async function pauseSchedule(client: Client, id: string, note: string): Promise<ScheduleState> {
  await withSchedule(client, id, (h) => h.pause(note));
  return scheduleState(client, id);
}

export async function unpauseSchedule(client: Client, id: string, note: string): Promise<ScheduleState> {
  await withSchedule(client, id, (h) => h.unpause(note));
  return scheduleState(client, id);
}

export interface TriggerResult {
  id: string;
  /** The run the trigger started; absent when the overlap policy skipped it. */
  workflowId?: string;
  runId?: string;
  skipped?: string;
}

/**
 * Takes the schedule's action now under its own overlap policy (the SDK's default for a trigger
 * would be ALLOW_ALL, which could run two backups of one tier at once).
 */
export async function triggerSchedule(client: Client, id: string, waitMs = 10_000): Promise<TriggerResult> {
  const before = await withSchedule(client, id, (h) => h.describe());
  const seen = new Set(before.info.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
  await withSchedule(client, id, (h) => h.trigger(before.policies.overlap));
  const deadline = Date.now() + waitMs;
  for (;;) {
    const d = await withSchedule(client, id, (h) => h.describe());
    const fresh = d.info.recentActions.find((a) => !seen.has(a.action.workflow.firstExecutionRunId));
    if (fresh) return { id, workflowId: fresh.action.workflow.workflowId, runId: fresh.action.workflow.firstExecutionRunId };
    if (Date.now() > deadline) {
      const running = d.info.runningActions.map((a) => a.workflow.workflowId);
      return {
        id,
        skipped: running.length
          ? `overlap policy ${d.policies.overlap}: ${running.join(', ')} is still running`
          : `no run started within ${waitMs / 1000}s (overlap policy ${d.policies.overlap})`,
      };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function deleteSchedule(client: Client, id: string): Promise<void> {
  await withSchedule(client, id, (h) => h.delete());
}
