/**
 * Reads exact offset ranges of a topic's partitions with kafkajs. kafkajs has no `assign()`, so a
 * consumer with a fresh, never-committing group subscribes (it is the only member, so it gets every
 * partition), seeks each wanted partition to its first offset and pauses it once the range is done.
 * read_committed: aborted records and transaction markers never arrive (they become offset gaps).
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { type Header, type StoredRecord, headersFromKafkajs } from './recordFormat';
import { headerDecoding } from './wire/transport';
import { READER_GROUP_PREFIX } from './ownGroups';

/**
 * kafkajs folds a record's headers into an object, which loses the wire order of interleaved
 * repeated keys (a, b, a) and puts integer-like keys first. To capture headers exactly we tag the
 * decoded header array with its original order: kafkajs looks up `readVarIntArray` on the
 * Decoder prototype at call time, so wrapping it there sees every header list as it is decoded.
 */
const ORDERED = Symbol.for('lifeboat.orderedHeaders');
let patched = false;
function captureHeaderOrder(): void {
  if (patched) return;
  patched = true;
  try {
    const internals = headerDecoding();
    if (!internals) return;
    const { Decoder, HeaderDecoder } = internals;
    const original = Decoder.prototype.readVarIntArray as ((reader: unknown) => unknown[]) & { [ORDERED]?: true };
    // kafkajs is loaded once per process, but this module may be loaded more than once (test
    // isolation): wrap only once.
    if (original[ORDERED]) return;
    const wrapped = function (this: unknown, reader: unknown) {
      const arr = original.call(this, reader);
      if (reader === HeaderDecoder && arr.length > 0) {
        Object.defineProperty(arr, 'reduce', {
          configurable: true,
          value(fn: (acc: unknown, cur: unknown) => unknown, init: unknown) {
            const obj = Array.prototype.reduce.call(arr, fn, init) as object;
            Object.defineProperty(obj, ORDERED, { value: arr, enumerable: false });
            return obj;
          },
        });
      }
      return arr;
    };
    Object.defineProperty(wrapped, ORDERED, { value: true });
    Decoder.prototype.readVarIntArray = wrapped;
  } catch {
    // A kafkajs without these internals: fall back to its object form (order per key only).
  }
}
captureHeaderOrder();

export function headersOf(m: KafkaMessage): Header[] {
  const ordered = (m.headers as Record<symbol, { key: string; value: Buffer | null }[] | undefined> | undefined)?.[ORDERED];
  if (ordered) return ordered.map((h) => ({ key: h.key, value: h.value ?? null }));
  return headersFromKafkajs(m.headers as Parameters<typeof headersFromKafkajs>[0]);
}

interface BatchContext {
  timestampType?: number;
  inTransaction?: boolean;
}

export function toStoredRecord(m: KafkaMessage): StoredRecord {
  const ctx = (m as KafkaMessage & { batchContext?: BatchContext }).batchContext ?? {};
  return {
    offset: Number(m.offset),
    timestamp: Number(m.timestamp),
    timestampType: ctx.timestampType === 1 ? 'LogAppendTime' : 'CreateTime',
    transactional: ctx.inTransaction === true,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: headersOf(m),
  };
}

export interface Range {
  /** First offset to read. */
  from: number;
  /** Exclusive end. */
  to: number;
}

export interface ReadOptions {
  /** Bytes per partition per fetch (Kafka still returns one whole batch if it is bigger). */
  maxBytesPerPartition?: number;
  /** Partitions handled at once. */
  concurrency?: number;
  /** Fail if nothing arrives for this long while ranges are unfinished. */
  stallMs?: number;
}

