/**
 * Copying an incremental snapshot (a ZooKeeper part building on a parent) to another repository:
 * the copy brings the parent chain along (oldest first) and names the destination's parent id,
 * so the copy materializes the same tree as the source, verifies and keeps its parents under
 * retention; a re-run, a copy of the copy, and a copy after a partial one send nothing twice.
 */
import { describe, expect, it } from 'vitest';
import { planSetRetention } from '../../src/backup/retention';
import { listBackupSets } from '../../src/backup/parts';
import { checkRepository, copySnapshots, type LocalRepository } from '../../src/repository';
import { topicChain } from '../../src/kafka/topicRestore';
import { verifySet } from '../../src/monitoring/verify';
import { materializeZkTree, writeZkComponent } from '../../src/zookeeper/storage';
import { FORMAT, type ZkNodeEntry, type ZkTreeExport } from '../../src/zookeeper/tree';
import { tempRepo } from './helpers';

const node = (path: string, data: string | null, mzxid: string): ZkNodeEntry => ({
  path,
  data: data === null ? null : Buffer.from(data).toString('base64'),
  acl: [{ perms: 31, scheme: 'world', id: 'anyone' }],
  stat: { czxid: '0x1', mzxid, pzxid: '0x1', ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: '0x0', dataLength: data?.length ?? 0, numChildren: 0 },
  ephemeral: false,
});
const exp = (kind: 'full' | 'incremental', zxid: string, nodes: ZkNodeEntry[], extra: Partial<ZkTreeExport> = {}): ZkTreeExport => ({
  format: FORMAT,
  kind,
  root: '/primary',
  time: '2026-01-01T00:00:00.000Z',
  zxid,
  startZxid: zxid,
  consistent: true,
  rounds: 0,
  nodeCount: nodes.length,
  nodes,
  ...extra,
});

/** Sets s1 (full), s2 and s3 (increments), each one complete ZooKeeper part, as a backup writes them. */
async function chain(repo: LocalRepository): Promise<string[]> {
  const exports = [
    exp('full', '0x10', [node('/', null, '0x1'), node('/a', 'one', '0x10'), node('/b', 'two', '0x10')]),
    exp('incremental', '0x20', [node('/b', 'three', '0x20'), node('/c', 'new', '0x20')], { parentZxid: '0x10', deleted: ['/a'] }),
    exp('incremental', '0x30', [node('/d', 'x'.repeat(50_000), '0x30')], { parentZxid: '0x20', deleted: [] }),
  ];
  const ids: string[] = [];
  for (const [i, e] of exports.entries()) {
    const setId = `s${i + 1}`;
    const { meta } = await repo.saveSnapshot(
      {
        cluster: 'c',
        components: ['zookeeper'],
        tags: [`set:${setId}`, 'part:zookeeper', 'tier:daily'],
        extra: { set: { id: setId, tier: 'daily', parts: ['zookeeper'] } },
        time: new Date(Date.UTC(2026, 0, 1 + i)),
        ...(ids.length ? { parent: ids.at(-1) } : {}),
      },
      (w) => writeZkComponent(w, e),
    );
    ids.push(meta.id);
  }
  return ids;
}

const treeOf = async (repo: LocalRepository, ref: string) => (await materializeZkTree(repo, ref)).tree;

