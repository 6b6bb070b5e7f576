/**
 * One shard of a mirror: some partitions of one topic, copied from the source to the target as
 * the record batches the source stores (read_committed: aborted records and transaction markers
 * never reach the target), with only the producer fields and CRC rewritten (restampForProduce);
 * batches with compaction gaps, LogAppendTime or too small to go alone are re-batched from their
 * records' untouched bytes. Every batch is produced under this run's idempotent producer id; its
 * position (state.ts) names it before it is sent, so a run after a kill finds it in the target by
 * producer id and sequence (lostAnswers.ts) and nothing is written twice or skipped.
 *
 * Offsets: where the target partition started empty at the source's first offset and nothing is
 * missing in between, every record gets its source offset ('identical'); otherwise the runs of the
 * exact offset map say where each source offset went ('mapped').
 */
import type { Kafka } from 'kafkajs';
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { sleep } from '../../core/poll';
import { kafkaFor } from '../client';
import { type Run, runsFor } from '../offsetMap';
import { SETTLE_MS, searchTarget, sendBatch, sentKey } from '../lostAnswers';
import { WireClient } from '../wire/client';
import { type Range, readBatches } from '../wire/readBatches';
import { type Batch, type RawRecord, batchRecords, canDecode, encodeBatch, isContiguous, isLogAppendTime, lastOffsetOf, restampForProduce } from '../wire/recordBatch';
import { type PartitionState, STATE_TOPIC, type SentState, StateLog, readState, stateKey } from './state';

export interface ShardWork {
  topic: string;
  partitions: number[];
}

export interface PartitionPosition {
  topic: string;
  partition: number;
  /** Next source offset to copy. */
  next: number;
  /** Source end (last stable offset) seen at the last read. */
  sourceEnd: number;
  /** 'identical': every copied record has its source offset on the target; 'mapped': an exact per-batch offset map holds. */
  mode: 'identical' | 'mapped';
  records: number;
  bytes: number;
  /** Time of the newest copied record (ms), for lag in seconds. */
  lastTimestamp?: number;
}

export interface ShardResult {
  positions: PartitionPosition[];
  caughtUp: boolean;
}

export interface MirrorShardOptions {
  until: 'caught-up' | number;
  signal?: AbortSignal;
  onProgress?: (p: PartitionPosition[]) => void;
  /** How long a batch sent without an answer may still land (default 35 s; see lostAnswers.ts). */
  settleMs?: number;
  /** Bytes per re-built batch (default 900 KiB). */
  maxBatchBytes?: number;
}

export const positionOf = (s: PartitionState): PartitionPosition => ({
  topic: s.topic,
  partition: s.partition,
  next: s.next,
  sourceEnd: s.sourceEnd,
  mode: s.mode,
  records: s.records,
  bytes: s.bytes,
  ...(s.lastTimestamp !== undefined ? { lastTimestamp: s.lastTimestamp } : {}),
});

/** Appends a run [source, target, count], merging it with the last one where both continue it. */
function addRun(runs: Run[], run: Run): void {
  const last = runs[runs.length - 1];
  if (last && last[0] + last[2] === run[0] && last[1] + last[2] === run[1]) last[2] += run[2];
  else if (!last || run[0] >= last[0] + last[2]) runs.push([...run]);
}

/** Records where a sent batch landed. */
function land(st: PartitionState, sent: SentState, base: number): void {
  for (const [o, i, c] of sent.runs) {
    if (o !== base + i) st.mode = 'mapped';
    addRun(st.runs, [o, base + i, c]);
  }
  st.targetNext = base + sent.records;
  st.next = Math.max(st.next, sent.next);
  st.records += sent.records;
  st.bytes += sent.bytes;
  if (sent.lastTimestamp !== undefined) st.lastTimestamp = Math.max(st.lastTimestamp ?? 0, sent.lastTimestamp);
  st.sent = undefined;
}

const dataLost = (source: ClusterSpec, topic: string, partition: number, r: Range, why: string) =>
  new LifeboatError(
    'DataLost',
    `${topic}-${partition}: source offsets ${r.from}..${r.to - 1} (${r.to - r.from} records) on ${source.name} were ${why} before the mirror copied them`,
    { topic, partition, from: r.from, to: r.to },
  );

