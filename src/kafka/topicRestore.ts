/**
 * Restore of logical topic backups (topicBackup.ts) into the same or another cluster and topic
 * name. Every record goes to its original partition, in order, with its key, value, headers and
 * timestamp, through idempotent producers with acks=all (each partition written by one of them, one
 * request at a time).
 *
 * Exactly once across kills: each restored record carries its original offset in the header
 * `lifeboat.origin.offset`. A run first reads the target partition past what the offset map file
 * knows (records a killed run wrote but did not record), then continues after the last original
 * offset found. The offset map (offsetMap.ts) translates consumer-group offsets afterwards.
 */
import { ConfigResourceTypes, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import { LifeboatError } from '../errors';
import type { Repository, SnapshotReader } from '../repository/types';
import { OffsetMapFile, type Run, lastOriginal, nextTarget, runsFor } from './offsetMap';
import { type StoredRecord, decodeChunk } from './recordFormat';
import { TOPIC_MANIFEST_FORMAT, type ChunkRef, type TopicManifest } from './topicBackup';
import { readRanges } from './topicReader';

export const ORIGIN_OFFSET_HEADER = 'lifeboat.origin.offset';

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
  /** Bytes per partition per produce batch (a bigger single record goes alone). Default 256 KiB. */
  maxBatchBytes?: number;
  /**
   * Producers sending at once (default 3), each for its own share of the partitions, so a
   * partition still has one producer and one request in flight: order and idempotence hold.
   */
  producers?: number;
  onProgress?: (p: RestoreProgress) => void;
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

type Captured = TopicManifest & { reader: SnapshotReader };

async function manifests(snapshots: SnapshotReader[], topic: string): Promise<Captured[]> {
  const out: Captured[] = [];
  for (const s of snapshots) {
    const path = `topics/${topic}/topic.json`;
    if (!s.exists(path)) continue;
    const m = await s.readJson<TopicManifest>(path);
    if (m.format !== TOPIC_MANIFEST_FORMAT) throw new LifeboatError('RepositoryFormat', `${path} in snapshot ${s.meta.id.slice(0, 8)} has unknown format ${m.format}`);
    out.push({ ...m, reader: s });
  }
  return out;
}

/** The records of one partition across the snapshot chain, after `after`, chunk by chunk. */
async function* partitionRecords(ms: Captured[], partition: number, after: number): AsyncGenerator<StoredRecord> {
  for (const m of ms) {
    const chunks: ChunkRef[] = m.parts[String(partition)]?.chunks ?? [];
    for (const c of chunks) {
      if (c.last <= after) continue;
      for (const r of decodeChunk(await m.reader.readBuffer(c.file), c.file)) if (r.offset > after) yield r;
    }
  }
}

async function ensureTopic(admin: Admin, target: string, m: TopicManifest, rf: number | undefined): Promise<{ created: boolean; partitions: number }> {
  const existing = await admin.listTopics();
  if (existing.includes(target)) {
    const md = await admin.fetchTopicMetadata({ topics: [target] });
    return { created: false, partitions: md.topics[0]!.partitions.length };
  }
  const brokers = (await admin.describeCluster()).brokers.length;
  const configs: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.configs)) if (!DEFERRED_CONFIGS.includes(k)) configs[k] = v;
  configs['message.timestamp.type'] = 'CreateTime';
  const largest = Math.max(0, ...Object.values(m.parts).map((p) => p.maxRecordBytes));
  // The target's broker default may be smaller than the source's: make room for the largest record.
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

function toMessage(r: StoredRecord, partition: number): Message {
  const headers: Record<string, Buffer | Buffer[]> = {};
  for (const h of r.headers) {
    // kafkajs cannot send a null header value; an empty one is the closest it can do.
    const v = h.value ?? Buffer.alloc(0);
    const cur = headers[h.key];
    headers[h.key] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  const origin = Buffer.from(String(r.offset));
  const cur = headers[ORIGIN_OFFSET_HEADER];
  headers[ORIGIN_OFFSET_HEADER] = cur === undefined ? origin : [...(Array.isArray(cur) ? cur : [cur]), origin];
  return { partition, key: r.key, value: r.value, headers, timestamp: String(r.timestamp) };
}

/** The original offset a restored record carries (the last value of our header). */
export function originOffset(headers: Record<string, unknown> | undefined): number | undefined {
  const v = headers?.[ORIGIN_OFFSET_HEADER];
  const last = Array.isArray(v) ? v[v.length - 1] : v;
  if (last === undefined || last === null) return undefined;
  const n = Number(Buffer.isBuffer(last) ? last.toString() : String(last));
  return Number.isInteger(n) ? n : undefined;
}

/** Reads what the target holds past the map's knowledge and adds it to the map. */
async function catchUp(kafka: Kafka, mapFile: OffsetMapFile, source: string, target: string, partitions: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  let offsets;
  try {
    offsets = await admin.fetchTopicOffsets(target);
  } finally {
    await admin.disconnect();
  }
  const ranges = new Map<number, { from: number; to: number }>();
  for (const o of offsets) {
    if (o.partition >= partitions) continue;
    const from = Math.max(nextTarget(mapFile.map, source, o.partition) ?? Number(o.low), Number(o.low));
    ranges.set(o.partition, { from, to: Number(o.high) });
  }
  let found = 0;
  await readRanges(kafka, target, ranges, async (partition, messages) => {
    const pairs: { o: number; n: number }[] = [];
    for (const m of messages) {
      const o = originOffset(m.headers as Record<string, unknown>);
      if (o !== undefined) pairs.push({ o, n: Number(m.offset) });
    }
    const runs: Run[] = [];
    for (const { o, n } of pairs) {
      const last = runs[runs.length - 1];
      if (last && last[0] + last[2] === o && last[1] + last[2] === n) last[2]++;
      else runs.push([o, n, 1]);
    }
    found += pairs.length;
    await mapFile.addRuns(source, target, partition, runs);
  });
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
  const producers: Producer[] = [];
  try {
    for (let i = 0; i < Math.max(1, opts.producers ?? 3); i++) {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 10 } });
      producers.push(producer);
      await producer.connect();
    }
    for (const topic of priorityOrder(wanted, opts.critical)) {
      const target = opts.rename?.[topic] ?? topic;
      const ms = await manifests(opts.snapshots, topic);
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
      const alreadyPresent = await catchUp(kafka, mapFile, topic, target, m.partitions);
      const restored = await produceTopic(producers, mapFile, opts, topic, target, ms, (p, n, bytes) => {
        result.records += n;
        result.bytes += bytes;
        opts.onProgress?.({ topic, target, partition: p, records: n, totalRecords: result.records, totalBytes: result.bytes });
      });
      const ends = await admin.fetchTopicOffsets(target);
      for (const e of ends) if (e.partition < m.partitions) await mapFile.setEnd(topic, target, e.partition, Number(e.high));
      if (created || knewBefore) await applyDeferredConfigs(admin, target, m);
      result.topics.push({ topic, target, partitions: m.partitions, restored, alreadyPresent, created, warnings });
    }
  } finally {
    for (const producer of producers) await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
  result.durationMs = Date.now() - t0;
  return result;
}

