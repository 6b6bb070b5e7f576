/**
 * `repo forget` keeps the snapshot a kept snapshot builds on (an incremental ZooKeeper export's
 * parent, which it cannot be restored without), also when the kept one is a backup set's part
 * (sets are kept whole by `backup forget`, and a set's ZooKeeper part may build on a `zk export`).
 */
import { describe, expect, it } from 'vitest';
import { forget } from '../../src/repository';
import { materializeZkTree, writeZkComponent } from '../../src/zookeeper/storage';
import { FORMAT, type ZkNodeEntry, type ZkTreeExport } from '../../src/zookeeper/tree';
import { lifeboatWith } from '../support/cli';
import { PASSWORD, tempRepo } from './helpers';

const node = (path: string, data: string, mzxid: string): ZkNodeEntry => ({
  path,
  data: Buffer.from(data).toString('base64'),
  acl: [{ perms: 31, scheme: 'world', id: 'anyone' }],
  stat: { czxid: '0x1', mzxid, pzxid: '0x1', ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: '0x0', dataLength: data.length, numChildren: 0 },
  ephemeral: false,
});
const exp = (kind: 'full' | 'incremental', zxid: string, nodes: ZkNodeEntry[], extra: Partial<ZkTreeExport> = {}): ZkTreeExport => ({
  format: FORMAT, kind, root: '/', time: '2026-01-01T00:00:00.000Z', zxid, startZxid: zxid, consistent: true, rounds: 0, nodeCount: nodes.length, nodes, ...extra,
});

describe('forget keeps parents of kept snapshots', () => {
  it('an incremental kept by the policy, or kept as a set part, keeps its parent chain', async () => {
    const repo = await tempRepo();
    const save = async (day: number, e: ZkTreeExport, parent?: string, tags: string[] = ['zookeeper']) =>
      (await repo.saveSnapshot({ cluster: 'c', components: ['zookeeper'], tags, time: new Date(Date.UTC(2026, 0, day)), ...(parent ? { parent } : {}) }, (w) => writeZkComponent(w, e))).meta;
    const full = await save(1, exp('full', '0x10', [node('/', '', '0x1'), node('/a', 'one', '0x10')]));
    const inc = await save(2, exp('incremental', '0x20', [node('/b', 'two', '0x20')], { parentZxid: '0x10', deleted: [] }), full.id);
    const other = await save(3, exp('full', '0x30', [node('/', '', '0x1')]));
    // keep-last 2: other and inc by the policy; full because inc builds on it.
    await repo.close(); // our shared lock would block forget's exclusive one (as the CLI does)
    const plan = await forget(repo, [full, inc, other], { keepLast: 2 });
    expect(plan.remove).toEqual([]);
    expect(plan.keep.find((k) => k.snapshot.id === full.id)?.reasons).toEqual([`parent of ${inc.id.slice(0, 12)}`]);
    expect((await materializeZkTree(repo, inc.id)).tree.nodes.map((n) => n.path)).toEqual(['/', '/a', '/b']);

    // A set part kept outside the policy: its parent (a plain export) stays too.
    const base = await save(4, exp('full', '0x40', [node('/', '', '0x1'), node('/s', 'x', '0x40')]));
    const part = await save(5, exp('incremental', '0x50', [node('/t', 'y', '0x50')], { parentZxid: '0x40', deleted: [] }), base.id, ['set:s1', 'part:zookeeper']);
    const later = await save(6, exp('full', '0x60', [node('/', '', '0x1')]));
    await repo.close();
    const second = await forget(repo, [full, inc, other, base, later], { keepLast: 1 }, { keptOutside: [part] });
    expect(second.remove.map((s) => s.id).sort()).toEqual([full.id, inc.id, other.id].sort());
    expect(second.keep.find((k) => k.snapshot.id === base.id)?.reasons).toEqual([`parent of ${part.id.slice(0, 12)}`]);
    expect((await materializeZkTree(repo, part.id)).tree.nodes.map((n) => n.path)).toEqual(['/', '/s', '/t']);
    await repo.close();
  }, 60_000);

  it('lifeboat repo forget --tag zookeeper keeps an export a set part builds on, though the tag does not match the part', async () => {
    const repo = await tempRepo();
    const save = async (day: number, e: ZkTreeExport, tags: string[], parent?: string) =>
      (await repo.saveSnapshot({ cluster: 'c', components: ['zookeeper'], tags, time: new Date(Date.UTC(2026, 0, day)), ...(parent ? { parent } : {}) }, (w) => writeZkComponent(w, e))).meta;
    // A plain export, an hourly set's incremental ZooKeeper part on it (tagged part:zookeeper, not zookeeper), a newer export.
    const e1 = await save(1, exp('full', '0x10', [node('/', '', '0x1'), node('/a', 'one', '0x10')]), ['zookeeper']);
    const part = await save(2, exp('incremental', '0x20', [node('/b', 'two', '0x20')], { parentZxid: '0x10', deleted: [] }), ['set:s1', 'part:zookeeper', 'tier:hourly'], e1.id);
    const e2 = await save(3, exp('full', '0x30', [node('/', '', '0x1')]), ['zookeeper']);
    await repo.close();
    const r = await lifeboatWith({ LIFEBOAT_PASSWORD: PASSWORD }, 'repo', 'forget', '--repo', repo.path, '--tag', 'zookeeper', '--keep-last', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { keep: { id: string; reasons: string[] }[]; remove: { id: string }[] };
    expect(plan.remove).toEqual([]);
    expect(plan.keep.find((k) => k.id === e1.id)?.reasons).toEqual([`parent of ${part.id.slice(0, 12)}`]);
    expect(plan.keep.map((k) => k.id)).toContain(e2.id);
    expect((await materializeZkTree(repo, part.id)).tree.nodes.map((n) => n.path)).toEqual(['/', '/a', '/b']);
    await repo.close();
  }, 60_000);
});
