/**
 * The drill's read-back (issue 16): after recovery, everything readable of the write stream's topic
 * (each partition from its log start to its end, fetched without a consumer group) and the ZooKeeper
 * stream's znode, compared with the stream's acknowledgements by rpo.pure.ts. A read: it writes nothing.
 */
import type { ClusterSpec } from '../config/spec';
import { zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { reachableKafka, withAdmin } from '../kafka/admin';
import { readBatches } from '../kafka/wire/readBatches';
import { decodeBatch } from '../kafka/wire/recordBatch';
import { getData, withZk } from '../zookeeper/client';
import type { StreamLog } from './records';
import { type ReadRecord, type StreamEnds, type ZnodeReading, partitionEvidence, streamEndsOf, zookeeperEvidence } from './rpo.pure';
import { parseStreamRecord, parseStreamValue } from './stream';
import type { PartitionEvidence, ZookeeperEvidence } from './types';

export interface ReadBackResult {
  partitions: PartitionEvidence[];
  zookeeper?: ZookeeperEvidence;
  /** Each partition's end (high watermark) as read: a drop guarded by them (dropStream's ifEnds) deletes only what was read. */
  ends: StreamEnds;
}

/** Every record of the topic, with the drill and seq it carries; the topic's partitions and their ends ([] and {} when the topic is gone). */
export async function readStreamTopic(spec: ClusterSpec, topic: string, opts: { timeoutMs?: number } = {}): Promise<{ partitions: number[]; records: ReadRecord[]; ends: StreamEnds }> {
  const kafka = await reachableKafka(spec, 'drill-readback');
  const offsets = await withAdmin(kafka, spec.name, async (admin) => {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return undefined;
    return admin.fetchTopicOffsets(topic);
  });
  if (!offsets) return { partitions: [], records: [], ends: {} };
  const ranges = new Map<number, { from: number; to: number }>();
  for (const p of offsets) ranges.set(p.partition, { from: Number(p.low), to: Number(p.high) });
  const records: ReadRecord[] = [];
  // Fetched directly (no consumer group to join, none left on the target): read_committed, CRCs checked.
  await readBatches(
    kafka,
    topic,
    ranges,
    async (partition, batches) => {
      const { from, to } = ranges.get(partition)!;
      for (const b of batches) {
        for (const r of await decodeBatch(b, `${topic}-${partition}`)) {
          if (r.offset < from || r.offset >= to) continue;
          const m = parseStreamRecord({ value: r.value, headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value ?? undefined])) });
          records.push({ partition, offset: r.offset, drill: m?.drill ?? null, seq: m?.seq ?? null });
        }
      }
    },
    { stallMs: opts.timeoutMs ?? 60_000 },
  );
  return { partitions: offsets.map((p) => p.partition).sort((a, b) => a - b), records, ends: streamEndsOf(offsets) };
}

/** The ZooKeeper stream's znode now: the drill and seq it holds, null when it is absent. */
export async function readStreamZnode(spec: ClusterSpec, path: string): Promise<ZnodeReading> {
  if (!spec.zookeeper) throw new LifeboatError('InvalidInput', `cluster "${spec.name}" has no zookeeper in its spec, but the stream wrote ${path}`);
  return withZk(
    spec.zookeeper.connect,
    async (c) => {
      try {
        const { data } = await getData(c, path);
        const m = parseStreamValue(data);
        return { drill: m?.drill ?? null, seq: m?.seq ?? null };
      } catch (e) {
        if ((e as { code?: string }).code === 'NO_NODE') return null;
        throw e;
      }
    },
    { timeoutMs: 15_000, auth: zkAuthOf(spec) },
  );
}

/**
 * Per partition the last ack at or before `faultAt` and the intact run, and the same for the znode
 * when the stream wrote one. Unreachable clusters throw (retryable): the read-back runs after recovery.
 */
export async function readBack(spec: ClusterSpec, log: StreamLog, faultAt: string): Promise<ReadBackResult> {
  if (!Number.isFinite(Date.parse(faultAt))) throw new LifeboatError('InvalidInput', `faultAt "${faultAt}" is not an ISO-8601 time`);
  const drillId = log.drillId;
  if (!drillId) throw new LifeboatError('InvalidInput', `the stream log of ${log.topic} names no drillId: its records cannot be told from others`);
  const read = await readStreamTopic(spec, log.topic);
  const partitions = partitionEvidence({ topic: log.topic, drillId, acks: log.acks, faultAt, read: read.records, partitions: read.partitions });
  if (!log.zookeeper) return { partitions, ends: read.ends };
  const current = await readStreamZnode(spec, log.zookeeper.path);
  return { partitions, zookeeper: zookeeperEvidence({ drillId, acks: log.zookeeper.acks, faultAt, current }), ends: read.ends };
}
