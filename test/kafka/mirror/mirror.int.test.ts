/**
 * The mirror engine against the real lab: the ZooKeeper-mode 3.9 primary mirrored into the KRaft
 * 4.1 cluster "next" (the migration direction). Topics and their configs on the target, refusals of
 * a target that is not the mirror's, identical offsets where the partition allows it and an exact
 * offset map where transactions leave gaps (aborted records and markers never copied), the state
 * on the target, source data lost before it was copied, a deadline and an abort.
 */
import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../../src/kafka/client';
import { STATE_TOPIC, mirrorPositions, mirrorShard, mirroredOffsets, planMirror, translateMirroredOffset } from '../../../src/kafka/mirror';
import { readState } from '../../../src/kafka/mirror/state';
import { LifeboatError } from '../../../src/errors';
import { nextSpec, primarySpec, standbySpec, unique } from '../../support/lab';
import { createTopicsReady } from '../../support/kafka';
import { content, produceNumbered, readTopic, seqs } from './mirrorSupport';

const primary = kafkaFor(primarySpec(), 'test-mirror-src');
const next = kafkaFor(nextSpec(), 'test-mirror-dst');
const standby = kafkaFor(standbySpec(), 'test-mirror-dst2');
const pair = unique('pair');
const plain = unique('mir-plain');
const txn = unique('mir-txn');
const lost = unique('mir-lost');
const foreign = unique('mir-foreign');
const wider = unique('mir-wider');
const compacted = unique('mir-compacted');
const appendTime = unique('mir-append');
const created: [Kafka, string][] = [];

afterAll(async () => {
  for (const [k, t] of created) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [t] }).catch(() => {});
    await admin.disconnect();
  }
});

async function sourceTopic(topic: string, partitions: number, configEntries: { name: string; value: string }[] = []) {
  created.push([primary, topic], [next, topic]);
  await createTopicsReady(primarySpec(), [{ topic, numPartitions: partitions, replicationFactor: 3, configEntries }], { kafka: primary });
}

async function configsOf(kafka: Kafka, topic: string): Promise<Record<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  const r = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
  await admin.disconnect();
  return Object.fromEntries(r.resources[0]!.configEntries.filter((e) => (e as { configSource?: number }).configSource === 1).map((e) => [e.configName, e.configValue]));
}

/** Every source record once, in order, same content, and each source offset translated to its record on the target. */
async function expectMirrored(topic: string, identical: boolean, into = { kafka: next, spec: nextSpec(), pair }) {
  const src = await readTopic(primary, topic);
  const dst = await readTopic(into.kafka, topic);
  const translate = await mirroredOffsets(into.spec, into.pair);
  for (const [p, recs] of src) {
    const got = dst.get(p)!;
    expect(seqs(got)).toEqual(seqs(recs));
    expect(got.map(content)).toEqual(recs.map(content));
    if (identical) expect(got.map((r) => r.offset)).toEqual(recs.map((r) => r.offset));
    expect(recs.map((r) => translate(topic, p, r.offset))).toEqual(got.map((r) => r.offset));
    expect(await translateMirroredOffset(into.spec, into.pair, topic, p, recs[0]?.offset ?? 0)).toBe(got[0]?.offset ?? 0);
  }
}

