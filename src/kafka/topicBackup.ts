/**
 * Logical backup of topics into a snapshot's `topics/` component: every partition from its log
 * start (or the parent snapshot's end) up to the end offset captured when the backup starts,
 * stored as the record batches the brokers hold (batchFormat.ts: lossless by construction, no
 * per-record work), one manifest per topic:
 *
 *   topics/index.json                        { format, topics: [...] }
 *   topics/<topic>/topic.json                TopicManifest (partitions, configs, per-partition ranges and chunks)
 *   topics/<topic>/<partition>/<offset>.lbb  chunks
 *
 * Memory stays bounded: each partition holds at most one chunk while it is being filled, and at
 * most `pendingWrites` full chunks per topic are being written while reading goes on; beyond that
 * its leader is not fetched from again until a write completes.
 */
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import { forEachLimited } from '../concurrency';
import { throwIfAborted } from '../core/poll';
import { LifeboatError } from '../errors';
import { describeTopics } from './admin';
import type { SnapshotWriter, WriteFileOptions, WriteResult } from '../repository/types';
import { BATCH_FORMAT, BatchChunkBuilder, batchChunkFileName } from './batchFormat';
import type { RECORD_FORMAT, TimestampType } from './recordFormat';
import { type Batch, batchRecords, isContiguous, isTransactional, lastOffsetOf } from './wire/recordBatch';
import { WireClient } from './wire/client';
import { readBatches } from './wire/readBatches';

export const TOPIC_MANIFEST_FORMAT = 'lifeboat-topic/1';

export interface ChunkRef {
  file: string;
  first: number;
  last: number;
  records: number;
}

export interface PartitionManifest {
  /** First offset this snapshot covers (log start, or the parent snapshot's end). */
  start: number;
  /** Exclusive end: the partition's end offset when the backup started. */
  end: number;
  records: number;
  /** Bytes of the stored record batches (lifeboat-batches/1) or of keys and values (lifeboat-records/1). */
  bytes: number;
  /** Offsets in [start, end) without a record: compaction, transaction markers, aborted records. */
  gaps: number;
  /** Records that came from (committed) transactions. */
  transactional: number;
  /** Largest stored batch (lifeboat-batches/1): the target's max.message.bytes must take it. */
  maxBatchBytes?: number;
  /** Largest record's key + value + headers (lifeboat-records/1). */
  maxRecordBytes?: number;
  /** The parent's end was below the log start (retention deleted records in between). */
  lostSinceParent?: boolean;
  /** Offsets retention deleted while this backup was reading them. */
  lostDuringBackup?: { from: number; to: number };
  chunks: ChunkRef[];
}

export interface TopicManifest {
  format: typeof TOPIC_MANIFEST_FORMAT;
  /** How the chunks are encoded: batches (batchFormat.ts) or, from Lifeboat 0.1, records (recordFormat.ts). */
  recordFormat: typeof BATCH_FORMAT | typeof RECORD_FORMAT;
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Configs set on the topic itself (not broker defaults). */
  configs: Record<string, string>;
  timestampType: TimestampType;
  compacted: boolean;
  parts: Record<string, PartitionManifest>;
}

export interface BackupProgress {
  topic: string;
  partition: number;
  records: number;
  bytes: number;
  /** Totals over every partition of every topic so far. */
  totalRecords: number;
  totalBytes: number;
}

export interface TopicBackupOptions {
  /** Exact names (internal topics only when named). */
  topics?: string[];
  /** Regular expression on names (internal `__` topics excluded). */
  pattern?: string | RegExp;
  /** Incremental: the parent snapshot's `points.topics` (per topic, per partition, its end offset). */
  from?: Record<string, Record<string, number>>;
  chunkBytes?: number;
  /** Full chunks per topic being written while reading goes on (default 2). */
  pendingWrites?: number;
  /** Topics read at once (each reads its partitions in parallel too). */
  topicConcurrency?: number;
  onProgress?: (p: BackupProgress) => void;
  /**
   * Stops the backup between fetches when it aborts (the chunks being written finish first); the
   * snapshot is then never sealed, and the next backup reuses what reached the repository.
   */
  signal?: AbortSignal;
}

export interface TopicBackupResult {
  topics: { topic: string; partitions: number; records: number; bytes: number; gaps: number }[];
  records: number;
  bytes: number;
  durationMs: number;
  /** points.topics: per topic, per partition, the end offset covered (the next incremental starts there). */
  points: Record<string, Record<string, number>>;
}

