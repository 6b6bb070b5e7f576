/**
 * deleteExported (a drill's chroot fault) against the lab's real ZooKeeper, on scratch roots only:
 * the exported nodes go in atomic batches, and a tree that changed since its export is still deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateMode, currentZxid, exists, type ZkClient } from '../../src/zookeeper/client';
import { deleteExported } from '../../src/zookeeper/deleteTree';
import { exportTree } from '../../src/zookeeper/export';
import { deleteTree, mk, newScratchRoot, OPEN, session } from './scratch';

const root = newScratchRoot();
let zk: ZkClient;

beforeAll(async () => {
  zk = await session();
  await mk(zk, root);
});

afterAll(async () => {
  if (zk) await deleteTree(zk, root);
  zk?.close();
});

/** A tree of `fanout` × `fanout` leaves under three levels, and an ephemeral node of this session. */
async function grow(at: string, fanout: number): Promise<number> {
  await mk(zk, at, 'top');
  let n = 1;
  for (let i = 0; i < fanout; i++) {
    await mk(zk, `${at}/b${i}`, `branch ${i}`);
    n++;
    await Promise.all(Array.from({ length: fanout }, (_, j) => mk(zk, `${at}/b${i}/l${j}`, `leaf ${i}.${j}`)));
    n += fanout;
  }
  await mk(zk, `${at}/live`, null, OPEN, CreateMode.EPHEMERAL);
  return n + 1;
}

describe('deleteExported', () => {
  it('deletes every exported node, deepest first, in batches of at most 500 and far fewer transactions than nodes', async () => {
    const at = `${root}/big`;
    const made = await grow(at, 24); // 1 + 24 + 576 + 1 = 602 nodes: two batches
    const exp = await exportTree(zk, at);
    expect(exp.nodeCount).toBe(made);
    const before = await currentZxid(zk);
    expect(await deleteExported(zk, exp)).toBe(made);
    const after = await currentZxid(zk);
    expect(await exists(zk, at)).toBeNull();
    // Each multi is one transaction (one zxid): two here, where node by node took 602. The margin is
    // for what else writes to the lab's ensemble meanwhile.
    expect(after - before).toBeLessThan(100n);
  });

  it('cuts batches by bytes too: 520 registry-like nodes of 2.4 KB names (1.2 MB in one batch of 500, past jute.maxbuffer)', async () => {
    const at = `${root}/long`;
    await mk(zk, at);
    const name = (i: number) => `${'provider%3A%2F%2F10.0.0.1%3A20880%2Fcom.example.Service%3Fmethods%3D'.repeat(34)}${i}`.slice(0, 2400 - 4) + String(i).padStart(4, '0');
    for (let i = 0; i < 520; i += 40) await Promise.all(Array.from({ length: Math.min(40, 520 - i) }, (_, j) => mk(zk, `${at}/${name(i + j)}`)));
    const exp = await exportTree(zk, at);
    expect(exp.nodeCount).toBe(521);
    const before = await currentZxid(zk);
    expect(await deleteExported(zk, exp)).toBe(521);
    const after = await currentZxid(zk);
    expect(await exists(zk, at)).toBeNull();
    // A few batches of ~100 (node by node, after a batch ZooKeeper refused: 521 transactions).
    expect(after - before).toBeLessThan(100n);
  }, 60_000);

  it('still deletes the whole tree when a node was created in it after the export (the batch fails, node by node follows)', async () => {
    const at = `${root}/changed`;
    const made = await grow(at, 3);
    const exp = await exportTree(zk, at);
    await mk(zk, `${at}/b1/late`, 'written after the export');
    expect(await deleteExported(zk, exp)).toBe(made + 1);
    expect(await exists(zk, at)).toBeNull();
  });

  it('counts nothing twice when part of the tree went before it ran', async () => {
    const at = `${root}/partly`;
    const made = await grow(at, 3);
    const exp = await exportTree(zk, at);
    await deleteTree(zk, `${at}/b0`);
    expect(await deleteExported(zk, exp)).toBe(made - 4);
    expect(await exists(zk, at)).toBeNull();
  });
});
