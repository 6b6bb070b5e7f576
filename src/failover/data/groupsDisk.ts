/**
 * Consumer groups' committed offsets read from `__consumer_offsets` in the log dirs, for a primary
 * whose brokers are down. Kafka keeps a group in one partition of it: abs(hashCode(group)) modulo
 * its partition count (GroupMetadataManager.partitionFor, Java's String.hashCode over UTF-16 code
 * units, Kafka's Utils.abs). Its records, in log order:
 *
 *   key   version i16 (0/1 offset commit) · group str16 · topic str16 · partition i32
 *         (version 2 is group metadata: skipped)
 *   value version i16 · offset i64 · …            (null: a tombstone, the offset deleted)
 *
 * The last commit of a group/topic/partition wins, a tombstone deletes it. Transactional commits
 * (TxnOffsetCommit of an exactly-once consumer) apply at their commit marker, and only over an
 * offset written earlier in the log (as the coordinator applies them), never when aborted.
 *
 * `groups: 'all'` (a failover started by an alert names none): every replica of __consumer_offsets
 * on these brokers is replayed for every group, and the groups with offsets on the topics are
 * returned (the others are simply not on those topics).
 */
import { hostname } from 'node:os';
import { type ClusterSpec, zkAuthOf } from '../../config/spec';
import { chrootPath, getData, withZk } from '../../zookeeper/client';
import { batchRecords, decodeBody, isAbortMarker, isControl, isTransactional } from '../../kafka/wire/recordBatch';
import type { Batch } from '../../kafka/wire/recordBatch';
import { replicasByPartition } from './disk';
import { readReplica, replicaDirs } from './segments';
import type { DiskGroupOffsets, DiskGroups } from './types';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Java's String.hashCode: s[0]*31^(n-1) + … over UTF-16 code units, in 32-bit two's complement. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: Integer.MIN_VALUE maps to 0 (Math.abs would overflow). */
const kafkaAbs = (n: number): number => (n === -2147483648 ? 0 : Math.abs(n));

/** The partition of __consumer_offsets that holds a group (GroupMetadataManager.partitionFor). */
export const offsetsPartitionFor = (group: string, partitions: number): number => kafkaAbs(javaStringHashCode(group)) % partitions;

export interface OffsetCommitKey {
  group: string;
  topic: string;
  partition: number;
}

/** An offset commit record's key; undefined for group metadata and other kinds. */
export function parseOffsetKey(key: Buffer): OffsetCommitKey | undefined {
  if (key.length < 2) return undefined;
  const version = key.readInt16BE(0);
  if (version !== 0 && version !== 1) return undefined;
  let p = 2;
  const str = (): string => {
    const n = key.readInt16BE(p);
    p += 2;
    const s = key.subarray(p, p + n).toString('utf8');
    p += n;
    return s;
  };
  const group = str();
  const topic = str();
  return { group, topic, partition: key.readInt32BE(p) };
}

/** The committed offset of an offset commit value (every version starts with version i16, offset i64). */
export function parseOffsetValue(value: Buffer): number {
  const hi = value.readInt32BE(2);
  return hi * 2 ** 32 + value.readUInt32BE(6);
}

interface Held {
  offset: number;
  /** Where in __consumer_offsets it was written (a transactional commit applies only over older ones). */
  at: number;
}

/** Replays offset commits of the wanted groups ('all': every group), in log order. */
export class OffsetCommitReplay {
  /** "group\u0000topic\u0000partition" → offset. */
  readonly held = new Map<string, Held>();
  private readonly pending = new Map<number, { k: string; v: Held | null }[]>();

  constructor(private readonly groups: Set<string> | 'all') {}

  /** The groups holding an offset now (on `topics` when given), sorted. */
  groupsHeld(topics?: Set<string>): string[] {
    const out = new Set<string>();
    for (const k of this.held.keys()) {
      const [g, topic] = k.split('\u0000') as [string, string];
      if (!topics || topics.has(topic)) out.add(g);
    }
    return [...out].sort();
  }

