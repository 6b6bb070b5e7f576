/** Deleting a ZooKeeper subtree (a drill's fault, the lab's disaster, an offline migration's rollback). */
import { getChildren, multi, remove, ZkError, type ZkClient } from './client';
import { joinRoot, type ZkTreeExport } from './tree';

/**
 * Deletes a subtree, children first; a missing node is already deleted. Returns how many went. A
 * node that gained a child meanwhile (a live broker writing under its chroot) is emptied again, a
 * few times, before the NOT_EMPTY goes to the caller (whose retry starts over).
 */
export async function deleteTree(zk: ZkClient, path: string, attempts = 5): Promise<number> {
  let kids: string[];
  try {
    kids = await getChildren(zk, path);
  } catch (e) {
    if (e instanceof ZkError && e.code === 'NO_NODE') return 0;
    throw e;
  }
  let n = 0;
  for (let i = 0; i < kids.length; i += 64) {
    const counts = await Promise.all(kids.slice(i, i + 64).map((k) => deleteTree(zk, `${path}/${k}`, attempts)));
    n += counts.reduce((s, c) => s + c, 0);
  }
  try {
    await remove(zk, path);
  } catch (e) {
    if (e instanceof ZkError && e.code === 'NO_NODE') return n;
    if (e instanceof ZkError && e.code === 'NOT_EMPTY' && attempts > 1) return n + (await deleteTree(zk, path, attempts - 1));
    throw e;
  }
  return n + 1;
}

/**
 * Remove ops per multi request. A Kafka chroot's paths are ~100 bytes, far below ZooKeeper's 1 MB
 * request limit (jute.maxbuffer); a registry's (URL-encoded provider URLs, 1-2 KB) can pass it, and
 * ZooKeeper then drops the request's connection: the batch fails and deleteTree deletes node by node.
 */
const MULTI_BATCH = 500;

/**
 * Deletes the subtree an export just read (a drill's fault deletes what it has committed): its nodes,
 * deepest first, in atomic `multi` batches, so a few round trips and transaction-log writes instead of
 * two per node. A batch that meets anything the export does not account for (a node created or
 * deleted since) changes nothing, and deleteTree finishes the subtree the slow, thorough way.
 */
export async function deleteExported(zk: ZkClient, exp: ZkTreeExport): Promise<number> {
  if (exp.kind !== 'full') return deleteTree(zk, exp.root);
  const paths = exp.nodes.map((n) => joinRoot(exp.root, n.path));
  const depth = (p: string) => p.split('/').length;
  paths.sort((a, b) => depth(b) - depth(a));
  let n = 0;
  for (let i = 0; i < paths.length; i += MULTI_BATCH) {
    const batch = paths.slice(i, i + MULTI_BATCH);
    try {
      await multi(zk, batch.map((path) => ({ op: 'remove' as const, path })));
    } catch (e) {
      if (!(e instanceof ZkError)) throw e;
      return n + (await deleteTree(zk, exp.root));
    }
    n += batch.length;
  }
  return n;
}
