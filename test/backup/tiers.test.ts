/**
 * Repository tiers as the spec lays them out, 3-2-1 as a check, the spec a fallback recovery reads
 * with, and retention per tier keeping each tier's only complete set.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec, type ClusterSpec } from '../../src/config/spec';
import type { BackupSet } from '../../src/backup/parts';
import { planSetRetention } from '../../src/backup/retention';
import { copyStepOf, fromTierProblem, protectionOf, repositoryTiers, specReadingFrom, tiersRetentionDetail } from '../../src/backup/tiers';
import type { SnapshotMeta } from '../../src/repository/types';

const pw = { env: 'LIFEBOAT_PASSWORD' };
const base = {
  name: 'c1',
  kafka: { bootstrapServers: ['127.0.0.1:9092'] },
  brokers: [{ id: 1, host: 'h1', logDirs: ['/data/1'], configDir: '/etc/kafka', control: { type: 'systemd', unit: 'kafka.service' } }],
  retention: { keepLast: 3 },
};
const s3 = { endpoint: 'http://127.0.0.1:7070', pathStyle: true, accessKeyId: { env: 'AK' }, secretAccessKey: { env: 'SK' } };

function specWith(extra: Record<string, unknown>): ClusterSpec {
  return parseSpec({ ...base, ...extra }, 'test');
}

describe('repositoryTiers', () => {
  it('lists the primary, the off-site repository as tier "offsite", then tiers[] in order, with media and retention', () => {
    const spec = specWith({
      repository: { path: '/backups/c1', password: pw },
      offsiteRepository: { path: '/mnt/remote/c1', password: pw },
      tiers: [
        { name: 'nas', path: '/mnt/nas/c1', password: pw, medium: 'nas', retention: { keepLast: 1 } },
        { name: 's3', path: 's3://lifeboat/c1', password: pw, s3, medium: 'object', offsite: true },
        { name: 'archive', path: '/mnt/tape/c1', password: pw, medium: 'archive', offsite: true, retention: { keepMonthly: 12 } },
      ],
    });
    const tiers = repositoryTiers(spec);
    expect(tiers.map((t) => [t.name, t.field, t.medium, t.offsite, t.location])).toEqual([
      ['primary', 'repository', 'disk', false, '/backups/c1'],
      ['offsite', 'offsiteRepository', 'nas', true, '/mnt/remote/c1'],
      ['nas', 'tiers[0]', 'nas', false, '/mnt/nas/c1'],
      ['s3', 'tiers[1]', 'object', true, 's3://lifeboat/c1'],
      ['archive', 'tiers[2]', 'archive', true, '/mnt/tape/c1'],
    ]);
    // A tier's own retention, else the spec's.
    expect(tiers.map((t) => t.retention)).toEqual([{ keepLast: 3 }, { keepLast: 3 }, { keepLast: 1 }, { keepLast: 3 }, { keepMonthly: 12 }]);
    // The repository section a tier opens carries no tier fields, and keeps its s3 section.
    expect(tiers[3]!.repository).toEqual({ path: 's3://lifeboat/c1', password: pw, compression: 'auto', s3: { ...s3, region: 'us-east-1' } });
    expect(copyStepOf('offsite')).toBe('offsite');
    expect(copyStepOf('nas')).toBe('copy-nas');
  });

  it('a primary or off-site repository on s3:// is object storage; a spec without tiers (an old recorded input) has only what it names', () => {
    const spec = specWith({ repository: { path: 's3://bk1/c1', password: pw, s3 }, offsiteRepository: { path: 's3://bk2/c1', password: pw, s3 } });
    expect(repositoryTiers(spec).map((t) => `${t.name}:${t.medium}`)).toEqual(['primary:object', 'offsite:object']);
    const old = { ...specWith({ repository: { path: '/r', password: pw } }) } as Partial<ClusterSpec>;
    delete old.tiers;
    expect(repositoryTiers(old as ClusterSpec).map((t) => t.name)).toEqual(['primary']);
    expect(repositoryTiers(specWith({})).map((t) => t.name)).toEqual([]);
  });
});

describe('protectionOf (3-2-1)', () => {
  const tiers = repositoryTiers(
    specWith({
      repository: { path: '/backups/c1', password: pw },
      tiers: [
        { name: 'disk2', path: '/backups2/c1', password: pw, medium: 'disk' },
        { name: 'nas', path: '/mnt/nas/c1', password: pw, medium: 'nas' },
        { name: 's3', path: 's3://lifeboat/c1', password: pw, s3, medium: 'object', offsite: true },
      ],
    }),
  );

  it('protected with two media and one copy off-site', () => {
    expect(protectionOf(['primary', 's3'], tiers)).toEqual({ tiers: ['primary', 's3'], copies: 2, media: ['disk', 'object'], offsite: ['s3'], protected: true });
  });

  it('not protected: one medium however many copies, or no copy off-site, or nowhere', () => {
    expect(protectionOf(['primary', 'disk2'], tiers)).toMatchObject({ copies: 2, media: ['disk'], protected: false, missing: 'on only one medium (disk), 3-2-1 asks for two; no copy off-site' });
    expect(protectionOf(['primary', 'nas'], tiers)).toMatchObject({ copies: 2, media: ['disk', 'nas'], offsite: [], protected: false, missing: 'no copy off-site' });
    expect(protectionOf(['s3'], tiers)).toMatchObject({ copies: 1, protected: false, missing: 'on only one medium (object), 3-2-1 asks for two' });
    expect(protectionOf([], tiers)).toMatchObject({ copies: 0, media: [], protected: false });
    // A tier no longer in the spec protects nothing.
    expect(protectionOf(['primary', 'gone'], tiers)).toMatchObject({ tiers: ['primary'], copies: 1, protected: false });
  });
});

describe('specReadingFrom (the fallback chain)', () => {
  const spec = specWith({
    repository: { path: '/backups/c1', password: pw },
    tiers: [{ name: 'nas', path: '/mnt/nas/c1', password: { file: '/etc/lifeboat/nas-pw' }, medium: 'nas' }],
  });

  it('reads the primary unless a tier is named; then the tier is the repository (same cluster, same brokers)', () => {
    expect(specReadingFrom(spec, undefined)).toBe(spec);
    expect(specReadingFrom(spec, 'primary')).toBe(spec);
    const nas = specReadingFrom(spec, 'nas');
    expect(nas.repository).toEqual({ path: '/mnt/nas/c1', password: { file: '/etc/lifeboat/nas-pw' }, compression: 'auto' });
    expect(nas.brokers).toBe(spec.brokers);
    expect(spec.repository!.path).toBe('/backups/c1');
    expect(() => specReadingFrom(spec, 'tape')).toThrow('has no repository tier "tape"');
  });

  it("the report's line names the tier and why the ones before it were passed over", () => {
    expect(fromTierProblem('abc', { tier: 'nas', location: '/mnt/nas/c1', passed: [{ tier: 'primary', location: '/backups/c1', reason: 'no repository at /backups/c1' }] })).toBe(
      'backup set abc is read from tier nas (/mnt/nas/c1), the next tier of the fallback chain: the primary repository (/backups/c1): no repository at /backups/c1',
    );
  });
});

describe('retention per tier', () => {
  const snap = (id: string, time: string): SnapshotMeta => ({
    id,
    time,
    cluster: 'c1',
    hostname: 'h',
    components: ['zookeeper'],
    tags: [],
    points: {},
    extra: {},
    summary: { files: 1, bytes: 1, newBytes: 1, durationMs: 1 },
  });
  const full = (setId: string, day: number): BackupSet => {
    const time = `2026-11-${String(day).padStart(2, '0')}T01:00:00.000Z`;
    const parts = { zookeeper: snap(`${setId}-z`, time), 'kafka-metadata': snap(`${setId}-m`, time), 'configs:1': snap(`${setId}-c`, time), 'logdirs:1': snap(`${setId}-l`, time) };
    return { setId, tier: 'daily', time, parts: Object.keys(parts), snapshots: parts, complete: true };
  };

  it("each tier's own policy: keepLast 1 in a tier keeps its newest set only, the spec's keepLast 3 keeps three", () => {
    const sets = [full('s1', 1), full('s2', 2), full('s3', 3), full('s4', 4)];
    const all = sets.flatMap((s) => Object.values(s.snapshots));
    const [primary, nas] = repositoryTiers(
      specWith({ repository: { path: '/r', password: pw }, tiers: [{ name: 'nas', path: '/n', password: pw, medium: 'nas', retention: { keepLast: 1 } }] }),
    );
    expect(planSetRetention(sets, all, primary!.retention, [1]).keep.map((k) => k.setId)).toEqual(['s2', 's3', 's4']);
    expect(planSetRetention(sets, all, nas!.retention, [1]).keep.map((k) => k.setId)).toEqual(['s4']);
  });

  it("never removes a tier's only complete set, even when its policy keeps nothing that old", () => {
    // A tier that received one set weeks ago (its later copies failed) and keeps only the last day.
    const only = full('s1', 1);
    const partial: BackupSet = { ...full('s2', 20), setId: 's2', complete: false };
    delete partial.snapshots['logdirs:1'];
    const sets = [only, partial];
    const all = sets.flatMap((s) => Object.values(s.snapshots));
    const plan = planSetRetention(sets, all, { keepWithin: '1d' }, [1]);
    expect(plan.keep.map((k) => k.setId)).toContain('s1');
    expect(plan.remove.map((r) => r.setId)).not.toContain('s1');
  });

  it('the retention step names each tier', () => {
    const r = (k: number, x: number) => ({ keep: Array.from({ length: k }, () => ({ setId: 'a' })), remove: Array.from({ length: x }, () => ({ setId: 'b' })), prunedBytes: 2e6 });
    expect(tiersRetentionDetail({ primary: r(3, 1) })).toBe('kept 3 sets, removed 1 (2.0 MB freed)');
    expect(tiersRetentionDetail({ primary: r(3, 1), offsite: r(2, 0), tiers: { nas: r(1, 2) } })).toBe(
      'primary: kept 3, removed 1 (2.0 MB freed); offsite: kept 2, removed 0 (2.0 MB freed); nas: kept 1, removed 2 (2.0 MB freed)',
    );
  });
});
