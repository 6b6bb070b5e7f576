/**
 * Restore of logical topic backups (topicBackup.ts) into the same or another cluster and topic
 * name. Every record goes to its original partition, in order, with its key, value, headers and
 * timestamp, as record batches sent straight to the partition leaders (wire/client.ts): idempotent
 * (one producer id, per-partition sequences), acks=all, one batch in flight per partition.
 *
 * Stored batches that can go as they are (whole, gap-free, CreateTime, not too small) are sent
 * byte for byte with only the producer fields and CRC rewritten; the others (a point-in-time cut,
 * compaction gaps, LogAppendTime, many small batches, the older record format) are re-batched,
 * copying each record's key/value/headers bytes untouched (partitionFeed.ts).
 *
 * Exactly once across kills: before a batch is sent, the offset map file (offsetMap.ts) records
 * its producer id, sequence and original offsets; after the answer, where it landed. A run after
 * a kill looks for the unanswered batches in the target by producer id and sequence, records
 * where they landed, and continues after the last original offset known. The records themselves
 * carry nothing extra. Within a run, a batch whose answer was lost (connection cut, broker
 * restarted, replicas not confirmed) is looked for the same way before it is sent again. (Sending
 * it again under its producer id and sequence is not safe on its own: a broker that dropped that
 * producer's state — it expires by the records' own, old timestamps, and on restart — accepts any
 * sequence and would write it twice.)
 */
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import { stat } from 'node:fs/promises';
import { LifeboatError } from '../errors';
import { describeTopics } from './admin';
import type { ParallelFileRestore, Repository, SnapshotReader } from '../repository/types';
import { OffsetMapFile, type Run, type SentBatch, lastOriginal, nextTarget, unresolvedSent } from './offsetMap';
import { TOPIC_MANIFEST_FORMAT, type TopicManifest } from './topicBackup';
import { WireClient } from './wire/client';
import { restampForProduce } from './wire/recordBatch';
import { forEachLimited } from '../concurrency';
import { backoff, retry, sleep, throwIfAborted } from '../core/poll';
import { type Captured, partitionFeed, readAhead } from './partitionFeed';
import { SETTLE_MS, sendBatch, searchTarget, sentKey } from './lostAnswers';


/** Configs that would reject or rewrite old timestamps while restoring; applied once the data is in. */
const DEFERRED_CONFIGS = ['message.timestamp.type', 'message.timestamp.difference.max.ms', 'message.timestamp.before.max.ms', 'message.timestamp.after.max.ms'];

export interface PointInTime {
  /** Restore each partition up to (and including) its last record before the first one stamped after this time (ms). */
  timestamp?: number;
  /** Per source topic, per partition: exclusive end offset (original numbering). */
  offsets?: Record<string, Record<string, number>>;
}

export interface RestoreProgress {
  topic: string;
  target: string;
  partition: number;
  records: number;
  totalRecords: number;
  totalBytes: number;
}

export interface TopicRestoreOptions {
  /** The snapshot and its incremental ancestors, oldest first (a single full snapshot is fine). */
  snapshots: SnapshotReader[];
  /** Source topic names to restore (default: every topic in the newest snapshot). */
  topics?: string[];
  /** Target name per source name (default: the same name). */
  rename?: Record<string, string>;
  until?: PointInTime;
  /** The persisted offset map (JSON lines); resuming runs must use the same file. */
  offsetMapFile: string;
  /** Regular expressions (spec.topics.critical): matching topics are restored first. */
  critical?: string[];
  /** Replication factor for created topics (default: the captured one, capped at the broker count). */
  replicationFactor?: number;
  /** Bytes per re-built batch (a bigger single record goes alone). Default 900 KiB. */
  maxBatchBytes?: number;
  /**
   * Connections per broker (default 3), each for its own share of the partitions: a broker works
   * on one request per connection at a time. A partition keeps one batch in flight.
   */
  producers?: number;
  /** Partitions restored at once (default 8); each holds a chunk and a batch in memory. */
  partitionConcurrency?: number;
  /**
   * How long a batch sent without an answer may still land (default 35 s: one awaiting its
   * replicas is committed, or dropped, within replica.lag.time.max.ms). A resumed run scans the
   * target for a killed run's unanswered batches that long after its last write; a lost answer
   * within a run is looked for at once, and again that long after, before the batch is resent.
   */
  settleMs?: number;
  onProgress?: (p: RestoreProgress) => void;
  /**
   * Stops the restore when it aborts: each partition finishes the batch it has in flight, records
   * where it landed in the offset map and stops. A later run with the same map file continues
   * exactly there (no record lost, none written twice).
   */
  signal?: AbortSignal;
}

