/**
 * Reads a whole topic back, as sorted "partition:offset:key:value" lines. Exactly `expected`
 * records, each once: the topic's offsets say how many each partition holds (end − start), the
 * records read must match that per partition, and a moment longer of reading brings no more.
 *
 * A consumer group delivers at least once: when its coordinator moves (Kafka's automatic
 * preferred-leader election right after a restore moves `__consumer_offsets` leaders) the group
 * rejoins before its first commit and reads a partition again from the start. Such a redelivery
 * has the same partition and offset; it is counted once, and it must carry the same record. A
 * record the topic holds twice has two offsets and is still caught (end − start, per partition).
 */
import { expect } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { retryTransient, withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { unique } from '../support/lab';

export async function consumeAll(spec: ClusterSpec, topic: string, expected: number): Promise<string[]> {
  const kafka = kafkaFor(spec);
  // Right after a restore, leaders may still move (preferred election): a stale leader answers NOT_LEADER, retriable.
  const offsets = await withAdmin(kafka, spec.name, (admin) => retryTransient(() => admin.fetchTopicOffsets(topic)));
  const held = new Map(offsets.map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
  expect([...held.values()].reduce((a, { low, high }) => a + high - low, 0), `records ${topic} holds (end − start offsets)`).toBe(expected);
  const consumer = kafka.consumer({ groupId: unique('verify') });
  const seen = new Map<string, string>();
  const differing: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.size} of ${expected} records came back`)), 60_000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const at = `${partition}:${message.offset}`;
        const line = `${at}:${message.key?.toString()}:${message.value?.toString()}`;
        const before = seen.get(at);
        if (before !== undefined && before !== line) differing.push(`${before} then ${line}`);
        seen.set(at, before ?? line);
        if (seen.size >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  // A little longer, to see any record more.
  await new Promise((r) => setTimeout(r, 1500));
  await consumer.disconnect();
  expect(differing, `offsets of ${topic} read twice with different records`).toEqual([]);
  const lines = [...seen.values()];
  expect(lines, `records read from ${topic}`).toHaveLength(expected);
  for (const [partition, { low, high }] of held) {
    const read = [...seen.keys()].filter((at) => at.startsWith(`${partition}:`)).map((at) => Number(at.split(':')[1]));
    expect(read.length, `records read from ${topic} partition ${partition}`).toBe(high - low);
    expect(read.every((offset) => offset >= low && offset < high), `offsets read from ${topic} partition ${partition} within [${low}, ${high})`).toBe(true);
  }
  return lines.sort();
}
