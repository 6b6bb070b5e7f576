/**
 * Temporal Schedules that start Lifeboat workflows: backups today, drills and monitors next.
 *
 * A `ScheduleDefinition` says when (calendars, intervals, a time zone), which workflow with which
 * arguments (typed by the workflow function, as runs.ts types runs), and how a late or overlapping
 * run is treated: overlap is always SKIP (a run that comes due while the previous one still runs is
 * dropped, not queued) and the catch-up window is explicit (design.md: its documented default is
 * contradictory). `applySchedules` makes the server match a list of definitions (create, update what
 * differs, optionally delete the ones it owns that were dropped), so it is re-run after every edit.
 *
 * The tiered backup plan is one use of it: one schedule per tier and cluster
 * (`lifeboat-backup-<cluster>-<tier>`), each starting the `backup` workflow.
 */
import {
  type CalendarSpec,
  type CalendarSpecDescription,
  type Client,
  type DayOfWeek,
  type ScheduleDescription,
  type ScheduleHandle,
  ScheduleNotFoundError,
  type ScheduleOptions,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import { decodeOptionalStructuredCalendarSpecs, encodeOptionalStructuredCalendarSpecs } from '@temporalio/client/lib/schedule-helpers';
import type { SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import { invalidParts } from '../backup/plan.pure';
import type { ClusterSpec } from '../config/spec';
import { sleep } from '../core/poll';
import { LifeboatError } from '../errors';
import type { WorkflowArgs, WorkflowName } from './runs';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND } from './searchAttributes';
import { CONTROL_TASK_QUEUE } from './taskQueues.pure';

// ───────────────────────────── any workflow ─────────────────────────────

/** A schedule of one workflow, with its arguments typed by that workflow's function. */
export interface ScheduleDefinition<N extends WorkflowName = WorkflowName> {
  /** The schedule's ID, e.g. lifeboat-backup-<cluster>-<tier>. */
  id: string;
  /** The workflow each action starts (its export name in workflows/, which is its workflow type). */
  workflow: N;
  args: WorkflowArgs<N>;
  /** The runs' workflow ID; the server appends each run's scheduled time, so every run has its own. */
  workflowId: string;
  /** Default: the control queue. */
  taskQueue?: string;
  /** When: calendar times (in `timezone`) and/or fixed intervals; at least one. */
  calendars?: CalendarSpec[];
  intervals?: { everyMs: number; offsetMs?: number }[];
  /** IANA time zone of the calendars (default UTC). */
  timezone?: string;
  /** How late a missed action may still start (after a server outage or a pause); explicit, never Temporal's default. */
  catchupWindowMs: number;
  /** Pause the schedule when a run fails (default false: the next run is the retry). */
  pauseOnFailure?: boolean;
  /** The cluster and kind of run, as search attributes on the schedule and on each run (LifeboatCluster, LifeboatKind). */
  cluster: string;
  kind: string;
  /** The schedule's memo. */
  memo?: Record<string, unknown>;
  /** Each run's memo. */
  runMemo?: Record<string, unknown>;
  /** Each run's one-line summary in the Temporal UI. */
  summary: string;
  /** For people: "every hour at :15 UTC, incremental". */
  description: string;
  /** The note a newly created schedule carries (an update keeps the schedule's own note). */
  note?: string;
}

/** Any one definition, its workflow and arguments kept together (a list of these mixes workflows). */
export type AnyScheduleDefinition = { [N in WorkflowName]: ScheduleDefinition<N> }[WorkflowName];

const OVERLAP: ScheduleOverlapPolicy = 'SKIP';

/** The time zone named by an IANA name, or a clear InvalidInput. */
export function checkTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new LifeboatError('InvalidInput', `unknown time zone "${timezone}" (an IANA name such as UTC or Europe/Berlin)`);
  }
  return timezone;
}

/** Refuses definitions Temporal would take but that cannot work as meant. Pure. */
export function checkDefinition(def: AnyScheduleDefinition): void {
  if (!def.id) throw new LifeboatError('InvalidInput', 'a schedule needs an ID');
  if (!def.calendars?.length && !def.intervals?.length) throw new LifeboatError('InvalidInput', `schedule ${def.id} has neither calendars nor intervals, so it would never run`);
  if (!(def.catchupWindowMs >= 1000)) throw new LifeboatError('InvalidInput', `schedule ${def.id}: the catch-up window must be at least 1 s, got ${def.catchupWindowMs} ms`);
  for (const i of def.intervals ?? []) {
    if (!(i.everyMs >= 1000)) throw new LifeboatError('InvalidInput', `schedule ${def.id}: an interval must be at least 1 s, got ${i.everyMs} ms`);
  }
  checkTimezone(def.timezone ?? 'UTC');
}