export interface TopicRestoreResult {
  topics: { topic: string; target: string; partitions: number; restored: number; alreadyPresent: number; created: boolean; warnings: string[] }[];
  records: number;
  bytes: number;
  durationMs: number;
  offsetMapFile: string;
}

/** Topics in restore order: those matching a critical pattern first, then by name. */
export function priorityOrder(topics: string[], critical: string[] = []): string[] {
  const res = critical.map((c) => new RegExp(c));
  const rank = (t: string) => (res.some((r) => r.test(t)) ? 0 : 1);
  return [...topics].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export async function snapshotTopics(snapshot: SnapshotReader): Promise<string[]> {
  if (!snapshot.exists('topics/index.json')) return [];
  return (await snapshot.readJson<{ topics: string[] }>('topics/index.json')).topics;
}

/**
 * Reads chunk files through the repository's restore workers (decryption, decompression and
 * SHA-256 off this thread, which sends the batches) for up to `pools` snapshots of a chain (each
 * pool is two threads; the first snapshots read from, usually the full one, get them); the others,
 * and repositories without workers, are read on this thread.
 */
class ChunkReaders {
  private readonly open = new Map<SnapshotReader, Promise<ParallelFileRestore | null>>();
  constructor(private readonly pools = 2) {}

  async read(reader: SnapshotReader, path: string): Promise<Buffer> {
    let pool = this.open.get(reader);
    if (!pool && this.open.size < this.pools) {
      pool = reader.parallelRestore?.(2).catch(() => null) ?? Promise.resolve(null);
      this.open.set(reader, pool);
    }
    const p = await pool;
    return p ? p.readBuffer(path) : reader.readBuffer(path);
  }

  /** Hands a chunk buffer back for reuse once nothing refers to it. */
  recycle(reader: SnapshotReader, chunk: Buffer): void {
    void this.open.get(reader)?.then((p) => p?.recycle(chunk));
  }

  async close(): Promise<void> {
    for (const p of this.open.values()) await (await p)?.close();
  }
}

async function manifests(snapshots: SnapshotReader[], topic: string, readers: ChunkReaders): Promise<Captured[]> {
  const out: Captured[] = [];
  for (const s of snapshots) {
    const path = `topics/${topic}/topic.json`;
    if (!s.exists(path)) continue;
    const m = await s.readJson<TopicManifest>(path);
    if (m.format !== TOPIC_MANIFEST_FORMAT) throw new LifeboatError('RepositoryFormat', `${path} in snapshot ${s.meta.id.slice(0, 8)} has unknown format ${m.format}`);
    out.push({ ...m, reader: s, read: (file) => readers.read(s, file), recycle: (chunk) => readers.recycle(s, chunk) });
  }
  return out;
}

async function ensureTopic(admin: Admin, target: string, m: TopicManifest, rf: number | undefined): Promise<{ created: boolean; partitions: number }> {
  const existing = await admin.listTopics();
  if (existing.includes(target)) {
    const [md] = await describeTopics(admin, [target], { listed: true });
    return { created: false, partitions: md!.partitions.length };
  }
  const brokers = (await admin.describeCluster()).brokers.length;
  const configs: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.configs)) if (!DEFERRED_CONFIGS.includes(k)) configs[k] = v;
  configs['message.timestamp.type'] = 'CreateTime';
  const largest = Math.max(0, ...Object.values(m.parts).map((p) => p.maxBatchBytes ?? p.maxRecordBytes ?? 0));
  // The target's broker default may be smaller than the source's: make room for the largest batch.
  if (!configs['max.message.bytes'] && largest > 900 * 1024) configs['max.message.bytes'] = String(largest + 256 * 1024);
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: target,
          numPartitions: m.partitions,
          replicationFactor: Math.min(rf ?? m.replicationFactor, brokers),
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  } catch (e) {
    const why = ((e as { errors?: { type?: string }[] }).errors ?? []).map((x) => x.type).filter(Boolean);
    throw new LifeboatError('InvalidInput', `cannot create topic ${target}: ${(e as Error).message}${why.length ? ` (${why.join(', ')})` : ''}`);
  }
  return { created: true, partitions: m.partitions };
}

