/**
 * The lost-answer machinery shared by topic restore and the mirror: a record batch produced under an
 * idempotent producer id is known in the target by its producer id, epoch and first sequence number,
 * so a batch whose answer was lost (connection cut, broker restarted, replicas not confirmed, the
 * sending process killed) is looked for in the target before it is sent again. (Sending it again
 * under its producer id and sequence is not safe on its own: a broker that dropped that producer's
 * state -- it expires by the records' own, old timestamps, and on restart -- accepts any sequence and
 * would write it twice.)
 */
import type { Kafka } from 'kafkajs';
import { LifeboatError } from '../errors';
import { WireClient, abortable, protocolError } from './wire/client';
import { WireConnectionError } from './wire/connection';
import { readBatches } from './wire/readBatches';
import type { Batch } from './wire/recordBatch';
import type { Run } from './offsetMap';
import { isAbort, sleep, throwIfAborted } from '../core/poll';

/**
 * How long a request already on its way may still be answered after the caller aborted (a broker
 * that is up answers in milliseconds; one that is down does not get longer to stop an abort).
 */
export const ABORT_GRACE_MS = 1000;

/** A transient failure inside a retry loop: the broker may answer after a pause. */
export class TryAgain extends Error {}

/** A batch of this restore's is known by its producer id, epoch and first sequence number. */
export const sentKey = (b: { producerId: number; producerEpoch: number; baseSequence: number }) => `${b.producerId}:${b.producerEpoch}:${b.baseSequence}`;

/**
 * Calls `onBatch` with every batch the target holds from these offsets on, per partition, up to
 * its high watermark now (not the last stable offset: another producer's open transaction must
 * not hide this restore's batches).
 */
export async function searchTarget(kafka: Kafka, target: string, from: Map<number, number>, onBatch: (partition: number, b: Batch) => Promise<void> | void, signal?: AbortSignal): Promise<void> {
  const client = await WireClient.open(kafka, [target], signal);
  let ends: Map<number, number>;
  try {
    ends = await abortable(client.listOffsets(target, 'end'), signal);
  } finally {
    await client.close();
  }
  const ranges = new Map<number, { from: number; to: number }>();
  for (const [p, f] of from) {
    const to = ends.get(p);
    if (to === undefined) throw new TryAgain(`${target}-${p} has no leader`);
    ranges.set(p, { from: f, to });
  }
  await abortable(
    readBatches(
      kafka,
      target,
      ranges,
      async (partition, batches) => {
        if (signal?.aborted) return;
        for (const b of batches) await onBatch(partition, b);
      },
      { readCommitted: false, ...(signal ? { signal } : {}) },
    ),
    signal,
  );
}

/** How long a batch sent without an answer may still land: replica.lag.time.max.ms (30 s by default) and a margin. */
export const SETTLE_MS = 35_000;
/** Refused before anything was written: sent again at once. */
const NOT_WRITTEN = new Set([3, 5, 9, 19]); // unknown partition, leader or replica not available, not enough replicas
/**
 * May have been written: the request timed out waiting for replicas or the ISR shrank after the
 * append, or leadership moved (or the log dir failed) while the leader awaited its replicas.
 */
const UNCONFIRMED = new Set([6, 7, 20, 56]);
export const CONNECTION_ERRORS = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSBrokerNotFound', 'KafkaJSRequestTimeoutError', 'KafkaJSLockTimeout', 'WireConnectionError']);

/** Where and how a partition's batch is looked for in the target after its answer was lost. */
export interface LostAnswerSearch {
  kafka: Kafka;
  /** No batch of this one's can be in the target below this offset. */
  from: number;
  producer: { producerId: number; producerEpoch: number };
  baseSequence: number;
  settleMs: number;
  signal?: AbortSignal;
  /**
   * Called before every attempt to put the batch on the wire (the mirror re-asserts there that no
   * newer run took the partition, and that the batch is still named recently enough).
   */
  beforeSend?: () => Promise<void>;
  /** The error for INVALID_PRODUCER_EPOCH / PRODUCER_FENCED, where a newer producer epoch is expected (the mirror's fence). */
  fenced?: () => Error;
}

/**
 * Sends one batch to its partition's leader until it is written; returns its base offset.
 *
 * When the outcome of a send is unknown (the connection failed with the request on it, or the
 * leader may have written the batch without confirming it), the batch is looked for in the target
 * by its producer id, epoch and sequence before it is sent again: resending under the same
 * sequence is only safe while the broker still holds this producer's state, and brokers drop it
 * by the records' own timestamps (at once for old data) and on restart. Not found, it may still
 * await its replicas or sit in a queue of a broker that was unreachable: only a look begun
 * `settleMs` after the target first answered one (see catchUp) is conclusive; then it is resent.
 */
