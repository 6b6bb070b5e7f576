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
 * Remove ops per multi request, and their paths' bytes: a Kafka chroot's paths are ~100 bytes, a
 * registry's (URL-encoded provider URLs) 1-2 KB, and ZooKeeper refuses a request over jute.maxbuffer
 * (1 MB by default) by dropping the connection.
 */
const MULTI_OPS = 500;
const MULTI_BYTES = 256 * 1024;

/** Paths in order, cut into batches of at most MULTI_OPS and MULTI_BYTES (a longer path alone). */
function batches(paths: string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const p of paths) {
    const size = Buffer.byteLength(p) + 16;
    if (cur.length && (cur.length >= MULTI_OPS || bytes + size > MULTI_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(p);
    bytes += size;
  }
  if (cur.length) out.push(cur);
  return out;
}

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
  for (const batch of batches(paths)) {
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