/**
 * Calls `onRecords` with the records of each partition in offset order, only offsets in range,
 * each once. `onRecords` is awaited before the partition is fetched further (that is the memory bound).
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: Map<number, Range>,
  onRecords: (partition: number, records: KafkaMessage[]) => Promise<void>,
  opts: ReadOptions = {},
): Promise<void> {
  const pending = new Map<number, Range>();
  for (const [p, r] of ranges) if (r.from < r.to) pending.set(p, r);
  if (pending.size === 0) return;
  // The next offset `onRecords` has not had, per partition. The group never commits, so a rebalance
  // (its coordinator moved: a broker restarted, Kafka's preferred-leader election) makes kafkajs
  // fetch again from the start: what was handed over already is not handed over twice.
  const next = new Map([...pending].map(([p, r]) => [p, r.from]));

  const groupId = `${READER_GROUP_PREFIX}${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    maxBytesPerPartition: opts.maxBytesPerPartition ?? 4 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
    maxWaitTimeInMs: 200,
    sessionTimeout: 30_000,
    allowAutoTopicCreation: false,
    retry: { retries: 5 },
  });
  let lastActivity = Date.now();
  let failure: unknown;
  let finish!: () => void;
  let fail!: (e: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const complete = (partition: number) => {
    if (!pending.delete(partition)) return;
    consumer.pause([{ topic, partitions: [partition] }]);
    if (pending.size === 0) finish();
  };
  const stopFor = (e: unknown) => {
    failure ??= e;
    fail(e);
  };

  // Batches made only of filtered records (transaction markers, aborted records) never reach
  // eachBatch; kafkajs still reports how far they went.
  consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
    const { topic: t, partition, batchSize, lastOffset } = e.payload as { topic: string; partition: number; batchSize: number; lastOffset: string };
    lastActivity = Date.now();
    const r = pending.get(partition);
    if (t === topic && r && batchSize === 0 && Number(lastOffset) >= r.to - 1) complete(partition);
  });
  consumer.on(consumer.events.CRASH, (e) => stopFor((e.payload as { error: Error }).error));
  // Every join (the first, and each rebalance) places the partitions it assigns: a pending one at its
  // next offset (not the log's start again), any other paused (not read for nothing).
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    try {
      const assigned = (e.payload as { memberAssignment: Record<string, number[] | undefined> }).memberAssignment[topic] ?? [];
      const idle = assigned.filter((p) => !pending.has(p));
      if (idle.length) consumer.pause([{ topic, partitions: idle }]);
      for (const p of assigned) if (pending.has(p)) consumer.seek({ topic, partition: p, offset: String(next.get(p)) });
    } catch {
      // Placing is an optimisation: without it the partitions are read from the start and `next` filters.
    }
  });

  await consumer.connect();
  const stall = setInterval(() => {
    if (Date.now() - lastActivity > (opts.stallMs ?? 120_000)) stopFor(new Error(`reading ${topic}: no progress for ${(opts.stallMs ?? 120_000) / 1000}s`));
  }, 1000);
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: Math.max(1, Math.min(opts.concurrency ?? 4, pending.size)),
      eachBatch: async ({ batch }) => {
        lastActivity = Date.now();
        if (failure) return;
        const r = pending.get(batch.partition);
        if (!r) return;
        const from = next.get(batch.partition)!;
        const wanted = batch.messages.filter((m) => {
          const o = Number(m.offset);
          return o >= from && o < r.to;
        });
        try {
          if (wanted.length) await onRecords(batch.partition, wanted);
        } catch (e) {
          stopFor(e);
          return;
        }
        if (wanted.length) next.set(batch.partition, Number(wanted[wanted.length - 1]!.offset) + 1);
        lastActivity = Date.now();
        if (Number(batch.lastOffset()) >= r.to - 1) complete(batch.partition);
      },
    });
    // The first join (inside run) placed the partitions already: seeking again here would drop its first fetch.
    await done;
  } finally {
    clearInterval(stall);
    await consumer.disconnect().catch(() => {});
    await deleteGroup(kafka, groupId);
  }
}

async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    // best effort: an empty group with no offsets expires on its own
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
