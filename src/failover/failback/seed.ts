/**
 * The reverse mirror's starting point (standby → primary) on the old primary's existing log.
 *
 * The old primary already holds every record the forward mirror copied to the standby (at their
 * original offsets) plus its divergent tail; the standby holds those copies plus what the clients
 * wrote there since. Copying the standby from its first offset would put every record on the
 * primary twice. Instead the reverse pair gets a position written into the mirror's state topic on
 * the primary (`__lifeboat_mirror`, pair `mirrorPair(standby, primary)`) before the mirror starts:
 *
 *   next        = where the forward mirror's records end on the standby (its targetNext): the
 *                 clients' records are copied from here;
 *   targetNext  = the primary's end (after the divergent tail): they land from here;
 *   runs        = the forward offset map inverted (standby offset → original primary offset), in
 *                 segments, so a group's standby offset anywhere translates exactly ('mapped').
 *
 * The mirror then starts as if it had copied the prefix itself: planMirror accepts the non-empty
 * target topic (a position names its records), the shard resumes at `next` and checks the target
 * ends at `targetNext`, groups and verification translate through the whole map (the tail's offsets
 * [mirrored, end) on the primary are in no run: they are not the standby's records).
 *
 * Idempotent: a partition whose reverse position already covers the primary's end (a seed written
 * before, or a reverse mirror that has copied since) is kept; an older one (an earlier failback,
 * the primary written since) is replaced.
 */
import type { Kafka } from 'kafkajs';
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { reachableKafka, retryTransient, withAdmin } from '../../kafka/admin';
import { mirrorPair } from '../../kafka/mirrorRun.pure';
import { type PartitionState, STATE_TOPIC, ensureStateTopic, readState, stateKey } from '../../kafka/mirror/state';
import type { Run } from '../../kafka/offsetMap';
import { WireClient } from '../../kafka/wire/client';
import { forwardPartitions } from '../../kafka/mirror/settled';
import type { SeedPartition } from './run.pure';

/** Runs per segment record (each ~30 bytes of JSON: far below a record's size limit). */
const SEGMENT_RUNS = 2000;

/** [source, target, count] → [target, source, count], sorted by the new source (the standby's offsets). */
export function invertRuns(runs: Run[]): Run[] {
  return runs.map(([s, t, c]) => [t, s, c] as Run).sort((a, b) => a[0] - b[0]);
}

async function ends(kafka: Kafka, topic: string): Promise<{ stable: Map<number, number>; high: Map<number, number> }> {
  const c = await WireClient.open(kafka, [topic]);
  try {
    return { stable: await c.listOffsets(topic, 'committed'), high: await c.listOffsets(topic, 'end') };
  } finally {
    await c.close();
  }
}

export async function seedReverseMirror(primary: ClusterSpec, standby: ClusterSpec, opts: { topics?: string[]; dryRun?: boolean; signal?: AbortSignal } = {}): Promise<SeedPartition[]> {
  const fwd = await forwardPartitions(primary, standby, { topics: opts.topics, signal: opts.signal });
  const pair = mirrorPair(standby.name, primary.name);
  const pk = await reachableKafka(primary, 'failback-seed');
  if (!opts.dryRun) await withAdmin(pk, primary.name, (a) => ensureStateTopic(a));
  const reverse = await readState(pk, pair, opts.signal).catch((e: unknown) => {
    if (opts.dryRun) return undefined; // no state topic on the primary yet
    throw e;
  });
  const out: SeedPartition[] = [];
  const records: { key: string; value: string }[] = [];
  const topicEnds = new Map<string, Awaited<ReturnType<typeof ends>>>();
  for (const f of fwd) {
    if (!topicEnds.has(f.topic)) topicEnds.set(f.topic, await ends(pk, f.topic));
    const e = topicEnds.get(f.topic)!;
    const end = e.high.get(f.partition);
    if (end === undefined) throw new LifeboatError('DataLost', `${f.topic}-${f.partition} is not on ${primary.name} any more: the reverse mirror has nowhere to write`, { topic: f.topic, partition: f.partition });
    if ((e.stable.get(f.partition) ?? end) < end) throw new LifeboatError('UnsafeTarget', `a transaction is still open on ${primary.name} in ${f.topic}-${f.partition}: wait for it to end, then run the failback again`);
    const runs = invertRuns(f.runs);
    const have = reverse?.positions.get(stateKey(pair, f.topic, f.partition));
    const covers = have && have.targetNext + (have.sent ?? []).reduce((n, s) => n + s.records, 0) >= end;
    if (covers) {
      out.push({ topic: f.topic, partition: f.partition, standbyFrom: have.next, primaryFrom: have.targetNext, mappedRuns: runs.length, action: 'kept' });
      continue;
    }
    out.push({ topic: f.topic, partition: f.partition, standbyFrom: f.targetNext, primaryFrom: end, mappedRuns: runs.length, action: opts.dryRun ? 'would-seed' : 'seeded' });
    const segments: Run[][] = [];
    for (let i = 0; i < runs.length; i += SEGMENT_RUNS) segments.push(runs.slice(i, i + SEGMENT_RUNS));
    segments.forEach((seg, i) => records.push({ key: `${stateKey(pair, f.topic, f.partition)}/seg/${i}`, value: JSON.stringify({ runs: seg }) }));
    const position: PartitionState = {
      pair,
      topic: f.topic,
      partition: f.partition,
      next: f.targetNext,
      targetNext: end,
      mode: 'mapped',
      records: 0,
      bytes: 0,
      sourceEnd: f.targetNext,
      runs: [],
      segments: segments.length,
      at: Date.now(),
    };
    records.push({ key: stateKey(pair, f.topic, f.partition), value: JSON.stringify(position) });
  }
  if (!opts.dryRun && records.length) {
    // Segments before their position (one send, in order): a position never names a segment not written.
    const producer = pk.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await retryTransient(() => producer.send({ topic: STATE_TOPIC, acks: -1, messages: records.map((r) => ({ partition: 0, key: r.key, value: r.value })) }));
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }
  return out;
}
