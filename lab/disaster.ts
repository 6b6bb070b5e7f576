/**
 * The lab's disaster, for the demo and the recovery tests: every broker of a cluster SIGKILLed,
 * its log dirs emptied and its ZooKeeper chroot deleted. Lab only: it refuses any other target.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { withZk } from '../src/zookeeper/client';
import { deleteTree } from '../src/zookeeper/deleteTree';
import { killBroker } from './lab';
import { findCluster, type LabTopology, zkConnect } from './topology';

export { deleteTree };

export interface DisasterResult {
  killed: number[];
  logDirEntriesRemoved: number;
  znodesDeleted: number;
  at: string;
}

export async function labDisaster(topo: LabTopology, clusterName: string): Promise<DisasterResult> {
  const cluster = findCluster(topo, clusterName);
  if (!cluster.chroot || cluster.chroot === '/') throw new Error(`lab cluster ${clusterName} has no chroot: refusing to delete the ZooKeeper root`);
  const at = new Date().toISOString();
  // Every broker dies: there is no cluster left to agree, so no settling between the kills.
  for (const b of cluster.brokers) await killBroker(topo, b, { settle: false });
  let removed = 0;
  for (const b of cluster.brokers) {
    for (const e of await readdir(b.logDir).catch(() => [] as string[])) {
      await rm(join(b.logDir, e), { recursive: true, force: true });
      removed++;
    }
  }
  const znodesDeleted = await withZk(zkConnect(topo), (zk) => deleteTree(zk, cluster.chroot));
  return { killed: cluster.brokers.map((b) => b.id), logDirEntriesRemoved: removed, znodesDeleted, at };
}
