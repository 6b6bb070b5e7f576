/**
 * The produce/consume probe: writes N records with unique content to a scratch topic and reads
 * them back, proving the cluster accepts writes (acks=all) and serves reads. Used by lab tests,
 * by verification after a recovery, and by the lab round-trip workflow.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { ClusterSpec } from '../config/spec';
import { waitForAgreement } from './ready';
import { PROBE_GROUP_PREFIX, PROBE_TOPIC_PREFIX } from './ownGroups';

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
  /**
   * The cluster's spec. Given, the probe produces only once every live broker agrees on the
   * controller and knows a live leader for each partition of the new topic (src/kafka/ready.ts):
   * a broker that has not heard of the topic yet would fail the produce.
   */
  spec?: ClusterSpec;
  /** The reading consumer's group (default lifeboat-probe-<random>): given, the caller can delete it afterwards. */
  groupId?: string;
}

/**
 * With a spec, every broker is waited for (first after 50 ms: a probe is timed) and kafkajs's own wait for
 * leaders, a metadata poll 100 ms apart that looks at one broker, is not needed; without, it is.
 */
const waitForLeaders = (spec: ClusterSpec | undefined) => !spec;
async function topicReady(spec: ClusterSpec | undefined, topic: string, timeoutMs: number): Promise<void> {
  if (spec) await waitForAgreement(spec, { topics: [topic], timeoutMs });
}

export async function produceConsumeProbe(kafka: Kafka, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const topic = opts.topic ?? `${PROBE_TOPIC_PREFIX}${randomUUID().slice(0, 8)}`;
  const count = opts.records ?? 30;
  const partitions = opts.partitions ?? 3;
  const runId = randomUUID();
  const admin = kafka.admin();
  await admin.connect();
  const started = Date.now();
  const consumer = kafka.consumer({ groupId: opts.groupId ?? `${PROBE_GROUP_PREFIX}${runId}` });
  try {
    const brokers = (await admin.describeCluster()).brokers.length;
    const replicationFactor = Math.min(opts.replicationFactor ?? 3, brokers);
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }], waitForLeaders: waitForLeaders(opts.spec) });
    await topicReady(opts.spec, topic, opts.timeoutMs ?? 60_000);
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

export interface ThroughputResult {
  records: number;
  bytes: number;
  /** acks=all produce of every record, after the topic exists and the producer is connected. */
  produceMBps: number;
  /** First record received → last, so the consumer group's join is not counted. */
  consumeMBps: number;
}

/**
 * A short throughput measurement on a scratch topic (records of `recordBytes`): what a recovered
 * cluster is compared against, the same probe having run at backup time.
 */
export async function throughputProbe(kafka: Kafka, opts: { records?: number; recordBytes?: number; partitions?: number; spec?: ClusterSpec } = {}): Promise<ThroughputResult> {
  const records = opts.records ?? 5000;
  const size = opts.recordBytes ?? 1024;
  const partitions = opts.partitions ?? 3;
  const topic = `${PROBE_TOPIC_PREFIX}tp-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({ groupId: `${PROBE_GROUP_PREFIX}${randomUUID()}`, maxBytesPerPartition: 4 * 1024 * 1024 });
  try {
    const brokers = (await admin.describeCluster()).brokers.length;
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: Math.min(3, brokers) }], waitForLeaders: waitForLeaders(opts.spec) });
    await topicReady(opts.spec, topic, 60_000);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const value = Buffer.alloc(size, 'x');
    const t0 = Date.now();
    try {
      for (let i = 0; i < records; i += 500) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(500, records - i) }, (_, j) => ({ key: String(i + j), value })) });
      }
    } finally {
      await producer.disconnect();
    }
    const produceMs = Math.max(1, Date.now() - t0);
    let seen = 0;
    let first = 0;
    // Each partition's next offset not yet counted: a rebalance (a coordinator moved) makes the
    // group read a partition again from its last commit, and a record counts once.
    const counted = new Map<number, number>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const consumeMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`throughput probe read ${seen}/${records} records from ${topic} before timing out`)), 120_000);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          first ||= Date.now();
          const from = counted.get(batch.partition) ?? 0;
          for (const m of batch.messages) if (Number(m.offset) >= from) seen++;
          const last = batch.messages.at(-1);
          if (last) counted.set(batch.partition, Math.max(from, Number(last.offset) + 1));
          if (seen >= records) {
            clearTimeout(timer);
            resolve(Math.max(1, Date.now() - first));
          }
        },
      });
    });
    const bytes = records * size;
    const mbps = (ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;
    return { records, bytes, produceMBps: mbps(produceMs), consumeMBps: mbps(consumeMs) };
  } finally {
    await consumer.disconnect().catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}
