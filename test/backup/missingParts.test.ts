/** missingParts: what a reset backup run takes again (workflows/backup.ts), read from the repository's snapshots of the set. */
import { describe, expect, it } from 'vitest';
import { missingParts } from '../../src/backup/parts';
import { storeSet } from '../monitoring/sets';
import { tempRepo } from '../repository/helpers';

describe('missingParts', () => {
  it("names the planned parts a set does not hold, in the plan's order, and only that set's", async () => {
    const repo = await tempRepo();
    try {
      const planned = ['zookeeper', 'kafka-metadata', 'configs:1', 'logdirs:1'];
      await storeSet(repo, 'c', 'set0000000000001', new Date('2026-12-01T00:00:00Z'), ['kafka-metadata', 'logdirs:1'], planned);
      await storeSet(repo, 'c', 'set0000000000002', new Date('2026-12-02T00:00:00Z'), planned, planned);
      await storeSet(repo, 'other', 'set0000000000001', new Date('2026-12-01T00:00:00Z'), ['zookeeper'], planned);
      expect(await missingParts(repo, 'c', 'set0000000000001', planned)).toEqual(['zookeeper', 'configs:1']);
      expect(await missingParts(repo, 'c', 'set0000000000002', planned)).toEqual([]);
      expect(await missingParts(repo, 'c', 'set0000000000003', planned)).toEqual(planned);
    } finally {
      await repo.close();
    }
  });
});
