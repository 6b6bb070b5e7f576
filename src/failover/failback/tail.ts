/**
 * The divergent tail: records the old primary holds past the forward mirror's position (written
 * there after the last copy and never mirrored), exported to a quarantine topic on the standby
 * (`lifeboat.quarantine.<primary>.<topic>`, the same partition count, partition p for partition p)
 * and counted exactly, never dropped.
 *
 * Each record keeps its key, value, headers and timestamp, and gets four headers saying where it
 * was (lifeboat.original.topic/partition/offset/timestamp). Records are read read_committed (as a
 * consumer sees them: transaction markers and aborted records are not data).
 *
 * Exactly once across kills: each topic is written by a transactional producer whose id is fixed
 * (lifeboat-quarantine/<primary>/<topic>), one transaction per fetch answer. A new run's producer
 * fences the old one and aborts its open transaction, then resumes after the last committed
 * record's lifeboat.original.offset: nothing is written twice, nothing skipped.
 */
import { type Admin, type IHeaders, type Kafka, type Producer } from 'kafkajs';
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { poll, throwIfAborted } from '../../core/poll';
import { describeTopics, reachableKafka, retryTransient, withAdmin } from '../../kafka/admin';
import { mirrorPair } from '../../kafka/mirrorRun.pure';
import { type MirrorState, readState, runsOf, stateKey } from '../../kafka/mirror/state';
import { WireClient } from '../../kafka/wire/client';
import { type Range, readBatches } from '../../kafka/wire/readBatches';
import { batchRecords, decodeBody, type RawRecord } from '../../kafka/wire/recordBatch';
import { forwardPartitions, type ForwardPartition } from '../../kafka/mirror/settled';
import { ORIGINAL_HEADERS, quarantineTopic, type TailPartition } from './run.pure';

export interface TailOptions {
  topics?: string[];
  dryRun?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, subject: string) => void;
}

type Offsets = Map<number, number>;

async function offsets(kafka: Kafka, topic: string): Promise<{ low: Offsets; stable: Offsets; high: Offsets }> {
  const c = await WireClient.open(kafka, [topic]);
  try {
    return { low: await c.listOffsets(topic, 'earliest'), stable: await c.listOffsets(topic, 'committed'), high: await c.listOffsets(topic, 'end') };
  } finally {
    await c.close();
  }
}

/** Reads the committed data records of [from, to) of one partition, in offset order, a fetch answer at a time. */
async function eachRecords(kafka: Kafka, topic: string, partition: number, range: Range, fn: (records: RawRecord[]) => Promise<void>, signal?: AbortSignal): Promise<Range | undefined> {
  let lost: Range | undefined;
  await readBatches(
    kafka,
    topic,
    new Map([[partition, range]]),
    async (_p, batches) => {
      const recs: RawRecord[] = [];
      for (const b of batches) for (const r of await batchRecords(b, `${topic}-${partition}`)) if (r.offset >= range.from && r.offset < range.to) recs.push(r);
      if (recs.length) await fn(recs);
    },
    {
      readCommitted: true,
      ...(signal ? { signal } : {}),
      onLost: (_p, l) => {
        lost = { from: lost?.from ?? l.from, to: l.to };
      },
    },
  );
  return lost;
}

const headerText = (v: Buffer | null | undefined): string | undefined => (v ? v.toString('utf8') : undefined);

/** The original offsets of the quarantined records of `topic` in a quarantine partition (read whole, read_committed). */
async function quarantinedOffsets(kafka: Kafka, qtopic: string, partition: number, topic: string, signal?: AbortSignal): Promise<number[]> {
  const { low, stable } = await offsets(kafka, qtopic);
  const out: number[] = [];
  await eachRecords(
    kafka,
    qtopic,
    partition,
    { from: low.get(partition) ?? 0, to: stable.get(partition) ?? 0 },
    async (recs) => {
      for (const r of recs) {
        const h = decodeBody(r.body).headers;
        if (headerText(h.find((x) => x.key === ORIGINAL_HEADERS.topic)?.value) !== topic) continue;
        const o = Number(headerText(h.find((x) => x.key === ORIGINAL_HEADERS.offset)?.value));
        if (Number.isInteger(o)) out.push(o);
      }
    },
    signal,
  );
  return out;
}

