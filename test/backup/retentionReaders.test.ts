/**
 * Retention and the runs that read a cluster's sets (a recovery, a drill, a migration): while one
 * runs nothing goes, and when Temporal could not say whether one runs, nothing goes either (a set
 * being restored must not be pruned under it).
 */
import { describe, expect, it } from 'vitest';
import { listBackupSets } from '../../src/backup/parts';
import { applySetRetention, READERS_UNKNOWN } from '../../src/backup/retention';
import { storeSet } from '../monitoring/sets';
import { openRepository } from '../../src/repository';
import { PASSWORD, tempRepo } from '../repository/helpers';

const CLUSTER = 'c';

describe('retention while a run may read the sets', () => {
  it('removes nothing when the readers are unknown or one runs, and the older set once none does', async () => {
    const made = await tempRepo();
    await storeSet(made, CLUSTER, 'full0000aaaa0001', new Date('2026-11-01T00:00:00Z'));
    await storeSet(made, CLUSTER, 'full0000aaaa0002', new Date('2026-11-02T00:00:00Z'));
    await made.close();
    // Opened again, as a retention run opens it (the writer's shared lock ended with it).
    const repo = await openRepository(made.path, PASSWORD, { notice: () => undefined });
    try {
      const policy = { keepLast: 1 };
      const opts = { brokerIds: [1], running: new Set<string>() };

      const unknown = await applySetRetention(repo, CLUSTER, policy, { ...opts, readers: READERS_UNKNOWN });
      expect(unknown.remove).toEqual([]);
      expect(unknown.keep.find((k) => k.setId === 'full0000aaaa0001')?.reasons).toEqual([
        "whether a recovery, a drill or a migration reads c's sets is not known (Temporal did not answer): nothing is removed until it does",
      ]);

      const reading = await applySetRetention(repo, CLUSTER, policy, { ...opts, readers: ['drill-c-cluster-lost-1'] });
      expect(reading.remove).toEqual([]);
      expect(reading.keep.find((k) => k.setId === 'full0000aaaa0001')?.reasons).toEqual([expect.stringContaining('a run reads c\'s sets (drill-c-cluster-lost-1)')]);
      expect((await listBackupSets(repo, CLUSTER)).map((s) => s.setId).sort()).toEqual(['full0000aaaa0001', 'full0000aaaa0002']);

      const none = await applySetRetention(repo, CLUSTER, policy, { ...opts, readers: [] });
      expect(none.remove.map((x) => x.setId)).toEqual(['full0000aaaa0001']);
      expect((await listBackupSets(repo, CLUSTER)).map((s) => s.setId)).toEqual(['full0000aaaa0002']);
    } finally {
      await repo.close();
    }
  });
});