export async function selectTopics(admin: Admin, sel: { topics?: string[]; pattern?: string | RegExp }): Promise<string[]> {
  const all = await admin.listTopics();
  const out = new Set<string>();
  for (const t of sel.topics ?? []) {
    if (!all.includes(t)) throw new LifeboatError('InvalidInput', `topic "${t}" does not exist on the cluster`);
    out.add(t);
  }
  if (sel.pattern !== undefined) {
    const re = typeof sel.pattern === 'string' ? new RegExp(sel.pattern) : sel.pattern;
    for (const t of all) if (!t.startsWith('__') && re.test(t)) out.add(t);
  }
  return [...out].sort();
}

export async function describeTopic(admin: Admin, topic: string) {
  // The backup's topics were just listed (selectTopics).
  const parts = (await describeTopics(admin, [topic], { listed: true }))[0]!.partitions;
  const cfg = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
  const entries = cfg.resources[0]?.configEntries ?? [];
  const configs: Record<string, string> = {};
  let timestampType: TimestampType = 'CreateTime';
  let compacted = false;
  for (const e of entries) {
    // configSource 1 = DYNAMIC_TOPIC_CONFIG: set on this topic, as opposed to broker defaults.
    if ((e as { configSource?: number }).configSource === 1 && !e.isSensitive) configs[e.configName] = e.configValue;
    if (e.configName === 'message.timestamp.type' && e.configValue === 'LogAppendTime') timestampType = 'LogAppendTime';
    if (e.configName === 'cleanup.policy' && e.configValue.includes('compact')) compacted = true;
  }
  return { partitions: parts.length, replicationFactor: parts[0]?.replicas.length ?? 1, configs, timestampType, compacted };
}

/** Serialises writes to the snapshot (the writer is not promised to be re-entrant). */
function serialWriter(writer: SnapshotWriter) {
  let tail: Promise<unknown> = Promise.resolve();
  return (path: string, data: Buffer, opts?: WriteFileOptions): Promise<WriteResult> => {
    const next = tail.then(() => writer.writeFile(path, data, opts));
    tail = next.catch(() => {});
    return next;
  };
}

export async function backupTopics(kafka: Kafka, writer: SnapshotWriter, opts: TopicBackupOptions): Promise<TopicBackupResult> {
  const t0 = Date.now();
  const admin = kafka.admin();
  await admin.connect();
  const write = serialWriter(writer);
  const chunkBytes = opts.chunkBytes ?? 4 * 1024 * 1024;
  const result: TopicBackupResult = { topics: [], records: 0, bytes: 0, durationMs: 0, points: {} };
  try {
    const topics = await selectTopics(admin, opts);
    if (topics.length === 0) throw new LifeboatError('InvalidInput', 'no topic matches the selection');
    // Capture every end offset first: that instant is the point the snapshot represents.
    // The end is each partition's last stable offset: where a read_committed reader stops while a
    // transaction is open (the high watermark otherwise). An open transaction's records belong to
    // the next backup, whole.
    const plans = [];
    const wire = await WireClient.open(kafka, topics);
    try {
      for (const topic of topics) {
        throwIfAborted(opts.signal);
        const info = await describeTopic(admin, topic);
        const committed = await wire.listOffsets(topic, 'committed');
        const offsets = (await admin.fetchTopicOffsets(topic)).map((o) => ({ ...o, high: String(Math.min(Number(o.high), committed.get(o.partition) ?? Number(o.high))) }));
        plans.push({ topic, info, offsets });
      }
    } finally {
      await wire.close();
    }
    await forEachLimited(plans, opts.topicConcurrency ?? 2, async (plan) => {
      throwIfAborted(opts.signal);
      const m = await backupOneTopic(kafka, plan.topic, plan.info, plan.offsets, opts.from?.[plan.topic], write, chunkBytes, opts.pendingWrites ?? 2, (p, r, b) => {
        result.records += r;
        result.bytes += b;
        opts.onProgress?.({ topic: plan.topic, partition: p, records: r, bytes: b, totalRecords: result.records, totalBytes: result.bytes });
      }, opts.signal);
      const parts = Object.values(m.parts);
      result.topics.push({
        topic: m.topic,
        partitions: m.partitions,
        records: parts.reduce((n, x) => n + x.records, 0),
        bytes: parts.reduce((n, x) => n + x.bytes, 0),
        gaps: parts.reduce((n, x) => n + x.gaps, 0),
      });
      result.points[m.topic] = Object.fromEntries(Object.entries(m.parts).map(([p, x]) => [p, x.end]));
    });
    result.topics.sort((a, b) => a.topic.localeCompare(b.topic));
    await writer.writeJson('topics/index.json', { format: TOPIC_MANIFEST_FORMAT, recordFormat: BATCH_FORMAT, topics: result.topics.map((t) => t.topic) });
    writer.setPoints('topics', result.points);
    result.durationMs = Date.now() - t0;
    return result;
  } finally {
    await admin.disconnect();
  }
}

