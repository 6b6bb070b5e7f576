/**
 * One shard of a mirror: some partitions of one topic, copied from the source to the target as
 * the record batches the source stores (read_committed: aborted records and transaction markers
 * never reach the target), with only the producer fields and CRC rewritten (restampForProduce);
 * batches with compaction gaps, LogAppendTime or too small to go alone are re-batched from their
 * records' untouched bytes.
 *
 * Each partition is written by a producer of its own whose epoch fences older runs of it (state.ts).
 * Its batches are named in its position (state.ts) before they are sent, so a run after a kill
 * finds them in the target by producer id and sequence (lostAnswers.ts) and nothing is written twice
 * or skipped. The writes overlap: the batches of one fetch answer are named in one state write
 * while the previous answer's batches are produced (one batch in flight per partition, in order).
 *
 * When a named batch may still land: a run puts a batch on the wire only within `sendWindowMs` of
 * a state write (acknowledged, so not fenced) that names it, and writes the state again first when
 * that is older; a batch on the wire lands within `settleMs` or never. So a run that finds batches
 * named in a position written at `at` looks for them until `at + sendWindowMs + settleMs`, whether
 * the run that named them was killed or is still running (fenced, it can send no more).
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
import { WireClient, abortable } from '../wire/client';
import { type Range, readBatches } from '../wire/readBatches';
import { type Batch, type RawRecord, batchRecords, canDecode, encodeBatch, isContiguous, isLogAppendTime, lastOffsetOf, restampForProduce } from '../wire/recordBatch';
import { type PartitionState, STATE_TOPIC, type SentState, StateLog, fenceId, readState, stateKey } from './state';

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
  /** How long after a state write that names a batch it may still be sent (default 5 s, at most settleMs). */
  sendWindowMs?: number;
  /** Connections to the target for the partitions' batches (default 3): a broker works on one request per connection at a time. */
  lanes?: number;
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

/** Records where a named batch landed (the first one still named: they land in order). */
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
  const rest = (st.sent ?? []).filter((s) => s !== sent && sentKey(s) !== sentKey(sent));
  st.sent = rest.length ? rest : undefined;
}

const dataLost = (source: ClusterSpec, topic: string, partition: number, r: Range, why: string) =>
  new LifeboatError(
    'DataLost',
    `${topic}-${partition}: source offsets ${r.from}..${r.to - 1} (${r.to - r.from} records) on ${source.name} were ${why} before the mirror copied them`,
    { topic, partition, from: r.from, to: r.to },
  );

/** A batch ready to go: its bytes (restamped when named) and what it holds. */
interface Outgoing {
  batch: Buffer;
  runs: Run[];
  records: number;
  lastTimestamp: number;
  /** The source position once it is in. */
  next: number;
}

/**
 * One partition's writer: names groups of batches in the state and produces them, one batch in
 * flight, the naming of a group overlapping the produce of the previous one.
 */
class PartitionWriter {
  /** Source position after everything handed to the writer (named or not yet). */
  cursor: number;
  private sequence = 0;
  /** Batches of this run put on the wire at least once (the others, unsent at a stop, are unnamed again). */
  private readonly wired = new Set<SentState>();
  /** The produce of the groups so far (resolves when the last one is in). */
  private sending: Promise<void> = Promise.resolve();
  /** `at` of the newest acknowledged state write (it names every batch still named). */
  private writtenAt = 0;

  constructor(
    readonly st: PartitionState,
    private readonly log: StateLog,
    private readonly producer: { producerId: number; producerEpoch: number },
    private readonly produce: (w: PartitionWriter, out: Outgoing, sent: SentState, beforeSend: () => Promise<void>) => Promise<void>,
    private readonly sendWindowMs: number,
    private readonly stopped: () => boolean,
  ) {
    this.cursor = st.next;
  }

  async writeState(): Promise<void> {
    this.writtenAt = Math.max(this.writtenAt, await this.log.write(this.st));
  }

