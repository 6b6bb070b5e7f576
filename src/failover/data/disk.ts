/**
 * Partition ends and record counts of a primary whose brokers are down, from the replicas' log dirs
 * on this host (run by the host's worker). Per partition the replica Kafka keeps is the one read:
 * the newest leader epoch at its tip, then the highest end (with acks=all every acknowledged record
 * is on each in-sync replica; a longer log of an older epoch holds records a later leader never
 * had, truncated when that replica rejoins). Read only (segments.ts).
 */
import type { ClusterSpec } from '../../config/spec';
import { hostname } from 'node:os';
import { RangeCounter } from './count';
import { type ReplicaDir, byTip, readReplica, replicaDirs, replicaTip } from './segments';
import type { DiskPartition, DiskPartitions, PartitionOffset } from './types';

const key = (topic: string, partition: number): string => `${topic}/${partition}`;

/** Every replica of the topics on these brokers, grouped by partition, each with its tip; the one Kafka keeps first. */
export async function replicasByPartition(spec: ClusterSpec, brokerIds: number[], topics: string[] | undefined, problems: string[]): Promise<Map<string, { r: ReplicaDir; end: number; epoch: number }[]>> {
  const wanted = topics && new Set(topics);
  const dirs = await replicaDirs(spec, brokerIds, wanted ? (t) => wanted.has(t) : undefined, problems);
  const out = new Map<string, { r: ReplicaDir; end: number; epoch: number }[]>();
  for (const r of dirs) {
    let tip: { end: number; epoch: number };
    try {
      tip = await replicaTip(r);
    } catch (e) {
      problems.push(`broker ${r.brokerId}: ${r.dir} cannot be read (${(e as Error).message})`);
      continue;
    }
    const k = key(r.topic, r.partition);
    out.set(k, [...(out.get(k) ?? []), { r, ...tip }].sort((a, b) => byTip(a, b) || a.r.brokerId - b.r.brokerId));
  }
  return out;
}

export async function partitionEndsFromDisk(
  spec: ClusterSpec,
  brokerIds: number[],
  topics: string[],
  opts: { from?: PartitionOffset[]; cuts?: PartitionOffset[]; fromStart?: boolean; signal?: AbortSignal } = {},
): Promise<DiskPartitions> {
  const problems: string[] = [];
  const replicas = await replicasByPartition(spec, brokerIds, topics, problems);
  const from = new Map((opts.from ?? []).map((o) => [key(o.topic, o.partition), o.offset]));
  const cuts = new Map<string, number[]>();
  for (const c of opts.cuts ?? []) cuts.set(key(c.topic, c.partition), [...new Set([...(cuts.get(key(c.topic, c.partition)) ?? []), c.offset])].sort((a, b) => a - b));
  const partitions: DiskPartition[] = [];
  for (const [k, list] of [...replicas].sort(([a], [b]) => a.localeCompare(b))) {
    const { r, end, epoch } = list[0]!;
    const p: DiskPartition = {
      topic: r.topic,
      partition: r.partition,
      end,
      epoch,
      start: r.segments[0] ?? 0,
      brokerId: r.brokerId,
      logDir: r.logDir,
      replicas: list.map((x) => ({ brokerId: x.r.brokerId, end: x.end, epoch: x.epoch })),
    };
    const f = from.get(k) ?? (opts.fromStart ? 0 : undefined);
    if (f !== undefined) {
      const at = cuts.get(k) ?? [];
      const counter = new RangeCounter(f, end, at);
      await readReplica(r, f, end, (b) => counter.add(b, r.dir), opts.signal);
      const { total, atCuts } = counter.finish();
      p.from = f;
      p.count = total;
      if (at.length) p.cuts = at.map((offset, i) => ({ offset, count: atCuts[i]! }));
    }
    partitions.push(p);
  }
  for (const t of topics) if (![...replicas.keys()].some((k) => k.startsWith(`${t}/`))) problems.push(`topic ${t}: no replica in the log dirs of broker${brokerIds.length === 1 ? '' : 's'} ${brokerIds.join(', ')}`);
  const host = spec.brokers.find((b) => brokerIds.includes(b.id))?.host ?? hostname();
  return { host, brokerIds, partitions, problems };
}
