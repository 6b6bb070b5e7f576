/**
 * The pre-restore snapshot of a ZooKeeper target: the subtree a restore is about to change, kept
 * in the target cluster's repository (see repository/preRestore.ts) just before the first write.
 */
import type { ClusterSpec } from '../config/spec';
import { preRestoreSnapshot } from '../repository/preRestore';
import type { SnapshotMeta } from '../repository/types';
import { exists, type ZkClient } from './client';
import { exportTree } from './export';
import { type RestorePlan, summarizePlan } from './restore';
import { writeZkComponent } from './storage';

/** Keeps `plan.targetRoot` as it is now, unless the plan writes nothing or the root does not exist yet. */
export async function keepZkTarget(
  zk: ZkClient,
  plan: RestorePlan,
  target: ClusterSpec | undefined,
  what: string,
  opts: { optOut?: boolean; signal?: AbortSignal } = {},
): Promise<SnapshotMeta | undefined> {
  const w = summarizePlan(plan).writes;
  if (w.create + w.update + w.delete === 0 || !(await exists(zk, plan.targetRoot))) return undefined;
  return preRestoreSnapshot(target, what, 'zookeeper', async (writer) => writeZkComponent(writer, await exportTree(zk, plan.targetRoot, { signal: opts.signal })), opts);
}