  async add(b: Batch, where = OFFSETS_TOPIC): Promise<void> {
    if (isControl(b)) {
      const list = this.pending.get(b.producerId);
      this.pending.delete(b.producerId);
      if (!list || (await isAbortMarker(b))) return;
      for (const { k, v } of list) {
        const cur = this.held.get(k);
        if (v === null) this.held.delete(k);
        else if (!cur || cur.at < v.at) this.held.set(k, v);
      }
      return;
    }
    const txn = isTransactional(b) && b.producerId >= 0;
    for (const r of await batchRecords(b, where)) {
      const { key, value } = decodeBody(r.body);
      const ck = key && parseOffsetKey(key);
      if (!ck || (this.groups !== 'all' && !this.groups.has(ck.group))) continue;
      const k = `${ck.group}\u0000${ck.topic}\u0000${ck.partition}`;
      const v = value === null ? null : { offset: parseOffsetValue(value), at: r.offset };
      if (txn) this.pending.set(b.producerId, [...(this.pending.get(b.producerId) ?? []), { k, v }]);
      else if (v === null) this.held.delete(k);
      else this.held.set(k, v);
    }
  }

  /** Transactional commits of a group still waiting for their marker. */
  pendingOf(group: string): number {
    let n = 0;
    for (const list of this.pending.values()) n += list.filter((x) => x.k.startsWith(`${group}\u0000`)).length;
    return n;
  }

