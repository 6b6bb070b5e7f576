/**
 * A registry-lost drill's last check: the service instances registered before the fault are
 * registered again. Restoring the registry brings its persistent nodes (services, Dubbo
 * categories) back; an instance is an ephemeral node held by its service's ZooKeeper session, and
 * only the service registering again brings it back (Curator's ServiceDiscovery does on a new
 * session, Dubbo on a reconnect; one whose session outlived the deletion needs a watch on its
 * node, or a restart). Until then the registry is restored and the service cannot be found.
 * Reads only.
 */
import { type ClusterSpec, registryRootsOf, zkAuthOf } from '../config/spec';
import { sleep } from '../core/poll';
import { exists } from '../zookeeper/client';
import { withZkSession } from '../zookeeper/errors';
import { exportTree } from '../zookeeper/export';

/** Every ephemeral node (an instance) under the spec's registry roots now, as absolute paths, sorted. */
export async function registryInstances(spec: ClusterSpec, signal?: AbortSignal): Promise<string[]> {
  if (!spec.zookeeper) return [];
  const out: string[] = [];
  await withZkSession(spec.zookeeper.connect, { auth: zkAuthOf(spec) }, async (zk) => {
    for (const root of registryRootsOf(spec)) {
      if (!(await exists(zk, root))) continue;
      const tree = await exportTree(zk, root, { signal });
      for (const n of tree.nodes) if (n.ephemeral) out.push(n.path === '/' ? root : `${root}${n.path}`);
    }
  });
  return out.sort();
}

export interface InstancesBack {
  expected: number;
  back: number;
  /** The instances still missing when the wait ended, sorted. */
  missing: string[];
  waitedMs: number;
}

/** Waits (bounded) until every one of `paths` exists again; what is still missing at the end is the answer, not an error. */
export async function awaitRegistryInstances(
  spec: ClusterSpec,
  paths: string[],
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal; onProgress?: (back: number, expected: number) => void },
): Promise<InstancesBack> {
  const t0 = Date.now();
  let missing = [...new Set(paths)].sort();
  const expected = missing.length;
  if (expected === 0 || !spec.zookeeper) return { expected, back: expected - missing.length, missing, waitedMs: 0 };
  await withZkSession(spec.zookeeper.connect, { auth: zkAuthOf(spec) }, async (zk) => {
    for (;;) {
      const still: string[] = [];
      for (const p of missing) if (!(await exists(zk, p))) still.push(p);
      missing = still;
      opts.onProgress?.(expected - missing.length, expected);
      if (missing.length === 0 || Date.now() - t0 >= opts.timeoutMs) return;
      await sleep(opts.intervalMs ?? 500, opts.signal);
    }
  });
  return { expected, back: expected - missing.length, missing, waitedMs: Date.now() - t0 };
}