describe('mirror engine, primary (ZooKeeper 3.9) → next (KRaft 4.1)', () => {
  it('creates the topic with the source partitions and configs, copies with identical offsets, keeps its position on the target', async () => {
    await sourceTopic(plain, 3, [
      { name: 'min.insync.replicas', value: '2' },
      { name: 'cleanup.policy', value: 'compact,delete' },
      { name: 'max.message.bytes', value: '2000000' },
      { name: 'message.timestamp.type', value: 'CreateTime' },
      { name: 'message.timestamp.after.max.ms', value: '3600000' },
    ]);
    await produceNumbered(primary, plain, 3000, 3);

    const dry = await planMirror(primarySpec(), nextSpec(), { topics: [plain] }, { dryRun: true });
    expect(dry).toEqual([
      {
        topic: plain,
        partitions: 3,
        action: 'create',
        // next has one broker: more in-sync replicas than replicas would refuse every write.
        configs: { 'min.insync.replicas': '1', 'cleanup.policy': 'compact,delete', 'max.message.bytes': '2000000' },
        deferred: { 'message.timestamp.type': 'CreateTime', 'message.timestamp.after.max.ms': '3600000' },
      },
    ]);
    const nextAdmin = next.admin();
    await nextAdmin.connect();
    expect((await nextAdmin.listTopics()).includes(plain)).toBe(false);
    await nextAdmin.disconnect();
    const plan = await planMirror(primarySpec(), nextSpec(), { pattern: plain.replace(/-/g, '\\-') });
    expect(plan.map((p) => [p.topic, p.action])).toEqual([[plain, 'create']]);
    expect(await configsOf(next, plain)).toMatchObject({ 'min.insync.replicas': '1', 'cleanup.policy': 'compact,delete', 'max.message.bytes': '2000000', 'message.timestamp.type': 'CreateTime' });
    // Idempotent: planned again, it exists.
    expect((await planMirror(primarySpec(), nextSpec(), { topics: [plain] }))[0]!.action).toBe('exists');

    const progress: number[] = [];
    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: plain, partitions: [0, 1, 2] }, { until: 'caught-up', onProgress: (ps) => progress.push(ps.reduce((n, p) => n + p.records, 0)) });
    expect(r.caughtUp).toBe(true);
    expect(r.positions.map((p) => [p.partition, p.next, p.sourceEnd, p.mode, p.records])).toEqual([
      [0, 1000, 1000, 'identical', 1000],
      [1, 1000, 1000, 'identical', 1000],
      [2, 1000, 1000, 'identical', 1000],
    ]);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress[progress.length - 1]).toBe(3000);
    await expectMirrored(plain, true);

    // More records, a new run (another worker): it resumes from the state on the target.
    await produceNumbered(primary, plain, 600, 3, 100, 3000);
    const again = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: plain, partitions: [1] }, { until: 'caught-up' });
    expect(again.positions.map((p) => [p.partition, p.next, p.records])).toEqual([[1, 1200, 1200]]);
    await mirrorShard(primarySpec(), nextSpec(), pair, { topic: plain, partitions: [0, 2] }, { until: 'caught-up' });
    await expectMirrored(plain, true);
    const pos = await mirrorPositions(primarySpec(), nextSpec(), pair, [{ topic: plain, partitions: [0, 1, 2] }]);
    expect(pos.map((p) => [p.partition, p.next, p.sourceEnd, p.mode])).toEqual([
      [0, 1200, 1200, 'identical'],
      [1, 1200, 1200, 'identical'],
      [2, 1200, 1200, 'identical'],
    ]);
    const state = await readState(next, pair);
    expect(state.positions.size).toBe(3);
    expect([...state.positions.values()].every((s) => s.sent === undefined && s.targetNext === 1200)).toBe(true);
    expect(await configsOf(next, STATE_TOPIC)).toMatchObject({ 'cleanup.policy': 'compact' });
  });

  it('read_committed: aborted records and transaction markers never reach the target; the offset map is exact', async () => {
    await sourceTopic(txn, 2);
    const producer = primary.producer({ transactionalId: unique('tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let seq = 0;
    const committed: number[] = [];
    for (let round = 0; round < 6; round++) {
      const t = await producer.transaction();
      const messages = Array.from({ length: 50 }, (_, j) => ({ partition: j % 2, key: `t${round}-${j}`, value: `v${round}-${j}`, headers: { seq: String(seq + j) } }));
      await t.send({ topic: txn, messages });
      if (round % 3 === 1) await t.abort();
      else {
        await t.commit();
        committed.push(...messages.map((_, j) => seq + j));
      }
      seq += 50;
    }
    await producer.disconnect();
    await produceNumbered(primary, txn, 100, 2, 50, 10_000);

    await planMirror(primarySpec(), nextSpec(), { topics: [txn] });
    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: txn, partitions: [0, 1] }, { until: 'caught-up' });
    expect(r.caughtUp).toBe(true);
    expect(r.positions.every((p) => p.mode === 'mapped')).toBe(true);
    expect(r.positions.reduce((n, p) => n + p.records, 0)).toBe(committed.length + 100);
    const dst = await readTopic(next, txn);
    const got = [...dst.values()].flatMap(seqs).sort((a, b) => a - b);
    expect(got).toEqual([...committed, ...Array.from({ length: 100 }, (_, i) => 10_000 + i)].sort((a, b) => a - b));
    // Gap-free on the target: the markers and aborted records left no holes there.
    for (const recs of dst.values()) expect(recs.map((x) => x.offset)).toEqual(recs.map((_, i) => i));
    await expectMirrored(txn, false);
    // A group at the source end (after the last marker) goes to the target end.
    const end = r.positions.find((p) => p.partition === 0)!.next;
    expect(await translateMirroredOffset(nextSpec(), pair, txn, 0, end)).toBe(dst.get(0)!.length);
    expect(await translateMirroredOffset(nextSpec(), pair, txn, 0, end + 1)).toBeUndefined();
  });

  it('refuses a target topic with data it did not write or more partitions; an empty one is fine; new partitions are picked up', async () => {
    await sourceTopic(foreign, 2);
    await createTopicsReady(nextSpec(), [{ topic: foreign, numPartitions: 2, replicationFactor: 1 }], { kafka: next });
    expect((await planMirror(primarySpec(), nextSpec(), { topics: [foreign] }))[0]!.action).toBe('exists');
    const p = next.producer();
    await p.connect();
    await p.send({ topic: foreign, messages: [{ partition: 1, value: 'not the mirror' }] });
    await p.disconnect();
    const e = await planMirror(primarySpec(), nextSpec(), { topics: [foreign] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LifeboatError);
    expect((e as LifeboatError).type).toBe('UnsafeTarget');
    expect((e as Error).message).toBe(`target topic ${foreign} partition 1 holds offsets 0..0 this mirror did not write: delete the topic (or its records) on the target first`);
    const e2 = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: foreign, partitions: [1] }, { until: 'caught-up' }).catch((x: unknown) => x);
    expect((e2 as LifeboatError).type).toBe('UnsafeTarget');

    const none = unique('mir-none');
    const e4 = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: none, partitions: [0] }, { until: 'caught-up' }).catch((x: unknown) => x);
    expect((e4 as LifeboatError).type).toBe('InvalidInput');
    expect((e4 as Error).message).toBe(`the target next has no partition 0 of ${none}: plan the mirror first (planMirror)`);

    await sourceTopic(wider, 2);
    await createTopicsReady(nextSpec(), [{ topic: wider, numPartitions: 4, replicationFactor: 1 }], { kafka: next });
    const e3 = await planMirror(primarySpec(), nextSpec(), { topics: [wider] }).catch((x: unknown) => x);
    expect((e3 as LifeboatError).type).toBe('UnsafeTarget');
    expect((e3 as Error).message).toMatch(/has 4 partitions, the source's has 2/);

    // New partitions on the source: the next plan adds them, the shard copies them.
    const admin = primary.admin();
    await admin.connect();
    await admin.createPartitions({ topicPartitions: [{ topic: plain, count: 4 }] });
    await admin.disconnect();
    await produceNumbered(primary, plain, 40, 4, 100, 20_000);
    const plan = await planMirror(primarySpec(), nextSpec(), { topics: [plain] });
    expect(plan[0]!.action).toBe('add-partitions');
    await mirrorShard(primarySpec(), nextSpec(), pair, { topic: plain, partitions: [0, 1, 2, 3] }, { until: 'caught-up' });
    await expectMirrored(plain, true);
  });

  it('source records deleted before they were copied stop the shard with DataLost naming the exact range', async () => {
    await sourceTopic(lost, 1);
    await produceNumbered(primary, lost, 100, 1);
    await planMirror(primarySpec(), nextSpec(), { topics: [lost] });
    await mirrorShard(primarySpec(), nextSpec(), pair, { topic: lost, partitions: [0] }, { until: 'caught-up' });
    await produceNumbered(primary, lost, 100, 1, 100, 100);
    const admin = primary.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [lost] }); // deleteTopicRecords needs the topic's metadata
    await admin.deleteTopicRecords({ topic: lost, partitions: [{ partition: 0, offset: '150' }] });
    await admin.disconnect();
    const e = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: lost, partitions: [0] }, { until: 'caught-up' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LifeboatError);
    expect((e as LifeboatError).type).toBe('DataLost');
    expect((e as LifeboatError).details).toEqual({ topic: lost, partition: 0, from: 100, to: 150 });
    expect((e as Error).message).toBe(`${lost}-0: source offsets 100..149 (50 records) on primary were deleted (retention or deleteRecords) before the mirror copied them`);
    // Nothing was skipped: the position stays before the loss.
    expect((await mirrorPositions(primarySpec(), nextSpec(), pair, [{ topic: lost, partitions: [0] }]))[0]!.next).toBe(100);
  });

  it('a deadline returns at the deadline with positions; an abort stops promptly and the next run resumes', async () => {
    const t0 = Date.now();
    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: txn, partitions: [0, 1] }, { until: Date.now() + 1500 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(r.caughtUp).toBe(true);
    expect(r.positions).toHaveLength(2);

    await produceNumbered(primary, plain, 20_000, 4, 200, 30_000);
    const ac = new AbortController();
    let stoppedAt = 0;
    const run = mirrorShard(primarySpec(), nextSpec(), pair, { topic: plain, partitions: [0, 1, 2, 3] }, {
      until: 'caught-up',
      signal: ac.signal,
      onProgress: (ps) => {
        if (!ac.signal.aborted && ps.reduce((n, p) => n + p.records, 0) > 3700) {
          stoppedAt = Date.now();
          ac.abort();
        }
      },
    });
    await expect(run).rejects.toThrow();
    expect(Date.now() - stoppedAt).toBeLessThan(3000);
    const mid = await mirrorPositions(primarySpec(), nextSpec(), pair, [{ topic: plain, partitions: [0, 1, 2, 3] }]);
    expect(mid.some((p) => p.next < p.sourceEnd)).toBe(true);
    await mirrorShard(primarySpec(), nextSpec(), pair, { topic: plain, partitions: [0, 1, 2, 3] }, { until: 'caught-up' });
    await expectMirrored(plain, true);
  });

  it('mirrors into the ZooKeeper-mode standby too (another pair, the same source topics)', async () => {
    const pair2 = unique('pair-standby');
    created.push([standby, txn]);
    const plan = await planMirror(primarySpec(), standbySpec(), { topics: [txn] });
    expect(plan.map((p) => [p.topic, p.partitions, p.action])).toEqual([[txn, 2, 'create']]);
    const r = await mirrorShard(primarySpec(), standbySpec(), pair2, { topic: txn, partitions: [0, 1] }, { until: 'caught-up' });
    expect(r.caughtUp).toBe(true);
    expect(r.positions.every((p) => p.mode === 'mapped' && p.next === p.sourceEnd)).toBe(true);
    await expectMirrored(txn, false, { kafka: standby, spec: standbySpec(), pair: pair2 });
  });

  it('compaction gaps and LogAppendTime: re-batched, every remaining record once with the source timestamps, offsets mapped exactly', async () => {
    await sourceTopic(compacted, 1, [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'segment.ms', value: '100' },
      { name: 'min.cleanable.dirty.ratio', value: '0.001' },
      { name: 'min.compaction.lag.ms', value: '0' },
    ]);
    await sourceTopic(appendTime, 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
    const producer = primary.producer({ idempotent: true });
    await producer.connect();
    for (let round = 0; round < 20; round++) {
      await producer.send({ topic: compacted, acks: -1, messages: Array.from({ length: 10 }, (_, k) => ({ key: `ck-${k}`, value: `r${round}`, headers: { seq: String(round * 10 + k) } })) });
      await new Promise((r) => setTimeout(r, 120));
    }
    await producer.send({ topic: appendTime, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ key: `la${i}`, value: 'append-time', timestamp: '1000', headers: { seq: String(i) } })) });
    const deadline = Date.now() + 90_000;
    let now = await readTopic(primary, compacted);
    for (let i = 0; (now.get(0)?.length ?? 0) >= 200 && Date.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      await producer.send({ topic: compacted, acks: -1, messages: [{ key: 'roll', value: String(i), headers: { seq: String(1000 + i) } }] });
      now = await readTopic(primary, compacted);
    }
    await producer.disconnect();
    expect(now.get(0)!.length).toBeLessThan(200);

    const plan = await planMirror(primarySpec(), nextSpec(), { topics: [compacted, appendTime] });
    expect(plan.find((p) => p.topic === appendTime)!.deferred).toEqual({ 'message.timestamp.type': 'LogAppendTime' });
    expect(plan.find((p) => p.topic === compacted)!.configs).toMatchObject({ 'cleanup.policy': 'compact', 'segment.ms': '100' });
    for (const t of [compacted, appendTime]) {
      const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: t, partitions: [0] }, { until: 'caught-up' });
      expect(r.caughtUp).toBe(true);
    }
    const r = await mirrorPositions(primarySpec(), nextSpec(), pair, [{ topic: compacted, partitions: [0] }]);
    expect(r[0]!.mode).toBe('mapped');
    await expectMirrored(compacted, false);
    // The broker's append times on the source are the records' timestamps on the target (CreateTime while mirroring).
    const src = (await readTopic(primary, appendTime)).get(0)!;
    expect(src.every((x) => x.timestamp > 1000)).toBe(true);
    await expectMirrored(appendTime, true);
  }, 180_000);
});
