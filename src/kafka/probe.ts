/**
 * The produce/consume probe: writes N records with unique content to a scratch topic and reads
 * them back, proving the cluster accepts writes (acks=all) and serves reads. Used by lab tests,
 * by verification after a recovery, and by the lab round-trip workflow.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';

export interface ProbeResult {
  topic: string;
  produced: number;
  consumed: number;
  partitions: number;
  produceMs: number;
  roundTripMs: number;
  ok: boolean;
}

export interface ProbeOptions {
  topic?: string;
  records?: number;
  partitions?: number;
  replicationFactor?: number;
  timeoutMs?: number;
  /** Delete the scratch topic afterwards (default true). */
  cleanup?: boolean;
}

export async function produceConsumeProbe(kafka: Kafka, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const topic = opts.topic ?? `lifeboat-probe-${randomUUID().slice(0, 8)}`;
  const count = opts.records ?? 30;
  const partitions = opts.partitions ?? 3;
  const runId = randomUUID();
  const admin = kafka.admin();
  await admin.connect();
  const started = Date.now();
  const consumer = kafka.consumer({ groupId: `lifeboat-probe-${runId}` });
  try {
    const brokers = (await admin.describeCluster()).brokers.length;
    const replicationFactor = Math.min(opts.replicationFactor ?? 3, brokers);
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const t0 = Date.now();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${runId}:${i}`, partition: i % partitions })),
      });
    } finally {
      await producer.disconnect();
    }
    const produceMs = Date.now() - t0;

    const seen = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe read ${seen.size}/${count} records from ${topic} before timing out`)), opts.timeoutMs ?? 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const v = message.value?.toString() ?? '';
          if (v.startsWith(runId)) seen.add(v);
          if (seen.size === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await done;
    return { topic, produced: count, consumed: seen.size, partitions, produceMs, roundTripMs: Date.now() - started, ok: seen.size === count };
  } finally {
    await consumer.disconnect().catch(() => {});
    if (opts.cleanup ?? true) await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}
