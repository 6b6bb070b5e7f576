/** Deleting a ZooKeeper subtree (a drill's fault, the lab's disaster, an offline migration's rollback). */
import { getChildren, remove, ZkError, type ZkClient } from './client';

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