  offsetsOf(group: string, topics?: Set<string>): { topic: string; partition: number; offset: number }[] {
    const out: { topic: string; partition: number; offset: number }[] = [];
    for (const [k, v] of this.held) {
      const [g, topic, partition] = k.split('\u0000') as [string, string, string];
      if (g !== group || (topics && !topics.has(topic))) continue;
      out.push({ topic, partition: Number(partition), offset: v.offset });
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }
}

/** The partition count of __consumer_offsets as ZooKeeper holds it (undefined when it does not answer within seconds). */
async function offsetsPartitionsInZookeeper(spec: ClusterSpec): Promise<number | undefined> {
  const zk = spec.zookeeper;
  if (!zk) return undefined;
  try {
    return await withZk(
      zk.connect,
      async (c) => {
        const { data } = await getData(c, chrootPath(zk.chroot, `/brokers/topics/${OFFSETS_TOPIC}`));
        const n = Object.keys((JSON.parse(data?.toString('utf8') ?? '{}') as { partitions?: object }).partitions ?? {}).length;
        return n > 0 ? n : undefined;
      },
      { timeoutMs: 5_000, auth: zkAuthOf(spec) },
    );
  } catch {
    return undefined;
  }
}

/**
 * The groups' offsets from the replicas of __consumer_offsets on these brokers (read only).
 * 'all': every group with offsets on `opts.topics` (every topic when absent), found by replaying
 * every replica here; `read` then names each partition read with its end, so that a merge over
 * hosts can tell a group missing from a newer replica (its offsets deleted) from one not read.
 */
export async function groupOffsetsFromDisk(
  spec: ClusterSpec,
  brokerIds: number[],
  groups: string[] | 'all',
  opts: { topics?: string[]; offsetsPartitions?: number; signal?: AbortSignal } = {},
): Promise<DiskGroups> {
  const problems: string[] = [];
  const host = spec.brokers.find((b) => brokerIds.includes(b.id))?.host ?? hostname();
  let count = opts.offsetsPartitions ?? (await offsetsPartitionsInZookeeper(spec));
  if (count === undefined) {
    // Every broker holds replicas of some partitions only: the highest partition number here is a
    // floor of the count. Kafka's default is 50 and it never changes after creation.
    const dirs = await replicaDirs(spec, brokerIds, (t) => t === OFFSETS_TOPIC, problems);
    const highest = Math.max(-1, ...dirs.map((d) => d.partition));
    if (highest < 0) {
      problems.push(`no replica of ${OFFSETS_TOPIC} in the log dirs of broker${brokerIds.length === 1 ? '' : 's'} ${brokerIds.join(', ')}`);
      return { host, brokerIds, offsetsPartitions: 0, groups: groups === 'all' ? [] : groups.map((group) => ({ group, offsetsPartition: -1, offsets: [], pending: 0 })), problems, ...(groups === 'all' ? { read: [] } : {}) };
    }
    count = highest + 1;
    problems.push(`the partition count of ${OFFSETS_TOPIC} (${count}) is the highest one in these log dirs: ZooKeeper did not answer; pass offsetsPartitions if some of its partitions have no replica here`);
  }
  const replicas = await replicasByPartition(spec, brokerIds, [OFFSETS_TOPIC], problems);
  const topics = opts.topics && new Set(opts.topics);
  if (groups === 'all') return everyGroup(replicas, count, topics, { host, brokerIds, problems }, opts.signal);
  const byPartition = new Map<number, string[]>();
  for (const g of groups) {
    const p = offsetsPartitionFor(g, count);
    byPartition.set(p, [...(byPartition.get(p) ?? []), g]);
  }
  const out: DiskGroupOffsets[] = [];
  for (const [p, gs] of byPartition) {
    const best = replicas.get(`${OFFSETS_TOPIC}/${p}`)?.[0];
    if (!best) {
      problems.push(`${OFFSETS_TOPIC}-${p} (group${gs.length === 1 ? '' : 's'} ${gs.join(', ')}) is not in the log dirs of broker${brokerIds.length === 1 ? '' : 's'} ${brokerIds.join(', ')}`);
      for (const group of gs) out.push({ group, offsetsPartition: p, offsets: [], pending: 0 });
      continue;
    }
    const replay = new OffsetCommitReplay(new Set(gs));
    await readReplica(best.r, 0, best.end, (b) => replay.add(b, best.r.dir), opts.signal);
    for (const group of gs) out.push({ group, offsetsPartition: p, brokerId: best.r.brokerId, end: best.end, epoch: best.epoch, offsets: replay.offsetsOf(group, topics), pending: replay.pendingOf(group) });
  }
  out.sort((a, b) => groups.indexOf(a.group) - groups.indexOf(b.group));
  return { host, brokerIds, offsetsPartitions: count, groups: out, problems };
}

/** groupOffsetsFromDisk with 'all': every partition of __consumer_offsets held here, replayed for every group. */
async function everyGroup(
  replicas: Awaited<ReturnType<typeof replicasByPartition>>,
  count: number,
  topics: Set<string> | undefined,
  base: { host: string; brokerIds: number[]; problems: string[] },
  signal?: AbortSignal,
): Promise<DiskGroups> {
  const out: DiskGroupOffsets[] = [];
  const read: NonNullable<DiskGroups['read']> = [];
  const missing: number[] = [];
  for (let p = 0; p < count; p++) {
    const best = replicas.get(`${OFFSETS_TOPIC}/${p}`)?.[0];
    if (!best) {
      missing.push(p);
      continue;
    }
    const replay = new OffsetCommitReplay('all');
    await readReplica(best.r, 0, best.end, (b) => replay.add(b, best.r.dir), signal);
    read.push({ partition: p, brokerId: best.r.brokerId, end: best.end, epoch: best.epoch });
    for (const group of replay.groupsHeld(topics)) out.push({ group, offsetsPartition: p, brokerId: best.r.brokerId, end: best.end, epoch: best.epoch, offsets: replay.offsetsOf(group, topics), pending: replay.pendingOf(group) });
  }
  // Another host may hold these (each broker holds replicas of some partitions only).
  if (missing.length) base.problems.push(`${missing.length} of ${count} partitions of ${OFFSETS_TOPIC} have no replica in the log dirs of broker${base.brokerIds.length === 1 ? '' : 's'} ${base.brokerIds.join(', ')} (${missing.join(', ')}): their groups come from the hosts that hold them`);
  out.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return { ...base, offsetsPartitions: count, groups: out, read };
}