async function applyDeferredConfigs(admin: Admin, target: string, m: TopicManifest): Promise<void> {
  if (!DEFERRED_CONFIGS.some((k) => k in m.configs)) return;
  // AlterConfigs (non-incremental) replaces the topic's whole set: send all captured configs.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: target, configEntries: Object.entries(m.configs).map(([name, value]) => ({ name, value })) }],
  });
}

async function produceTopic(
  producers: Producer[],
  mapFile: OffsetMapFile,
  opts: TopicRestoreOptions,
  topic: string,
  target: string,
  ms: Captured[],
  progress: (partition: number, records: number, bytes: number) => void,
): Promise<number> {
  // Small batches: kafkajs groups a request's messages per partition in time quadratic in their
  // number, which made it the restore's largest avoidable cost at 900 KiB; the round trips that
  // smaller requests add are overlapped by the producers sending at once.
  const maxBatchBytes = opts.maxBatchBytes ?? 256 * 1024;
  const cutOffsets = opts.until?.offsets?.[topic];
  const cutTime = opts.until?.timestamp;
  const partitions = ms[ms.length - 1]!.partitions;
  type Cursor = { partition: number; it: AsyncGenerator<StoredRecord>; peeked?: StoredRecord; done: boolean };
  const lanes: Cursor[][] = producers.map(() => []);
  for (let p = 0; p < partitions; p++) {
    const after = lastOriginal(mapFile.map, topic, p) ?? -1;
    lanes[p % lanes.length]!.push({ partition: p, it: partitionRecords(ms, p, after), done: false });
  }
  const inCut = (p: number, r: StoredRecord) => {
    const end = cutOffsets?.[String(p)];
    if (end !== undefined && r.offset >= end) return false;
    return !(cutTime !== undefined && r.timestamp > cutTime);
  };
  let restored = 0;
  let failed = false;
  const runLane = async (producer: Producer, cursors: Cursor[]) => {
    while (!failed) {
      const round: { partition: number; records: StoredRecord[] }[] = [];
      for (const c of cursors) {
        if (c.done) continue;
        const records: StoredRecord[] = [];
        let bytes = 0;
        while (bytes < maxBatchBytes) {
          const next = c.peeked ?? (await c.it.next()).value;
          c.peeked = undefined;
          if (!next || !inCut(c.partition, next)) {
            c.done = true; // a point-in-time cut is a prefix of the partition
            break;
          }
          const size = (next.key?.length ?? 0) + (next.value?.length ?? 0) + 64;
          if (records.length > 0 && bytes + size > maxBatchBytes) {
            c.peeked = next;
            break;
          }
          records.push(next);
          bytes += size;
        }
        if (records.length) round.push({ partition: c.partition, records });
      }
      if (round.length === 0 || failed) break;
      const messages = round.flatMap((b) => b.records.map((r) => toMessage(r, b.partition)));
      // One request: kafkajs writes one record batch per partition, so each partition's records
      // get consecutive offsets starting at the base offset the broker returns.
      const meta = await producer.send({ topic: target, acks: -1, messages });
      for (const b of round) {
        const md = meta.find((x) => x.partition === b.partition);
        if (!md || md.baseOffset === undefined) throw new Error(`no produce result for ${target}-${b.partition}`);
        await mapFile.addRuns(topic, target, b.partition, runsFor(b.records.map((r) => r.offset), Number(md.baseOffset)));
        const bytes = b.records.reduce((n, r) => n + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0);
        restored += b.records.length;
        progress(b.partition, b.records.length, bytes);
      }
    }
  };
  const results = await Promise.allSettled(
    lanes.map((cursors, i) =>
      runLane(producers[i]!, cursors).catch((e: unknown) => {
        failed = true; // the other lanes stop after their request in flight
        throw e;
      }),
    ),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
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
