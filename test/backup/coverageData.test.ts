/**
 * Reading a set's large parts before a recovery (backup/coverageData.ts) on a real repository:
 * a set smaller than the sample budget is read whole, so one flipped bit anywhere in its data is
 * found; a larger one reads every small file, every pack header and a deterministic sample.
 */
import { describe, expect, it } from 'vitest';
import { readPartsData, selectChunks } from '../../src/backup/coverageData';
import { openRepository } from '../../src/repository';
import { damageLargestPack, kafkaLike, PASSWORD, tempRepo } from '../repository/helpers';

async function logdirSet() {
  const repo = await tempRepo();
  const { meta } = await repo.saveSnapshot({ cluster: 'c', components: ['logdirs'], tags: ['part:logdirs:1'] }, async (w) => {
    await w.writeFile('b1/orders-0/00000000000000000000.log', kafkaLike(2_000_000, 1));
    await w.writeFile('b1/orders-0/00000000000000000000.index', kafkaLike(8_000, 2));
    await w.writeFile('b1/meta.properties', Buffer.from('broker.id=1\n'));
  });
  const path = repo.path;
  await repo.close();
  return { repo, path, meta };
}

describe('reading a set before it is chosen', () => {
  it('finds a bit flipped in any pack of a small set (read whole by default), and reads clean data without problems', async () => {
    const { repo, path, meta } = await logdirSet();
    const clean = await openRepository(path, PASSWORD, { notice: () => undefined });
    const ok = await readPartsData(clean, [{ part: 'logdirs:1', meta }], { mode: 'sample' });
    await clean.close();
    expect(ok.problems).toEqual([]);
    expect(ok.chunksRead).toBe(ok.chunks);
    expect(ok.chunks).toBeGreaterThan(10);
    expect(ok.packsChecked).toBeGreaterThan(1);

    const { pack } = damageLargestPack(repo, 'flip');
    const damaged = await openRepository(path, PASSWORD, { notice: () => undefined });
    const r = await readPartsData(damaged, [{ part: 'logdirs:1', meta }], { mode: 'sample' });
    await damaged.close();
    expect(r.problems.length).toBeGreaterThan(0);
    expect(r.problems[0]).toMatch(new RegExp(`^logdirs:1: chunk [0-9a-f]{12} in pack ${pack.split('/').at(-1)!.slice(0, 12)} fails authentication`));
  });

  it('a sample of a large set: every small-file chunk, then chunks in id order up to the budget; "all" reads everything', () => {
    const chunks = [
      { id: 'f0', raw: 100, small: false },
      { id: 'a1', raw: 100, small: false },
      { id: 'c2', raw: 100, small: false },
      { id: 'e9', raw: 10, small: true },
      { id: 'b3', raw: 100, small: false },
      { id: 'a1', raw: 100, small: false },
    ];
    expect(selectChunks(chunks, 'sample', 1000).sort()).toEqual(['a1', 'b3', 'c2', 'e9', 'f0']);
    expect(selectChunks(chunks, 'sample', 250)).toEqual(['e9', 'a1', 'b3']);
    // At least one large chunk, even when one alone is over the budget.
    expect(selectChunks(chunks, 'sample', 50)).toEqual(['e9', 'a1']);
    expect(selectChunks(chunks, 'all', 50).sort()).toEqual(['a1', 'b3', 'c2', 'e9', 'f0']);
  });
});
