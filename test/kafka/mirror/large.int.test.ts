/**
 * 5 MB records through the mirror, primary (3.9) → next (4.1): alone, and mixed with small ones in
 * the same partitions (a source batch bigger than the mirror's re-built batches, small batches
 * around it). Every record arrives byte-identical (key, value, headers, timestamp) at its source
 * offset. The lab's brokers allow 10 MB messages (message.max.bytes).
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../../src/kafka/client';
import { mirrorShard, planMirror } from '../../../src/kafka/mirror';
import { nextSpec, primarySpec, unique } from '../../support/lab';
import { createTopicsReady } from '../../support/kafka';
import { content, readTopic, seqs } from './mirrorSupport';

const primary = kafkaFor(primarySpec(), 'test-mlarge-src');
const next = kafkaFor(nextSpec(), 'test-mlarge-dst');
const pair = unique('large');
const big = unique('mir-big');
const mixed = unique('mir-mixed');
const MB5 = 5 * 1024 * 1024;

afterAll(async () => {
  for (const k of [primary, next]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [big, mixed] }).catch(() => {});
    await admin.disconnect();
  }
});

/** Sends records one request at a time (so each big one is its own batch), acks=all, idempotent. */
async function produce(kafka: Kafka, topic: string, records: { partition: number; size: number; seq: number }[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let small: { partition: number; key: string; value: Buffer; headers: Record<string, string> }[] = [];
  const flush = async () => {
    if (small.length) await producer.send({ topic, acks: -1, messages: small });
    small = [];
  };
  for (const r of records) {
    const m = { partition: r.partition, key: `k${r.seq}`, value: randomBytes(r.size), headers: { seq: String(r.seq) } };
    if (r.size >= 1024 * 1024) {
      await flush();
      await producer.send({ topic, acks: -1, messages: [m] });
    } else small.push(m);
  }
  await flush();
  await producer.disconnect();
}

async function expectIdentical(topic: string, n: number) {
  const src = await readTopic(primary, topic);
  const dst = await readTopic(next, topic);
  let total = 0;
  for (const [p, recs] of src) {
    const got = dst.get(p)!;
    total += got.length;
    expect(seqs(got)).toEqual(seqs(recs));
    expect(got.map((r) => r.offset)).toEqual(recs.map((r) => r.offset));
    // Compared record by record: a diff of 5 MB hex strings would be unreadable.
    for (let i = 0; i < recs.length; i++) {
      const [a, b] = [content(recs[i]!), content(got[i]!)];
      expect(b.value === a.value && b.key === a.key && b.timestamp === a.timestamp && JSON.stringify(b.headers) === JSON.stringify(a.headers), `${topic}-${p} offset ${recs[i]!.offset}`).toBe(true);
    }
  }
  expect(total).toBe(n);
}

describe('mirror: 5 MB records', () => {
  it('mirrors 5 MB records byte-identical at identical offsets', async () => {
    await createTopicsReady(primarySpec(), [{ topic: big, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'max.message.bytes', value: String(10 * 1024 * 1024) }] }], { kafka: primary });
    await produce(primary, big, Array.from({ length: 6 }, (_, i) => ({ partition: i % 2, size: MB5, seq: i })));
    await planMirror(primarySpec(), nextSpec(), { topics: [big] });
    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: big, partitions: [0, 1] }, { until: 'caught-up' });
    expect(r.caughtUp).toBe(true);
    expect(r.positions.map((p) => [p.partition, p.next, p.mode, p.records])).toEqual([
      [0, 3, 'identical', 3],
      [1, 3, 'identical', 3],
    ]);
    await expectIdentical(big, 6);
  });

  it('mirrors 5 MB records mixed with small ones, in partitions of their own and shared', async () => {
    await createTopicsReady(primarySpec(), [{ topic: mixed, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'max.message.bytes', value: String(10 * 1024 * 1024) }] }], { kafka: primary });
    // Partition 0: small, a 5 MB record, small again (twice); partition 1: small only; partition 2: mostly large.
    const records: { partition: number; size: number; seq: number }[] = [];
    let seq = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 300; i++) records.push({ partition: i % 2, size: 200 + (i % 7) * 100, seq: seq++ });
      records.push({ partition: 0, size: MB5, seq: seq++ });
      records.push({ partition: 2, size: MB5 - 1000, seq: seq++ });
      records.push({ partition: 2, size: 10, seq: seq++ });
      records.push({ partition: 2, size: 3 * 1024 * 1024, seq: seq++ });
    }
    await produce(primary, mixed, records);
    await planMirror(primarySpec(), nextSpec(), { topics: [mixed] });
    // Small re-built batches (64 KiB): the big records are bigger than any batch the mirror builds.
    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: mixed, partitions: [0, 1, 2] }, { until: 'caught-up', maxBatchBytes: 64 * 1024 });
    expect(r.caughtUp).toBe(true);
    expect(r.positions.every((p) => p.mode === 'identical')).toBe(true);
    await expectIdentical(mixed, records.length);
  });
});
