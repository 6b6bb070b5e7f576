/**
 * The drill cadence of the second source document's §8.5 as Temporal Schedules, one per cluster and
 * drill type (`lifeboat-drill-<cluster>-<type>`), each starting the `drill` workflow with `schedule`
 * set to its own ID:
 *
 * - tabletop monthly: the first Tuesday of every month, 10:00;
 * - partial quarterly: the second Tuesday of January, April, July and October, 10:00;
 * - full half-yearly: the third Tuesday of March and September, 10:00.
 *
 * Tuesdays in working hours so people are there when they are notified; different weeks so two of
 * a cluster's drills never come due together. Built on src/temporal/schedules.ts (as the backup tiers
 * and the backup monitor are): overlap SKIP (a drill of the same schedule still running) and an
 * explicit catch-up window of a day (a drill missed while Temporal was down still runs late; one
 * missed for longer is counted by the schedule and shown by `drill schedule list`). A scheduled drill
 * that finds another drill running on the cluster is recorded as skipped by the workflow itself
 * (drillOthersRunningActivity), so no missed drill is silent.
 */
import type { CalendarSpec, Client } from '@temporalio/client';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import {
  type ApplyChange,
  applySchedules,
  checkTimezone,
  deleteSchedule,
  describeSpec,
  expandCalendars,
  findSchedule,
  listSchedules,
  type ScheduleDefinition,
  type ScheduleState,
} from '../temporal/schedules';
import { DRILL_KIND } from './ids.pure';
import { targetRefusal } from './plan.pure';
import { type Scenario, SCENARIOS } from './records';

/** The drill types that have a cadence (chaos drills are run by hand). */
export const SCHEDULED_DRILL_TYPES = ['tabletop', 'partial', 'full'] as const;
export type ScheduledDrillType = (typeof SCHEDULED_DRILL_TYPES)[number];

const ID_PREFIX = 'lifeboat-drill-';
export const drillScheduleId = (cluster: string, type: ScheduledDrillType): string => `${ID_PREFIX}${cluster}-${type}`;

/** The cluster and type a drill schedule ID names (the type is the last segment, so any cluster name parses). */
export function parseDrillScheduleId(id: string): { cluster: string; type: ScheduledDrillType } | undefined {
  const m = /^lifeboat-drill-([a-z0-9][a-z0-9-]*)-(tabletop|partial|full)$/.exec(id);
  return m ? { cluster: m[1]!, type: m[2] as ScheduledDrillType } : undefined;
}

export const isScheduledDrillType = (t: string): t is ScheduledDrillType => (SCHEDULED_DRILL_TYPES as readonly string[]).includes(t);

interface Cadence {
  calendar: Omit<CalendarSpec, 'comment'>;
  /** The default scenario of this type's drills. */
  scenario: Scenario;
  text: string;
}

/** One day: a drill missed by less (Temporal down, the schedule paused) still runs; beyond, the schedule counts it missed. */
const CATCHUP_WINDOW_MS = 24 * 3_600_000;

// dayOfMonth and dayOfWeek must both match: days 1-7 and Tuesday is the first Tuesday.
export const DRILL_CADENCE: Record<ScheduledDrillType, Cadence> = {
  tabletop: {
    calendar: { second: 0, minute: 0, hour: 10, dayOfMonth: { start: 1, end: 7 }, dayOfWeek: 'TUESDAY' },
    // The tabletop walks the longest plan: every workflow of a whole-cluster recovery as a dry run.
    scenario: 'cluster-lost',
    text: 'monthly, the first Tuesday at 10:00',
  },
  partial: {
    calendar: { second: 0, minute: 0, hour: 10, dayOfMonth: { start: 8, end: 14 }, dayOfWeek: 'TUESDAY', month: ['JANUARY', 'APRIL', 'JULY', 'OCTOBER'] },
    scenario: 'broker-killed',
    text: 'quarterly, the second Tuesday of January, April, July and October at 10:00',
  },
  full: {
    calendar: { second: 0, minute: 0, hour: 10, dayOfMonth: { start: 15, end: 21 }, dayOfWeek: 'TUESDAY', month: ['MARCH', 'SEPTEMBER'] },
    scenario: 'cluster-lost',
    text: 'half-yearly, the third Tuesday of March and September at 10:00',
  },
};

export interface DrillSchedulePlanOptions {
  /** Default: all three. */
  types?: ScheduledDrillType[];
  /** The scenario of a type's drills (default: DRILL_CADENCE's). */
  scenarios?: Partial<Record<ScheduledDrillType, Scenario>>;
  /** IANA time zone of the times (default UTC). */
  timezone?: string;
  /** Drill a cluster whose spec is not marked staging or development (passed on to every run). */
  iKnowThisIsProduction?: boolean;
}

/** The target: a spec (carried in every run, as the backup schedules do) or a cluster name among the worker's specs. */
export type DrillTarget = { spec: ClusterSpec; cluster?: undefined } | { cluster: string; spec?: undefined };

export interface DrillSchedule extends ScheduleDefinition<'drill'> {
  type: ScheduledDrillType;
  scenario: Scenario;
}

const calendarOf = (type: ScheduledDrillType): CalendarSpec => ({ ...DRILL_CADENCE[type].calendar, comment: `lifeboat ${type} drill` });

/** Refuses a production (or unmarked) spec unless asked, in the workflow's words (plan.pure.ts targetRefusal). Pure. */
export function checkDrillTarget(spec: ClusterSpec, iKnowThisIsProduction = false): void {
  const refusal = targetRefusal(spec, iKnowThisIsProduction);
  if (refusal) throw new LifeboatError('InvalidInput', refusal);
}

