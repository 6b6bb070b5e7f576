import { readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository, openRepository, type LocalRepository, type SnapshotMeta } from '../../src/repository';
import { PASSWORD, kafkaLike, tempRepo, flipBit, packFiles } from './helpers';



/** Two snapshots: s1 = a + shared, s2 = b + shared. */
async function twoSnapshots() {
  const repo = await tempRepo();
  const shared = kafkaLike(300_000, 1);
  const w1 = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
  await w1.writeFile('logdirs/a.log', kafkaLike(300_000, 2));
  await w1.writeFile('logdirs/shared.log', shared);
  const s1 = await w1.commit();
  const w2 = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
  await w2.writeFile('logdirs/b.log', kafkaLike(300_000, 3));
  await w2.writeFile('logdirs/shared.log', shared);
  const s2 = await w2.commit();
  await repo.close();
  return { path: repo.path, s1, s2 };
}

async function readAll(repo: LocalRepository, s: SnapshotMeta): Promise<void> {
  const r = await repo.openSnapshot(s.id);
  for (const e of r.list()) await r.readBuffer(e.path);
}

describe('repository integrity', () => {
  it('finds a flipped bit in any pack with check --read-data, names the snapshots, and restore refuses', async () => {
    const { path, s1, s2 } = await twoSnapshots();
    const clean = await openRepository(path, PASSWORD, { notice: () => undefined });
    const packs = packFiles(clean);
    expect(packs.length).toBeGreaterThan(1);
    const ok = await checkRepository(clean, { readData: true });
    expect(ok.problems).toEqual([]);
    expect(ok.packsRead).toBe(packs.length);
    await clean.close();

    for (const pack of packs) {
      const size = statSync(pack).size;
      const offset = Math.floor(size / 3); // inside some blob's ciphertext
      flipBit(pack, offset);
      const repo = await openRepository(path, PASSWORD, { notice: () => undefined });
      const structural = await checkRepository(repo);
      expect(structural.ok).toBe(true); // structure alone cannot see it
      const res = await checkRepository(repo, { readData: true });
      expect(res.ok, pack).toBe(false);
      expect(res.problems.some((p) => p.kind === 'blob')).toBe(true);
      expect(res.damagedSnapshots.length).toBeGreaterThan(0);
      for (const id of res.damagedSnapshots) {
        const s = id === s1.id ? s1 : s2;
        const err = await readAll(repo, s).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toMatchObject({ type: 'CorruptBackup' });
        expect((err as Error).message).toContain(id.slice(0, 12));
      }
      // an undamaged snapshot still restores
      for (const s of [s1, s2].filter((x) => !res.damagedSnapshots.includes(x.id))) await readAll(repo, s);
      await repo.close();
      flipBit(pack, offset); // repair for the next round
    }
  });

  it('finds a truncated pack without reading data, and restore refuses it', async () => {
    const { path, s1, s2 } = await twoSnapshots();
    const repo = await openRepository(path, PASSWORD, { notice: () => undefined });
    const pack = packFiles(repo)[0]!;
    truncateSync(pack, Math.floor(statSync(pack).size / 2));
    const res = await checkRepository(repo);
    expect(res.problems.map((p) => p.kind)).toContain('pack-size');
    expect(res.damagedSnapshots.length).toBeGreaterThan(0);
    const victim = res.damagedSnapshots[0] === s1.id ? s1 : s2;
    await expect(readAll(repo, victim)).rejects.toMatchObject({ type: 'CorruptBackup', message: expect.stringContaining(victim.id.slice(0, 12)) });
    await repo.close();
  });

  it('finds a flipped bit in a snapshot file and in an index file', async () => {
    const { path, s1 } = await twoSnapshots();
    flipBit(join(path, 'snapshots', s1.id), 40);
    const idx = readdirSync(join(path, 'index'))[0]!;
    flipBit(join(path, 'index', idx), 40);
    const repo = await openRepository(path, PASSWORD, { notice: () => undefined });
    const res = await checkRepository(repo, { readData: true });
    const kinds = res.problems.map((p) => p.kind);
    expect(kinds).toContain('snapshot');
    expect(kinds).toContain('index');
    expect(res.damagedSnapshots).toContain(s1.id);
    await expect(repo.openSnapshot(s1.id)).rejects.toMatchObject({ type: 'CorruptBackup', message: expect.stringContaining(s1.id.slice(0, 12)) });
    await repo.close();
  });

  it('checks a subset of packs: n/t parts cover every pack exactly once', async () => {
    const { path } = await twoSnapshots();
    const repo = await openRepository(path, PASSWORD, { notice: () => undefined });
    let total = 0;
    for (let n = 1; n <= 3; n++) total += (await checkRepository(repo, { readData: true, subset: { part: n, of: 3 } })).packsRead;
    expect(total).toBe(packFiles(repo).length);
    const pct = await checkRepository(repo, { readData: true, subset: { percent: 50 } });
    expect(pct.packsRead).toBe(Math.ceil(packFiles(repo).length / 2));
    await repo.close();
  });

  it('says once per repository handle that a snapshot file is unreadable, however often the snapshots are listed', async () => {
    const { path, s2 } = await twoSnapshots();
    flipBit(join(path, 'snapshots', s2.id), 10);
    const notices: string[] = [];
    const repo = await openRepository(path, PASSWORD, { notice: (m) => notices.push(m) });
    for (let i = 0; i < 3; i++) expect((await repo.snapshots()).map((s) => s.id)).not.toContain(s2.id);
    expect(notices.filter((m) => m.includes(`skipping unreadable snapshot ${s2.id.slice(0, 12)}`))).toHaveLength(1);
    await repo.close();
  });
});