export async function mirrorShard(source: ClusterSpec, target: ClusterSpec, pair: string, work: ShardWork, opts: MirrorShardOptions): Promise<ShardResult> {
  const { topic } = work;
  const settleMs = opts.settleMs ?? SETTLE_MS;
  const maxBatchBytes = opts.maxBatchBytes ?? 900 * 1024;
  const minDirectBytes = Math.min(64 * 1024, maxBatchBytes / 4);
  const sk = kafkaFor(source, 'mirror');
  const tk = kafkaFor(target, 'mirror');
  // Stops reading at the deadline or when the caller aborts; a batch in flight finishes first.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  const timer = typeof opts.until === 'number' ? setTimeout(() => stop.abort(), Math.max(0, opts.until - Date.now())) : undefined;

  const src = await WireClient.open(sk, []);
  let tgt: WireClient | undefined;
  let log: StateLog | undefined;
  const parts = new Map<number, PartitionState>();
  try {
    tgt = await WireClient.open(tk, []);
    const have = await partitionsOn(tgt, topic);
    const stateReady = (await partitionsOn(tgt, STATE_TOPIC)) > 0;
    const missing = work.partitions.filter((p) => p >= have);
    if (missing.length || !stateReady) {
      throw new LifeboatError('InvalidInput', `the target ${target.name} has no ${!stateReady ? `mirror state topic ${STATE_TOPIC}` : `partition ${missing.join(', ')} of ${topic}`}: plan the mirror first (planMirror)`);
    }
    if ((await partitionsOn(src, topic)) === 0) throw new LifeboatError('DataLost', `the source ${source.name} has no topic ${topic} any more: it was deleted while mirrored`, { topic });
    const producer = await tgt.initProducerId(opts.signal);
    log = new StateLog(tgt, producer);
    const state = await readState(tk, pair);
    const srcLow = await src.listOffsets(topic, 'earliest');
    const srcEnd = await src.listOffsets(topic, 'committed');
    const srcHigh = await src.listOffsets(topic, 'end');
    const tgtLow = await tgt.listOffsets(topic, 'earliest');
    for (const p of work.partitions) {
      const low = srcLow.get(p);
      const tLow = tgtLow.get(p);
      if (low === undefined || tLow === undefined) throw new Error(`${topic}-${p} has no leader on the ${low === undefined ? 'source' : 'target'} yet`);
      let st = state.positions.get(stateKey(pair, topic, p));
      if (!st) {
        // The source's first record goes first; the target must hold nothing (checked below).
        st = { pair, topic, partition: p, next: low, targetNext: tLow, mode: 'identical', records: 0, bytes: 0, sourceEnd: srcEnd.get(p) ?? low, runs: [], segments: 0, at: 0 };
      } else if (st.sent) {
        await resolveSent(tk, st, settleMs, opts.signal);
      }
      parts.set(p, st);
    }
    const tgtEnd = await tgt.listOffsets(topic, 'end');
    for (const [p, st] of parts) {
      const end = tgtEnd.get(p)!;
      if (end !== st.targetNext) {
        throw new LifeboatError(
          'UnsafeTarget',
          end > st.targetNext
            ? `target ${topic}-${p} holds offsets ${st.targetNext}..${end - 1} this mirror did not write: stop the other writer (and delete those records) before mirroring on`
            : `target ${topic}-${p} ends at ${end}, but mirror "${pair}" wrote up to ${st.targetNext}: the target topic was recreated or truncated; start a new mirror pair`,
        );
      }
      if (srcLow.get(p)! > st.next) throw dataLost(source, topic, p, { from: st.next, to: srcLow.get(p)! }, 'deleted (retention or deleteRecords)');
      if (srcHigh.get(p)! < st.next) {
        throw new LifeboatError('DataLost', `${topic}-${p}: the source ends at offset ${srcHigh.get(p)}, before the mirror's position ${st.next}: the source topic was recreated or truncated`, { topic, partition: p, from: srcHigh.get(p), to: st.next });
      }
    }

    const sequences = new Map(work.partitions.map((p) => [p, 0]));
    let reported = 0;
    const report = (force = false) => {
      if (!opts.onProgress || (!force && Date.now() - reported < 250)) return;
      reported = Date.now();
      opts.onProgress([...parts.values()].map(positionOf));
    };
    const lane = tgt;
    const stateLog = log;

    /** Produces one batch after naming it in the partition's position. */
    const send = async (p: number, batch: Buffer, runs: Run[], records: number, lastTimestamp: number, next: number) => {
      const st = parts.get(p)!;
      const baseSequence = sequences.get(p)!;
      restampForProduce(batch, producer.producerId, producer.producerEpoch, baseSequence);
      st.sent = { ...producer, baseSequence, runs, next, records, bytes: batch.length, lastTimestamp };
      await stateLog.write(st);
      const base = await sendBatch(lane, topic, p, { batch, runs }, { kafka: tk, from: st.targetNext, producer, baseSequence, settleMs, signal: opts.signal });
      if (base !== st.targetNext) {
        // Someone else wrote in between (a second worker on this shard, another producer): say so loudly.
        const from = st.targetNext;
        land(st, st.sent, base);
        throw new LifeboatError('UnsafeTarget', `target ${topic}-${p}: offsets ${from}..${base - 1} were written by someone else while mirror "${pair}" copied (a second worker on this shard, or a producer on the target): stop that writer`);
      }
      land(st, st.sent, base);
      sequences.set(p, (baseSequence + records) % 2 ** 31);
      report();
    };

    /** Copies the batches of one fetch answer (read_committed already applied), in order. */
    const copy = async (p: number, batches: Batch[], next: number) => {
      const st = parts.get(p)!;
      let pending: RawRecord[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (!pending.length) return;
        const recs = pending;
        pending = [];
        pendingBytes = 0;
        const last = recs[recs.length - 1]!;
        await send(p, encodeBatch(recs), runsFor(recs.map((r) => r.offset), 0), recs.length, Math.max(...recs.map((r) => r.timestamp)), last.offset + 1);
      };
      for (const b of batches) {
        if (stop.signal.aborted) return; // the position stays after the last batch in
        if (lastOffsetOf(b) < st.next) continue;
        const whole = isContiguous(b) && !isLogAppendTime(b) && b.baseOffset >= st.next && b.bytes.length <= maxBatchBytes;
        if (whole && (b.bytes.length >= minDirectBytes || !canDecode(b))) {
          await flush();
          await send(p, b.bytes, [[b.baseOffset, 0, b.count]], b.count, b.maxTimestamp, lastOffsetOf(b) + 1);
          continue;
        }
        if (!canDecode(b)) {
          throw new LifeboatError('InvalidInput', `${topic}-${p}: the source batch at offset ${b.baseOffset} must be re-batched (compaction gaps or LogAppendTime) but is compressed with a codec Lifeboat cannot decode (lz4, snappy)`);
        }
        for (const r of await batchRecords(b, `${topic}-${p}`)) {
          if (r.offset < st.next) continue;
          const size = r.body.length + 24;
          if (pending.length && pendingBytes + size > maxBatchBytes) await flush();
          pending.push(r);
          pendingBytes += size;
        }
      }
      await flush();
      // Offsets past the last record (transaction markers, aborted records) hold nothing to copy.
      if (!stop.signal.aborted) st.next = Math.max(st.next, next);
      report();
    };

    // Each partition copies one fetch answer while the next is read (one queued per partition).
    const chains = new Map<number, Promise<void>>();
    const onBatches = async (p: number, batches: Batch[], next: number) => {
      const prev = chains.get(p) ?? Promise.resolve();
      const job = prev.then(() => copy(p, batches, next));
      job.catch(() => {});
      chains.set(p, job);
      await prev;
    };
    const goal = opts.until === 'caught-up' ? new Map(srcEnd) : undefined;
    for (;;) {
      let ends: Map<number, number>;
      try {
        ends = await src.listOffsets(topic, 'committed');
      } catch (e) {
        if (stop.signal.aborted) break;
        await src.refresh().catch(() => {});
        await sleep(500, stop.signal).catch(() => {});
        if (stop.signal.aborted) break;
        if ((e as Error).name === 'DataLost') throw e;
        continue;
      }
      const ranges = new Map<number, Range>();
      for (const [p, st] of parts) {
        st.sourceEnd = Math.max(ends.get(p) ?? st.sourceEnd, st.next);
        const to = goal ? goal.get(p)! : st.sourceEnd;
        if (st.next < to) ranges.set(p, { from: st.next, to });
      }
      if (ranges.size === 0) {
        if (goal || stop.signal.aborted) break;
        report(true);
        await sleep(500, stop.signal).catch(() => {});
        if (stop.signal.aborted) break;
        continue;
      }
      let failure: unknown;
      try {
        await readBatches(sk, topic, ranges, onBatches, {
          signal: stop.signal,
          onLost: (p, r) => {
            throw dataLost(source, topic, p, r, 'deleted (retention or deleteRecords)');
          },
        });
      } catch (e) {
        failure = e;
      }
      const settled = await Promise.allSettled([...chains.values()]);
      chains.clear();
      const copyFailure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (copyFailure) throw copyFailure.reason;
      if (failure && !(stop.signal.aborted && !(failure instanceof LifeboatError))) throw failure;
      if (stop.signal.aborted) break;
    }
    const caughtUp = [...parts.values()].every((st) => st.next >= (goal?.get(st.partition) ?? st.sourceEnd));
    // Stopped by the caller: the positions are written below (finally); a next run resumes there.
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('mirror stopped');
    return { positions: [...parts.values()].map(positionOf), caughtUp };
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    // Where each partition stands (and a batch still unanswered) for the next run, whatever happened.
    if (log) await Promise.all([...parts.values()].map((st) => log!.write(st))).catch(() => {});
    if (parts.size) opts.onProgress?.([...parts.values()].map(positionOf));
    await src.close();
    await tgt?.close();
  }
}

/** Partitions of a topic (0 when it does not exist: metadata for a missing topic fails). */
async function partitionsOn(client: WireClient, topic: string): Promise<number> {
  try {
    await client.addTopics([topic]);
    return client.partitionCount(topic);
  } catch (e) {
    if ((e as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return 0;
    throw e;
  }
}

/** After a kill: where the batch the position names landed, if it did. */
async function resolveSent(kafka: Kafka, st: PartitionState, settleMs: number, signal?: AbortSignal): Promise<void> {
  const sent = st.sent!;
  const key = sentKey(sent);
  const look = async () => {
    let found: number | undefined;
    await searchTarget(kafka, st.topic, new Map([[st.partition, st.targetNext]]), (_, b) => {
      if (sentKey(b) === key) found = b.baseOffset;
    });
    return found;
  };
  let found = await look();
  // Not there yet: it may still await its replicas; only a look settleMs after it was named is conclusive.
  const wait = st.at + settleMs - Date.now();
  if (found === undefined && wait > 0) {
    await sleep(wait, signal);
    found = await look();
  }
  if (found !== undefined) land(st, sent, found);
  st.sent = undefined;
}
