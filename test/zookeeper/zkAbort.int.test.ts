/**
 * Cancellation of ZooKeeper export and restore (against the lab's ZooKeeper, on scratch roots):
 * an aborted export stops at once; an aborted restore stops within a second between its multis,
 * a finished parent it created already carries its exported (restrictive) ACL, and a re-run
 * completes the tree exactly as exported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACL, getACL, Id, Permission, type ZkClient } from '../../src/zookeeper/client';
import { aclToJson, exportTree } from '../../src/zookeeper/export';
import { applyRestore, digestId, planRestoreLive } from '../../src/zookeeper/restore';
import type { ZkTreeExport } from '../../src/zookeeper/tree';
import { deleteTree, mk, newScratchRoot, session } from './scratch';

const root = newScratchRoot();
const src = `${root}/src`;
const target = `${root}/copy`;
const BULK = 3000;
const ALICE = 'alice:alice-secret';
let zk: ZkClient;
let exported: ZkTreeExport;

const strip = (e: ZkTreeExport) => e.nodes.map((n) => ({ path: n.path, data: n.data, acl: n.acl }));

beforeAll(async () => {
  // Alice may do anything to the locked node (so the test can clean up); the restore is not told
  // it runs as alice, so it needs a temporary grant to create the node's children.
  zk = await session([ALICE]);
  await mk(zk, root);
  await mk(zk, src, 'root');
  // Sorted first, restored first: world may only read it once restored, yet its children are created.
  await mk(zk, `${src}/a-locked`, 'locked');
  for (let i = 0; i < 20; i++) await mk(zk, `${src}/a-locked/c${i}`, `child ${i}`);
  await new Promise<void>((resolve, reject) =>
    zk.setACL(`${src}/a-locked`, [new ACL(Permission.READ, new Id('world', 'anyone')), new ACL(Permission.ALL, new Id('digest', digestId(ALICE)))], (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  await mk(zk, `${src}/z-bulk`);
  for (let i = 0; i < BULK; i += 250) await Promise.all(Array.from({ length: Math.min(250, BULK - i) }, (_, k) => mk(zk, `${src}/z-bulk/n${i + k}`, `value ${i + k}`)));
  exported = await exportTree(zk, src);
}, 120_000);

afterAll(async () => {
  if (zk) await deleteTree(zk, root);
  zk?.close();
});

describe('cancelled ZooKeeper export and restore', () => {
  it('an export stops within a second of its abort', async () => {
    const ac = new AbortController();
    const exporting = exportTree(zk, src, { signal: ac.signal, concurrency: 1 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    ac.abort();
    const r = await exporting;
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((r as Error).name).toBe('AbortError');
    // A signal aborted before the start reads nothing.
    await expect(exportTree(zk, src, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a restore stops between multis, leaves no temporary grant on a finished parent, and a re-run completes it exactly', async () => {
    const ac = new AbortController();
    let abortedAt = 0;
    const plan = await planRestoreLive(zk, exported, target);
    const first = await applyRestore(zk, plan, {
      maxBatchOps: 50,
      inflight: 1,
      signal: ac.signal,
      onProgress: (done) => {
        if (!abortedAt && done >= 500) {
          abortedAt = Date.now();
          ac.abort();
        }
      },
    }).catch((e: unknown) => e);
    expect((first as Error).name).toBe('AbortError');
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    const partial = await exportTree(zk, target);
    expect(partial.nodes.length).toBeGreaterThanOrEqual(500);
    expect(partial.nodes.length).toBeLessThan(exported.nodes.length);
    // The restrictive parent is finished (all its children exist): it has its own ACL again.
    expect(aclToJson((await getACL(zk, `${target}/a-locked`)).acl)).toEqual(exported.nodes.find((n) => n.path === '/a-locked')!.acl);

    const rest = await applyRestore(zk, await planRestoreLive(zk, exported, target));
    expect(rest.created).toBe(exported.nodes.length - partial.nodes.length);
    expect(strip(await exportTree(zk, target))).toEqual(strip(exported));
  });
});