/** Creates the quarantine topic (or checks it): the primary topic's partition count, kept forever. */
async function ensureQuarantineTopic(admin: Admin, qtopic: string, partitions: number, standby: string): Promise<void> {
  const existing = await retryTransient(() => admin.listTopics());
  if (existing.includes(qtopic)) {
    const have = (await retryTransient(() => describeTopics(admin, [qtopic], { cluster: standby, listed: true })))[0]!.partitions.length;
    if (have < partitions) await retryTransient(() => admin.createPartitions({ topicPartitions: [{ topic: qtopic, count: partitions }] }));
    else if (have > partitions) throw new LifeboatError('UnsafeTarget', `quarantine topic ${qtopic} on ${standby} has ${have} partitions, the primary's topic ${partitions}: partition p must hold partition p's records; rename that topic first`);
    return;
  }
  const brokers = (await retryTransient(() => admin.describeCluster())).brokers.length;
  const rf = Math.min(3, brokers);
  await admin
    .createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: qtopic,
          numPartitions: partitions,
          replicationFactor: rf,
          configEntries: [
            // Quarantined records are kept until an operator decides: never deleted by time or size.
            { name: 'retention.ms', value: '-1' },
            { name: 'retention.bytes', value: '-1' },
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'message.timestamp.type', value: 'CreateTime' },
            { name: 'min.insync.replicas', value: String(Math.min(2, rf)) },
          ],
        },
      ],
    })
    .catch((e: unknown) => {
      if (!/already exists/i.test((e as Error).message)) throw e;
    });
}

