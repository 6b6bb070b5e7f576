/**
 * Reads exact offset ranges of a topic's partitions as the record batches the brokers store: one
 * Fetch per leader for all of its partitions at a time, read_committed. Aborted transactions are
 * dropped the way Kafka's own consumer does it (the aborted-transaction list of each answer,
 * closed by the producer's abort marker); transaction markers (control batches) are dropped too.
 * Both become offset gaps, as they are for any consumer.
 */
import type { Kafka } from 'kafkajs';
import { type Batch, isAbortMarker, isControl, isTransactional, lastOffsetOf, splitBatches, verifyCrc } from './recordBatch';
import { type FetchedPartition, STALE_LEADER_ERRORS, WireClient, protocolError } from './client';

export interface Range {
  /** First offset to read. */
  from: number;
  /** Exclusive end. */
  to: number;
}

export interface ReadBatchesOptions {
  /** Bytes per partition per fetch (a bigger single batch still comes whole). Default 4 MiB. */
  partitionMaxBytes?: number;
  /** Bytes per fetch answer. Default 24 MiB. */
  maxBytes?: number;
  /** Fail if a partition makes no progress for this long. Default 120 s. */
  stallMs?: number;
  /** read_uncommitted when false (a restore's own target). Default true. */
  readCommitted?: boolean;
}

export interface ReadSummary {
  /** Per partition: offsets that retention deleted before they could be read. */
  lost: Map<number, Range>;
}

const OFFSET_OUT_OF_RANGE = 1;

/** A broker that went away mid-read: look for the partition's leader again. */
function staleOnConnectionError(e: unknown): 'stale' {
  const name = (e as Error)?.name ?? '';
  if (['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSBrokerNotFound', 'KafkaJSRequestTimeoutError', 'KafkaJSLockTimeout'].includes(name)) return 'stale';
  throw e;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The data batches of one Fetch answer that a read_committed consumer would deliver. */
async function committedBatches(fp: FetchedPartition, readCommitted: boolean, where: string): Promise<{ kept: Batch[]; next: number | undefined }> {
  const { batches } = splitBatches(fp.records, where);
  if (batches.length === 0) return { kept: [], next: undefined };
  const aborted = [...fp.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  const kept: Batch[] = [];
  for (const b of batches) {
    if (readCommitted && b.producerId >= 0) {
      while (aborted.length && aborted[0]!.firstOffset <= lastOffsetOf(b)) abortedProducers.add(aborted.shift()!.producerId);
      if (isControl(b)) {
        if (await isAbortMarker(b)) abortedProducers.delete(b.producerId);
        continue;
      }
      if (isTransactional(b) && abortedProducers.has(b.producerId)) continue;
    }
    if (isControl(b)) continue;
    kept.push(b);
  }
  return { kept, next: lastOffsetOf(batches[batches.length - 1]!) + 1 };
}

/**
 * Calls `onBatches` for each partition in offset order with whole batches that hold offsets in
 * its range (the first and last may reach past it) and the offset reading continues from; awaited
 * before that partition's leader is fetched from again, which bounds memory. CRCs are verified.
 */
export async function readBatches(
  kafka: Kafka,
  topic: string,
  ranges: Map<number, Range>,
  onBatches: (partition: number, batches: Batch[], next: number) => Promise<void>,
  opts: ReadBatchesOptions = {},
): Promise<ReadSummary> {
  const pending = new Map<number, { next: number; to: number; movedAt: number }>();
  for (const [p, r] of ranges) if (r.from < r.to) pending.set(p, { next: r.from, to: r.to, movedAt: Date.now() });
  const summary: ReadSummary = { lost: new Map() };
  if (pending.size === 0) return summary;
  const stallMs = opts.stallMs ?? 120_000;
  const readCommitted = opts.readCommitted !== false;
  const client = await WireClient.open(kafka, [topic]);

  const earliest = async (partition: number): Promise<number> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const o = (await admin.fetchTopicOffsets(topic)).find((x) => x.partition === partition);
      return Number(o?.low ?? 0);
    } finally {
      await admin.disconnect();
    }
  };

  /** Fetches from one leader until its partitions are done or it stops leading one of them. */
  const fromLeader = async (nodeId: number, partitions: number[]): Promise<'done' | 'stale'> => {
    for (;;) {
      const mine = partitions.filter((p) => pending.has(p));
      if (mine.length === 0) return 'done';
      const answer = await client.fetch(
        nodeId,
        topic,
        mine.map((p) => ({ partition: p, offset: pending.get(p)!.next, maxBytes: opts.partitionMaxBytes ?? 4 * 1024 * 1024 })),
        { maxWaitMs: 200, maxBytes: opts.maxBytes ?? 24 * 1024 * 1024, readCommitted },
      );
      let stale = false;
      for (const fp of answer) {
        const st = pending.get(fp.partition);
        if (!st) continue;
        if (fp.errorCode === OFFSET_OUT_OF_RANGE) {
          const low = await earliest(fp.partition);
          if (low <= st.next) throw protocolError(fp.errorCode);
          summary.lost.set(fp.partition, { from: st.next, to: Math.min(low, st.to) });
          st.next = low;
          st.movedAt = Date.now();
          if (st.next >= st.to) pending.delete(fp.partition);
          continue;
        }
        if (STALE_LEADER_ERRORS.has(fp.errorCode)) {
          stale = true;
          continue;
        }
        if (fp.errorCode !== 0) throw protocolError(fp.errorCode);
        const where = `${topic}-${fp.partition}`;
        const { kept, next } = await committedBatches(fp, readCommitted, where);
        if (next === undefined) {
          if (Date.now() - st.movedAt > stallMs) throw new Error(`reading ${where}: no progress at offset ${st.next} for ${stallMs / 1000}s (end ${st.to})`);
          continue;
        }
        const wanted = kept.filter((b) => lastOffsetOf(b) >= st.next && b.baseOffset < st.to);
        for (const b of wanted) verifyCrc(b, where);
        await onBatches(fp.partition, wanted, Math.min(next, st.to));
        st.next = next;
        st.movedAt = Date.now();
        if (st.next >= st.to) pending.delete(fp.partition);
      }
      if (stale) return 'stale';
    }
  };

  try {
    let attempts = 0;
    while (pending.size > 0) {
      const leaders = client.leaders(topic);
      const byLeader = new Map<number, number[]>();
      for (const p of pending.keys()) {
        const l = leaders.get(p);
        if (l !== undefined) byLeader.set(l, [...(byLeader.get(l) ?? []), p]);
      }
      const results = byLeader.size ? await Promise.all([...byLeader].map(([node, ps]) => fromLeader(node, ps).catch(staleOnConnectionError))) : ['stale' as const];
      if (results.every((r) => r === 'done') && pending.size === 0) break;
      // A leader moved (or none is elected yet): look again, with a pause that grows.
      if (++attempts > 60) throw new Error(`reading ${topic}: partitions ${[...pending.keys()].join(', ')} have no reachable leader`);
      await sleep(Math.min(250 * attempts, 2000));
      await client.refresh();
    }
  } finally {
    await client.close();
  }
  return summary;
}
