/**
 * The cluster's state in a recovery: ZooKeeper put back from the set (what is there kept first as a
 * pre-restore snapshot) and each broker's config files. The registry is in registry.ts.
 */
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { captureBrokerConfigs, diffConfigs, restoreBrokerConfigs } from '../host/brokerConfigs';
import { readConfigsComponent, writeConfigsComponent } from '../host/brokerConfigsStore';
import { preRestoreSnapshot } from '../repository/preRestore';
import type { SnapshotMeta } from '../repository/types';
import { withZkSession } from '../zookeeper/errors';
import { keepZkTarget } from '../zookeeper/preRestore';
import { applyRestore, planRestoreLive, type RestoreMode, summarizePlan } from '../zookeeper/restore';
import { materializeZkTree } from '../zookeeper/storage';
import { withRepo } from './repo';

function needZk(spec: ClusterSpec): NonNullable<ClusterSpec['zookeeper']> {
  if (!spec.zookeeper) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no zookeeper section`);
  return spec.zookeeper;
}

export interface ZkRestoreResult {
  created: number;
  updated: number;
  deleted: number;
  skippedEphemerals: number;
  preRestoreSnapshot?: string;
}

export async function restoreZookeeper(spec: ClusterSpec, snapshotId: string, opts: { mode?: RestoreMode; onProgress?: (done: number, total: number) => void } = {}): Promise<ZkRestoreResult> {
  const zkc = needZk(spec);
  const root = zkc.chroot || '/';
  const { tree } = await withRepo(spec, (repo) => materializeZkTree(repo, snapshotId));
  return withZkSession(zkc.connect, { auth: zkAuthOf(spec) }, async (zk) => {
    // overwrite: creates what is missing and puts back what changed, deletes nothing.
    const plan = await planRestoreLive(zk, tree, root, { mode: opts.mode ?? 'overwrite' });
    const w = summarizePlan(plan).writes;
    if (w.create + w.update + w.delete === 0) return { created: 0, updated: 0, deleted: 0, skippedEphemerals: plan.skippedEphemerals?.length ?? 0 };
    const pre = await keepZkTarget(zk, plan, spec, `recovery of ${root}`);
    const r = await applyRestore(zk, plan, { confirm: true, onProgress: opts.onProgress });
    return { created: r.created, updated: r.updated, deleted: r.deleted, skippedEphemerals: r.skippedEphemerals.length, preRestoreSnapshot: pre?.id };
  });
}

export interface ConfigRestoreResult {
  brokerId: number;
  action: 'unchanged' | 'restored';
  files: string[];
  preRestoreSnapshot?: string;
}

/** Puts a broker's config files back as the set has them; files that differ are kept first. */
export async function restoreConfigs(spec: ClusterSpec, brokerId: number, snapshotId: string): Promise<ConfigRestoreResult> {
  const broker = spec.brokers.find((b) => b.id === brokerId);
  if (!broker) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  const saved = (await withRepo(spec, async (repo) => readConfigsComponent(await repo.openSnapshot(snapshotId)))).find((c) => c.manifest.brokerId === brokerId);
  if (!saved) throw new LifeboatError('CorruptBackup', `snapshot ${snapshotId.slice(0, 12)} holds no configs of broker ${brokerId}`);
  const current = await captureBrokerConfigs(spec.name, broker).catch(() => undefined);
  if (current && !diffConfigs(saved, current).changed) return { brokerId, action: 'unchanged', files: [] };
  let pre: SnapshotMeta | undefined;
  if (current) pre = await preRestoreSnapshot(spec, `config restore of broker ${brokerId}`, 'configs', (w) => writeConfigsComponent(w, [current]));
  const plan = await restoreBrokerConfigs(saved, { overwrite: true });
  return { brokerId, action: 'restored', files: plan.files.map((f) => f.name), preRestoreSnapshot: pre?.id };
}
