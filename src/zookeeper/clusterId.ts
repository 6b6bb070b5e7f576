/**
 * The Kafka guard: a broker refuses to start (InconsistentClusterIdException) when the cluster id in
 * ZooKeeper (`<chroot>/cluster/id`) differs from `cluster.id` in its log dirs' meta.properties. A
 * restore that would create that state is stopped before it writes anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LifeboatError } from '../errors';
import { getData, ZkError, type ZkClient } from './client';
import type { ZkTreeExport } from './tree';

export interface ClusterIdCheck {
  /** The id ZooKeeper has (or will have after the restore); null when there is no /cluster/id. */
  zkClusterId: string | null;
  logDirs: { dir: string; clusterId: string | null; brokerId: string | null }[];
  ok: boolean;
  mismatches: string[];
}

export function readMetaProperties(logDir: string): Record<string, string> | null {
  const file = join(logDir, 'meta.properties');
  if (!existsSync(file)) return null;
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([^#!=:\s][^=:]*?)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

function parseClusterIdNode(data: Buffer | string | null, where: string): string {
  const text = data === null ? '' : typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : data.toString('utf8');
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    if (typeof id === 'string' && id) return id;
  } catch {
    // fall through
  }
  throw new LifeboatError('CorruptBackup', `${where} does not hold a Kafka cluster id ({"version":"1","id":...}): ${JSON.stringify(text.slice(0, 80))}`);
}

/** The cluster id an export carries (relative /cluster/id), or null when it has none. */
export function clusterIdOfExport(exp: ZkTreeExport): string | null {
  const node = exp.nodes.find((n) => n.path === '/cluster/id');
  return node ? parseClusterIdNode(node.data, `${exp.root}/cluster/id in the export`) : null;
}

/** The cluster id live in ZooKeeper under `root` (e.g. "/primary"), or null. */
export async function clusterIdOfZk(zk: ZkClient, root: string): Promise<string | null> {
  const path = `${root === '/' ? '' : root}/cluster/id`;
  try {
    return parseClusterIdNode((await getData(zk, path)).data, path);
  } catch (e) {
    if (e instanceof ZkError && e.code === 'NO_NODE') return null;
    throw e;
  }
}

/**
 * Compares the cluster id (from an export, or live from ZooKeeper under `root`) with every log dir's
 * meta.properties. Log dirs without meta.properties are fine (a fresh broker adopts ZooKeeper's id).
 */
export async function checkClusterIdConsistency(source: ZkTreeExport | { zk: ZkClient; root: string }, logDirs: string[]): Promise<ClusterIdCheck> {
  const zkClusterId = 'nodes' in source ? clusterIdOfExport(source) : await clusterIdOfZk(source.zk, source.root);
  const dirs = logDirs.map((dir) => {
    const meta = readMetaProperties(dir);
    return { dir, clusterId: meta?.['cluster.id'] ?? null, brokerId: meta?.['broker.id'] ?? null };
  });
  const mismatches =
    zkClusterId === null ? [] : dirs.filter((d) => d.clusterId !== null && d.clusterId !== zkClusterId).map((d) => `${d.dir}/meta.properties has cluster.id ${d.clusterId}`);
  return { zkClusterId, logDirs: dirs, ok: mismatches.length === 0, mismatches };
}

/** Throws ClusterIdMismatch (one actionable line) when the check fails. */
export async function assertClusterIdConsistent(source: ZkTreeExport | { zk: ZkClient; root: string }, logDirs: string[]): Promise<ClusterIdCheck> {
  const r = await checkClusterIdConsistency(source, logDirs);
  if (!r.ok) {
    throw new LifeboatError(
      'ClusterIdMismatch',
      `ZooKeeper cluster id ${r.zkClusterId} disagrees with ${r.mismatches.join('; ')} — brokers would fail with InconsistentClusterIdException; restore the matching snapshot or log dirs (nothing was written)`,
      { zkClusterId: r.zkClusterId, mismatches: r.mismatches },
    );
  }
  return r;
}