export async function sendBatch(lane: WireClient, target: string, partition: number, { batch, from, runs }: { batch: Buffer; from?: string; runs: Run[] }, search: LostAnswerSearch): Promise<number> {
  const t0 = Date.now();
  let unconfirmed: { firstLook?: number } | undefined;
  const key = sentKey({ ...search.producer, baseSequence: search.baseSequence });
  const look = async (): Promise<number | undefined> => {
    let found: number | undefined;
    try {
      await searchTarget(
        search.kafka,
        target,
        new Map([[partition, search.from]]),
        (_, b) => {
          if (sentKey(b) === key) found = b.baseOffset;
        },
        search.signal,
      );
    } catch (e) {
      if (e instanceof LifeboatError || isAbort(e, search.signal)) throw e;
      // The target is not readable yet (a broker restarting): look again after the pause.
      throw new TryAgain(`looking for a batch whose answer was lost: ${(e as Error).message}`);
    }
    return found;
  };
  for (let attempt = 1; ; attempt++) {
    // Aborted: the batch stays as it is (named, in flight or not sent); a later run finds it or sends it.
    throwIfAborted(search.signal);
    let why: string;
    try {
      if (unconfirmed) {
        const started = Date.now();
        const found = await look();
        if (found !== undefined) return found;
        unconfirmed.firstLook ??= started;
        const conclusiveAt = unconfirmed.firstLook + search.settleMs;
        if (started < conclusiveAt) {
          await sleep(conclusiveAt - Date.now(), search.signal);
          await abortable(lane.refresh(), search.signal).catch(() => {}); // the resend goes to the leader of now
          continue;
        }
        unconfirmed = undefined; // not written, and it can no longer be: send it again
      }
      const leader = lane.leaders(target).get(partition);
      if (leader === undefined) throw new TryAgain('no leader');
      await search.beforeSend?.();
      const [r] = await abortable(lane.produce(leader, target, [{ partition, batch }]), search.signal, ABORT_GRACE_MS);
      if (!r) throw new Error(`no produce answer for ${target}-${partition}`);
      if (r.errorCode === 0) return r.baseOffset;
      const e = protocolError(r.errorCode);
      if (r.errorCode === 10 || r.errorCode === 18) {
        throw new LifeboatError('InvalidInput', `${target}-${partition} refused a ${batch.length}-byte batch (${e.type}): raise the target topic's max.message.bytes`);
      }
      if (r.errorCode === 32) {
        throw new LifeboatError('InvalidInput', `${target}-${partition} refused the original timestamps (${e.type}): remove message.timestamp.difference.max.ms / before.max.ms from the target topic while restoring`);
      }
      if (r.errorCode === 87) {
        throw new LifeboatError('InvalidInput', `${target}-${partition} refused a record (${e.type}), e.g. a null key on a compacted topic: check the target topic's cleanup.policy against the source's`);
      }
      if (r.errorCode === 2) {
        // A stored batch keeps its CRC when restamped (a wrong one stays wrong); a re-built one gets a new CRC.
        if (from) throw new LifeboatError('CorruptBackup', `${target}-${partition} refused the stored batch from offset ${runs[0]?.[0]} (${from}) as corrupt (${e.type}): its records do not match their CRC-32C; check the repository (lifeboat repo check --read-data)`);
        throw new Error(`${target}-${partition} refused a batch Lifeboat re-built as corrupt (${e.type}): this is a bug in Lifeboat, please report it`);
      }
      if (r.errorCode === 29) throw new LifeboatError('InvalidInput', `not allowed to write to ${target} (${e.type}): grant the restore's principal Write on the topic`);
      if ((r.errorCode === 47 || r.errorCode === 90) && search.fenced) throw search.fenced();
      if (r.errorCode === 59 || r.errorCode === 47) {
        throw new Error(`${target}-${partition}: the broker lost this restore's producer state (${e.type}); run it again: it resumes where it stopped, without duplicates`);
      }
      if (UNCONFIRMED.has(r.errorCode)) unconfirmed = {};
      else if (!NOT_WRITTEN.has(r.errorCode)) throw new Error(`producing to ${target}-${partition}: ${e.message} (${e.type})`);
      why = e.type;
    } catch (e) {
      if (!(e instanceof TryAgain) && !CONNECTION_ERRORS.has((e as Error).name)) throw e;
      if (e instanceof WireConnectionError && e.inFlight) unconfirmed = {};
      why = (e as Error).message;
    }
    // The offset map holds the batch as sent: a later run finds it in the target, or sends it.
    if (Date.now() - t0 > 180_000) throw new Error(`producing to ${target}-${partition}: still failing after ${Math.round((Date.now() - t0) / 1000)} s (${why})`);
    await sleep(Math.min(200 * attempt, 2000), search.signal);
    await abortable(lane.refresh(), search.signal).catch(() => {});
  }
}
