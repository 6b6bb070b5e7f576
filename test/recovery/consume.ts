/** Reads a whole topic back, as sorted "partition:offset:key:value" lines, and waits a moment longer to see duplicates. */
import type { ClusterSpec } from '../../src/config/spec';
import { kafkaFor } from '../../src/kafka/client';
import { unique } from '../support/lab';

export async function consumeAll(spec: ClusterSpec, topic: string, expected: number): Promise<string[]> {
  const kafka = kafkaFor(spec);
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
  return seen.sort();
}
