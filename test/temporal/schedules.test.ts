/**
 * Schedules, pure: the generic definition (any workflow, typed args, SKIP overlap, explicit catch-up
 * window), the diff against a live description, and the tier plan of backups as one use of it.
 */
import type { ScheduleDescription } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import type { LifeboatError } from '../../src/errors';
import {
  type AnyScheduleDefinition,
  asBackupState,
  describeSpec,
  expandCalendars,
  parseScheduleId,
  planSchedules,
  type ScheduleDefinition,
  scheduleDiff,
  scheduleId,
  scheduleOptions,
  type ScheduleState,
} from '../../src/temporal/schedules';

const spec = parseSpec({
  name: 'east-1',
  kafka: { bootstrapServers: ['k1:9092'] },
  zookeeper: { connect: 'zk:2181' },
  brokers: [{ id: 1, host: 'k1', logDirs: ['/data'], configDir: '/etc/kafka', control: { type: 'systemd', unit: 'kafka' } }],
  repository: { path: '/backup/east-1', password: { env: 'LIFEBOAT_PASSWORD' } },
});

const errorOf = (fn: () => unknown): LifeboatError => {
  try {
    fn();
  } catch (e) {
    return e as LifeboatError;
  }
  throw new Error('no error thrown');
};

const r = <T>(start: T, end: T = start) => [{ start, end, step: 1 }];
/** A calendar as the server describes it (and as the tier plan wrote it before schedules became generic). */
const full = (c: { minute: number; hour: [number, number]; day?: number; weekday?: string; comment: string }) => ({
  second: r(0),
  minute: r(c.minute),
  hour: r(...c.hour),
  dayOfMonth: c.day === undefined ? r(1, 31) : r(c.day),
  month: r('JANUARY', 'DECEMBER'),
  year: [],
  dayOfWeek: c.weekday === undefined ? r('SUNDAY', 'SATURDAY') : r(c.weekday),
  comment: c.comment,
});

describe('planSchedules (backup tiers)', () => {
  it('plans the four tiers: hourly incremental, the others full, SKIP overlap and a catch-up window', () => {
    const plan = planSchedules(spec);
    expect(plan.map((s) => s.id)).toEqual(['hourly', 'daily', 'weekly', 'monthly'].map((t) => `lifeboat-backup-east-1-${t}`));
    for (const s of plan) {
      const o = scheduleOptions(s);
      expect(o.scheduleId).toBe(s.id);
      expect(o.policies).toEqual({ overlap: 'SKIP', catchupWindow: s.tier === 'hourly' ? 600_000 : 3_600_000, pauseOnFailure: false });
      expect(o.action).toMatchObject({
        workflowType: 'backup',
        taskQueue: 'lifeboat',
        workflowId: `backup-east-1-${s.tier}`,
        memo: { cluster: 'east-1', tier: s.tier, schedule: s.id },
      });
      expect(o.memo).toEqual({ cluster: 'east-1', tier: s.tier });
      expect(o.action.staticSummary).toBe(`${s.tier} ${s.incremental ? 'incremental' : 'full'} backup of east-1 (schedule ${s.id})`);
      // The args are typed as the backup workflow's own input (WorkflowArgs<'backup'>).
      const input = s.args[0];
      expect(input).toEqual({ spec, tier: s.tier, incremental: s.tier === 'hourly', logdirMode: 'hot' });
      expect(o.action.args).toEqual([input]);
      for (const attrs of [o.action.typedSearchAttributes, o.typedSearchAttributes] as { key: { name: string }; value: unknown }[][]) {
        expect(Object.fromEntries(attrs.map((a) => [a.key.name, a.value]))).toEqual({ LifeboatCluster: 'east-1', LifeboatKind: 'backup' });
      }
      expect(o.spec.timezone).toBe('UTC');
      expect(o.spec.intervals).toBeUndefined();
    }
    // Exactly the calendars installed before schedules became generic, so a re-apply over them changes nothing.
    expect(plan.map((s) => expandCalendars(s.calendars))).toEqual([
      [full({ minute: 15, hour: [0, 23], comment: 'lifeboat hourly backup' })],
      [full({ minute: 0, hour: [1, 1], comment: 'lifeboat daily backup' })],
      [full({ minute: 0, hour: [2, 2], weekday: 'SUNDAY', comment: 'lifeboat weekly backup' })],
      [full({ minute: 0, hour: [3, 3], day: 1, comment: 'lifeboat monthly backup' })],
    ]);
  });

  it('takes a subset of tiers (in tier order), restricted parts and a time zone', () => {
    const plan = planSchedules(spec, { tiers: ['weekly', 'hourly'], parts: ['kafka-metadata', 'configs:1'], timezone: 'Europe/Berlin' });
    expect(plan.map((s) => s.tier)).toEqual(['hourly', 'weekly']);
    expect(plan[0]!.args[0].parts).toEqual(['kafka-metadata', 'configs:1']);
    expect(scheduleOptions(plan[1]!).spec.timezone).toBe('Europe/Berlin');
    expect(plan[1]!.description).toBe('every Sunday at 02:00 Europe/Berlin, full');
  });

  it('refuses what the scheduled runs would fail on', () => {
    expect(errorOf(() => planSchedules(spec, { parts: ['logdirs:7'] }))).toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('logdirs:7') });
    expect(errorOf(() => planSchedules(spec, { tiers: ['manual' as never] }))).toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('manual') });
    expect(errorOf(() => planSchedules(spec, { tiers: [] })).type).toBe('InvalidInput');
    expect(errorOf(() => planSchedules(spec, { timezone: 'Mars/Olympus' })).message).toContain('Mars/Olympus');
    expect(errorOf(() => planSchedules({ ...spec, repository: undefined })).type).toBe('InvalidSpec');
  });
});