const searchAttributes = (def: AnyScheduleDefinition): SearchAttributePair[] => [
  { key: LIFEBOAT_CLUSTER, value: def.cluster },
  { key: LIFEBOAT_KIND, value: def.kind },
];

/** The options Temporal's client creates the schedule from. Pure. */
export function scheduleOptions(def: AnyScheduleDefinition): ScheduleOptions {
  checkDefinition(def);
  const attributes = searchAttributes(def);
  return {
    scheduleId: def.id,
    spec: {
      ...(def.calendars?.length ? { calendars: def.calendars } : {}),
      ...(def.intervals?.length ? { intervals: def.intervals.map((i) => ({ every: i.everyMs, offset: i.offsetMs ?? 0 })) } : {}),
      timezone: def.timezone ?? 'UTC',
    },
    action: {
      type: 'startWorkflow',
      workflowType: def.workflow,
      workflowId: def.workflowId,
      taskQueue: def.taskQueue ?? CONTROL_TASK_QUEUE,
      args: def.args,
      ...(def.runMemo ? { memo: def.runMemo } : {}),
      typedSearchAttributes: attributes,
      staticSummary: def.summary,
    },
    policies: { overlap: OVERLAP, catchupWindow: def.catchupWindowMs, pauseOnFailure: def.pauseOnFailure ?? false },
    ...(def.memo ? { memo: def.memo } : {}),
    typedSearchAttributes: attributes,
  };
}

/** JSON with sorted keys and undefined dropped: how payloads come back from the server. */
function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );
}

/** Calendars in the fully expanded form the server describes (the SDK's own encoding, round-tripped), so "every hour" compares equal to 0-23. */
export function expandCalendars(calendars: CalendarSpec[] | undefined): CalendarSpecDescription[] {
  return decodeOptionalStructuredCalendarSpecs(encodeOptionalStructuredCalendarSpecs(calendars ?? []));
}

type Comparable = Record<string, unknown>;

function comparableOfDefinition(def: AnyScheduleDefinition): Comparable {
  return {
    calendars: expandCalendars(def.calendars),
    intervals: (def.intervals ?? []).map((i) => ({ every: i.everyMs, offset: i.offsetMs ?? 0 })),
    timezone: def.timezone ?? 'UTC',
    overlap: OVERLAP,
    catchupWindow: def.catchupWindowMs,
    pauseOnFailure: def.pauseOnFailure ?? false,
    workflowType: def.workflow,
    workflowId: def.workflowId,
    taskQueue: def.taskQueue ?? CONTROL_TASK_QUEUE,
    args: def.args,
    memo: def.runMemo,
    summary: def.summary,
    cluster: def.cluster,
    kind: def.kind,
  };
}

function keyword(sa: SearchAttributePair[] | TypedSearchAttributes | undefined, name: string): unknown {
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

/** Which fields of a live schedule differ from its definition (empty: nothing to do). */
export function scheduleDiff(def: AnyScheduleDefinition, live: ScheduleDescription): string[] {
  const want = comparableOfDefinition(def);
  const have = comparableOfLive(live);
  return Object.keys(want).filter((k) => canon(want[k]) !== canon(have[k]));
}

export type ApplyAction = 'create' | 'update' | 'unchanged' | 'delete' | 'extra';

export interface ApplyChange {
  id: string;
  /** `extra`: owned and installed but not in the plan, kept because prune was not asked for. */
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

export interface ApplyOptions {
  /**
   * IDs this plan is responsible for beyond its own (e.g. every tier of the cluster): those installed
   * but not planned are reported as `extra`, or deleted with `prune`. Named, not listed from the
   * server, because listing schedules is only eventually consistent.
   */
  owned?: string[];
  prune?: boolean;
  dryRun?: boolean;
}

/**
 * Makes the server's schedules match the definitions. Updates keep a schedule's paused state and
 * note (an operator's pause survives a re-apply); `prune` deletes owned schedules the plan dropped.
 */
export async function applySchedules(client: Client, plan: AnyScheduleDefinition[], opts: ApplyOptions = {}): Promise<ApplyChange[]> {
  const ids = plan.map((s) => s.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new LifeboatError('InvalidInput', `schedule ${dup} is planned twice`);
  const options = plan.map(scheduleOptions);
  const dryRun = opts.dryRun ?? false;
  const changes: ApplyChange[] = [];
  for (const [i, s] of plan.entries()) {
    const o = options[i]!;
    const live = await findSchedule(client, s.id);
    const base = { id: s.id, description: s.description, dryRun };
    if (!live) {
      if (!dryRun) await client.schedule.create({ ...o, state: { note: s.note ?? 'installed by lifeboat' } });
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
          spec: o.spec,
          action: o.action,
          policies: o.policies,
          typedSearchAttributes: o.typedSearchAttributes,
          state: { paused: prev.state.paused, note: prev.state.note, remainingActions: prev.state.remainingActions },
        })),
      );
    }
    changes.push({ ...base, action: 'update', changed });
  }
  const planned = new Set(ids);
  for (const id of [...new Set(opts.owned ?? [])].filter((x) => !planned.has(x))) {
    if (!(await findSchedule(client, id))) continue;
    if (opts.prune && !dryRun) await withSchedule(client, id, (h) => h.delete());
    changes.push({ id, action: opts.prune ? 'delete' : 'extra', dryRun });
  }
  return changes;
}

