/**
 * Backup facts and the monitor's verification on an S3 tier (the lab's versitygw): the tier is
 * object storage and off-site, holds the newest set, so the set is protected (3-2-1: disk and
 * object, one off-site); the set verifies read from S3; a tier with wrong credentials is
 * unreachable with one line and is not created.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listBackupSets } from '../../src/backup/parts';
import { parseSpec } from '../../src/config/spec';
import { gatherBackupFacts } from '../../src/monitoring/facts';
import { healthOf } from '../../src/monitoring/health.pure';
import { verifySet } from '../../src/monitoring/verify';
import { openRepositoryForSpec } from '../../src/repository';
import { tempDir } from '../repository/helpers';
import { cleanS3, s3Keys, s3Prefix, s3Repository } from '../support/s3';
import '../support/lab';
import { storeSet } from './sets';

describe('backup facts on S3', () => {
  afterAll(() => cleanS3());

  it('an off-site S3 tier holding the newest set: reachable, object storage, protected, verified from S3; wrong credentials: unreachable', async () => {
    const s3 = s3Repository();
    const badPrefix = s3Prefix('bad');
    const wrongKey = join(tempDir('bad-key'), 'secret');
    writeFileSync(wrongKey, 'not-the-secret-key\n');
    const bad = { ...s3Repository(badPrefix), s3: { ...s3.s3, secretAccessKey: { file: wrongKey } } };
    const local = s3Repository(); // for its password file
    const spec = parseSpec({
      name: 'mon-s3',
      kafka: { bootstrapServers: ['127.0.0.1:9'] },
      repository: { path: join(tempDir('primary'), 'repo'), password: local.password },
      tiers: [
        { name: 's3', ...s3, medium: 'object', offsite: true },
        { name: 'broken', ...bad, medium: 'object', offsite: true },
      ],
    });
    const time = new Date(Date.now() - 60_000);
    for (const tier of ['primary', 's3']) {
      const repo = await openRepositoryForSpec(spec, tier, { create: true, notice: () => undefined });
      await storeSet(repo, 'mon-s3', 'ffff000000000006', time);
      await repo.close();
    }

    const facts = await gatherBackupFacts(spec, { expectedIntervalSeconds: 3600 });
    const [p, o, b] = facts.tiers;
    expect(p).toMatchObject({ tier: 'primary', reachable: true, lastSuccess: { setId: 'ffff000000000006' } });
    expect(o).toMatchObject({ tier: 's3', medium: 'object', offsite: true, reachable: true, sets: 1, hasNewest: true, copyLagSeconds: 0, location: s3.path });
    expect(o!.storedBytes).toBeGreaterThan(0);
    expect(b).toMatchObject({ tier: 'broken', reachable: false });
    expect(b!.error!.split('\n')).toHaveLength(1);
    expect(b!.error).toMatch(/credential|signature|access/i);
    expect(await s3Keys(badPrefix)).toEqual([]);

    const h = healthOf(facts);
    expect(h.checks.find((c) => c.check === 'protected')).toMatchObject({ ok: true, evidence: { media: 'disk,object', offsite: 's3' } });
    expect(h.checks.find((c) => c.check === 'offsite' && c.tier === 's3')).toMatchObject({ ok: true });

    const repo = await openRepositoryForSpec(spec, 's3', { notice: () => undefined });
    try {
      const set = (await listBackupSets(repo, 'mon-s3'))[0]!;
      const v = await verifySet(repo, set, { fraction: 1 });
      expect(v.problems).toEqual([]);
      expect(v.lastVerified).toMatchObject({ setId: 'ffff000000000006', ok: true });
      expect(v.read.chunksRead).toBe(v.read.chunks);
      expect(v.read.packsChecked).toBeGreaterThan(0);
    } finally {
      await repo.close();
    }
  }, 120_000);
});