describe('schedule IDs', () => {
  it('round-trip, even for cluster names that end like a tier', () => {
    expect(parseScheduleId(scheduleId('a-daily', 'hourly'))).toEqual({ cluster: 'a-daily', tier: 'hourly' });
    expect(parseScheduleId('lifeboat-backup-east-1-monthly')).toEqual({ cluster: 'east-1', tier: 'monthly' });
    expect(parseScheduleId('lifeboat-backup-east-1-manual')).toBeUndefined();
    expect(parseScheduleId('backup-east-1-daily')).toBeUndefined();
  });
});

/** A probe every 6 hours and at 04:30: a schedule of a workflow other than backup. */
const probe: ScheduleDefinition<'clusterProbe'> = {
  id: 'lifeboat-probe-east-1',
  workflow: 'clusterProbe',
  args: [{ spec, records: 5 }],
  workflowId: 'probe-east-1',
  calendars: [{ hour: 4, minute: 30, comment: 'morning probe' }],
  intervals: [{ everyMs: 6 * 3_600_000, offsetMs: 60_000 }],
  catchupWindowMs: 5 * 60_000,
  cluster: 'east-1',
  kind: 'probe',
  memo: { cluster: 'east-1' },
  summary: 'probe of east-1',
  description: 'every 6 hours and at 04:30',
};

/** What the server would describe for a definition: the plan's options in described form. */
function liveOf(def: AnyScheduleDefinition): ScheduleDescription {
  const o = scheduleOptions(def);
  const attrs = o.action.typedSearchAttributes as never;
  return {
    scheduleId: o.scheduleId,
    spec: {
      calendars: expandCalendars(o.spec.calendars),
      intervals: (o.spec.intervals ?? []).map((i) => ({ every: i.every as number, offset: (i.offset as number) ?? 0 })),
      timezone: o.spec.timezone,
    },
    action: { type: 'startWorkflow', workflowType: o.action.workflowType as string, workflowId: o.action.workflowId!, taskQueue: o.action.taskQueue, args: o.action.args, memo: o.action.memo, typedSearchAttributes: attrs, staticSummary: o.action.staticSummary },
    policies: { overlap: 'SKIP', catchupWindow: def.catchupWindowMs, pauseOnFailure: false },
  } as unknown as ScheduleDescription;
}