export interface ScheduleState {
  id: string;
  workflowType: string;
  /** LifeboatCluster and LifeboatKind of the schedule (absent on schedules Lifeboat did not install). */
  cluster?: string;
  kind?: string;
  paused: boolean;
  note?: string;
  description: string;
  timezone: string;
  overlap: ScheduleOverlapPolicy;
  catchupWindowMs: number;
  nextRuns: string[];
  running: string[];
  lastRun?: { workflowId: string; runId: string; startedAt: string; status: string };
  actionsTaken: number;
  skippedOverlap: number;
  missedCatchupWindow: number;
}

/** The live spec for people, field by field ("min 15 hour 0-23 day 1-31 weekday SUNDAY-SATURDAY UTC"). */
export function describeSpec(d: Pick<ScheduleDescription, 'spec'>): string {
  const fmt = (r: { start: unknown; end: unknown }[]) => r.map((x) => (x.start === x.end ? String(x.start) : `${String(x.start)}-${String(x.end)}`)).join(',');
  const cals = (d.spec.calendars ?? []).map((c) => `min ${fmt(c.minute)} hour ${fmt(c.hour)} day ${fmt(c.dayOfMonth)} weekday ${fmt(c.dayOfWeek)}`);
  const ivs = (d.spec.intervals ?? []).map((i) => `every ${i.every / 1000}s${i.offset ? ` (offset ${i.offset / 1000}s)` : ''}`);
  return [...cals, ...ivs].join('; ') + ` ${d.spec.timezone ?? 'UTC'}`;
}

