/**
 * Reads a whole topic back, as sorted "partition:offset:key:value" lines. Exactly `expected`
 * records, each once: the topic's offsets say how many each partition holds (end − start), the
 * records read must match that per partition, and a moment longer of reading brings no more.
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
  const held = new Map(offsets.map((o) => [o.partition, Number(o.high) - Number(o.low)]));
  expect([...held.values()].reduce((a, b) => a + b, 0), `records ${topic} holds (end − start offsets)`).toBe(expected);
  const consumer = kafka.consumer({ groupId: unique('verify') });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${expected} records came back`)), 60_000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push(`${partition}:${message.offset}:${message.key?.toString()}:${message.value?.toString()}`);
        if (seen.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  // A little longer, to see any duplicate.
  await new Promise((r) => setTimeout(r, 1500));
  await consumer.disconnect();
  expect(seen, `records read from ${topic}`).toHaveLength(expected);
  expect(new Set(seen).size, `distinct records read from ${topic}`).toBe(expected);
  for (const [partition, count] of held) expect(seen.filter((l) => l.startsWith(`${partition}:`)).length, `records read from ${topic} partition ${partition}`).toBe(count);
  return seen.sort();
}