/** Refuses an offset map that knows records the target does not have (a recreated topic, another cluster). */
async function checkMapMatchesTarget(admin: Admin, mapFile: OffsetMapFile, source: string, target: string): Promise<void> {
  for (const o of await admin.fetchTopicOffsets(target)) {
    const known = nextTarget(mapFile.map, source, o.partition);
    if (known !== undefined && known > Number(o.high)) {
      throw new LifeboatError(
        'InvalidInput',
        `offset map ${mapFile.file} says ${target}-${o.partition} holds offsets up to ${known}, but it ends at ${o.high}: the topic was recreated or this is another cluster; restore with a new offset map file`,
      );
    }
  }
}


/**
 * Reads what the target holds past the map's knowledge and records where the batches a killed
 * run sent (and never heard back about) landed. Returns the records found.
 */
async function catchUp(kafka: Kafka, mapFile: OffsetMapFile, source: string, target: string, partitions: number, settleMs: number, signal?: AbortSignal): Promise<number> {
  const unresolved = new Map<number, Map<string, SentBatch>>();
  for (let p = 0; p < partitions; p++) {
    const sent = unresolvedSent(mapFile.map, source, p);
    if (sent.length) unresolved.set(p, new Map(sent.map((b) => [sentKey(b), b])));
  }
  if (unresolved.size === 0) return 0;
  // A batch the killed run sent may still await its replicas (above the high watermark, invisible
  // to this scan); within replica.lag.time.max.ms (30 s by default) it is either replicated or
  // the lagging replica leaves the ISR. Scan only once that long has passed since the last write.
  const quiet = settleMs - (Date.now() - (await stat(mapFile.file)).mtimeMs);
  if (quiet > 0) await sleep(quiet, signal);
  const from = new Map([...unresolved.keys()].map((p) => [p, nextTarget(mapFile.map, source, p) ?? 0]));
  let found = 0;
  // The target may just be coming back (a restore run again right after a broker restart): look
  // again for a minute. A batch found is taken off the list, so a second look records it once.
  await retry(
    () =>
      searchTarget(kafka, target, from, async (partition, b) => {
        const sent = unresolved.get(partition)?.get(sentKey(b));
        if (!sent) return; // written by someone else
        await mapFile.addRuns(source, target, partition, sent.runs.map(([o, i, c]) => [o, b.baseOffset + i, c]));
        unresolved.get(partition)!.delete(sentKey(b));
        found += b.count;
      }),
    { timeoutMs: 60_000, intervalMs: backoff(500, 3000), signal, retryIf: (e) => !(e instanceof LifeboatError) },
  );
  return found;
}