  /**
   * Names a group of batches (one state write, while the previous group is produced), then
   * produces them in order. Resolves once they are named and the previous group is in: the
   * caller prepares the next group while this one is produced.
   */
  async submit(outs: Outgoing[], groupNext: number): Promise<void> {
    const named: { out: Outgoing; sent: SentState }[] = [];
    for (const out of outs) {
      restampForProduce(out.batch, this.producer.producerId, this.producer.producerEpoch, this.sequence);
      const sent: SentState = { ...this.producer, baseSequence: this.sequence, runs: out.runs, next: out.next, records: out.records, bytes: out.batch.length, lastTimestamp: out.lastTimestamp };
      this.sequence = (this.sequence + out.records) % 2 ** 31;
      named.push({ out, sent });
    }
    if (named.length) this.st.sent = [...(this.st.sent ?? []), ...named.map((n) => n.sent)];
    this.cursor = Math.max(this.cursor, groupNext);
    const written = named.length ? this.writeState() : Promise.resolve();
    const previous = this.sending;
    const group = (async () => {
      await previous;
      await written;
      for (const { out, sent } of named) {
        if (this.stopped()) return;
        await this.produce(this, out, sent, async () => {
          this.wired.add(sent);
          // Sent only within the window of a write that names it: a newer run waits that long for it.
          if (Date.now() >= this.writtenAt + this.sendWindowMs) await this.writeState();
        });
      }
      // Offsets past the last record (transaction markers, aborted records) hold nothing to copy.
      if (!this.stopped()) this.st.next = Math.max(this.st.next, groupNext);
    })();
    group.catch(() => {});
    this.sending = group;
    await previous;
    await written;
  }

  /** Waits for the produce of every group; batches never sent are no longer named. */
  async settle(): Promise<unknown> {
    const r = await this.sending.then(
      () => undefined,
      (e: unknown) => e ?? new Error('mirror partition failed'),
    );
    const sent = (this.st.sent ?? []).filter((s) => this.wired.has(s));
    this.st.sent = sent.length ? sent : undefined;
    return r;
  }
}