async function stateOf(client: Client, id: string, d: ScheduleDescription): Promise<ScheduleState> {
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
  const cluster = keyword(d.typedSearchAttributes, LIFEBOAT_CLUSTER.name);
  const kind = keyword(d.typedSearchAttributes, LIFEBOAT_KIND.name);
  return {
    id,
    workflowType: d.action.workflowType,
    ...(typeof cluster === 'string' ? { cluster } : {}),
    ...(typeof kind === 'string' ? { kind } : {}),
    paused: d.state.paused,
    note: d.state.note || undefined,
    description: describeSpec(d),
    timezone: d.spec.timezone ?? 'UTC',
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
 * The states of schedules: the given IDs (described directly, strongly consistent; missing ones
 * left out), or every schedule whose ID `match` accepts (from the schedule list, which can lag a
 * few seconds behind changes). In the order given, or listed.
 */
export async function listSchedules(client: Client, which: string[] | ((id: string) => boolean)): Promise<ScheduleState[]> {
  const ids: string[] = [];
  if (Array.isArray(which)) ids.push(...which);
  else for await (const s of client.schedule.list()) if (which(s.scheduleId)) ids.push(s.scheduleId);
  const out: ScheduleState[] = [];
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
    await sleep(250);
  }
}

export async function deleteSchedule(client: Client, id: string): Promise<void> {
  await withSchedule(client, id, (h) => h.delete());
}

// ───────────────────────────── backup tiers ─────────────────────────────

export const SCHEDULE_TIERS = ['hourly', 'daily', 'weekly', 'monthly'] as const;
export type ScheduleTier = (typeof SCHEDULE_TIERS)[number];

const ID_PREFIX = 'lifeboat-backup-';
export const scheduleId = (cluster: string, tier: ScheduleTier): string => `${ID_PREFIX}${cluster}-${tier}`;

/** The cluster and tier a Lifeboat backup schedule ID names (the tier is the last segment, so any cluster name parses). */
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

export interface PlanOptions {
  /** Default: all four. */
  tiers?: ScheduleTier[];
  /** Parts of every scheduled backup (default: the workflow's, i.e. everything the spec has). */
  parts?: string[];
  /** IANA time zone of the calendar times (default UTC). */
  timezone?: string;
}

/** A tier's schedule: a schedule of the backup workflow, with the cluster and tier it is for. */
export interface BackupSchedule extends ScheduleDefinition<'backup'> {
  tier: ScheduleTier;
  incremental: boolean;
}

const tierCalendar = (t: TierTiming, tier: ScheduleTier): CalendarSpec => ({
  second: 0,
  minute: t.minute,
  hour: t.hour,
  ...(t.dayOfMonth !== undefined ? { dayOfMonth: t.dayOfMonth } : {}),
  ...(t.dayOfWeek !== undefined ? { dayOfWeek: t.dayOfWeek } : {}),
  comment: `lifeboat ${tier} backup`,
});

/** The backup schedules a cluster should have. Pure; refuses what the scheduled runs would fail on anyway. */
export function planSchedules(spec: ClusterSpec, opts: PlanOptions = {}): BackupSchedule[] {
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
  const timezone = checkTimezone(opts.timezone ?? 'UTC');

  return SCHEDULE_TIERS.filter((t) => tiers.includes(t)).map((tier) => {
    const timing = TIMING[tier];
    const id = scheduleId(spec.name, tier);
    const kind = timing.incremental ? 'incremental' : 'full';
    return {
      id,
      workflow: 'backup',
      // Cold log-dir copies stop brokers; a schedule never does that.
      args: [{ spec, tier, incremental: timing.incremental, logdirMode: 'hot', ...(opts.parts ? { parts: opts.parts } : {}) }],
      workflowId: `backup-${spec.name}-${tier}`,
      calendars: [tierCalendar(timing, tier)],
      timezone,
      catchupWindowMs: timing.catchupWindowMs,
      cluster: spec.name,
      kind: 'backup',
      memo: { cluster: spec.name, tier },
      runMemo: { cluster: spec.name, tier, schedule: id },
      summary: `${tier} ${kind} backup of ${spec.name} (schedule ${id})`,
      description: `${timing.text} ${timezone}, ${kind}`,
      note: 'installed by lifeboat schedule apply',
      tier,
      incremental: timing.incremental,
    };
  });
}

export type BackupApplyChange = ApplyChange & { tier: ScheduleTier };

/** Applies a cluster's tier plan; the cluster's other tiers are its own (kept as `extra`, or deleted with prune). */
export async function applyBackupSchedules(
  client: Client,
  cluster: string,
  plan: BackupSchedule[],
  opts: { prune?: boolean; dryRun?: boolean } = {},
): Promise<BackupApplyChange[]> {
  if (plan.some((s) => s.cluster !== cluster)) throw new LifeboatError('InvalidInput', `the plan is not all for cluster ${cluster}`);
  const changes = await applySchedules(client, plan, { ...opts, owned: SCHEDULE_TIERS.map((t) => scheduleId(cluster, t)) });
  return changes.map(({ id, ...rest }) => ({ id, tier: parseScheduleId(id)!.tier, ...rest }));
}

export type BackupScheduleState = Omit<ScheduleState, 'cluster'> & { cluster: string; tier: ScheduleTier };

/** A backup schedule's state with its cluster and tier, described as its tier while it has the tier's times. Pure. */
export function asBackupState(s: ScheduleState): BackupScheduleState {
  const parsed = parseScheduleId(s.id);
  if (!parsed) throw new LifeboatError('InvalidInput', `"${s.id}" is not a Lifeboat backup schedule ID`);
  const timing = TIMING[parsed.tier];
  const standard = describeSpec({ spec: { calendars: expandCalendars([tierCalendar(timing, parsed.tier)]), timezone: s.timezone } });
  return { ...s, ...parsed, description: s.description === standard ? `${timing.text} ${s.timezone}` : s.description };
}

/**
 * Lifeboat's backup schedules: of one cluster (described by ID, strongly consistent), or all of
 * them (from the schedule list). By cluster, then hourly → monthly.
 */
export async function listBackupSchedules(client: Client, cluster?: string): Promise<BackupScheduleState[]> {
  const ids: string[] = [];
  if (cluster) ids.push(...SCHEDULE_TIERS.map((t) => scheduleId(cluster, t)));
  else for await (const s of client.schedule.list()) if (parseScheduleId(s.scheduleId)) ids.push(s.scheduleId);
  const key = (id: string) => `${parseScheduleId(id)!.cluster}\0${SCHEDULE_TIERS.indexOf(parseScheduleId(id)!.tier)}`;
  ids.sort((a, b) => key(a).localeCompare(key(b)));
  const out: BackupScheduleState[] = [];
  for (const id of ids) {
    const d = await findSchedule(client, id);
    if (d) out.push(asBackupState(await stateOf(client, id, d)));
  }
  return out;
}

/** One backup schedule's state (a missing one: WorkflowNotFound, exit 14). */
export async function backupScheduleState(client: Client, id: string): Promise<BackupScheduleState> {
  return asBackupState(await scheduleState(client, id));
}
