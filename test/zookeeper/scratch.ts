/** Scratch roots for ZooKeeper tests: created under /lifeboat-test-<id>, deleted (only ours) at the end. */
import { zkConnect } from '../../lab/topology';
import { connectZk, create, ACL, Id, Permission, type ZkClient, type ZkAcl } from '../../src/zookeeper/client';
import { deleteTree as deleteSubtree } from '../../src/zookeeper/deleteTree';
import { topo, unique } from '../support/lab';

export const ZK = zkConnect(topo);
export const OPEN: ZkAcl[] = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

export const newScratchRoot = (): string => `/${unique('lifeboat-test')}`;

export function session(auth: string[] = []): Promise<ZkClient> {
  return connectZk(ZK, { auth: auth.map((credentials) => ({ scheme: 'digest', credentials })), timeoutMs: 10_000 });
}

/** Deletes a scratch subtree (children first). Refuses anything that is not a test root. */
export async function deleteTree(zk: ZkClient, path: string): Promise<void> {
  if (!/^\/lifeboat-test-[0-9a-f-]+/.test(path)) throw new Error(`refusing to delete ${path}`);
  await deleteSubtree(zk, path);
}

export async function mk(zk: ZkClient, path: string, data: Buffer | string | null = null, acl: ZkAcl[] = OPEN, mode?: number): Promise<string> {
  return create(zk, path, data === null ? null : Buffer.isBuffer(data) ? data : Buffer.from(data), acl, mode);
}