export async function mirrorShard(source: ClusterSpec, target: ClusterSpec, pair: string, work: ShardWork, opts: MirrorShardOptions): Promise<ShardResult> {
  const { topic } = work;
  const settleMs = opts.settleMs ?? SETTLE_MS;
  const sendWindowMs = Math.min(opts.sendWindowMs ?? SEND_WINDOW_MS, settleMs);
  const maxBatchBytes = opts.maxBatchBytes ?? 900 * 1024;
  const minDirectBytes = Math.min(64 * 1024, maxBatchBytes / 4);
  const sk = kafkaFor(source, 'mirror');
  const tk = kafkaFor(target, 'mirror');
  // Stops reading at the deadline or when the caller aborts. At the deadline a batch in flight
  // finishes first; an abort gives it ABORT_GRACE_MS (it stays named: a next run finds it).
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  const timer = typeof opts.until === 'number' ? setTimeout(() => stop.abort(), Math.max(0, opts.until - Date.now())) : undefined;
  let endsTimer: NodeJS.Timeout | undefined;

  // Every wait below honours opts.signal (the target may be down: kafkajs's own connection attempts
  // are raced with it), so an aborted shard ends within seconds; what it named stays named.
  const signal = opts.signal;
  let src: WireClient;
  try {
    src = await WireClient.open(sk, [], signal);
  } catch (e) {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    throw e;
  }
  let tgt: WireClient | undefined;
  const lanes: WireClient[] = [];
  const logs = new Map<number, StateLog>();
  const fences = new Map<number, () => LifeboatError>();
  const writers = new Map<number, PartitionWriter>();
  const parts = new Map<number, PartitionState>();
  try {
    tgt = await WireClient.open(tk, [], signal);
    const have = await partitionsOn(tgt, topic, signal);
    const stateReady = (await partitionsOn(tgt, STATE_TOPIC, signal)) > 0;
    const missing = work.partitions.filter((p) => p >= have);
    if (missing.length || !stateReady) {
      throw new LifeboatError('InvalidInput', `the target ${target.name} has no ${!stateReady ? `mirror state topic ${STATE_TOPIC}` : `partition ${missing.join(', ')} of ${topic}`}: plan the mirror first (planMirror)`);
    }
    if ((await partitionsOn(src, topic, signal)) === 0) throw new LifeboatError('DataLost', `the source ${source.name} has no topic ${topic} any more: it was deleted while mirrored`, { topic });
    // Take each partition from any older run first (new epoch, claim), then read where it stands.
    const stateClient = tgt;
    const producers = new Map<number, { producerId: number; producerEpoch: number }>();
    await Promise.all(
      work.partitions.map(async (p) => {
        const producer = await stateClient.initProducerId(opts.signal, fenceId(pair, topic, p));
        const fenced = () =>
          new LifeboatError(
            'UnsafeTarget',
            `mirror "${pair}" ${topic}-${p}: a newer run of this partition took it over (producer epoch ${producer.producerEpoch} fenced by a newer one, e.g. a retried activity while this one still ran): this run stops without writing more`,
            { topic, partition: p },
          );
        fences.set(p, fenced);
        const log = new StateLog(stateClient, producer, fenced, signal);
        await log.claim(pair, topic, p);
        producers.set(p, producer);
        logs.set(p, log);
      }),
    );
    const state = await readState(tk, pair, signal);
    const srcLow = await abortable(src.listOffsets(topic, 'earliest'), signal);
    const srcEnd = await abortable(src.listOffsets(topic, 'committed'), signal);
    const srcHigh = await abortable(src.listOffsets(topic, 'end'), signal);
    const tgtLow = await abortable(tgt.listOffsets(topic, 'earliest'), signal);
    for (const p of work.partitions) {
      const low = srcLow.get(p);
      const tLow = tgtLow.get(p);
      if (low === undefined || tLow === undefined) throw new Error(`${topic}-${p} has no leader on the ${low === undefined ? 'source' : 'target'} yet`);
      let st = state.positions.get(stateKey(pair, topic, p));
      if (!st) {
        // The source's first record goes first; the target must hold nothing (checked below).
        st = { pair, topic, partition: p, next: low, targetNext: tLow, mode: 'identical', records: 0, bytes: 0, sourceEnd: srcEnd.get(p) ?? low, runs: [], segments: 0, at: 0 };
      }
      parts.set(p, st);
    }
    // Batches an earlier run named (killed, or still running and now fenced): where did they land?
    await Promise.all([...parts.values()].filter((st) => st.sent?.length).map((st) => resolveSent(tk, st, sendWindowMs + settleMs, opts.signal)));
    const tgtEnd = await abortable(tgt.listOffsets(topic, 'end'), signal);
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

    let reported = 0;
    const report = (force = false) => {
      if (!opts.onProgress || (!force && Date.now() - reported < 250)) return;
      reported = Date.now();
      opts.onProgress([...parts.values()].map(positionOf));
    };
    for (let i = 0; i < Math.max(1, Math.min(opts.lanes ?? 3, work.partitions.length)); i++) lanes.push(await WireClient.open(tk, [topic], signal));

    /** Produces one named batch, in order, and records where it landed. */
    const produce = async (w: PartitionWriter, out: Outgoing, sent: SentState, beforeSend: () => Promise<void>) => {
      const { st } = w;
      const p = st.partition;
      const lane = lanes[work.partitions.indexOf(p) % lanes.length]!;
      const base = await sendBatch(lane, topic, p, { batch: out.batch, runs: out.runs }, { kafka: tk, from: st.targetNext, producer: sent, baseSequence: sent.baseSequence, settleMs, signal: opts.signal, beforeSend, fenced: fences.get(p) });
      if (base !== st.targetNext) {
        // Someone else wrote in between (another producer on the target): say so loudly.
        const from = st.targetNext;
        land(st, sent, base);
        throw new LifeboatError('UnsafeTarget', `target ${topic}-${p}: offsets ${from}..${base - 1} were written by someone else while mirror "${pair}" copied (a producer on the target): stop that writer`);
      }
      land(st, sent, base);
      report();
    };
    for (const p of work.partitions) {
      writers.set(p, new PartitionWriter(parts.get(p)!, logs.get(p)!, producers.get(p)!, produce, sendWindowMs, () => stop.signal.aborted));
    }

    /** Hands the batches of one fetch answer (read_committed already applied) to the partition's writer, in order. */
    const copy = async (p: number, batches: Batch[], next: number) => {
      const w = writers.get(p)!;
      const outs: Outgoing[] = [];
      let pending: RawRecord[] = [];
      let pendingBytes = 0;
      const flush = () => {
        if (!pending.length) return;
        const recs = pending;
        pending = [];
        pendingBytes = 0;
        const last = recs[recs.length - 1]!;
        outs.push({ batch: encodeBatch(recs), runs: runsFor(recs.map((r) => r.offset), 0), records: recs.length, lastTimestamp: Math.max(...recs.map((r) => r.timestamp)), next: last.offset + 1 });
      };
      for (const b of batches) {
        if (stop.signal.aborted) return; // the position stays after the last batch in
        if (lastOffsetOf(b) < w.cursor) continue;
        const whole = isContiguous(b) && !isLogAppendTime(b) && b.baseOffset >= w.cursor && b.bytes.length <= maxBatchBytes;
        if (whole && (b.bytes.length >= minDirectBytes || !canDecode(b))) {
          flush();
          outs.push({ batch: b.bytes, runs: [[b.baseOffset, 0, b.count]], records: b.count, lastTimestamp: b.maxTimestamp, next: lastOffsetOf(b) + 1 });
          continue;
        }
        if (!canDecode(b)) {
          throw new LifeboatError('InvalidInput', `${topic}-${p}: the source batch at offset ${b.baseOffset} must be re-batched (compaction gaps or LogAppendTime) but is compressed with a codec Lifeboat cannot decode (lz4, snappy)`);
        }
        for (const r of await batchRecords(b, `${topic}-${p}`)) {
          if (r.offset < w.cursor) continue;
          const size = r.body.length + 24;
          if (pending.length && pendingBytes + size > maxBatchBytes) flush();
          pending.push(r);
          pendingBytes += size;
        }
      }
      flush();
      if (stop.signal.aborted) return;
      await w.submit(outs, next);
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
    /** Waits until every partition's groups are in (or failed); throws the first failure. */
    const drain = async () => {
      const settled = await Promise.allSettled([...chains.values()]);
      chains.clear();
      const copyFailure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      const failures = (await Promise.all([...writers.values()].map((w) => w.settle()))).filter((e) => e !== undefined);
      if (copyFailure) throw copyFailure.reason;
      if (failures.length) throw failures[0];
    };
    const goal = opts.until === 'caught-up' ? new Map(srcEnd) : undefined;
    if (!goal) {
      // Until a deadline the shard tails the source (a fetch answers as soon as records arrive):
      // the source's ends, for lag, come from a look every second.
      endsTimer = setInterval(() => {
        src.listOffsets(topic, 'committed').then(
          (e) => {
            for (const [p, st] of parts) st.sourceEnd = Math.max(e.get(p) ?? st.sourceEnd, st.next);
            report(true);
          },
          () => src.refresh().catch(() => {}),
        );
      }, 1000);
    }
    for (;;) {
      let ends: Map<number, number>;
      try {
        ends = await abortable(src.listOffsets(topic, 'committed'), stop.signal);
      } catch (e) {
        if (stop.signal.aborted) break;
        await abortable(src.refresh(), stop.signal).catch(() => {});
        await sleep(500, stop.signal).catch(() => {});
        if (stop.signal.aborted) break;
        if ((e as Error).name === 'DataLost') throw e;
        continue;
      }
      const ranges = new Map<number, Range>();
      for (const [p, st] of parts) {
        const w = writers.get(p)!;
        st.sourceEnd = Math.max(ends.get(p) ?? st.sourceEnd, st.next);
        const to = goal ? goal.get(p)! : Number.MAX_SAFE_INTEGER;
        if (w.cursor < to) ranges.set(p, { from: w.cursor, to });
      }
      if (ranges.size === 0) {
        await drain();
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
          // A tail waits for records as long as it runs (an open source transaction shows as lag).
          ...(goal ? {} : { stallMs: Number.POSITIVE_INFINITY }),
          onLost: (p, r) => {
            throw dataLost(source, topic, p, r, 'deleted (retention or deleteRecords)');
          },
        });
      } catch (e) {
        failure = e;
      }
      if (failure || stop.signal.aborted) await drain();
      if (failure && !(stop.signal.aborted && !(failure instanceof LifeboatError))) throw failure;
      if (stop.signal.aborted) break;
    }
    await drain();
    const caughtUp = [...parts.values()].every((st) => st.next >= (goal?.get(st.partition) ?? st.sourceEnd));
    // Stopped by the caller: the positions are written below (finally); a next run resumes there.
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('mirror stopped');
    return { positions: [...parts.values()].map(positionOf), caughtUp };
  } finally {
    if (timer) clearTimeout(timer);
    if (endsTimer) clearInterval(endsTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    // Where each partition stands (and batches still unanswered) for the next run, whatever happened.
    stop.abort();
    await Promise.all([...writers.values()].map((w) => w.settle()));
    await Promise.all([...parts.values()].map((st) => logs.get(st.partition)?.write(st))).catch(() => {});
    if (parts.size) opts.onProgress?.([...parts.values()].map(positionOf));
    await src.close();
    await tgt?.close();
    await Promise.all(lanes.map((l) => l.close()));
  }
}