export async function restoreTopics(kafka: Kafka, opts: TopicRestoreOptions): Promise<TopicRestoreResult> {
  const t0 = Date.now();
  if (opts.snapshots.length === 0) throw new LifeboatError('InvalidInput', 'no snapshot to restore from');
  const newest = opts.snapshots[opts.snapshots.length - 1]!;
  const available = await snapshotTopics(newest);
  const wanted = opts.topics ?? available;
  for (const t of wanted) {
    if (!available.includes(t)) throw new LifeboatError('InvalidInput', `snapshot ${newest.meta.id.slice(0, 8)} holds no topic "${t}" (it has: ${available.join(', ') || 'none'})`);
  }
  const mapFile = await OffsetMapFile.open(opts.offsetMapFile);
  const result: TopicRestoreResult = { topics: [], records: 0, bytes: 0, durationMs: 0, offsetMapFile: opts.offsetMapFile };
  const admin = kafka.admin();
  await admin.connect();
  const order = priorityOrder(wanted, opts.critical);
  const readers = new ChunkReaders();
  let lanes: WireClient[] = [];
  try {
    let producer: { producerId: number; producerEpoch: number } | undefined;
    for (const topic of order) {
      throwIfAborted(opts.signal);
      const target = opts.rename?.[topic] ?? topic;
      const ms = await manifests(opts.snapshots, topic, readers);
      const m = ms[ms.length - 1];
      if (!m) throw new LifeboatError('CorruptBackup', `the snapshot lists topic ${topic} but holds no topics/${topic}/topic.json`);
      const warnings: string[] = [];
      const { created, partitions } = await ensureTopic(admin, target, m, opts.replicationFactor);
      if (partitions < m.partitions) {
        throw new LifeboatError('InvalidInput', `target topic ${target} has ${partitions} partitions, the backup of ${topic} needs ${m.partitions}`);
      }
      if (!created && m.timestampType === 'CreateTime') {
        const cfg = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: target }], includeSynonyms: false });
        if (cfg.resources[0]?.configEntries.some((e) => e.configName === 'message.timestamp.type' && e.configValue === 'LogAppendTime')) {
          warnings.push(`target topic ${target} uses LogAppendTime: original timestamps are replaced by the broker`);
        }
      }
      const knewBefore = mapFile.map.topics[topic] !== undefined;
      if (knewBefore) await checkMapMatchesTarget(admin, mapFile, topic, target);
      const alreadyPresent = await catchUp(kafka, mapFile, topic, target, m.partitions, opts.settleMs ?? SETTLE_MS, opts.signal);
      // Connections open once every target exists (their metadata covers all of them).
      if (lanes.length === 0) lanes = await openLanes(kafka, [target], opts.producers ?? 3);
      else await Promise.all(lanes.map((l) => l.addTopics([target])));
      producer ??= await lanes[0]!.initProducerId(opts.signal);
      const start = new Map((await admin.fetchTopicOffsets(target)).map((o) => [o.partition, Number(o.high)]));
      const restored = await produceTopic(kafka, lanes, producer, mapFile, opts, topic, target, ms, (p, n, bytes) => {
        result.records += n;
        result.bytes += bytes;
        opts.onProgress?.({ topic, target, partition: p, records: n, totalRecords: result.records, totalBytes: result.bytes });
      }, start);
      const ends = await admin.fetchTopicOffsets(target);
      for (const e of ends) if (e.partition < m.partitions) await mapFile.setEnd(topic, target, e.partition, Number(e.high));
      if (created || knewBefore) await applyDeferredConfigs(admin, target, m);
      result.topics.push({ topic, target, partitions: m.partitions, restored, alreadyPresent, created, warnings });
    }
  } finally {
    await Promise.all(lanes.map((l) => l.close()));
    await admin.disconnect().catch(() => {});
    await mapFile.close();
    await readers.close();
  }
  result.durationMs = Date.now() - t0;
  return result;
}

async function applyDeferredConfigs(admin: Admin, target: string, m: TopicManifest): Promise<void> {
  const deferred = DEFERRED_CONFIGS.filter((k) => k in m.configs);
  if (deferred.length === 0) return;
  // AlterConfigs (kafkajs has no incremental form) replaces the topic's whole set: send what the
  // topic has now (e.g. a raised max.message.bytes, a user's own settings) with the deferred ones.
  const cfg = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: target }], includeSynonyms: false });
  const current: Record<string, string> = {};
  for (const e of cfg.resources[0]?.configEntries ?? []) {
    if ((e as { configSource?: number }).configSource === 1 && !e.isSensitive) current[e.configName] = e.configValue;
  }
  for (const k of deferred) current[k] = m.configs[k]!;
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: target, configEntries: Object.entries(current).map(([name, value]) => ({ name, value })) }],
  });
}

