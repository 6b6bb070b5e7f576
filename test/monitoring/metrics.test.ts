/**
 * The /metrics exposition from fixture facts: timestamps are the facts' own, what is not known is
 * not exported, 3-2-1 from the tiers, and nothing survives from a previous scrape (a deleted schedule
 * or cluster leaves no series).
 */
import { describe, expect, it } from 'vitest';
import { lastProtectedTime, metricsRegistry, mirrorLagOf, protectionFromFacts, renderMetrics, type WatchedBackupFacts, type WatchedFacts } from '../../src/monitoring/metrics';
import type { BackupFacts, TierFacts } from '../../src/monitoring/types';

function tier(over: Partial<TierFacts> & Pick<TierFacts, 'tier'>): TierFacts {
  return { medium: 'disk', offsite: false, location: `/repo/${over.tier}`, reachable: true, sets: 3, ...over };
}

function facts(over: Partial<BackupFacts> = {}): BackupFacts {
  return {
    cluster: 'primary',
    gatheredAt: '2026-12-03T12:00:00.000Z',
    expectedIntervalSeconds: 900,
    schedule: { id: 'backup-primary', exists: true, paused: false, intervalSeconds: 900 },
    tiers: [
      tier({
        tier: 'primary',
        lastSuccess: { setId: 's2', time: '2026-12-03T11:45:00.000Z', parts: 3, bytes: 1234, durationSeconds: 42.5 },
        lastAttempt: { setId: 's2', time: '2026-12-03T11:45:00.000Z', complete: true },
        lastVerified: { setId: 's2', time: '2026-12-03T11:50:00.000Z', ok: true },
        storedBytes: 99999,
        hasNewest: true,
        copyLagSeconds: 0,
        lastCheck: { time: '2026-12-03T10:00:00.000Z', ok: true, problems: 0 },
      }),
      tier({
        tier: 'offsite',
        medium: 'object',
        offsite: true,
        lastSuccess: { setId: 's1', time: '2026-12-03T11:30:00.000Z', parts: 3 },
        hasNewest: false,
        copyLagSeconds: 900,
      }),
    ],
    failures: [{ reason: 'broker-unreachable', count: 2 }],
    ...over,
  };
}

