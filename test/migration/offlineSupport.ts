/** What the offline migration tests share: reading a topic back record by record, which brokers run, the primary made whole again. */
import type { ClusterSpec } from '../../src/config/spec';
import { poll } from '../../src/core/poll';
import { brokerControlFor } from '../../src/host/brokerControl';
import { retryTransient, withAdmin } from '../../src/kafka/admin';
import { clusterHealth } from '../../src/kafka/cluster';
import { kafkaFor } from '../../src/kafka/client';
import { waitForServing } from '../../src/recovery/serving';
import { unique } from '../support/lab';

/** Every record of a topic as "partition:offset:timestamp:key hex:value hex:headers", sorted. */
export async function readTopic(spec: ClusterSpec, topic: string): Promise<string[]> {
  const kafka = kafkaFor(spec, 'offline-test');
  const offsets = await withAdmin(kafka, spec.name, (a) => retryTransient(() => a.fetchTopicOffsets(topic)));
  const expected = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  // By partition:offset: a rebalance (a coordinator moved after a restart) makes the group read a partition again.
  const seen = new Map<string, string>();
  if (expected > 0) {
    const consumer = kafka.consumer({ groupId: unique('offline-read') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.size} of ${expected} records of ${topic} came back from ${spec.name}`)), 60_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers = Object.entries(message.headers ?? {}).map(([k, v]) => `${k}=${Buffer.isBuffer(v) ? v.toString('hex') : String(v)}`).join(',');
          const at = `${partition}:${message.offset}`;
          if (!seen.has(at)) seen.set(at, `${at}:${message.timestamp}:${message.key?.toString('hex') ?? '-'}:${message.value?.toString('hex') ?? '-'}:${headers}`);
          if (seen.size >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
  }
  return [`offsets ${offsets.map((o) => `${o.partition}:[${o.low},${o.high})`).sort().join(' ')}`, ...[...seen.values()].sort()];
}

export async function brokersRunning(spec: ClusterSpec): Promise<number[]> {
  const up: number[] = [];
  for (const b of spec.brokers) if ((await brokerControlFor(spec, b.id).status()) === 'running') up.push(b.id);
  return up;
}

/** The lab's primary back as the other tests expect it: every broker running, every partition fully in sync. */
export async function primaryHealthy(spec: ClusterSpec): Promise<void> {
  for (const b of spec.brokers) await brokerControlFor(spec, b.id).start();
  await waitForServing(spec, { timeoutMs: 180_000 });
  await poll(
    async () => {
      const h = await clusterHealth(spec);
      return h.brokers.length === spec.brokers.length && h.offline.length === 0 && h.underReplicated.length === 0;
    },
    { what: 'the primary fully in sync', timeoutMs: 180_000, intervalMs: 2000 },
  );
}
