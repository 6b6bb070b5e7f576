/**
 * The drill's data-loss measurement (issue 16), from what the write stream was told and what is
 * readable after recovery: per partition the last record acknowledged at or before the fault and the
 * intact run (every acknowledged record up to it found at its own offset with its own sequence number),
 * the same for the ZooKeeper write stream, and the RPO and RTO figures of the drill's record.
 *
 * Pure: no Node APIs, no clock; the same inputs in any order give the same answer. Workflows import it.
 */
import type { StreamAck, StreamLog } from './records';
import type { AckedRecord, AckedZnodeWrite, PartitionEvidence, ZookeeperEvidence } from './types';

/** A record read back from the stream topic: its place, and the drill and sequence number it carries (null: not a stream record). */
export interface ReadRecord {
  partition: number;
  offset: number;
  drill: string | null;
  seq: number | null;
}

/** One acknowledged write of the ZooKeeper stream (StreamLog.zookeeper.acks). */
export type ZnodeAck = NonNullable<StreamLog['zookeeper']>['acks'][number];

/** What the stream's znode holds after recovery: the drill and sequence number in its data; null when the znode is absent. */
export type ZnodeReading = { drill: string | null; seq: number | null } | null;

const timeOf = (iso: string): number => {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : Number.NaN;
};

/** Acks at or before the fault (all of them when the fault time is not a time), oldest first by time then seq. */
function beforeFault<T extends { seq: number; at: string }>(acks: readonly T[], faultAt: string): T[] {
  const fault = timeOf(faultAt);
  return acks
    .filter((a) => Number.isNaN(fault) || timeOf(a.at) <= fault)
    .sort((a, b) => timeOf(a.at) - timeOf(b.at) || a.seq - b.seq);
}

/**
 * Per partition of the stream topic: `lastAcked` is the newest ack at or before `faultAt`; `intactThrough`
 * walks the acks before the fault in the stream's order (seq) and stops at the first one whose offset is
 * missing from what was read, or holds another record (a hole, an offset reused after an unclean
 * election, a topic recreated). `partitions` adds partitions the stream never wrote to (both null).
 */
export function partitionEvidence(input: {
  topic: string;
  drillId: string;
  acks: readonly StreamAck[];
  faultAt: string;
  read: readonly ReadRecord[];
  partitions?: readonly number[];
}): PartitionEvidence[] {
  const found = new Set(input.read.filter((r) => r.drill === input.drillId && r.seq !== null).map((r) => `${r.partition}/${r.offset}/${r.seq}`));
  const ids = [...new Set([...(input.partitions ?? []), ...input.acks.map((a) => a.partition)])].sort((a, b) => a - b);
  return ids.map((partition) => {
    const acked = beforeFault(
      input.acks.filter((a) => a.partition === partition),
      input.faultAt,
    );
    const last = acked.at(-1);
    let intact: StreamAck | undefined;
    for (const a of [...acked].sort((x, y) => x.seq - y.seq)) {
      if (!found.has(`${partition}/${a.offset}/${a.seq}`)) break;
      intact = a;
    }
    const rec = (a: StreamAck | undefined): AckedRecord | null => (a ? { offset: a.offset, at: a.at } : null);
    return { topic: input.topic, partition, lastAcked: rec(last), intactThrough: rec(intact) };
  });
}

/**
 * The ZooKeeper stream: one znode written again and again, so only its newest value can be read. What
 * survived is the lowest sequence number the znode was seen holding after the fault: by the stream's
 * writes after the fault (each reads the znode before it writes: `before`) and by the reading after
 * recovery. The intact run is every write before the fault up to that one; an absent znode, or one the
 * stream did not write, leaves nothing intact.
 */
