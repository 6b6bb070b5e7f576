/**
 * The off-site registry sync engine against the lab ZooKeeper (one ensemble: source and destination
 * are two scratch subtrees): changes arrive within seconds, a burst is coalesced, a two-way sync
 * stays quiet once converged and never sends a change back, a restart repairs by its full diff,
 * ephemerals held by the sync's session or written persistent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curatorInstanceJson } from '../../src/registry/layouts';
import { ledgerPath, runRegistrySync, type RegistrySyncOptions } from '../../src/registry/sync';
import type { SyncStats } from '../../src/registry/sync.pure';
import { CreateMode, exists, getData, remove, setData, type ZkClient } from '../../src/zookeeper/client';
import { exportTree } from '../../src/zookeeper/export';
import { unique } from '../support/lab';
import { deleteTree, mk, newScratchRoot, OPEN, session, ZK } from '../zookeeper/scratch';

const root = newScratchRoot();
let zk: ZkClient;
let apps: ZkClient;
const ledgers: string[] = [];

beforeAll(async () => {
  zk = await session();
  apps = await session();
  await mk(zk, root);
});

afterAll(async () => {
  apps?.close();
  if (zk) {
    await deleteTree(zk, root);
    for (const id of ledgers) await remove(zk, ledgerPath(id)).catch(() => {});
  }
  zk?.close();
});

/** A running engine: its latest stats, and a stop that waits for it to end. */
function start(over: Partial<RegistrySyncOptions> & Pick<RegistrySyncOptions, 'mappings'>) {
  const ac = new AbortController();
  const syncId = over.syncId ?? unique('sync');
  ledgers.push(syncId);
  let last: SyncStats | undefined;
  const done = runRegistrySync({ syncId, source: { connect: ZK }, dest: { connect: ZK }, ephemerals: 'held', debounceMs: 100, fullDiffEveryMs: 60_000, ...over, signal: ac.signal, onStats: (s) => (last = s) }).catch((e: unknown) => {
    if (!ac.signal.aborted) throw e;
    return undefined;
  });
  return {
    stats: () => last,
    stop: async () => {
      ac.abort();
      await done;
    },
    done,
  };
}

/** rel path → data (base64) of a subtree, or {} when it does not exist. */
async function tree(path: string): Promise<Record<string, string | null>> {
  if (!(await exists(zk, path))) return {};
  return Object.fromEntries((await exportTree(zk, path)).nodes.map((n) => [n.path, n.data]));
}

const until = <T>(fn: () => Promise<T> | T, ok: (v: T) => boolean | Promise<boolean>, timeout = 20_000) =>
  expect.poll(async () => ok(await fn()), { timeout, interval: 100 }).toBe(true);