/** Partitions of a topic (0 when it does not exist: metadata for a missing topic fails). */
async function partitionsOn(client: WireClient, topic: string, signal?: AbortSignal): Promise<number> {
  try {
    await abortable(client.addTopics([topic]), signal);
    return client.partitionCount(topic);
  } catch (e) {
    if ((e as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return 0;
    throw e;
  }
}

/** How long after a state write that names a batch a run may still send it, by default. */
const SEND_WINDOW_MS = 5000;

/**
 * A stopped (or cancelled) mirror's positions as they stand on the target: the batches a position
 * names as sent without an answer are looked for there and landed in memory (next, targetNext and
 * the offset map's runs), as the mirror's next run would; nothing is written. A failover reads the
 * positions this way, since the mirror it stopped may not have recorded where its last batches went.
 */
export async function settlePositions(target: Kafka, positions: Iterable<PartitionState>, signal?: AbortSignal): Promise<void> {
  await Promise.all([...positions].filter((st) => st.sent?.length).map((st) => resolveSent(target, st, SEND_WINDOW_MS + SETTLE_MS, signal)));
}

/**
 * After a kill, or with an older run fenced: where the batches the position names landed, if they
 * did. They land in order, so the first one not found ends the search; only a look `waitMs` after
 * the position was written is conclusive (see the file comment).
 */
async function resolveSent(kafka: Kafka, st: PartitionState, waitMs: number, signal?: AbortSignal): Promise<void> {
  const named = st.sent ?? [];
  const look = async () => {
    const found = new Map<string, number>();
    await searchTarget(
      kafka,
      st.topic,
      new Map([[st.partition, st.targetNext]]),
      (_, b) => {
        found.set(sentKey(b), b.baseOffset);
      },
      signal,
    );
    return found;
  };
  let found = await look();
  const wait = st.at + waitMs - Date.now();
  if (!named.every((s) => found.has(sentKey(s))) && wait > 0) {
    await sleep(wait, signal);
    found = await look();
  }
  for (const s of named) {
    const base = found.get(sentKey(s));
    if (base === undefined) break;
    land(st, s, base);
  }
  st.sent = undefined;
}
