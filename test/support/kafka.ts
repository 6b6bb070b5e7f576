/**
 * Kafka clients and topics for integration tests, the way a test that stops brokers needs them:
 * clients bootstrap only from the lab brokers that run (kafkajs picks a random bootstrap broker, and
 * an admin call sent to one the test stopped fails with ECONNREFUSED), and a topic is used only once
 * every live broker knows a live leader for each of its partitions (src/kafka/ready.ts).
 */
import type { ITopicConfig, Kafka, Message } from 'kafkajs';
import type { ClusterSpec } from '../../src/config/spec';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { type Agreement, waitForAgreement } from '../../src/kafka/ready';
import { brokerRunning } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import { topo } from './lab';

/** The lab brokers of `spec` whose process runs, as bootstrap addresses. */
export function liveBootstrap(spec: ClusterSpec): string[] {
  const live = spec.brokers.filter((b) => b.control.type !== 'adapter' || b.control.adapter !== 'lab' || brokerRunning(topo, findBroker(topo, b.control.options.cluster ?? '', b.id)));
  const addresses = new Set(live.map((b) => b.listener).filter((a): a is string => a !== undefined));
  const servers = spec.kafka.bootstrapServers.filter((s) => addresses.has(s));
  if (servers.length === 0) throw new Error(`no broker of ${spec.name} runs (bootstrap ${spec.kafka.bootstrapServers.join(', ')})`);
  return servers;
}

/** `spec` with only its running brokers as bootstrap servers. */
export const liveSpec = (spec: ClusterSpec): ClusterSpec => ({ ...spec, kafka: { ...spec.kafka, bootstrapServers: liveBootstrap(spec) } });

/** A kafkajs client that bootstraps from the running brokers only. */
export const liveKafka = (spec: ClusterSpec, clientSuffix?: string): Kafka => kafkaFor(liveSpec(spec), clientSuffix);

/** Waits until the live brokers agree on a controller and know a live leader for every partition of `topics`. */
export const topicsReady = (spec: ClusterSpec, topics: string[], timeoutMs = 60_000): Promise<Agreement> => waitForAgreement(spec, { topics, timeoutMs });

/**
 * Creates `topics` through a client of the running brokers and returns once every live broker
 * knows a live leader for each partition: a produce right after cannot meet a broker that has not heard.
 */
export async function createTopicsReady(spec: ClusterSpec, topics: ITopicConfig[], opts: { kafka?: Kafka } = {}): Promise<void> {
  await withAdmin(opts.kafka ?? liveKafka(spec, 'test-admin'), spec.name, (admin) => admin.createTopics({ topics, waitForLeaders: true }));
  await topicsReady(spec, topics.map((t) => t.topic));
}

/** Writes `messages` to `topic` through an idempotent producer, acknowledged by every in-sync replica. */
export async function produce(spec: ClusterSpec, topic: string, messages: Message[]): Promise<void> {
  const producer = kafkaFor(spec).producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
}