describe('copy of incremental snapshots', () => {
  it('brings the parent chain along and restores the same tree from the copy', async () => {
    const src = await tempRepo();
    const ids = await chain(src);
    const want = await treeOf(src, ids[2]!);
    expect(want.nodes.map((n) => n.path)).toEqual(['/', '/b', '/c', '/d']);

    // As the backup's off-site copy does: only the newest set's snapshots are asked for.
    const dst = await tempRepo();
    const r = await copySnapshots(src, dst, { filter: { cluster: 'c', tags: ['set:s3'] } });
    expect(r.copied.map((c) => c.id)).toEqual(ids); // oldest first
    const newId = new Map(r.copied.map((c) => [c.id, c.newId]));
    const copies = new Map((await dst.snapshots()).map((s) => [s.id, s]));
    expect(copies.size).toBe(3);
    expect(copies.get(newId.get(ids[0]!)!)!.parent).toBeUndefined();
    expect(copies.get(newId.get(ids[1]!)!)!.parent).toBe(newId.get(ids[0]!));
    expect(copies.get(newId.get(ids[2]!)!)!.parent).toBe(newId.get(ids[1]!));
    expect(await treeOf(dst, newId.get(ids[2]!)!)).toEqual(want);
    expect((await checkRepository(dst, { readData: true })).problems).toEqual([]);

    // Retention on the destination keeps the parents of the kept newest set.
    const sets = await listBackupSets(dst, 'c');
    const plan = planSetRetention(sets, [...copies.values()], { keepLast: 1 }, []);
    expect(plan.keep.map((k) => k.setId)).toEqual(['s3']);
    expect(plan.snapshots).toEqual([]);
    // The monitor's verification of the copied set finds its parent chain there.
    const v = await verifySet(dst, sets.find((x) => x.setId === 's3')!, { fraction: 1 });
    expect(v.problems).toEqual([]);

    // A re-run copies nothing; neither does a copy of everything.
    const again = await copySnapshots(src, dst);
    expect(again.copied).toEqual([]);
    expect(again.skipped.sort()).toEqual([...ids].sort());
    expect(again.bytesWritten).toBe(0);

    // Down a tier: a copy of the copy chains to that tier's own ids and restores the same tree.
    const tier = await tempRepo();
    const t = await copySnapshots(dst, tier, { refs: [newId.get(ids[2]!)!] });
    expect(t.copied.map((c) => c.id)).toEqual(ids.map((id) => newId.get(id)));
    expect(await treeOf(tier, t.copied[2]!.newId)).toEqual(want);
    // The tier knows these snapshots by their first repository's ids too.
    expect((await copySnapshots(src, tier)).copied).toEqual([]);
    for (const repo of [src, dst, tier]) await repo.close();
  }, 60_000);

  it('an incremental topics snapshot restores its whole chain from the copy', async () => {
    const src = await tempRepo();
    const ids: string[] = [];
    for (const i of [0, 1, 2]) {
      const { meta } = await src.saveSnapshot(
        { cluster: 'c', components: ['topics'], tags: ['topics'], time: new Date(Date.UTC(2026, 0, 1 + i)), ...(ids.length ? { parent: ids.at(-1) } : {}) },
        (w) => w.writeFile(`topics/orders/0/${i}.batch`, Buffer.from(`records ${i}`)),
      );
      ids.push(meta.id);
    }
    const dst = await tempRepo();
    const r = await copySnapshots(src, dst, { refs: ['latest'] });
    expect(r.copied.map((c) => c.id)).toEqual(ids);
    const chain = await topicChain(dst, r.copied[2]!.newId, 'c');
    expect(chain.map((s) => s.meta.id)).toEqual(r.copied.map((c) => c.newId));
    for (const [i, s] of chain.entries()) expect((await s.readBuffer(`topics/orders/0/${i}.batch`)).toString()).toBe(`records ${i}`);
    for (const repo of [src, dst]) await repo.close();
  }, 60_000);

  it('after a partial copy sends only the missing links and chains to what is there', async () => {
    const src = await tempRepo();
    const ids = await chain(src);
    const dst = await tempRepo();
    const first = await copySnapshots(src, dst, { refs: [ids[0]!] });
    expect(first.copied.map((c) => c.id)).toEqual([ids[0]]);
    const rest = await copySnapshots(src, dst, { refs: [ids[2]!] });
    expect(rest.copied.map((c) => c.id)).toEqual([ids[1], ids[2]]);
    expect(rest.skipped).toEqual([]);
    const mid = (await dst.snapshots()).find((s) => s.id === rest.copied[0]!.newId)!;
    expect(mid.parent).toBe(first.copied[0]!.newId);
    expect(await treeOf(dst, rest.copied[1]!.newId)).toEqual(await treeOf(src, ids[2]!));
    for (const repo of [src, dst]) await repo.close();
  }, 60_000);
});
