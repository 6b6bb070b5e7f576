/** The tier plan, pure: IDs, timing, policies and the backup input each schedule starts. */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import type { LifeboatError } from '../../src/errors';
import { parseScheduleId, planSchedules, type ScheduledBackupInput, scheduleId } from '../../src/temporal/schedules';
import type { BackupInput } from '../../workflows/backup';

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

describe('planSchedules', () => {
  it('plans the four tiers: hourly incremental, the others full, SKIP overlap and a catch-up window', () => {
    const plan = planSchedules(spec);
    expect(plan.map((s) => s.id)).toEqual(['hourly', 'daily', 'weekly', 'monthly'].map((t) => `lifeboat-backup-east-1-${t}`));
    for (const s of plan) {
      const o = s.options;
      expect(o.policies).toEqual({ overlap: 'SKIP', catchupWindow: s.tier === 'hourly' ? 600_000 : 3_600_000, pauseOnFailure: false });
      expect(o.action).toMatchObject({ workflowType: 'backup', taskQueue: 'lifeboat', workflowId: `backup-east-1-${s.tier}`, memo: { cluster: 'east-1', tier: s.tier } });
      expect(o.action.staticSummary).toContain(`${s.tier} `);
      const input = o.action.args![0] as ScheduledBackupInput;
      // Compile-time check that what a schedule starts is a valid BackupInput.
      const asBackup: BackupInput = input;
      expect(asBackup).toEqual({ spec, tier: s.tier, incremental: s.tier === 'hourly', logdirMode: 'hot' });
      const attrs = o.action.typedSearchAttributes as { key: { name: string }; value: unknown }[];
      expect(Object.fromEntries(attrs.map((a) => [a.key.name, a.value]))).toEqual({ LifeboatCluster: 'east-1', LifeboatKind: 'backup' });
      expect(o.spec.timezone).toBe('UTC');
    }
    const [hourly, daily, weekly, monthly] = plan.map((s) => s.options.spec.calendars![0]!);
    expect(hourly).toMatchObject({ minute: [{ start: 15, end: 15, step: 1 }], hour: [{ start: 0, end: 23, step: 1 }] });
    expect(daily).toMatchObject({ minute: [{ start: 0, end: 0, step: 1 }], hour: [{ start: 1, end: 1, step: 1 }] });
    expect(weekly).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }], dayOfWeek: [{ start: 'SUNDAY', end: 'SUNDAY', step: 1 }] });
    expect(monthly).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }], dayOfMonth: [{ start: 1, end: 1, step: 1 }] });
  });

  it('takes a subset of tiers (in tier order), restricted parts and a time zone', () => {
    const plan = planSchedules(spec, { tiers: ['weekly', 'hourly'], parts: ['kafka-metadata', 'configs:1'], timezone: 'Europe/Berlin' });
    expect(plan.map((s) => s.tier)).toEqual(['hourly', 'weekly']);
    expect((plan[0]!.options.action.args![0] as ScheduledBackupInput).parts).toEqual(['kafka-metadata', 'configs:1']);
    expect(plan[1]!.options.spec.timezone).toBe('Europe/Berlin');
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
