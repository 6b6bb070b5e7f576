/**
 * Sizes and copies on the source side: what each source broker's log dirs hold per partition (the
 * plan's "bytes to move", read on the broker's host), and, once the set's log-dir copies are in
 * the repository, which copy each target replica receives (the replica with the highest log end).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { findPart } from '../../backup/parts';
import type { PartitionCover } from '../../host/logdirs';
import { withRepo } from '../../recovery/repo';
import type { OfflinePlan } from './plan';
import { copySource, partitionDir } from './plan.pure';
import type { PartitionCopy } from './restore';

/** Bytes of each partition directory ("topic-p") in the broker's log dirs (files only, one level). */
export async function logDirBytes(spec: ClusterSpec, brokerId: number): Promise<{ brokerId: number; bytes: number; partitions: Record<string, number> }> {
  const b = spec.brokers.find((x) => x.id === brokerId);
  if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  const partitions: Record<string, number> = {};
  let bytes = 0;
  for (const dir of b.logDirs) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!/^.+-\d+$/.test(name)) continue;
      let n = 0;
      for (const f of await readdir(join(dir, name)).catch(() => [] as string[])) n += await stat(join(dir, name, f)).then((s) => (s.isFile() ? s.size : 0), () => 0);
      partitions[name] = (partitions[name] ?? 0) + n;
      bytes += n;
    }
  }
  return { brokerId, bytes, partitions };
}

export interface CopyPlan {
  /** Target broker id → the partition copies it receives. */
  byTarget: Record<string, PartitionCopy[]>;
  /** Partitions for which no source replica has a copy (each one line). */
  missing: string[];
}

/** Which copy each target replica gets, from the set's logdirs:<broker> snapshots (their covers). */
export async function planCopies(source: ClusterSpec, setId: string, plan: OfflinePlan): Promise<CopyPlan> {
  return withRepo(source, async (repo) => {
    const covers = new Map<number, { snapshotId: string; host: string; partitions: Record<string, PartitionCover> }>();
    for (const b of source.brokers) {
      const snap = await findPart(repo, source.name, setId, `logdirs:${b.id}`);
      if (!snap) throw new LifeboatError('InvalidInput', `backup set ${setId} has no copy of broker ${b.id}'s log dirs`);
      const perHost = (snap.points.logdirs ?? {}) as Record<string, Record<string, PartitionCover>>;
      const host = Object.keys(perHost)[0] ?? b.host;
      covers.set(b.id, { snapshotId: snap.id, host, partitions: perHost[host] ?? {} });
    }
    const byTarget: Record<string, PartitionCopy[]> = {};
    const missing: string[] = [];
    for (const t of plan.topics) {
      for (const p of t.partitions) {
        const name = partitionDir(t.name, p.partition);
        const ends = Object.fromEntries(p.replicas.map((r) => [String(r), covers.get(r)?.partitions[name]?.end]));
        const best = copySource(p.replicas, ends);
        if (best === undefined) {
          missing.push(`${name}: no source replica (${p.replicas.join(', ')}) has it in its log dirs`);
          continue;
        }
        const c = covers.get(best)!;
        const cover = c.partitions[name]!;
        for (const target of p.targetReplicas) {
          (byTarget[String(target)] ??= []).push({ topic: t.name, partition: p.partition, fromBroker: best, snapshotId: c.snapshotId, fromHost: c.host, dir: cover.dir, end: cover.end });
        }
      }
    }
    return { byTarget, missing };
  });
}
