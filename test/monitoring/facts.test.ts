/**
 * Backup facts from real repositories (src/monitoring/facts.ts): per tier the sets, the newest
 * complete one and the newest attempt, sizes, copy lag against the first tier; a tier that cannot
 * be opened is unreachable with the reason and nothing is created there; without Temporal the
 * schedule is unknown and the expected interval is the spec's RPO. Then a verification of the
 * newest set (src/monitoring/verify.ts): good, and after one flipped bit in its data, failed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BackupSet, listBackupSets } from '../../src/backup/parts';
import { parseSpec, type ClusterSpec } from '../../src/config/spec';
import { openRepository } from '../../src/repository';
import { gatherBackupFacts, tierFactsOf } from '../../src/monitoring/facts';
import { healthOf } from '../../src/monitoring/health.pure';
import { sampleChunks, verifySet } from '../../src/monitoring/verify';
import { damageLargestPack, PASSWORD, tempDir, tempRepo } from '../repository/helpers';
import { storeSet } from './sets';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const ago = (minutes: number) => new Date(NOW - minutes * 60_000);

function specOf(primary: string, offsite: string, nas: string): ClusterSpec {
  process.env.LIFEBOAT_TEST_MON_PASSWORD = PASSWORD;
  const password = { env: 'LIFEBOAT_TEST_MON_PASSWORD' };
  return parseSpec({
    name: 'mon',
    kafka: { bootstrapServers: ['127.0.0.1:9'] },
    repository: { path: primary, password },
    offsiteRepository: { path: offsite, password },
    tiers: [{ name: 'nas', path: nas, password, medium: 'nas', offsite: false }],
    objectives: { rtoMinutes: 30, rpoMinutes: 60 },
  });
}

describe('backup facts', () => {
  it('per tier: sets, newest complete and attempt, sizes, copy lag; an unopenable tier is unreachable and left uncreated; verdicts from them', async () => {
    const primary = await tempRepo();
    const offsite = await tempRepo();
    await storeSet(primary, 'mon', 'aaaa000000000001', ago(180));
    await storeSet(primary, 'mon', 'bbbb000000000002', ago(10));
    await storeSet(primary, 'mon', 'cccc000000000003', ago(1), ['zookeeper']); // still running or failed
    // A complete set an operator took by hand (tier manual, --parts logdirs:1), newer than the scheduled one: not what freshness is about.
    await storeSet(primary, 'mon', 'eeee000000000005', ago(5), ['logdirs:1'], ['logdirs:1'], 'manual');
    await storeSet(primary, 'other', 'dddd000000000004', ago(0)); // another cluster's set in the same repository
    await storeSet(offsite, 'mon', 'aaaa000000000001', ago(180));
    const nas = join(tempDir('nas'), 'not-mounted');
    const spec = specOf(primary.path, offsite.path, nas);
    await primary.close();
    await offsite.close();

    const facts = await gatherBackupFacts(spec, { now: new Date(NOW) });
    expect(facts.cluster).toBe('mon');
    expect(facts.gatheredAt).toBe(new Date(NOW).toISOString());
    expect(facts.expectedIntervalSeconds).toBe(3600);
    expect(facts.temporal.reachable).toBe(false);
    expect(facts.schedule).toEqual({ id: 'lifeboat-backup-mon-hourly', exists: false, paused: false });
    expect(facts.failures).toEqual([]);

    const [p, o, n] = facts.tiers;
    expect(p).toMatchObject({
      tier: 'primary',
      medium: 'disk',
      offsite: false,
      reachable: true,
      sets: 4,
      lastSuccess: { setId: 'bbbb000000000002', time: ago(10).toISOString(), parts: 2 },
      lastAttempt: { setId: 'cccc000000000003', complete: false },
      hasNewest: true,
      copyLagSeconds: 0,
    });
    expect(p!.lastSuccess!.bytes).toBeGreaterThan(300_000);
    expect(p!.storedBytes).toBeGreaterThan(0);
    expect(o).toMatchObject({ tier: 'offsite', medium: 'nas', offsite: true, reachable: true, sets: 1, hasNewest: false, copyLagSeconds: 170 * 60 });
    expect(o!.lastSuccess!.setId).toBe('aaaa000000000001');
    expect(n).toMatchObject({ tier: 'nas', reachable: false, sets: 0 });
    expect(n!.error).toContain(nas);
    expect(existsSync(nas)).toBe(false);

    const h = healthOf(facts);
    const by = (check: string, tier?: string) => h.checks.find((c) => c.check === check && c.tier === tier);
    expect(by('fresh', 'primary')).toMatchObject({ ok: true, severity: 'ok', evidence: { ageSeconds: 600, limitSeconds: 7200 } });
    expect(by('fresh', 'offsite')).toMatchObject({ ok: false, severity: 'warning', evidence: { ageSeconds: 10_800 } });
    expect(by('reachable', 'nas')).toMatchObject({ ok: false, severity: 'warning' });
    expect(by('offsite', 'offsite')).toMatchObject({ ok: true }); // the newest set is 10 min old: its copy may be under way
    expect(by('verified', 'primary')).toMatchObject({ ok: false, severity: 'warning' });
    expect(by('scheduled')).toMatchObject({ ok: false, evidence: { known: false } });
    expect(by('protected')).toMatchObject({ ok: false, summary: expect.stringContaining('no copy off-site') });
    expect(h.verdict).toBe('degraded');
  });

  it("the last success: a scheduled set, whatever parts its schedule takes; a cluster backed up only by hand is judged by those", () => {
    const tier = { name: 'primary', medium: 'disk', offsite: false, location: '/r' } as const;
    const set = (setId: string, tierName: string, parts: string[], minutesAgo: number, complete = true): BackupSet => ({ setId, tier: tierName, time: ago(minutesAgo).toISOString(), parts, snapshots: {}, complete });
    // A metadata-only schedule is fresh by its own sets; a newer manual set does not count while scheduled ones exist.
    const scheduled = [set('s1', 'hourly', ['kafka-metadata'], 60), set('s2', 'hourly', ['kafka-metadata'], 30), set('m1', 'manual', ['logdirs:1'], 5), set('s3', 'hourly', ['kafka-metadata'], 1, false)];
    expect(tierFactsOf(tier, scheduled).lastSuccess?.setId).toBe('s2');
    expect(tierFactsOf(tier, scheduled).lastAttempt).toMatchObject({ setId: 's3', complete: false });
    // Only manual sets: the newest of them.
    expect(tierFactsOf(tier, [set('m1', 'manual', ['zookeeper'], 50), set('m2', 'manual', ['zookeeper'], 20)]).lastSuccess?.setId).toBe('m2');
  });

  it('verifies the newest set (structure, small parts whole, a random share of its data) and fails it after a flipped bit', async () => {
    const repo = await tempRepo();
    await storeSet(repo, 'mon', 'eeee000000000005', ago(5));
    const path = repo.path;
    await repo.close();

    const open = () => openRepository(path, PASSWORD, { notice: () => undefined });
    const good = await open();
    const set = (await listBackupSets(good, 'mon'))[0]!;
    const ok = await verifySet(good, set, { fraction: 0.2 });
    await good.close();
    expect(ok.problems).toEqual([]);
    expect(ok.lastVerified).toMatchObject({ setId: 'eeee000000000005', ok: true });
    expect(ok.lastCheck).toMatchObject({ ok: true, problems: 0 });
    expect(ok.read.chunks).toBeGreaterThan(5);
    expect(ok.read.chunksRead).toBeLessThan(ok.read.chunks);
    expect(ok.read.bytesRead).toBeGreaterThanOrEqual(0.2 * ok.read.bytes);

    // Every chunk read (fraction 1), so the flipped bit cannot be missed.
    damageLargestPack(repo, 'flip');
    const bad = await open();
    const r = await verifySet(bad, set, { fraction: 1 });
    await bad.close();
    expect(r.lastVerified.ok).toBe(false);
    expect(r.lastVerified.detail).toMatch(/problem/);
    expect(r.problems.join('\n')).toMatch(/fails authentication|damaged header/);
  });

  it('samples chunks at random up to the share of bytes, at least one per part', () => {
    const chunks = [
      ...Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, raw: 100, part: 'logdirs:1', pack: 'p1' })),
      { id: 'b0', raw: 100, part: 'logdirs:2', pack: 'p2' },
    ];
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const picked = sampleChunks(chunks, 0.3, random);
    expect(picked.reduce((n, c) => n + c.raw, 0)).toBeGreaterThanOrEqual(300);
    expect(picked.length).toBeLessThanOrEqual(5);
    expect(new Set(picked.map((c) => c.part))).toEqual(new Set(['logdirs:1', 'logdirs:2']));
    expect(sampleChunks(chunks, 1, random)).toHaveLength(11);
    expect(sampleChunks(chunks, 0, random).map((c) => c.part).sort()).toEqual(['logdirs:1', 'logdirs:2']);
  });
});
