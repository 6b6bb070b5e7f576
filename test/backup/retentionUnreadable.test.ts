/**
 * Retention and a snapshot file that does not read (a damaged file, a storage error): the set it
 * belongs to looked incomplete, and an incomplete set older than the newest complete one, of no
 * running backup, was removed with the rest of its parts. Nothing is removed until every file reads.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listBackupSets } from '../../src/backup/parts';
import { applySetRetention } from '../../src/backup/retention';
import { openRepository } from '../../src/repository';
import { PARTS, storeSet } from '../monitoring/sets';
import { PASSWORD, tempRepo } from '../repository/helpers';

const CLUSTER = 'c';

describe('retention with a snapshot file that does not read', () => {
  it('removes nothing, says which file, and removes again once it reads', async () => {
    const repo = await tempRepo();
    const path = repo.path;
    // A full set, then a newer narrow one (complete in its own plan): the full set is the one to keep.
    await storeSet(repo, CLUSTER, 'full0000aaaa0001', new Date('2026-11-01T00:00:00Z'));
    await storeSet(repo, CLUSTER, 'narrow00aaaa0002', new Date('2026-11-02T00:00:00Z'), ['logdirs:1'], ['logdirs:1']);
    const full = (await listBackupSets(repo, CLUSTER)).find((s) => s.setId === 'full0000aaaa0001')!;
    expect(full.complete).toBe(true);
    const zk = full.snapshots.zookeeper!.id;
    await repo.close();

    // Its ZooKeeper part's snapshot file damaged in place.
    const rel = (readdirSync(join(path, 'snapshots'), { recursive: true }) as string[]).find((f) => f.endsWith(zk))!;
    const where = join(path, 'snapshots', rel);
    const original = readFileSync(where);
    writeFileSync(where, Buffer.from('not a sealed snapshot'));

    const damaged = await openRepository(path, PASSWORD, { notice: () => undefined });
    try {
      // Nobody writes a set (`running` known and empty): the damaged set would go as a failed backup's.
      const r = await applySetRetention(damaged, CLUSTER, { keepLast: 10 }, { brokerIds: [1], running: new Set(), readers: [] });
      expect(r.remove).toEqual([]);
      expect(r.snapshots).toEqual([]);
      const kept = r.keep.find((k) => k.setId === 'full0000aaaa0001');
      expect(kept?.reasons).toEqual([expect.stringContaining(`1 snapshot file of the repository could not be read (${zk.slice(0, 12)})`)]);
      const sets = await listBackupSets(damaged, CLUSTER);
      expect(sets.map((s) => s.setId).sort()).toEqual(['full0000aaaa0001', 'narrow00aaaa0002']);
      expect(Object.keys(sets.find((s) => s.setId === 'full0000aaaa0001')!.snapshots)).toEqual(['logdirs:1']);
    } finally {
      await damaged.close();
    }

    // Repaired (the file reads again): the full set is whole and kept by the policy, nothing is held back.
    writeFileSync(where, original);
    const repaired = await openRepository(path, PASSWORD, { notice: () => undefined });
    try {
      const r = await applySetRetention(repaired, CLUSTER, { keepLast: 10 }, { brokerIds: [1], running: new Set(), readers: [] });
      expect(r.remove).toEqual([]);
      expect(r.keep.map((k) => k.setId)).toEqual(['full0000aaaa0001', 'narrow00aaaa0002']);
      expect(r.keep.flatMap((k) => k.reasons).some((x) => x.includes('could not be read'))).toBe(false);
      expect(Object.keys((await listBackupSets(repaired, CLUSTER)).find((s) => s.setId === 'full0000aaaa0001')!.snapshots).sort()).toEqual([...PARTS].sort());
    } finally {
      await repaired.close();
    }
  });
});