async function backupOneTopic(
  kafka: Kafka,
  topic: string,
  info: Awaited<ReturnType<typeof describeTopic>>,
  offsets: { partition: number; low: string; high: string }[],
  from: Record<string, number> | undefined,
  write: (path: string, data: Buffer, opts?: WriteFileOptions) => Promise<WriteResult>,
  chunkBytes: number,
  maxPendingWrites: number,
  progress: (partition: number, records: number, bytes: number) => void,
  signal: AbortSignal | undefined,
): Promise<TopicManifest> {
  const parts: Record<string, PartitionManifest> = {};
  const builders = new Map<number, BatchChunkBuilder>();
  const ranges = new Map<number, { from: number; to: number }>();
  for (const o of offsets) {
    const low = Number(o.low);
    const high = Number(o.high);
    const parentEnd = from?.[String(o.partition)];
    const start = parentEnd === undefined ? low : Math.max(parentEnd, low);
    parts[o.partition] = {
      start: Math.min(start, high),
      end: high,
      records: 0,
      bytes: 0,
      gaps: 0,
      transactional: 0,
      maxBatchBytes: 0,
      ...(parentEnd !== undefined && parentEnd < low ? { lostSinceParent: true } : {}),
      chunks: [],
    };
    builders.set(o.partition, new BatchChunkBuilder(chunkBytes + 1024 * 1024));
    ranges.set(o.partition, { from: start, to: high });
  }
  // Chunk writes (hashing, compression, encryption, file I/O) overlap the reading: a full chunk is
  // handed to the writer and reading goes on, unless `maxPendingWrites` chunks are still being
  // written (that, plus one chunk being filled per partition, is the memory bound).
  const pending = new Set<Promise<void>>();
  let writeFailure: { error: unknown } | undefined;
  const flush = async (partition: number) => {
    const b = builders.get(partition)!;
    if (b.batches === 0) return;
    const c = b.take();
    const file = `topics/${topic}/${partition}/${batchChunkFileName(c.first)}`;
    parts[partition]!.chunks.push({ file, first: c.first, last: c.last, records: c.records });
    // Chunks are never appended to and repeat only whole (a full backup of the same batches):
    // cut at fixed sizes, skipping the content scan.
    const w: Promise<void> = write(file, c.data, { cut: 'fixed' }).then(
      () => void pending.delete(w),
      (e: unknown) => {
        pending.delete(w);
        writeFailure ??= { error: e };
      },
    );
    pending.add(w);
    while (pending.size > maxPendingWrites) await Promise.race(pending);
    if (writeFailure) throw writeFailure.error;
  };
  const read = await readBatches(kafka, topic, ranges, async (partition, batches) => {
    const b = builders.get(partition)!;
    const pm = parts[partition]!;
    let records = 0;
    let bytes = 0;
    for (const batch of batches) {
      const n = await recordsInRange(batch, pm.start, pm.end, `${topic}-${partition}`);
      records += n;
      bytes += batch.bytes.length;
      if (batch.bytes.length > pm.maxBatchBytes!) pm.maxBatchBytes = batch.bytes.length;
      if (isTransactional(batch)) pm.transactional += n;
      b.add(batch);
      if (b.bytes >= chunkBytes) await flush(partition);
    }
    pm.records += records;
    pm.bytes += bytes;
    progress(partition, records, bytes);
  }, { signal }).finally(() => Promise.all(pending));
  for (const p of builders.keys()) await flush(p);
  await Promise.all(pending);
  if (writeFailure) throw writeFailure.error;
  for (const [p, lost] of read.lost) parts[p]!.lostDuringBackup = lost;
  for (const pm of Object.values(parts)) pm.gaps = pm.end - pm.start - pm.records;
  const manifest: TopicManifest = {
    format: TOPIC_MANIFEST_FORMAT,
    recordFormat: BATCH_FORMAT,
    topic,
    partitions: info.partitions,
    replicationFactor: info.replicationFactor,
    configs: info.configs,
    timestampType: info.timestampType,
    compacted: info.compacted,
    parts,
  };
  await write(`topics/${topic}/topic.json`, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));
  return manifest;
}

/** Records of a batch inside [start, end): all of them unless the batch straddles a bound. */
async function recordsInRange(b: Batch, start: number, end: number, where: string): Promise<number> {
  const last = lastOffsetOf(b);
  if (b.baseOffset >= start && last < end) return b.count;
  // A gap-free batch holds every offset from its base to its last: no need to decode it.
  if (isContiguous(b)) return Math.max(0, Math.min(last + 1, end) - Math.max(b.baseOffset, start));
  return (await batchRecords(b, where)).filter((r) => r.offset >= start && r.offset < end).length;
}