/** The exposition's samples: "name{labels}" → value (labels as prom-client writes them). */
async function samples(watched: WatchedFacts[]): Promise<Map<string, number>> {
  const { body } = await renderMetrics(watched);
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const ok = (f: WatchedBackupFacts = facts()): WatchedFacts => ({ spec: '/specs/primary.yaml', cluster: f.cluster, facts: f, gatherSeconds: 0.25 });
const T = (t: string) => `{cluster="primary",tier="${t}"}`;

describe('metrics from facts', () => {
  it('exports the facts with their own timestamps, per cluster and tier', async () => {
    const s = await samples([ok()]);
    expect(s.get('lifeboat_backup_expected_interval_seconds{cluster="primary"}')).toBe(900);
    expect(s.get('lifeboat_backup_facts_timestamp_seconds{cluster="primary"}')).toBe(Date.parse('2026-12-03T12:00:00Z') / 1000);
    expect(s.get(`lifeboat_backup_last_success_timestamp_seconds${T('primary')}`)).toBe(Date.parse('2026-12-03T11:45:00Z') / 1000);
    expect(s.get(`lifeboat_backup_last_success_timestamp_seconds${T('offsite')}`)).toBe(Date.parse('2026-12-03T11:30:00Z') / 1000);
    expect(s.get(`lifeboat_backup_last_success_size_bytes${T('primary')}`)).toBe(1234);
    expect(s.get(`lifeboat_backup_last_success_duration_seconds${T('primary')}`)).toBe(42.5);
    expect(s.has(`lifeboat_backup_last_success_size_bytes${T('offsite')}`)).toBe(false);
    expect(s.get(`lifeboat_backup_last_attempt_complete${T('primary')}`)).toBe(1);
    expect(s.get(`lifeboat_backup_last_verified_timestamp_seconds${T('primary')}`)).toBe(Date.parse('2026-12-03T11:50:00Z') / 1000);
    expect(s.get(`lifeboat_backup_newest_set_verified${T('primary')}`)).toBe(1);
    expect(s.get(`lifeboat_backup_newest_set_verified${T('offsite')}`)).toBe(0);
    expect(s.get(`lifeboat_backup_copy_lag_seconds${T('offsite')}`)).toBe(900);
    expect(s.get(`lifeboat_backup_tier_has_newest${T('offsite')}`)).toBe(0);
    expect(s.get(`lifeboat_backup_repository_check_success${T('primary')}`)).toBe(1);
    expect(s.get(`lifeboat_backup_repository_stored_bytes${T('primary')}`)).toBe(99999);
    expect(s.get('lifeboat_backup_tier_info{cluster="primary",tier="offsite",medium="object",offsite="true"}')).toBe(1);
    expect(s.get('lifeboat_backup_schedule_info{cluster="primary",schedule="backup-primary",paused="false",noted="false"}')).toBe(1);
    expect(s.get('lifeboat_backup_schedule_exists{cluster="primary"}')).toBe(1);
    expect(s.get('lifeboat_backup_failures_total{cluster="primary",reason="broker-unreachable"}')).toBe(2);
    expect(s.get('lifeboat_backup_facts_up{cluster="primary",spec="/specs/primary.yaml"}')).toBe(1);
  });

  it('failed runs of all reasons are one series, present at 0 before the first failure (a first failure is an increase)', async () => {
    expect((await samples([ok()])).get('lifeboat_backup_failed_runs_total{cluster="primary"}')).toBe(2);
    const none = await samples([ok(facts({ failures: [] }))]);
    expect(none.get('lifeboat_backup_failed_runs_total{cluster="primary"}')).toBe(0);
    expect([...none.keys()].some((k) => k.startsWith('lifeboat_backup_failures_total'))).toBe(false);
  });

  it('without Temporal, schedule and failures are unknown: no series for them (not a 0 that would alert)', async () => {
    const f = { ...facts({ schedule: { id: 'backup-primary-hourly', exists: false, paused: false } }), temporal: { reachable: false, error: 'Temporal: connection refused' } };
    const s = await samples([ok(f)]);
    expect(s.get('lifeboat_backup_temporal_up{cluster="primary"}')).toBe(0);
    expect([...s.keys()].filter((k) => /schedule|failures|failed_runs/.test(k))).toEqual([]);
    expect(s.get(`lifeboat_backup_last_success_timestamp_seconds${T('primary')}`)).toBeGreaterThan(0);
    const up = await samples([ok({ ...facts(), temporal: { reachable: true } })]);
    expect(up.get('lifeboat_backup_temporal_up{cluster="primary"}')).toBe(1);
    expect(up.get('lifeboat_backup_schedule_exists{cluster="primary"}')).toBe(1);
  });

  it('names the metric types Prometheus expects (failures a counter, the rest gauges)', async () => {
    const { body, contentType } = await renderMetrics([ok()]);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('# TYPE lifeboat_backup_failures_total counter');
    expect(body).toContain('# TYPE lifeboat_backup_last_success_timestamp_seconds gauge');
  });

  it('an unreachable tier exports only that it is unreachable (no stale or never-run on what nobody could read)', async () => {
    const f = facts();
    f.tiers[1] = tier({ tier: 'offsite', medium: 'object', offsite: true, reachable: false, error: 'bucket missing', sets: 0 });
    const s = await samples([ok(f)]);
    expect(s.get(`lifeboat_backup_tier_reachable${T('offsite')}`)).toBe(0);
    expect([...s.keys()].filter((k) => k.includes('tier="offsite"')).sort()).toEqual([
      'lifeboat_backup_tier_info{cluster="primary",tier="offsite",medium="object",offsite="true"}',
      `lifeboat_backup_tier_reachable${T('offsite')}`,
    ]);
  });

  it('a tier without any complete set has no last-success series (absent, for the never-run rule)', async () => {
    const f = facts({ tiers: [tier({ tier: 'primary', sets: 1, lastAttempt: { setId: 'p', time: '2026-12-03T11:00:00Z', complete: false } })] });
    const s = await samples([ok(f)]);
    expect(s.has(`lifeboat_backup_last_success_timestamp_seconds${T('primary')}`)).toBe(false);
    expect(s.get(`lifeboat_backup_last_attempt_complete${T('primary')}`)).toBe(0);
    expect(s.get(`lifeboat_backup_sets${T('primary')}`)).toBe(1);
    // 3-2-1 is about the newest complete set: with none, no verdict (never-run says it).
    expect(s.has('lifeboat_backup_protected{cluster="primary"}')).toBe(false);
  });

  it('a failed verification: the success timestamp stays the last good one only while the newest says so', async () => {
    const f = facts();
    f.tiers[0]!.lastVerified = { setId: 's2', time: '2026-12-03T11:55:00Z', ok: false, detail: 'pack 3f… hash mismatch' };
    const s = await samples([ok(f)]);
    expect(s.get(`lifeboat_backup_last_verification_success${T('primary')}`)).toBe(0);
    expect(s.get(`lifeboat_backup_last_verification_timestamp_seconds${T('primary')}`)).toBe(Date.parse('2026-12-03T11:55:00Z') / 1000);
    expect(s.has(`lifeboat_backup_last_verified_timestamp_seconds${T('primary')}`)).toBe(false);
    expect(s.get(`lifeboat_backup_newest_set_verified${T('primary')}`)).toBe(0);
  });

  it('a paused schedule carries paused="true" and whether it has a note; a deleted one has no info series', async () => {
    const paused = await samples([ok(facts({ schedule: { id: 'backup-primary', exists: true, paused: true, note: 'maintenance, ops' } }))]);
    expect(paused.get('lifeboat_backup_schedule_info{cluster="primary",schedule="backup-primary",paused="true",noted="true"}')).toBe(1);
    const gone = await samples([ok(facts({ schedule: { id: 'backup-primary', exists: false, paused: false } }))]);
    expect([...gone.keys()].some((k) => k.startsWith('lifeboat_backup_schedule_info'))).toBe(false);
    expect(gone.get('lifeboat_backup_schedule_exists{cluster="primary"}')).toBe(0);
  });

  it('each scrape is built afresh: a cluster no longer watched has no series at all', async () => {
    const standby = facts({ cluster: 'standby', schedule: { id: 'backup-standby', exists: true, paused: false } });
    const both = await samples([ok(), { spec: '/specs/standby.yaml', cluster: 'standby', facts: standby }]);
    expect([...both.keys()].some((k) => k.includes('cluster="standby"'))).toBe(true);
    const after = await samples([ok()]);
    expect([...after.keys()].some((k) => k.includes('cluster="standby"'))).toBe(false);
    // Two registries never share state (prom-client's default registry is not used).
    expect(metricsRegistry([]).getMetricsAsArray().every((m) => m.name.startsWith('lifeboat_'))).toBe(true);
  });

  it('a spec whose facts could not be gathered is facts_up 0 with the reason; the others stay', async () => {
    const s = await samples([ok(), { spec: '/specs/broken.yaml', error: 'invalid cluster spec: name: Required', gatherSeconds: 0.01 }]);
    expect(s.get('lifeboat_backup_facts_up{cluster="",spec="/specs/broken.yaml"}')).toBe(0);
    expect(s.get('lifeboat_backup_facts_error{cluster="",spec="/specs/broken.yaml",reason="invalid cluster spec: name: Required"}')).toBe(1);
    expect(s.get('lifeboat_backup_expected_interval_seconds{cluster="primary"}')).toBe(900);
  });
});

describe('the mirror held by a watched cluster', () => {
  const pos = (topic: string, partition: number, next: number, sourceEnd: number, at: number, lastTimestamp?: number) => ({
    pair: 'primary-to-standby',
    topic,
    partition,
    next,
    targetNext: next,
    mode: 'identical' as const,
    records: next,
    bytes: 0,
    sourceEnd,
    runs: [],
    segments: 0,
    at,
    ...(lastTimestamp !== undefined ? { lastTimestamp } : {}),
  });

  it('sums the lag per pair and topic from the positions; the oldest position time says how current it is', () => {
    expect(mirrorLagOf([pos('orders', 0, 90, 100, 5000, 4000), pos('orders', 1, 50, 50, 3000, 4500), pos('audit', 0, 7, 5, 6000)])).toEqual([
      { pair: 'primary-to-standby', topic: 'audit', partitions: 1, lagRecords: 0, positionAt: 6000 },
      { pair: 'primary-to-standby', topic: 'orders', partitions: 2, lagRecords: 10, positionAt: 3000, lastRecordAt: 4500 },
    ]);
  });

  it('is exported only where a mirror exists; a state that cannot be read is mirror_state_up 0', async () => {
    const mirror = mirrorLagOf([pos('orders', 0, 90, 100, 5_000_000, 4_000_000)]);
    const s = await samples([{ ...ok(), mirror }]);
    const l = '{cluster="primary",pair="primary-to-standby",topic="orders"}';
    expect(s.get(`lifeboat_mirror_lag_records${l}`)).toBe(10);
    expect(s.get(`lifeboat_mirror_position_timestamp_seconds${l}`)).toBe(5000);
    expect(s.get(`lifeboat_mirror_last_record_timestamp_seconds${l}`)).toBe(4000);
    expect(s.get('lifeboat_mirror_state_up{cluster="primary"}')).toBe(1);
    const none = await samples([{ ...ok(), mirror: [] }]);
    expect([...none.keys()].some((k) => k.startsWith('lifeboat_mirror_'))).toBe(false);
    const failed = await samples([{ ...ok(), mirror: { error: 'connection refused' } }]);
    expect(failed.get('lifeboat_mirror_state_up{cluster="primary"}')).toBe(0);
  });
});

describe('3-2-1 from the facts', () => {
  it('counts the tiers holding the newest set, their media and the off-site ones', () => {
    const f = facts();
    expect(protectionFromFacts(f.tiers)).toEqual({ copies: 1, media: 1, offsite: 0, protected: false });
    f.tiers[1]!.hasNewest = true;
    expect(protectionFromFacts(f.tiers)).toEqual({ copies: 2, media: 2, offsite: 1, protected: true });
    // Two copies on one medium, one of them off-site: not 2 media.
    f.tiers[1]!.medium = 'disk';
    expect(protectionFromFacts(f.tiers)).toEqual({ copies: 2, media: 1, offsite: 1, protected: false });
    // Without hasNewest, the tier's own newest set id decides.
    const g = facts();
    delete g.tiers[1]!.hasNewest;
    g.tiers[1]!.lastSuccess = { setId: 's2', time: '2026-12-03T11:45:00Z', parts: 3 };
    expect(protectionFromFacts(g.tiers)?.protected).toBe(true);
  });

  it('the newest protected set: the newest time held by 2 media and an off-site tier', () => {
    const at = (iso: string) => Date.parse(iso) / 1000;
    const f = facts();
    // primary (disk) at 11:45, offsite (object, off-site) at 11:30: 11:30 is on both.
    expect(lastProtectedTime(f.tiers)).toBe(at('2026-12-03T11:30:00Z'));
    // A third tier (nas, on site) at 11:45 does not make 11:45 protected: nothing off-site has it.
    f.tiers.push(tier({ tier: 'nas', medium: 'nas', lastSuccess: { setId: 's2', time: '2026-12-03T11:45:00Z', parts: 3 } }));
    expect(lastProtectedTime(f.tiers)).toBe(at('2026-12-03T11:30:00Z'));
    // Only disk media, even off-site: never protected.
    expect(lastProtectedTime([f.tiers[0]!, { ...f.tiers[1]!, medium: 'disk' }])).toBeUndefined();
    // An unreachable off-site tier counts for nothing.
    expect(lastProtectedTime([f.tiers[0]!, { ...f.tiers[1]!, reachable: false }])).toBeUndefined();
  });

  it('exports protected, copies, media and off-site copies per cluster', async () => {
    const f = facts();
    f.tiers[1]!.hasNewest = true;
    const s = await samples([ok(f)]);
    expect(s.get('lifeboat_backup_protected{cluster="primary"}')).toBe(1);
    expect(s.get('lifeboat_backup_newest_copies{cluster="primary"}')).toBe(2);
    expect(s.get('lifeboat_backup_newest_media{cluster="primary"}')).toBe(2);
    expect(s.get('lifeboat_backup_newest_offsite_copies{cluster="primary"}')).toBe(1);
    expect(s.get('lifeboat_backup_last_protected_timestamp_seconds{cluster="primary"}')).toBe(Date.parse('2026-12-03T11:45:00Z') / 1000);
  });
});
