/**
 * The service registry in a full recovery: its persistent nodes (services, Dubbo categories) come
 * back from the set; instances are ephemeral and come back when the services re-register, so they
 * are listed, and a static address file per service (the seed's degradation level 3) can be
 * written for clients that cannot wait.
 */
import { join } from 'node:path';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { restoreRegistry, staticFallback, writeFallback } from '../registry/registry';
import { readRegistryComponent } from '../registry/storage';
import { withZkSession } from '../zookeeper/errors';
import { keepZkTarget } from '../zookeeper/preRestore';
import { withRepo } from './repo';

export interface RegistryRecovery {
  services: number;
  created: number;
  /** Instances that were registered at backup time and wait for their services to register again. */
  awaitingReregistration: number;
  fallbackFiles: string[];
}

export async function recoverRegistry(spec: ClusterSpec, snapshotId: string, opts: { fallbackDir?: string } = {}): Promise<RegistryRecovery> {
  const zkc = spec.zookeeper;
  if (!zkc) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no zookeeper section`);
  const cap = await withRepo(spec, async (repo) => readRegistryComponent(await repo.openSnapshot(snapshotId)));
  if (cap.registry.kind !== 'full') throw new LifeboatError('CorruptBackup', `registry snapshot ${snapshotId.slice(0, 12)} is incremental; a backup set holds full ones`);
  const auth = zkAuthOf(spec);
  const results = await withZkSession(zkc.connect, { auth }, (zk) =>
    restoreRegistry(zk, cap.trees, {
      mode: 'create-missing',
      beforeWrite: async (plan) => {
        await keepZkTarget(zk, plan, spec, `registry recovery of ${plan.targetRoot}`);
      },
    }),
  );
  const fallbackFiles = opts.fallbackDir ? writeFallback(join(opts.fallbackDir, spec.name), staticFallback(cap.registry)) : [];
  return {
    services: cap.registry.services.length,
    created: results.reduce((n, r) => n + (r.result?.created ?? 0), 0),
    awaitingReregistration: results.reduce((n, r) => n + r.plan.skippedEphemerals.length, 0),
    fallbackFiles,
  };
}
