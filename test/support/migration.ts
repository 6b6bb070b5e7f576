/**
 * What the online migration tests share: applications writing sequence-numbered, headered records
 * through the applications' listener until the write fence refuses them, consumers of a group on a
 * cluster read until quiet, the records of a topic by partition and offset, and the clean-up of what
 * a migration leaves (the fence's ACLs on the source, topics and groups on both clusters).
 */
import type { Kafka } from 'kafkajs';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import type { ClusterSpec } from '../../src/config/spec';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { appKafka } from './lab';

/** One record as the tests compare them. */
export interface SeqRecord {
  partition: number;
  offset: number;
  seq: number;
  headerSeq?: string;
}

/**
 * An application producing `seq-N` records (header seq=N, partition N % partitions) through the
 * applications' listener in small batches until a send is refused as not authorized (the fence)
 * or it is stopped. `acked` are the sequence numbers the broker acknowledged.
 */
export function appProducer(cluster: 'primary' | 'next', topic: string, partitions: number, from: number) {
  const producer = appKafka(cluster, 'mig-app').producer({ retry: { retries: 2, initialRetryTime: 100 } });
  const acked: number[] = [];
  let next = from;
  let refusedAt: number | undefined;
  let refusal: string | undefined;
  let stopped = false;
  const done = (async () => {
    await producer.connect();
    try {
      while (!stopped && refusedAt === undefined) {
        const seqs = Array.from({ length: 20 }, (_, i) => next + i);
        try {
          await producer.send({ topic, acks: -1, messages: seqs.map((n) => ({ partition: n % partitions, key: `k${n}`, value: `seq-${n}`, headers: { seq: String(n) } })) });
          acked.push(...seqs);
          next += seqs.length;
        } catch (e) {
          const msg = String((e as Error).message);
          if (/not authorized/i.test(msg)) {
            refusedAt = Date.now();
            refusal = msg;
          } else {
            // Not a refusal (a leader moving): the same sequence numbers are tried again.
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  })();
  return {
    acked,
    get refusedAt() {
      return refusedAt;
    },
    get refusal() {
      return refusal;
    },
    async stop() {
      stopped = true;
      await done;
    },
    done,
  };
}

/** Every record of `topic` (read_committed), by partition and offset, with its sequence number. */
export async function topicRecords(spec: ClusterSpec, topic: string, expected: number, groupId: string): Promise<SeqRecord[]> {
  const consumer = kafkaFor(spec, 'mig-test').consumer({ groupId, readUncommitted: false });
  const seen: SeqRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await untilQuiet(consumer, seen, expected);
  } finally {
    await consumer.disconnect();
  }
  return seen.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

type Consumer = ReturnType<Kafka['consumer']>;

/**
 * Runs the consumer, collecting records, until `expected` came and 3 s more brought none (or 60 s
 * passed). An offset the consumer is handed again (its group rebalanced before committing it: a
 * coordinator moved) is kept once; a record read again at another offset is still seen twice.
 */
async function untilQuiet(consumer: Consumer, seen: SeqRecord[], expected: number): Promise<void> {
  let last = Date.now();
  const handed = new Set<string>();
  await consumer.run({
    autoCommit: true,
    eachMessage: async ({ partition, message }) => {
      const at = `${partition}:${message.offset}`;
      if (handed.has(at)) return;
      handed.add(at);
      seen.push({ partition, offset: Number(message.offset), seq: Number(String(message.value).replace(/^seq-/, '')), headerSeq: message.headers?.seq?.toString() });
      last = Date.now();
    },
  });
  const end = Date.now() + 60_000;
  while (Date.now() < end && (seen.length < expected || Date.now() - last < 3000)) await new Promise((r) => setTimeout(r, 200));
  await consumer.stop();
}

/** A group's consumer on `cluster`'s applications' listener, from the group's committed offsets: what it reads until quiet. */
export async function groupReads(cluster: 'primary' | 'next', group: string, topic: string, expected: number): Promise<SeqRecord[]> {
  const consumer = appKafka(cluster, 'mig-app').consumer({ groupId: group, readUncommitted: false });
  const seen: SeqRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await untilQuiet(consumer, seen, expected);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** The group's committed offsets on `spec` for `topic`, by partition. */
export async function committed(spec: ClusterSpec, group: string, topic: string): Promise<Map<number, number>> {
  const r = await withAdmin(kafkaFor(spec, 'mig-test'), spec.name, (a) => a.fetchOffsets({ groupId: group, topics: [topic] }));
  return new Map((r[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

/** The ACLs bound to `topic` on `spec` (literal), as comparable lines. */
export async function topicAcls(spec: ClusterSpec, topic: string): Promise<string[]> {
  const r = await withAdmin(kafkaFor(spec, 'mig-test'), spec.name, (a) =>
    a.describeAcls({
      resourceType: AclResourceTypes.TOPIC,
      resourceName: topic,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    }),
  );
  return r.resources.flatMap((res) => res.acls.map((a) => `${res.resourceName} ${a.principal} ${a.host} ${a.operation} ${a.permissionType}`)).sort();
}

/** Removes every ACL on the topics (a test's fence left behind) and the topics and groups, on both clusters. */
export async function cleanUp(source: ClusterSpec, target: ClusterSpec, topics: string[], groups: string[]): Promise<void> {
  await withAdmin(kafkaFor(source, 'mig-cleanup'), source.name, async (a) => {
    for (const topic of topics) {
      await a
        .deleteAcls({
          filters: [{ resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL, principal: null as unknown as string, host: null as unknown as string, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }],
        })
        .catch(() => undefined);
    }
  }).catch(() => undefined);
  for (const spec of [source, target]) {
    await withAdmin(kafkaFor(spec, 'mig-cleanup'), spec.name, async (a) => {
      await a.deleteGroups(groups).catch(() => undefined);
      const have = await a.listTopics();
      const gone = topics.filter((t) => have.includes(t));
      if (gone.length) await a.deleteTopics({ topics: gone }).catch(() => undefined);
    }).catch(() => undefined);
  }
}