function headersOf(r: RawRecord, topic: string, partition: number): { key: Buffer | null; value: Buffer | null; headers: IHeaders } {
  const body = decodeBody(r.body);
  const headers: IHeaders = {};
  for (const h of body.headers) {
    const v = (h.value ?? null) as unknown as Buffer;
    const had = headers[h.key];
    headers[h.key] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  headers[ORIGINAL_HEADERS.topic] = topic;
  headers[ORIGINAL_HEADERS.partition] = String(partition);
  headers[ORIGINAL_HEADERS.offset] = String(r.offset);
  headers[ORIGINAL_HEADERS.timestamp] = String(r.timestamp);
  return { key: body.key, value: body.value, headers };
}

/**
 * Where the divergent tail ends on the primary: its end, unless an earlier failback's reverse mirror
 * (seed.ts) already appended the standby's records after the tail — then where those start (the
 * first run of the reverse map past the forward mirror's records, or the reverse position's target
 * end when it has copied nothing yet). A reverse position that does not reach the primary's end is
 * an older cycle's, replaced by the seed: the end is the primary's.
 */
export function tailEnd(reverse: MirrorState | undefined, pair: string, f: ForwardPartition, high: number): number {
  const have = reverse?.positions.get(stateKey(pair, f.topic, f.partition));
  if (!have || have.targetNext + (have.sent ?? []).reduce((n, x) => n + x.records, 0) < high) return high;
  const copied = runsOf(reverse!, have).find((r) => r[0] >= f.targetNext);
  return Math.min(high, copied ? copied[1] : have.targetNext);
}

/**
 * Counts the tail of every mirrored partition and (unless dryRun) quarantines it. Refuses while a
 * transaction is open on the primary's topics (its records could still commit after the export).
 */
export async function quarantineTail(primary: ClusterSpec, standby: ClusterSpec, opts: TailOptions = {}): Promise<TailPartition[]> {
  const fwd = await forwardPartitions(primary, standby, { topics: opts.topics, signal: opts.signal });
  const pk = await reachableKafka(primary, 'failback-tail');
  const sk = await reachableKafka(standby, 'failback-tail');
  // A failback run before this one may have seeded the reverse mirror, which may have copied since.
  const revPair = mirrorPair(standby.name, primary.name);
  const reverse = await readState(pk, revPair, opts.signal).catch(() => undefined);
  const byTopic = new Map<string, ForwardPartition[]>();
  for (const f of fwd) byTopic.set(f.topic, [...(byTopic.get(f.topic) ?? []), f]);
  const out: TailPartition[] = [];
  let done = 0;
  for (const [topic, parts] of byTopic) {
    throwIfAborted(opts.signal);
    const qtopic = quarantineTopic(primary.name, topic);
    const on = await offsets(pk, topic).catch((e: unknown) => {
      throw new LifeboatError('DataLost', `topic ${topic} cannot be read on ${primary.name} (${(e as Error).message.split('\n')[0]}): was it deleted? its divergent tail cannot be exported`, { topic });
    });
    const open = parts.filter((f) => (on.stable.get(f.partition) ?? 0) < (on.high.get(f.partition) ?? 0));
    if (open.length) {
      throw new LifeboatError('UnsafeTarget', `transactions are still open on ${primary.name} in ${open.map((f) => `${topic}-${f.partition}`).join(', ')}: their records could still commit after the export; wait for them to end (transaction.timeout.ms) and run the failback again`);
    }
    const tails: { f: ForwardPartition; range: Range; records: number; lost?: Range }[] = [];
    for (const f of parts) {
      const high = on.high.get(f.partition);
      const to = high === undefined ? undefined : tailEnd(reverse, revPair, f, high);
      if (to === undefined) throw new LifeboatError('DataLost', `${topic}-${f.partition} is not on ${primary.name} any more (fewer partitions?): its divergent tail cannot be exported`, { topic, partition: f.partition });
      if (to < f.next) {
        throw new LifeboatError('UnsafeTarget', `${topic}-${f.partition} on ${primary.name} ends at ${to}, before the mirror's position ${f.next}: the topic was recreated or truncated after the failover; the tail cannot be told apart`, { topic, partition: f.partition });
      }
      const range = { from: f.next, to };
      let records = 0;
      const lost = await eachRecords(pk, topic, f.partition, range, async (recs) => void (records += recs.length), opts.signal);
      tails.push({ f, range, records, ...(lost ? { lost } : {}) });
    }
    if (opts.dryRun || tails.every((t) => t.records === 0)) {
      // Nothing to write (a dry run, or no record past the mirror's position): no quarantine topic either.
      for (const t of tails) {
        out.push({ topic, partition: t.f.partition, from: t.range.from, to: t.range.to, records: t.records, quarantined: 0, writtenNow: 0, quarantineTopic: qtopic, ...(t.lost ? { lost: t.lost } : {}) });
        opts.onProgress?.(++done, fwd.length, `${topic}-${t.f.partition}`);
      }
      continue;
    }
    const partitions = (await withAdmin(pk, primary.name, (a) => retryTransient(() => describeTopics(a, [topic], { cluster: primary.name }))))[0]!.partitions.length;
    await withAdmin(sk, standby.name, (a) => ensureQuarantineTopic(a, qtopic, partitions, standby.name));
    const producer: Producer = sk.producer({ transactionalId: `lifeboat-quarantine/${primary.name}/${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      // Fences an earlier run's producer and aborts its open transaction (InitProducerId).
      const first = await producer.transaction();
      await first.abort();
      /**
       * Waits until no transaction is open on a quarantine partition: the markers of an aborted or
       * committed one are written after EndTxn answers, and the stable offset follows them.
       */
      const settled = (p: number) =>
        poll(
          async () => {
            const q = await offsets(sk, qtopic);
            return (q.stable.get(p) ?? 0) >= (q.high.get(p) ?? 0);
          },
          { what: `open transactions on ${qtopic}-${p} to end`, timeoutMs: 120_000, intervalMs: 100, ...(opts.signal ? { signal: opts.signal } : {}) },
        );
      for (const t of tails) {
        const p = t.f.partition;
        let writtenNow = 0;
        if (t.records > 0) {
          await settled(p);
          const have = (await quarantinedOffsets(sk, qtopic, p, topic, opts.signal)).filter((o) => o >= t.range.from && o < t.range.to);
          const start = have.length ? Math.max(...have) + 1 : t.range.from;
          if (start < t.range.to) {
            await eachRecords(
              pk,
              topic,
              p,
              { from: start, to: t.range.to },
              async (recs) => {
                const tx = await producer.transaction();
                try {
                  await tx.send({ topic: qtopic, acks: -1, messages: recs.map((r) => ({ partition: p, timestamp: String(r.timestamp), ...headersOf(r, topic, p) })) });
                  await tx.commit();
                } catch (e) {
                  await tx.abort().catch(() => undefined);
                  throw e;
                }
                writtenNow += recs.length;
              },
              opts.signal,
            );
          }
        }
        if (t.records > 0) await settled(p);
        const quarantined = t.records > 0 ? (await quarantinedOffsets(sk, qtopic, p, topic, opts.signal)).filter((o) => o >= t.range.from && o < t.range.to).length : 0;
        out.push({ topic, partition: p, from: t.range.from, to: t.range.to, records: t.records, quarantined, writtenNow, quarantineTopic: qtopic, ...(t.lost ? { lost: t.lost } : {}) });
        opts.onProgress?.(++done, fwd.length, `${topic}-${p}`);
      }
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }
  return out;
}