/** The drill schedules of a cluster. Pure. */
export function planDrillSchedules(target: DrillTarget, opts: DrillSchedulePlanOptions = {}): DrillSchedule[] {
  const cluster = target.spec?.name ?? target.cluster!;
  if (target.spec) checkDrillTarget(target.spec, opts.iKnowThisIsProduction);
  const types = opts.types ?? [...SCHEDULED_DRILL_TYPES];
  const bad = types.filter((t) => !isScheduledDrillType(t));
  if (bad.length) throw new LifeboatError('InvalidInput', `unknown drill types to schedule: ${bad.join(', ')} (${SCHEDULED_DRILL_TYPES.join(', ')})`);
  if (!types.length) throw new LifeboatError('InvalidInput', 'no drill types to schedule');
  for (const [type, s] of Object.entries(opts.scenarios ?? {})) {
    if (!isScheduledDrillType(type)) throw new LifeboatError('InvalidInput', `unknown drill type "${type}" (${SCHEDULED_DRILL_TYPES.join(', ')})`);
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new LifeboatError('InvalidInput', `unknown scenario "${s}" for the ${type} drills (${SCENARIOS.join(', ')})`);
  }
  const timezone = checkTimezone(opts.timezone ?? 'UTC');
  return SCHEDULED_DRILL_TYPES.filter((t) => types.includes(t)).map((type) => {
    const id = drillScheduleId(cluster, type);
    const scenario = opts.scenarios?.[type] ?? DRILL_CADENCE[type].scenario;
    return {
      id,
      workflow: 'drill',
      args: [
        {
          ...(target.spec ? { spec: target.spec } : { cluster }),
          scenario,
          type,
          schedule: id,
          ...(opts.iKnowThisIsProduction ? { iKnowThisIsProduction: true } : {}),
        },
      ],
      // The server appends each run's scheduled time (drill-<cluster>-<scenario>-<time>), as drillWorkflowId names a drill started by hand.
      workflowId: `drill-${cluster}-${scenario}`,
      calendars: [calendarOf(type)],
      timezone,
      catchupWindowMs: CATCHUP_WINDOW_MS,
      cluster,
      kind: DRILL_KIND,
      memo: { cluster, type, scenario },
      runMemo: { cluster, type, scenario, schedule: id },
      summary: `${type} drill of ${cluster}: ${scenario} (schedule ${id})`,
      description: `${DRILL_CADENCE[type].text} ${timezone}, ${type} drill, ${scenario}`,
      note: 'installed by lifeboat drill schedule apply',
      type,
      scenario,
    };
  });
}

export type DrillScheduleChange = ApplyChange & { type: ScheduledDrillType };

/** Makes the cluster's drill schedules match the plan; its types left out of the plan are reported `extra`, or deleted with prune. */
export async function applyDrillSchedules(
  client: Client,
  cluster: string,
  plan: DrillSchedule[],
  opts: { prune?: boolean; dryRun?: boolean } = {},
): Promise<DrillScheduleChange[]> {
  if (plan.some((s) => s.cluster !== cluster)) throw new LifeboatError('InvalidInput', `the plan is not all for cluster ${cluster}`);
  const changes = await applySchedules(client, plan, { ...opts, owned: SCHEDULED_DRILL_TYPES.map((t) => drillScheduleId(cluster, t)) });
  return changes.map(({ id, ...rest }) => ({ id, type: parseDrillScheduleId(id)!.type, ...rest }));
}

export type DrillScheduleState = ScheduleState & { cluster: string; type: ScheduledDrillType; scenario?: string };

function asDrillState(s: ScheduleState, scenario: unknown): DrillScheduleState {
  const parsed = parseDrillScheduleId(s.id)!;
  const standard = describeSpec({ spec: { calendars: expandCalendars([calendarOf(parsed.type)]), timezone: s.timezone } });
  return {
    ...s,
    ...parsed,
    ...(typeof scenario === 'string' ? { scenario } : {}),
    description: s.description === standard ? `${DRILL_CADENCE[parsed.type].text} ${s.timezone}` : s.description,
  };
}

/**
 * The drill schedules: of one cluster (described by ID, strongly consistent), or all of them (from
 * the schedule list, which can lag a few seconds). By cluster, then tabletop → full.
 */
export async function listDrillSchedules(client: Client, cluster?: string): Promise<DrillScheduleState[]> {
  const states = await listSchedules(client, cluster ? SCHEDULED_DRILL_TYPES.map((t) => drillScheduleId(cluster, t)) : (id) => !!parseDrillScheduleId(id));
  const key = (id: string) => `${parseDrillScheduleId(id)!.cluster}\0${SCHEDULED_DRILL_TYPES.indexOf(parseDrillScheduleId(id)!.type)}`;
  states.sort((a, b) => key(a.id).localeCompare(key(b.id)));
  const out: DrillScheduleState[] = [];
  for (const s of states) {
    const memo = (await findSchedule(client, s.id))?.memo as { scenario?: unknown } | undefined;
    out.push(asDrillState(s, memo?.scenario));
  }
  return out;
}

/** Deletes the cluster's drill schedules (of `types`, default all three); returns the IDs deleted (absent ones are not an error). */
export async function deleteDrillSchedules(client: Client, cluster: string, types: ScheduledDrillType[] = [...SCHEDULED_DRILL_TYPES]): Promise<string[]> {
  const deleted: string[] = [];
  for (const type of types) {
    const id = drillScheduleId(cluster, type);
    if (!(await findSchedule(client, id))) continue;
    await deleteSchedule(client, id);
    deleted.push(id);
  }
  return deleted;
}