async function openLanes(kafka: Kafka, topics: string[], n: number): Promise<WireClient[]> {
  const lanes: WireClient[] = [];
  try {
    for (let i = 0; i < Math.max(1, n); i++) lanes.push(await WireClient.open(kafka, topics));
  } catch (e) {
    await Promise.all(lanes.map((l) => l.close()));
    throw e;
  }
  return lanes;
}


async function produceTopic(
  kafka: Kafka,
  lanes: WireClient[],
  producer: { producerId: number; producerEpoch: number },
  mapFile: OffsetMapFile,
  opts: TopicRestoreOptions,
  topic: string,
  target: string,
  ms: Captured[],
  progress: (partition: number, records: number, bytes: number) => void,
  ends: Map<number, number>,
): Promise<number> {
  const maxBatchBytes = opts.maxBatchBytes ?? 900 * 1024;
  const partitions = ms[ms.length - 1]!.partitions;
  let restored = 0;
  const restorePartition = async (partition: number, stopped: () => boolean) => {
    const lane = lanes[partition % lanes.length]!;
    const feed = partitionFeed(ms, partition, {
      after: lastOriginal(mapFile.map, topic, partition) ?? -1,
      cutOffset: opts.until?.offsets?.[topic]?.[String(partition)],
      cutTime: opts.until?.timestamp,
      maxBatchBytes,
      minDirectBytes: Math.min(64 * 1024, maxBatchBytes / 4),
    });
    // Sequences are per producer id and partition; this run's producer id is new.
    let sequence = 0;
    let landed: Run[] = []; // where the previous batch went: written with the next 'sent' line
    let searchFrom = ends.get(partition) ?? 0; // this run's batches land after the target's end at its start
    for await (const out of readAhead(feed)) {
      // On abort, stop after the batch in flight: where it landed is recorded below, so the next
      // run neither waits for it nor sends it again.
      if (stopped() || opts.signal?.aborted) break;
      restampForProduce(out.batch, producer.producerId, producer.producerEpoch, sequence);
      await mapFile.record(topic, target, partition, landed, { ...producer, baseSequence: sequence, runs: out.runs });
      const base = await sendBatch(lane, target, partition, out, { kafka, from: searchFrom, producer, baseSequence: sequence, settleMs: opts.settleMs ?? SETTLE_MS, signal: opts.signal });
      searchFrom = base + out.records;
      out.done?.();
      landed = out.runs.map(([o, i, c]) => [o, base + i, c]);
      sequence = (sequence + out.records) % 2 ** 31;
      restored += out.records;
      progress(partition, out.records, out.batch.length);
    }
    await mapFile.record(topic, target, partition, landed);
  };
  // Partitions at once: each holds a chunk and a batch in memory. After a failure the others stop
  // after their batch in flight.
  await forEachLimited(
    Array.from({ length: partitions }, (_, p) => p),
    opts.partitionConcurrency ?? 8,
    restorePartition,
  );
  throwIfAborted(opts.signal);
  return restored;
}

/** The snapshot and its ancestors that hold topics, oldest first (incremental chains). */
export async function topicChain(repo: Repository, ref: string, cluster: string): Promise<SnapshotReader[]> {
  const chain: SnapshotReader[] = [];
  let next: string | undefined = ref;
  while (next) {
    const s: SnapshotReader = await repo.openSnapshot(next, chain.length === 0 ? { cluster, component: 'topics' } : {});
    chain.unshift(s);
    next = s.meta.parent && s.meta.components.includes('topics') ? s.meta.parent : undefined;
  }
  return chain;
}