export function zookeeperEvidence(input: { drillId: string; acks: readonly ZnodeAck[]; faultAt: string; current: ZnodeReading }): ZookeeperEvidence {
  const acked = beforeFault(input.acks, input.faultAt);
  const last = acked.at(-1);
  const fault = timeOf(input.faultAt);
  // null: absent or foreign (nothing of the stream); a number: the stream's seq the znode held.
  const seen: (number | null)[] = [];
  const ours = (r: ZnodeReading): number | null => (r && r.drill === input.drillId && r.seq !== null ? r.seq : null);
  if (!Number.isNaN(fault)) {
    for (const a of input.acks) if (timeOf(a.at) > fault && a.before !== undefined) seen.push(a.before);
  }
  seen.push(ours(input.current));
  const survived = seen.some((s) => s === null) ? null : Math.min(...(seen as number[]));
  let intact: ZnodeAck | undefined;
  if (survived !== null) for (const a of [...acked].sort((x, y) => x.seq - y.seq)) if (a.seq <= survived) intact = a;
  const rec = (a: ZnodeAck | undefined): AckedZnodeWrite | null => (a ? { zxid: a.zxid, at: a.at } : null);
  return { lastAcked: rec(last), intactThrough: rec(intact) };
}

const zxidOf = (z: string): bigint | null => {
  try {
    return BigInt(z.trim());
  } catch {
    return null;
  }
};

/**
 * The largest loss window, in seconds (0: nothing lost): per partition and for ZooKeeper, from the
 * newest intact write to the last acknowledged one before the fault. Where nothing of the stream is
 * readable the window starts before the stream: with `streamStartedAt` it is counted from there (a lower
 * bound), without it the figure is unknown (null). null also when nothing was acknowledged before the fault.
 */
export function rpoSecondsOf(partitions: readonly PartitionEvidence[], zookeeper?: ZookeeperEvidence | null, opts: { streamStartedAt?: string } = {}): number | null {
  const start = opts.streamStartedAt !== undefined ? timeOf(opts.streamStartedAt) : Number.NaN;
  const windows: number[] = [];
  let unknown = false;
  const window = (lastAt: string, intactAt: string | null, lost: boolean) => {
    if (!lost) return windows.push(0);
    const from = intactAt === null ? start : timeOf(intactAt);
    const to = timeOf(lastAt);
    if (Number.isNaN(from) || Number.isNaN(to)) unknown = true;
    else windows.push(Math.max(0, to - from));
  };
  for (const p of partitions) {
    if (!p.lastAcked) continue;
    const i = p.intactThrough;
    window(p.lastAcked.at, i ? i.at : null, !i || i.offset < p.lastAcked.offset);
  }
  if (zookeeper?.lastAcked) {
    const i = zookeeper.intactThrough;
    const last = zxidOf(zookeeper.lastAcked.zxid);
    const intact = i ? zxidOf(i.zxid) : null;
    if (last === null || (i && intact === null)) unknown = true;
    else window(zookeeper.lastAcked.at, i ? i.at : null, !i || (intact as bigint) < last);
  }
  if (unknown || windows.length === 0) return null;
  return Math.max(...windows) / 1000;
}

/** Recovery time in seconds: fault → first green probe; null when either is absent or the probe is before the fault. */
export function rtoSecondsOf(faultAt: string | null | undefined, firstGreenProbeAt: string | null | undefined): number | null {
  if (!faultAt || !firstGreenProbeAt) return null;
  const fault = timeOf(faultAt);
  const green = timeOf(firstGreenProbeAt);
  if (Number.isNaN(fault) || Number.isNaN(green) || green < fault) return null;
  return (green - fault) / 1000;
}

/** A stream topic's partitions and the end (high watermark) of each, by partition number; {} when the topic is gone. */
export type StreamEnds = Record<string, number>;

/** The ends of a topic's partitions as Kafka's offsets lookup answers them (kafkajs fetchTopicOffsets). */
export const streamEndsOf = (offsets: readonly { partition: number; high: string }[]): StreamEnds => Object.fromEntries(offsets.map((p) => [String(p.partition), Number(p.high)]));

/** Where a stream topic's ends differ from the ends read before (a partition's end, or a partition come or gone); undefined when the same. */
export function endsMoved(read: StreamEnds, now: StreamEnds): string | undefined {
  const moved = [...new Set([...Object.keys(read), ...Object.keys(now)])]
    .sort((a, b) => Number(a) - Number(b))
    .filter((p) => read[p] !== now[p])
    .map((p) => `partition ${p}: ${read[p] === undefined ? 'absent' : `end ${read[p]}`} at the read-back, ${now[p] === undefined ? 'absent' : `end ${now[p]}`} now`);
  return moved.length ? moved.join('; ') : undefined;
}
