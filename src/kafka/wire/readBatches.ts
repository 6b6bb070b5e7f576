/**
 * Reads exact offset ranges of a topic's partitions as the record batches the brokers store: one
 * Fetch per leader for all of its partitions at a time, read_committed. Aborted transactions are
 * dropped the way Kafka's own consumer does it (the aborted-transaction list of each answer,
 * closed by the producer's abort marker); transaction markers (control batches) are dropped too.
 * Both become offset gaps, as they are for any consumer.
 */
import type { Kafka } from 'kafkajs';
import { sleep, throwIfAborted } from '../../core/poll';
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
  /** Stops reading (between fetches) when it aborts; `onBatches` is not called again. */
  signal?: AbortSignal;
  /** Called before offsets retention deleted are skipped; throw to stop instead (the mirror does). */
  onLost?: (partition: number, lost: Range) => void;
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
  throwIfAborted(opts.signal);
  const stallMs = opts.stallMs ?? 120_000;
  const readCommitted = opts.readCommitted !== false;
  const client = await WireClient.open(kafka, [topic]);

  /** The partition's log start offset; undefined while it has no leader. */
  const earliest = async (partition: number): Promise<number | undefined> => {
    await client.refresh();
    return (await client.listOffsets(topic, 'earliest')).get(partition);
  };
  let failed = false;
  /** Partitions moved forward so far (a leader hunt that follows progress starts patient again). */
  let moves = 0;

  /**
   * Fetches from one leader until its partitions are done or it stops leading one of them. The
   * partitions' order rotates from one Fetch to the next: the broker fills an answer's byte limit
   * in request order, and a fixed order would starve the last ones.
   */
  const fromLeader = async (nodeId: number, partitions: number[]): Promise<'done' | 'stale'> => {
    for (let round = 0; ; round++) {
      if (failed) return 'done';
      throwIfAborted(opts.signal);
      const mine = partitions.filter((p) => pending.has(p));
      if (mine.length === 0) return 'done';
      const order = [...mine.slice(round % mine.length), ...mine.slice(0, round % mine.length)];
      const answer = await client.fetch(
        nodeId,
        topic,
        order.map((p) => ({ partition: p, offset: pending.get(p)!.next, maxBytes: opts.partitionMaxBytes ?? 4 * 1024 * 1024 })),
        { maxWaitMs: 200, maxBytes: opts.maxBytes ?? 24 * 1024 * 1024, readCommitted },
      );
      let stale = false;
      let delivered = false;
      const idle: { p: number; lso: number }[] = [];
      for (const fp of answer) {
        const st = pending.get(fp.partition);
        if (!st || failed || opts.signal?.aborted) continue;
        if (fp.errorCode === OFFSET_OUT_OF_RANGE) {
          const low = await earliest(fp.partition);
          if (low === undefined) {
            stale = true; // leadership moved: look for the leader again
            continue;
          }
          if (low <= st.next) throw protocolError(fp.errorCode);
          opts.onLost?.(fp.partition, { from: st.next, to: Math.min(low, st.to) });
          const lost = summary.lost.get(fp.partition);
          summary.lost.set(fp.partition, { from: lost?.from ?? st.next, to: Math.min(low, st.to) });
          st.next = low;
          st.movedAt = Date.now();
          moves++;
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
          idle.push({ p: fp.partition, lso: fp.lastStableOffset });
          continue;
        }
        delivered = true;
        const wanted = kept.filter((b) => lastOffsetOf(b) >= st.next && b.baseOffset < st.to);
        for (const b of wanted) verifyCrc(b, where);
        await onBatches(fp.partition, wanted, Math.min(next, st.to));
        st.next = next;
        st.movedAt = Date.now();
        moves++;
        if (st.next >= st.to) pending.delete(fp.partition);
      }
      // A partition that got nothing while others filled the answer is not stalled: it waits its turn.
      for (const { p, lso } of idle) {
        const st = pending.get(p);
        if (!st) continue;
        if (delivered) st.movedAt = Date.now();
        else if (Date.now() - st.movedAt > stallMs) {
          const txn = readCommitted && lso >= 0 && lso <= st.next ? ` (a transaction is open at offset ${lso}: read_committed reads stop there until it ends)` : '';
          throw new Error(`reading ${topic}-${p}: no progress at offset ${st.next} for ${stallMs / 1000}s (end ${st.to})${txn}`);
        }
      }
      if (stale) return 'stale';
    }
  };

  try {
    let attempts = 0;
    while (pending.size > 0) {
      const before = moves;
      const leaders = client.leaders(topic);
      const byLeader = new Map<number, number[]>();
      for (const p of pending.keys()) {
        const l = leaders.get(p);
        if (l !== undefined) byLeader.set(l, [...(byLeader.get(l) ?? []), p]);
      }
      // Every leader's loop ends before this returns or throws: none goes on feeding onBatches.
      const loop = async (node: number, ps: number[]) => {
        try {
          return await fromLeader(node, ps).catch(staleOnConnectionError);
        } catch (e) {
          failed = true; // the other leaders' loops stop at their next answer
          throw e;
        }
      };
      const results = await Promise.allSettled([...byLeader].map(([node, ps]) => loop(node, ps)));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
      if (pending.size === 0) break;
      // A leader moved (or none is elected yet): look again, with a pause that grows while
      // nothing moves forward.
      attempts = moves > before ? 1 : attempts + 1;
      if (attempts > 60) throw new Error(`reading ${topic}: partitions ${[...pending.keys()].join(', ')} have no reachable leader`);
      await sleep(Math.min(250 * attempts, 2000), opts.signal);
      await client.refresh();
    }
  } finally {
    failed = true;
    await client.close();
  }
  return summary;
}