describe('generic schedule definitions', () => {
  it('start the named workflow with its typed args on the control queue, SKIP overlap, the given catch-up window', () => {
    const o = scheduleOptions(probe);
    expect(o.action).toMatchObject({ type: 'startWorkflow', workflowType: 'clusterProbe', workflowId: 'probe-east-1', taskQueue: 'lifeboat', args: [{ spec, records: 5 }], staticSummary: 'probe of east-1' });
    expect(o.policies).toEqual({ overlap: 'SKIP', catchupWindow: 300_000, pauseOnFailure: false });
    expect(o.spec).toEqual({ calendars: probe.calendars, intervals: [{ every: 21_600_000, offset: 60_000 }], timezone: 'UTC' });
    expect(o.memo).toEqual({ cluster: 'east-1' });
    expect(o.action.memo).toBeUndefined();
    const attrs = o.typedSearchAttributes as { key: { name: string }; value: unknown }[];
    expect(Object.fromEntries(attrs.map((a) => [a.key.name, a.value]))).toEqual({ LifeboatCluster: 'east-1', LifeboatKind: 'probe' });

    // Args are the workflow's: a wrong shape does not compile.
    // @ts-expect-error records is a number
    const bad: ScheduleDefinition<'clusterProbe'> = { ...probe, args: [{ spec, records: 'five' }] };
    expect(bad.id).toBe(probe.id);
  });

  it('refuse a schedule that would never run or has no catch-up window', () => {
    expect(errorOf(() => scheduleOptions({ ...probe, calendars: [], intervals: undefined })).message).toContain('neither calendars nor intervals');
    expect(errorOf(() => scheduleOptions({ ...probe, catchupWindowMs: 0 })).message).toContain('catch-up window');
    expect(errorOf(() => scheduleOptions({ ...probe, intervals: [{ everyMs: 10 }] })).message).toContain('interval');
    expect(errorOf(() => scheduleOptions({ ...probe, timezone: 'Nowhere/Land' })).type).toBe('InvalidInput');
  });

  it('diff: nothing against what the server describes for them; the fields that differ otherwise', () => {
    for (const def of [probe, ...planSchedules(spec)] as AnyScheduleDefinition[]) expect(scheduleDiff(def, liveOf(def))).toEqual([]);
    const live = liveOf(probe);
    expect(scheduleDiff({ ...probe, args: [{ spec, records: 6 }] }, live)).toEqual(['args']);
    expect(scheduleDiff({ ...probe, intervals: [{ everyMs: 3_600_000 }] }, live)).toEqual(['intervals']);
    expect(scheduleDiff({ ...probe, calendars: [{ hour: 5, minute: 30, comment: 'morning probe' }], catchupWindowMs: 1000 }, live)).toEqual(['calendars', 'catchupWindow']);
    expect(scheduleDiff({ ...probe, kind: 'drill', taskQueue: 'elsewhere' }, live)).toEqual(['taskQueue', 'kind']);
  });

  it('expands loose calendars the way the server describes them', () => {
    expect(expandCalendars([{ hour: '*', minute: 15, comment: 'c' }])).toEqual([full({ minute: 15, hour: [0, 23], comment: 'c' })]);
    expect(describeSpec(liveOf(probe))).toBe('min 30 hour 4 day 1-31 weekday SUNDAY-SATURDAY; every 21600s (offset 60s) UTC');
  });
});

describe('asBackupState', () => {
  const state = (id: string, description: string, timezone = 'UTC'): ScheduleState => ({
    id,
    workflowType: 'backup',
    cluster: 'east-1',
    kind: 'backup',
    paused: false,
    description,
    timezone,
    overlap: 'SKIP',
    catchupWindowMs: 600_000,
    nextRuns: [],
    running: [],
    actionsTaken: 0,
    skippedOverlap: 0,
    missedCatchupWindow: 0,
  });

  it('names the tier and describes a tier calendar as the tier does; an edited one field by field', () => {
    const hourly = planSchedules(spec, { timezone: 'Europe/Berlin' })[0]!;
    const described = describeSpec(liveOf(hourly));
    expect(asBackupState(state(hourly.id, described, 'Europe/Berlin'))).toMatchObject({ cluster: 'east-1', tier: 'hourly', description: 'every hour at :15 Europe/Berlin' });
    expect(asBackupState(state(hourly.id, 'min 20 hour 0-23 day 1-31 weekday SUNDAY-SATURDAY UTC')).description).toBe('min 20 hour 0-23 day 1-31 weekday SUNDAY-SATURDAY UTC');
    expect(errorOf(() => asBackupState(state('lifeboat-probe-east-1', described))).type).toBe('InvalidInput');
  });
});
