/**
 * ZooKeeper capture and restore against the lab's real ZooKeeper, on scratch roots only (the live
 * /primary tree is read, never written).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { findCluster } from '../../lab/topology';
import { ACL, CreateMode, exists, getACL, getData, Id, Permission, remove, sessionZxid, setData, type ZkClient } from '../../src/zookeeper/client';
import { assertClusterIdConsistent, checkClusterIdConsistency, clusterIdOfZk } from '../../src/zookeeper/clusterId';
import { openZk } from '../../src/zookeeper/errors';
import { aclToJson, exportTree } from '../../src/zookeeper/export';
import { applyRestore, digestId, formatPlan, planRestore, planRestoreLive } from '../../src/zookeeper/restore';
import { applyIncrements, parentOf, type ZkTreeExport } from '../../src/zookeeper/tree';
import { topo } from '../support/lab';
import { deleteTree, mk, newScratchRoot, OPEN, session } from './scratch';

const ALICE = 'alice:alice-secret';
const BOB = 'bob:bob-secret';
const root = newScratchRoot();
const src = `${root}/src`;
let zk: ZkClient; // authenticated as alice and bob (ADMIN everywhere, so digest ACLs are readable unredacted)
let aliceOnly: ZkClient;
let ephemeralOwner: ZkClient;
const binary = Buffer.concat([Buffer.from([0, 255, 1, 254, 0, 0, 10, 13]), randomBytes(4096)]);

const byPath = (e: ZkTreeExport) => new Map(e.nodes.map((n) => [n.path, n]));

beforeAll(async () => {
  zk = await session([ALICE, BOB]);
  aliceOnly = await session([ALICE]);
  ephemeralOwner = await session();
  await mk(zk, root);
  await mk(zk, src, 'root-data');
  await mk(zk, `${src}/binary`, binary);
  await mk(zk, `${src}/empty`);
  // Digest ACL: only alice may read or write it.
  await mk(zk, `${src}/secret`, 'alice only', [new ACL(Permission.ALL, new Id('digest', digestId(ALICE)))]);
  // A restrictive parent: world may only read, bob (not this session) owns it. Its children must still be restorable.
  await mk(zk, `${src}/locked`, 'locked', OPEN);
  for (const c of ['a', 'b']) await mk(zk, `${src}/locked/${c}`, `child ${c}`);
  await mk(zk, `${src}/locked/a/deep`, 'deep');
  await zk.setACL(`${src}/locked`, [new ACL(Permission.READ, new Id('world', 'anyone')), new ACL(Permission.ALL, new Id('digest', digestId(BOB)))], () => {});
  await mk(zk, `${src}/queue`);
  for (let i = 0; i < 3; i++) await mk(zk, `${src}/queue/item-`, `item ${i}`, OPEN, CreateMode.PERSISTENT_SEQUENTIAL);
  await mk(ephemeralOwner, `${src}/live-session`, 'ephemeral', OPEN, CreateMode.EPHEMERAL);
});

afterAll(async () => {
  ephemeralOwner?.close();
  aliceOnly?.close();
  await deleteTree(zk, root);
  zk?.close();
});

describe('ZooKeeper tree export and restore', () => {
  it('round-trips binary data, digest and world ACLs, sequential names, skipping (and listing) ephemerals', async () => {
    const exp = await exportTree(zk, src);
    expect(exp).toMatchObject({ kind: 'full', root: src, consistent: true });
    expect(BigInt(exp.zxid)).toBeGreaterThanOrEqual(BigInt(exp.startZxid));
    const nodes = byPath(exp);
    expect(Buffer.from(nodes.get('/binary')!.data!, 'base64').equals(binary)).toBe(true);
    expect(nodes.get('/empty')!.data).toBeNull();
    expect(nodes.get('/secret')!.acl).toEqual([{ perms: 31, scheme: 'digest', id: digestId(ALICE) }]);
    expect(nodes.get('/live-session')!.ephemeral).toBe(true);
    expect(nodes.get('/live-session')!.stat.ephemeralOwner).not.toBe('0x0');
    const seq = [...nodes.keys()].filter((p) => p.startsWith('/queue/')).sort();
    expect(seq).toEqual(['/queue/item-0000000000', '/queue/item-0000000001', '/queue/item-0000000002']);
    for (const n of exp.nodes) expect(BigInt(n.stat.mzxid)).toBeLessThanOrEqual(BigInt(exp.zxid));

    // Restored by alice alone: /locked's final ACL (world read, bob all) would stop her creating its children.
    const dst = `${root}/dst`;
    const plan = await planRestoreLive(aliceOnly, exp, dst);
    expect(plan.skippedEphemerals).toEqual(['/live-session']);
    expect(plan.add.length).toBe(exp.nodes.length - 1);
    const r = await applyRestore(aliceOnly, plan, { digestAuth: [ALICE] });
    expect(r).toMatchObject({ created: exp.nodes.length - 1, skippedEphemerals: ['/live-session'] });
    expect(r.aclsTightened).toBe(1); // /locked: created open to this session, tightened after its children

    const back = byPath(await exportTree(zk, dst));
    expect(back.has('/live-session')).toBe(false);
    for (const [p, n] of nodes) {
      if (n.ephemeral) continue;
      expect(back.get(p)?.data, p).toBe(n.data);
      expect(back.get(p)?.acl, p).toEqual(n.acl);
    }
    expect((await getACL(zk, `${dst}/locked`)).acl.map((a) => aclToJson([a])[0])).toEqual(nodes.get('/locked')!.acl);
    // Nothing left to do: the same plan again is empty.
    const again = await planRestoreLive(zk, exp, dst);
    expect({ add: again.add.length, change: again.change.length, remove: again.remove.length }).toEqual({ add: 0, change: 0, remove: 0 });
  });

  it('incremental export holds only creates and updates plus deletions, and applies on its parent', async () => {
    const base = await exportTree(zk, src);
    await mk(zk, `${src}/new-node`, 'created after the base');
    await mk(zk, `${src}/new-node/child`, Buffer.from([1, 2, 3]));
    await setData(zk, `${src}/binary`, Buffer.from('updated'));
    await mk(zk, `${src}/doomed`, 'x');
    await mk(zk, `${src}/doomed/kid`, 'y');
    const mid = await exportTree(zk, src);
    await remove(zk, `${src}/doomed/kid`);
    await remove(zk, `${src}/doomed`);
    await remove(zk, `${src}/queue/item-0000000001`);

    const inc = await exportTree(zk, src, { base });
    expect(inc.kind).toBe('incremental');
    expect(inc.parentZxid).toBe(base.zxid);
    expect(inc.nodes.map((n) => n.path).sort()).toEqual(['/binary', '/new-node', '/new-node/child']);
    expect(inc.deleted).toEqual(['/queue/item-0000000001']);

    const inc2 = await exportTree(zk, src, { base: mid });
    expect(inc2.deleted).toEqual(['/doomed', '/queue/item-0000000001']);

    const full = await exportTree(zk, src);
    const merged = applyIncrements(base, [inc]);
    const data = (e: ZkTreeExport) => e.nodes.map((n) => [n.path, n.data, JSON.stringify(n.acl)]);
    expect(data(merged)).toEqual(data(full));
    expect(merged.zxid).toBe(inc.zxid);
    expect(() => applyIncrements(mid, [inc])).toThrow(/does not build on/);
  });

  it('dry run lists added/changed/removed per path; create-missing keeps, overwrite rewrites, mirror deletes only with confirm', async () => {
    const exp = await exportTree(zk, src);
    const dst = `${root}/modes`;
    await applyRestore(zk, await planRestoreLive(zk, exp, dst), { digestAuth: [ALICE] });
    await setData(zk, `${dst}/empty`, Buffer.from('drifted'));
    await mk(zk, `${dst}/extra`, 'not in the export');
    await remove(zk, `${dst}/queue/item-0000000002`);

    const dry = await planRestoreLive(zk, exp, dst);
    const text = formatPlan(dry);
    expect(text).toContain(`+ ${dst}/queue/item-0000000002`);
    expect(text).toContain(`~ ${dst}/empty (data) — kept (create-missing)`);
    expect(text).toContain(`- ${dst}/extra — kept (only mirror deletes)`);
    expect(text).toContain(`skipped ephemeral ${dst}/live-session`);
    expect(text).toMatch(/added 1, changed 1, removed 1/);

    await applyRestore(zk, dry, { digestAuth: [ALICE] });
    expect((await getData(zk, `${dst}/empty`)).data?.toString()).toBe('drifted');
    expect(await exists(zk, `${dst}/queue/item-0000000002`)).not.toBeNull();

    await applyRestore(zk, await planRestoreLive(zk, exp, dst, { mode: 'overwrite' }), { digestAuth: [ALICE] });
    expect((await getData(zk, `${dst}/empty`)).data?.length ?? 0).toBe(0);
    expect(await exists(zk, `${dst}/extra`)).not.toBeNull();

    const mirror = await planRestoreLive(zk, exp, dst, { mode: 'mirror' });
    expect(mirror.remove).toEqual(['/extra']);
    await expect(applyRestore(zk, mirror, { digestAuth: [ALICE] })).rejects.toThrow(/pass --confirm/);
    expect(await exists(zk, `${dst}/extra`)).not.toBeNull(); // nothing written
    const r = await applyRestore(zk, mirror, { confirm: true, digestAuth: [ALICE] });
    expect(r.deleted).toBe(1);
    expect(await exists(zk, `${dst}/extra`)).toBeNull();
  });

  it('restores a sequential parent\'s counter: the next sequential child numbers as it would have in the source', async () => {
    const seq = `${src}/seq`;
    await mk(zk, seq);
    for (let i = 0; i < 5; i++) await mk(zk, `${seq}/job-`, `job ${i}`, OPEN, CreateMode.PERSISTENT_SEQUENTIAL);
    for (const i of [0, 1, 3]) await remove(zk, `${seq}/job-000000000${i}`); // 5 creates, 3 deletes: cversion 8
    const exp = await exportTree(zk, seq);
    expect(exp.nodes.find((n) => n.path === '/')!.stat.cversion).toBe(8);
    const dst = `${root}/seq-copy`;
    const plan = await planRestoreLive(zk, exp, dst);
    expect(plan.sequenceCounters).toEqual([{ path: '/', next: 5 }]);
    const r = await applyRestore(zk, plan);
    expect(r.sequenceCountersRaised).toEqual(['/']);
    expect((await exists(zk, dst))!.cversion).toBe(8);
    // Without the raise the copy's counter would be 2: the next sequential create would collide with job-0000000002.
    const next = await mk(zk, `${dst}/job-`, 'next', OPEN, CreateMode.PERSISTENT_SEQUENTIAL);
    const nextInSource = await mk(zk, `${seq}/job-`, 'next', OPEN, CreateMode.PERSISTENT_SEQUENTIAL);
    expect(next.slice(dst.length)).toBe(nextInSource.slice(seq.length));
    expect(next).toBe(`${dst}/job-0000000005`);
    // Only the restored children are there (the counter's scratch child is gone).
    expect((await exportTree(zk, dst)).nodes.map((n) => n.path)).toEqual(['/', '/job-0000000002', '/job-0000000004', '/job-0000000005']);
  });

  it('mirror keeps an extra node that holds a live ephemeral (NOT_EMPTY otherwise) and deletes the other extras', async () => {
    const exp = await exportTree(zk, `${src}/locked`);
    const dst = `${root}/mirror-live`;
    await applyRestore(zk, await planRestoreLive(zk, exp, dst), { digestAuth: [ALICE, BOB] });
    await mk(zk, `${dst}/a/registered`, 'persistent extra');
    await mk(ephemeralOwner, `${dst}/a/registered/instance-1`, 'live', OPEN, CreateMode.EPHEMERAL);
    await mk(zk, `${dst}/plain-extra`, 'x');
    await mk(zk, `${dst}/plain-extra/child`, 'y');
    const plan = await planRestoreLive(zk, exp, dst, { mode: 'mirror' });
    expect(plan.remove).toEqual(['/plain-extra/child', '/plain-extra']);
    expect(plan.keptForEphemerals).toEqual(['/a/registered']);
    expect(formatPlan(plan)).toContain(`- ${dst}/a/registered — kept (holds live ephemeral nodes)`);
    const r = await applyRestore(zk, plan, { confirm: true, digestAuth: [ALICE, BOB] });
    expect(r.deleted).toBe(2);
    expect(await exists(zk, `${dst}/plain-extra`)).toBeNull();
    expect(await exists(zk, `${dst}/a/registered/instance-1`)).not.toBeNull();
  });

  it('batches writes in multi under the byte budget (many small batches give the same tree)', async () => {
    const big = `${root}/big`;
    await mk(zk, big);
    const payload = randomBytes(50_000);
    await Promise.all(Array.from({ length: 60 }, (_, i) => mk(zk, `${big}/n${i}`, payload)));
    const exp = await exportTree(zk, big);
    const plan = await planRestoreLive(zk, exp, `${root}/big-copy`);
    // 60 × 50 KB = 3 MB: more than one jute.maxbuffer, so it must be split.
    const r = await applyRestore(zk, plan, { maxBatchBytes: 900_000 });
    expect(r.created).toBe(61);
    const back = await exportTree(zk, `${root}/big-copy`);
    expect(back.nodes.map((n) => n.data)).toEqual(exp.nodes.map((n) => n.data));
  });

  it('copies the live /primary tree into another chroot (read-only on /primary)', async () => {
    const primary = findCluster(topo, 'primary').chroot;
    const exp = await exportTree(zk, primary);
    expect(exp.nodes.some((n) => n.path === '/cluster/id')).toBe(true);
    const target = `${root}/standby-copy`;
    const plan = await planRestoreLive(zk, exp, target);
    expect(plan.skippedEphemerals).toEqual(expect.arrayContaining(['/controller', '/brokers/ids/1', '/brokers/ids/2', '/brokers/ids/3']));
    await applyRestore(zk, plan);
    const copy = await exportTree(zk, target);
    expect(copy.nodeCount).toBe(exp.nodeCount - plan.skippedEphemerals.length);
    expect(await clusterIdOfZk(zk, target)).toBe(await clusterIdOfZk(zk, primary));
  });

  it('catches a cluster-id mismatch before anything is written, and passes with the real broker log dirs', async () => {
    const exp = await exportTree(zk, findCluster(topo, 'primary').chroot);
    const realDirs = findCluster(topo, 'primary').brokers.map((b) => b.logDir);
    const ok = await checkClusterIdConsistency(exp, realDirs);
    expect(ok.ok).toBe(true);
    expect(ok.logDirs.every((d) => d.clusterId === ok.zkClusterId)).toBe(true);

    const other = mkdtempSync(join(tmpdir(), 'lifeboat-meta-'));
    writeFileSync(join(other, 'meta.properties'), 'version=0\nbroker.id=1\ncluster.id=AnotherClusterId000000\n');
    const bad = await checkClusterIdConsistency({ zk, root: '/primary' }, [realDirs[0]!, other]);
    expect(bad.ok).toBe(false);
    expect(bad.mismatches[0]).toContain('AnotherClusterId000000');

    const target = `${root}/guarded`;
    const plan = await planRestoreLive(zk, exp, target);
    const err = await applyRestore(zk, plan, { beforeWrite: async () => void (await assertClusterIdConsistent(exp, [other])) }).catch((e) => e);
    expect(err).toBeInstanceOf(LifeboatError);
    expect(err.type).toBe('ClusterIdMismatch');
    expect(err.message).toMatch(/InconsistentClusterIdException/);
    expect(await exists(zk, target)).toBeNull();
  });

  it('bad input: unreachable ZooKeeper, NO_AUTH, unsafe target root — clear errors, nothing written', async () => {
    const t0 = Date.now();
    const unreachable = await openZk('127.0.0.1:1', { timeoutMs: 2000 }).catch((e) => e);
    expect(unreachable).toBeInstanceOf(LifeboatError);
    expect(unreachable.type).toBe('Unreachable');
    expect(Date.now() - t0).toBeLessThan(10_000);

    const anonymous = await session();
    try {
      const denied = await exportTree(anonymous, `${src}/secret`).catch((e) => e);
      expect(denied).toBeInstanceOf(LifeboatError);
      expect(denied.message).toMatch(/NO_AUTH/);
      expect(denied.message).toContain(`${src}/secret`);
      // Restoring a digest-protected tree into a node this session may not write: NO_AUTH, nothing created below it.
      const exp = await exportTree(zk, `${src}/locked`);
      const plan = planRestore({ ...exp, nodes: [{ ...exp.nodes[1]!, path: '/intruder' }] }, null, `${src}/locked`);
      const err = await applyRestore(anonymous, plan).catch((e) => e);
      expect(err).toBeInstanceOf(LifeboatError);
      expect(err.message).toMatch(/NO_AUTH/);
      expect(await exists(zk, `${src}/locked/intruder`)).toBeNull();
    } finally {
      anonymous.close();
    }

    const exp = await exportTree(zk, `${src}/queue`);
    await expect(planRestoreLive(zk, exp, `${root}/../escape`)).rejects.toThrow(/must be an absolute ZooKeeper path without/);
    expect(await exists(zk, '/escape')).toBeNull();
  });

  it.each([
    ['recursive watch and multiRead (ZooKeeper 3.6+)', 'auto'],
    ['stat recheck passes, per-node reads (what servers before 3.6 get)', '3.5'],
  ] as const)('stays consistent while the tree changes during the walk — %s', async (_label, protocol) => {
    const busy = `${root}/busy-${protocol}`;
    await mk(zk, busy);
    await Promise.all(Array.from({ length: 400 }, (_, i) => mk(zk, `${busy}/n${i}`, `v0`)));
    let writes = 0;
    const removedAt = new Map<string, bigint>();
    /** The zxid of every write, to tell which landed inside the walk. */
    const written: bigint[] = [];
    // A burst of updates, creates and deletes that overlaps the walk and then stops: the export must converge on a quiet zxid.
    const writer = (async () => {
      while (writes < 150) {
        if (writes % 10 === 3) await mk(zk, `${busy}/n${writes % 40}/c${writes}`, 'created during the walk');
        else if (writes % 10 === 7) {
          await remove(zk, `${busy}/n${399 - writes}`);
          removedAt.set(`/n${399 - writes}`, sessionZxid(zk));
        } else await setData(zk, `${busy}/n${writes % 400}`, Buffer.from(`v${writes}`));
        written.push(sessionZxid(zk));
        writes++;
      }
    })();
    // The export re-reads (or rechecks) until a round is quiet, i.e. for as long as the burst lasts, and the
    // burst's 150 synced writes last longer on a loaded machine: the default 5 rounds (about 1.5 s of backoff)
    // ran out there (3.5: 2-5 rounds unloaded, 6 and consistent: false under load). Rounds enough that
    // convergence does not depend on the machine's speed; the assertions below still hold it to exactness.
    const exp = await exportTree(zk, busy, { concurrency: 16, protocol, maxRounds: 30 });
    await writer;
    expect(exp.consistent).toBe(true);
    const z = BigInt(exp.zxid);
    // The tree did change during the walk: writes landed after the export's start and by its zxid.
    const inside = written.filter((w) => w > BigInt(exp.startZxid) && w <= z).length;
    expect(inside, `writes between ${exp.startZxid} and ${exp.zxid}`).toBeGreaterThan(0);
    expect(exp.rounds, 'rounds that re-read what changed').toBeGreaterThan(0);
    for (const n of exp.nodes) expect(BigInt(n.stat.mzxid)).toBeLessThanOrEqual(z);
    // Every node's data is what it held at exp.zxid: no node changed after its read without a re-read.
    const later = await exportTree(zk, busy);
    const after = byPath(later);
    const got = byPath(exp);
    for (const n of exp.nodes) {
      const now = after.get(n.path);
      if (!now) expect(removedAt.get(n.path), n.path).toBeGreaterThan(z); // deleted after the export's zxid
      else if (BigInt(now.stat.mzxid) <= z) expect(n.data, n.path).toBe(now.data);
    }
    // ...and it holds exactly the nodes that existed then, with children counts to match.
    for (const n of later.nodes) if (BigInt(n.stat.czxid) <= z) expect(got.has(n.path), n.path).toBe(true);
    for (const [p, at] of removedAt) if (at <= z) expect(got.has(p), p).toBe(false);
    for (const n of exp.nodes) expect(exp.nodes.filter((c) => parentOf(c.path) === n.path).length, n.path).toBe(n.stat.numChildren);
    expect(writes).toBe(150);
  });
});

describe('ZooKeeper ACL redaction', () => {
  it('refuses to export a digest ACL that ZooKeeper redacted (session without ADMIN on the node)', async () => {
    const alice = await session([ALICE]);
    try {
      const err = await exportTree(alice, `${src}/locked`).catch((e) => e);
      expect(err).toBeInstanceOf(LifeboatError);
      expect(err.message).toMatch(/redacted the digest ACL of .*\/locked/);
    } finally {
      alice.close();
    }
  });
});
