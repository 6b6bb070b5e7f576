/** Helpers shared by the topic backup/restore tests: reading a whole topic back, hashing records. */
import { createHash } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { expect } from 'vitest';
import { loadOffsetMap, translateOffset } from '../../src/kafka/offsetMap';
import { backupTopics } from '../../src/kafka/topicBackup';
import type { Repository } from '../../src/repository';
import { readRanges, toStoredRecord } from '../../src/kafka/topicReader';
import type { StoredRecord } from '../../src/kafka/recordFormat';
import { createTopicsReady } from '../support/kafka';
import { primarySpec } from '../support/lab';

export async function readAll(kafka: Kafka, topic: string): Promise<Map<number, StoredRecord[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const out = new Map<number, StoredRecord[]>();
  const ranges = new Map<number, { from: number; to: number }>();
  for (const o of offsets) {
    out.set(o.partition, []);
    ranges.set(o.partition, { from: Number(o.low), to: Number(o.high) });
  }
  await readRanges(kafka, topic, ranges, async (p, messages) => {
    for (const m of messages) out.get(p)!.push(toStoredRecord(m));
  });
  return out;
}

/** The user-visible content of a record: what a restore must carry over byte for byte. */
export function content(r: StoredRecord) {
  return {
    key: r.key === null ? null : r.key.toString('hex'),
    value: r.value === null ? null : r.value.length > 1000 ? `sha256:${createHash('sha256').update(r.value).digest('hex')}:${r.value.length}` : r.value.toString('hex'),
    headers: r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString('hex')]),
    timestamp: r.timestamp,
  };
}

export function contentHash(records: StoredRecord[]): string {
  const h = createHash('sha256');
  for (const r of records) h.update(JSON.stringify(content(r)));
  return h.digest('hex');
}

/**
 * Every record of the source topic once, in order, with the same content, in the target topic,
 * and the offset map sends each original offset to its record there.
 */
export async function expectRestoredExactly(source: { kafka: Kafka; topic: string }, target: { kafka: Kafka; topic: string }, mapFile: string): Promise<void> {
  const original = await readAll(source.kafka, source.topic);
  const restored = await readAll(target.kafka, target.topic);
  const map = await loadOffsetMap(mapFile);
  for (const [p, recs] of original) {
    const got = restored.get(p)!;
    // Keys first: a duplicate or a gap shows as such, not as a wall of differing records.
    expect(got.map((r) => content(r).key)).toEqual(recs.map((r) => content(r).key));
    expect(got.map((r) => content(r))).toEqual(recs.map((r) => content(r)));
    got.forEach((r, i) => expect(translateOffset(map, source.topic, p, recs[i]!.offset)).toBe(r.offset));
  }
}

/**
 * Creates a 3-partition topic holding `perPartition` numbered records per partition (key `k<i>`,
 * a ~1 KB value, a header `n`), backs it up into `repo` and returns the snapshot id.
 */
export async function backedUpNumberedTopic(kafka: Kafka, repo: Repository, topic: string, perPartition: number): Promise<string> {
  await createTopicsReady(primarySpec(), [{ topic, numPartitions: 3, replicationFactor: 3 }], { kafka });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < perPartition * 3; i += 1500) {
    const n = Math.min(1500, perPartition * 3 - i);
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, j) => ({ partition: (i + j) % 3, key: `k${i + j}`, value: `${i + j}:`.padEnd(1000, '.'), headers: { n: String(i + j) } })),
    });
  }
  await producer.disconnect();
  const writer = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
  await backupTopics(kafka, writer, { topics: [topic] });
  return (await writer.commit()).id;
}
