/**
 * The admin client as recovery uses it. A bootstrap list nobody answers on becomes one
 * `Unreachable` error in about a second (a plain TCP check), not kafkajs's retry chain; metadata
 * reads are retried through leader elections.
 */
import { connect } from 'node:net';
import type { Admin, ITopicMetadata, Kafka } from 'kafkajs';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import { retry, sleep } from '../core/poll';
import { kafkaFor } from './client';

function tcpCheck(hostPort: string, timeoutMs: number): Promise<string | null> {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i);
  const port = Number(hostPort.slice(i + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (err: string | null) => {
      socket.destroy();
      resolve(err);
    };
    socket.setTimeout(timeoutMs, () => done('timed out'));
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/** Throws `Unreachable` unless at least one bootstrap server accepts a TCP connection. */
export async function assertBootstrapReachable(cluster: string, servers: string[], timeoutMs = 3_000): Promise<void> {
  const results = await Promise.all(servers.map((s) => tcpCheck(s, timeoutMs)));
  if (results.some((r) => r === null)) return;
  const detail = servers.map((s, i) => `${s} ${results[i]}`).join(', ');
  throw new LifeboatError('Unreachable', `cannot reach Kafka cluster "${cluster}" (${detail}); check kafka.bootstrapServers and that the brokers run`);
}

/** A kafkajs client for `spec`, after checking that its bootstrap servers answer. */
export async function reachableKafka(spec: ClusterSpec, clientSuffix = 'metadata'): Promise<Kafka> {
  await assertBootstrapReachable(spec.name, spec.kafka.bootstrapServers);
  return kafkaFor(spec, clientSuffix);
}

const CONNECTION_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSNumberOfRetriesExceeded', 'KafkaJSBrokerNotFound', 'KafkaJSRequestTimeoutError']);

/** Runs `fn` with a connected admin client; connection failures become `Unreachable`. */
export async function withAdmin<T>(kafka: Kafka, label: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (e) {
    const err = e as Error;
    if (CONNECTION_ERRORS.has(err.name)) throw new LifeboatError('Unreachable', `cannot reach Kafka cluster "${label}": ${err.message}`);
    throw e;
  }
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export interface PartitionState {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/**
 * kafkajs's own transient errors, and TopicDeleted: its names came from a listing, and a broker
 * behind on a topic created a moment ago refuses it (see describeTopics), so a retry waits it out
 * as the UNKNOWN_TOPIC_OR_PARTITION under it was waited out before.
 */
export function isTransientKafkaError(e: unknown): boolean {
  if (e instanceof LifeboatError) return e.type === 'TopicDeleted';
  const err = e as { retriable?: boolean; cause?: { retriable?: boolean }; originalError?: { retriable?: boolean } } | undefined;
  return Boolean(err?.retriable || err?.cause?.retriable || err?.originalError?.retriable);
}

/**
 * Retries a metadata read through transient errors. Health is read exactly when the cluster is
 * disturbed (a broker just stopped, leaders moving), and kafkajs gives up on a single
 * LEADER_NOT_AVAILABLE after its own short retries.
 */
export async function retryTransient<T>(fn: () => Promise<T>, opts: { timeoutMs?: number; delayMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  return retry(fn, { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: opts.delayMs ?? 500, signal: opts.signal, retryIf: isTransientKafkaError });
}

/** kafkajs's two ways of failing on a topic asked for by name that no broker has (see describeTopics). */
function isTopicRefused(e: unknown): boolean {
  if (e instanceof TypeError && /reading 'topicMetadata'/.test(e.message)) return true;
  for (let c = e as { type?: string; cause?: unknown; originalError?: unknown } | undefined, n = 0; c && n < 4; n++) {
    if (c.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    c = (c.originalError ?? c.cause) as typeof c;
  }
  return false;
}

export interface DescribeTopicsOptions {
  /** The cluster's name, for the error (else "the cluster"). */
  cluster?: string;
  /**
   * The names come from a listing just read: one missing now was deleted since, and a retry (which
   * lists again) may succeed, so the error is the retryable TopicDeleted, not InvalidInput.
   */
  listed?: boolean;
  /** Ends the confirming pause (see describeTopics) at once. */
  signal?: AbortSignal;
}

/** The pause before a topic refused and not listed is confirmed missing: a broker catching up on a creation takes a few hundred ms at most. */
export const CONFIRM_MISSING_MS = 400;

/**
 * kafkajs's fetchTopicMetadata, which every metadata read of Lifeboat goes through (no topics: all
 * of them). A topic asked for that does not exist (never did, or was just deleted) is one error
 * naming it: kafkajs fails with UNKNOWN_TOPIC_OR_PARTITION (retriable: retryTransient would wait it
 * out for nothing) or, when every broker refuses a topic its cached metadata still holds, with a
 * TypeError on its null answer. The topics are then listed; with none missing (a broker behind on a
 * creation or a deletion) the error is a retriable one, for the caller's retries. kafkajs asks one
 * broker and the listing perhaps the same one: a broker behind on a topic created a moment ago
 * refuses it and lists without it. So a topic counts as missing only when, after a short pause, a
 * second description still refuses it and a second listing still lacks it.
 */
export async function describeTopics(admin: Admin, topics: string[], opts: DescribeTopicsOptions = {}): Promise<ITopicMetadata[]> {
  const describe = async () => (await admin.fetchTopicMetadata({ topics })).topics;
  try {
    return await describe();
  } catch (first) {
    if (topics.length === 0 || !isTopicRefused(first)) throw first;
    let e = first;
    const list = async () =>
      new Set(
        await admin.listTopics().catch(() => {
          throw e;
        }),
      );
    const existing = await list();
    let missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length) {
      await sleep(CONFIRM_MISSING_MS, opts.signal);
      try {
        return await describe();
      } catch (again) {
        if (!isTopicRefused(again)) throw again;
        e = again;
      }
      const now = await list();
      missing = missing.filter((t) => !now.has(t));
    }
    const where = opts.cluster ? `cluster ${opts.cluster}` : 'the cluster';
    if (missing.length === 0 && e instanceof TypeError) {
      // Every broker refused, but for another reason (a partition without a leader, a topic in the
      // middle of its deletion): worth another try, as kafkajs's own refusals are.
      const named = topics.length > 3 ? `${topics.slice(0, 3).join(', ')} and ${topics.length - 3} more` : topics.join(', ');
      throw Object.assign(new Error(`no broker of ${where} described topic(s) ${named}: each refused`, { cause: e }), { retriable: true });
    }
    if (missing.length === 0) throw e;
    if (opts.listed) throw new LifeboatError('TopicDeleted', `topic(s) ${missing.join(', ')} do not exist on ${where} (deleted since they were listed)`, { topics: missing });
    throw new LifeboatError('InvalidInput', `topic(s) ${missing.join(', ')} do not exist on ${where}`, { topics: missing });
  }
}

/** Who leads and replicates each partition of `topics` (all topics when undefined), through leader elections. */
export async function partitionStates(admin: Admin, topics: string[] | undefined, opts: DescribeTopicsOptions): Promise<PartitionState[]> {
  const described = await retryTransient(() => describeTopics(admin, topics ?? [], opts), { signal: opts.signal });
  return described.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr })),
  );
}


/**
 * A group's committed offsets on the topics: every offset the group holds (one OffsetFetch for all
 * of its topics), then those of `topics`; only partitions with a commit, a topic without one absent.
 * Not kafkajs's fetchOffsets with topics: it looks each topic's partitions up in the client's shared
 * metadata, which a concurrent refresh for fewer topics replaces, and a topic asked for with no
 * partitions comes back without offsets (a mirror plan left out a group's ACLs so).
 */
export async function fetchCommittedOffsets(admin: Admin, groupId: string, topics: string[], signal?: AbortSignal) {
  const wanted = new Set(topics);
  const all = await retryTransient(() => admin.fetchOffsets({ groupId }), { signal });
  return all.filter((t) => wanted.has(t.topic)).map((t) => ({ ...t, partitions: t.partitions.filter((p) => Number(p.offset) >= 0) }));
}