describe('registry sync engine', () => {
  it('create, change and delete on the source reach the destination within a few seconds; a restart repairs by its full diff', async () => {
    const from = `${root}/t1/services`;
    const to = `${root}/t1-offsite/services`;
    await mk(zk, `${root}/t1`);
    await mk(zk, from);
    await mk(zk, `${from}/order-service`);
    await mk(zk, `${from}/order-service/i-1`, curatorInstanceJson({ name: 'order-service', id: 'i-1', address: '10.0.0.1', port: 80 }));
    const syncId = unique('sync-t1');
    let s = start({ syncId, mappings: [{ from, to }], ephemerals: 'persistent' });
    await until(() => tree(to), async (t) => JSON.stringify(t) === JSON.stringify(await tree(from)));

    const t0 = Date.now();
    await mk(zk, `${from}/user-service`);
    await mk(zk, `${from}/user-service/u-1`, 'u1');
    await until(() => getData(zk, `${to}/user-service/u-1`).then((r) => r.data?.toString(), () => null), (v) => v === 'u1');
    await setData(zk, `${from}/user-service/u-1`, Buffer.from('u1-changed'));
    await until(() => getData(zk, `${to}/user-service/u-1`).then((r) => r.data?.toString(), () => null), (v) => v === 'u1-changed');
    await remove(zk, `${from}/user-service/u-1`);
    await until(() => exists(zk, `${to}/user-service/u-1`), (v) => v === null);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(s.stats()).toMatchObject({ watch: 'recursive', creates: expect.any(Number) });

    // Stopped mid-way ("worker killed"): changes made meanwhile are missed by any watch...
    await s.stop();
    await mk(zk, `${from}/order-service/i-2`, 'while-down');
    await setData(zk, `${from}/order-service/i-1`, Buffer.from('changed-while-down'));
    await remove(zk, `${from}/user-service`);
    await mk(zk, `${to}/stray`, 'only-on-destination');
    // ...and the next start's full diff repairs them all.
    s = start({ syncId, mappings: [{ from, to }], ephemerals: 'persistent' });
    await until(() => tree(to), async (t) => JSON.stringify(t) === JSON.stringify(await tree(from)));
    expect(s.stats()!.lastFullDiffRepairs).toBe(4);
    await s.stop();
  });

  it('a burst of 500 changes is coalesced: fewer writes than changes, the same final tree', async () => {
    const from = `${root}/t2/services`;
    const to = `${root}/t2-offsite/services`;
    await mk(zk, `${root}/t2`);
    await mk(zk, from);
    for (let i = 0; i < 10; i++) await mk(zk, `${from}/svc-${i}`, 'v0');
    const s = start({ mappings: [{ from, to }] });
    await until(() => tree(to), async (t) => JSON.stringify(t) === JSON.stringify(await tree(from)));
    const before = s.stats()!.changesApplied;
    // 500 changes: 50 versions of each of 10 nodes, as fast as the client sends them.
    const writes: Promise<unknown>[] = [];
    for (let v = 1; v <= 50; v++) for (let i = 0; i < 10; i++) writes.push(setData(zk, `${from}/svc-${i}`, Buffer.from(`v${v}`)));
    await Promise.all(writes);
    await until(() => tree(to), async (t) => JSON.stringify(t) === JSON.stringify(await tree(from)));
    const st = s.stats()!;
    expect(st.eventsSeen).toBeGreaterThanOrEqual(500);
    const applied = st.changesApplied - before;
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(500);
    // The destination's own versions say the same: each node written far fewer than 50 times.
    let versions = 0;
    for (let i = 0; i < 10; i++) versions += (await getData(zk, `${to}/svc-${i}`)).stat.version;
    expect(versions).toBe(applied);
    expect((await getData(zk, `${to}/svc-3`)).data!.toString()).toBe('v50');
    await s.stop();
  });

  it('a two-way sync of two trees does not loop: writes stop once converged, and nothing is sent back', async () => {
    const a = `${root}/t3/a`;
    const b = `${root}/t3/b`;
    await mk(zk, `${root}/t3`);
    await mk(zk, a);
    await mk(zk, b);
    await mk(zk, `${a}/from-a`, 'A');
    await mk(zk, `${b}/from-b`, 'B');
    const idAB = unique('sync-ab');
    const idBA = unique('sync-ba');
    const ab = start({ syncId: idAB, peerId: idBA, twoWay: true, mappings: [{ from: a, to: b }] });
    const ba = start({ syncId: idBA, peerId: idAB, twoWay: true, mappings: [{ from: b, to: a }] });
    await until(() => Promise.all([tree(a), tree(b)]), ([x, y]) => JSON.stringify(x) === JSON.stringify(y) && Object.keys(x).length === 3);
    // Changes on both sides, then quiet.
    await setData(zk, `${a}/from-a`, Buffer.from('A2'));
    await mk(zk, `${b}/from-b/child`, 'C');
    await remove(zk, `${a}/from-b/child`).catch(() => {}); // may not have arrived yet: either way the trees converge
    await until(() => Promise.all([tree(a), tree(b)]), ([x, y]) => JSON.stringify(x) === JSON.stringify(y) && x['/from-a'] === Buffer.from('A2').toString('base64'));
    const count = () => (ab.stats()?.changesApplied ?? 0) + (ba.stats()?.changesApplied ?? 0);
    // Stable: the same write count over 3 s of quiet (a loop would keep writing).
    let prev = -1;
    await expect
      .poll(
        async () => {
          const c = count();
          const stable = c === prev;
          prev = c;
          return stable;
        },
        { timeout: 20_000, interval: 3_000 },
      )
      .toBe(true);
    expect(count()).toBeLessThan(12);
    expect((ab.stats()?.echoesSkipped ?? 0) + (ba.stats()?.echoesSkipped ?? 0)).toBeGreaterThan(0);
    await Promise.all([ab.stop(), ba.stop()]);
  });

  it('ephemeral instances: held by the sync session (gone when it stops) or written persistent (kept)', async () => {
    const from = `${root}/t4/services`;
    await mk(zk, `${root}/t4`);
    await mk(zk, from);
    await mk(zk, `${from}/pay`);
    const inst = await session();
    await mk(inst, `${from}/pay/p-1`, curatorInstanceJson({ name: 'pay', id: 'p-1', address: '10.0.1.1', port: 81 }), OPEN, CreateMode.EPHEMERAL);

    const held = start({ mappings: [{ from, to: `${root}/t4-held/services` }], ephemerals: 'held' });
    const persistent = start({ mappings: [{ from, to: `${root}/t4-persistent/services` }], ephemerals: 'persistent' });
    const heldNode = `${root}/t4-held/services/pay/p-1`;
    const persistentNode = `${root}/t4-persistent/services/pay/p-1`;
    await until(() => Promise.all([exists(zk, heldNode), exists(zk, persistentNode)]), ([x, y]) => x !== null && y !== null);
    expect((await exists(zk, heldNode))!.ephemeralOwner.readBigUInt64BE(0)).not.toBe(0n);
    expect((await exists(zk, persistentNode))!.ephemeralOwner.readBigUInt64BE(0)).toBe(0n);

    // The instance's own session ends: gone off-site too, in both modes.
    inst.close();
    await until(() => Promise.all([exists(zk, heldNode), exists(zk, persistentNode)]), ([x, y]) => x === null && y === null, 30_000);
    const inst2 = await session();
    await mk(inst2, `${from}/pay/p-2`, 'p2', OPEN, CreateMode.EPHEMERAL);
    await until(() => Promise.all([exists(zk, `${root}/t4-held/services/pay/p-2`), exists(zk, `${root}/t4-persistent/services/pay/p-2`)]), ([x, y]) => x !== null && y !== null);
    // The sync stops: the held copy goes with its session, the persistent one stays.
    await Promise.all([held.stop(), persistent.stop()]);
    await until(() => exists(zk, `${root}/t4-held/services/pay/p-2`), (v) => v === null, 30_000);
    expect(await exists(zk, `${root}/t4-persistent/services/pay/p-2`)).not.toBeNull();
    inst2.close();
  });

  it('refuses a destination on the source paths of the same ensemble; a missing source root deletes nothing', async () => {
    await expect(runRegistrySync({ syncId: 'x', source: { connect: ZK }, dest: { connect: ZK }, mappings: [{ from: `${root}/x`, to: `${root}/x/offsite` }], ephemerals: 'held' })).rejects.toThrow(
      /overlaps source .* on the same ZooKeeper ensemble: give a destination prefix/,
    );
    const to = `${root}/t5-offsite/services`;
    await mk(zk, `${root}/t5-offsite`);
    await mk(zk, to);
    await mk(zk, `${to}/kept`, 'k');
    const s = start({ mappings: [{ from: `${root}/t5-missing/services`, to }] });
    await until(() => s.stats()?.state ?? '', (v) => v === 'source-missing');
    expect((await getData(zk, `${to}/kept`)).data!.toString()).toBe('k');
    await s.stop();
  });
});
