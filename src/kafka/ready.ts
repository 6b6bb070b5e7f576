/**
 * Waiting until a cluster agrees with itself. After a broker stops, dies or starts, and after a
 * topic is created, the brokers learn the news from the controller one by one: a client that
 * bootstraps from a broker that has not heard yet is sent to a dead controller, or finds a topic
 * without leaders, and fails past kafkajs's few retries. `waitForAgreement` returns once
 *  - ZooKeeper names a controller (/controller) that is registered (/brokers/ids),
 *  - every registered broker, asked on its own, names that controller and the same live brokers,
 *  - and, for `topics`, every registered broker knows every partition with a live leader.
 * Without ZooKeeper (KRaft) the live brokers and the controller are those the bootstrap brokers name.
 */
import { Kafka, type KafkaConfig } from 'kafkajs';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { backoff, type Interval, poll, throwIfAborted } from '../core/poll';
import { chrootPath, getChildren, getData, type ZkClient, ZkError } from '../zookeeper/client';
import { openZk } from '../zookeeper/errors';
import { kafkaConfig } from './client';
import { clusterOf, type MetadataV1, metadataV4, protocolError, type WireResponse } from './wire/transport';

/** A cluster as this module needs it: kafkajs settings (bootstrap, TLS, SASL) and, in ZooKeeper mode, where its chroot is. */
export interface AgreementTarget {
  name: string;
  kafka: KafkaConfig;
  zookeeper?: { connect: string; chroot: string; auth?: { scheme: string; credentials: string }[] };
  /**
   * A KRaft cluster: its brokers answer a random live broker as the "controller" of a Metadata
   * request (the quorum's controllers are not for clients), so no controller is compared.
   */
  kraft?: boolean;
}

export interface AgreementOptions {
  /** Topics whose every partition must have a live leader on every live broker. */
  topics?: string[];
  /** Brokers that must be gone: not registered and not the controller (just stopped or killed). */
  absent?: number[];
  /** Brokers that must be live and in agreement (just started). */
  present?: number[];
  timeoutMs?: number;
  /**
   * Between looks; a function of the attempt for a backoff. Default 50, 100, … ms up to 250 ms: what
   * is waited for (a topic just created, a broker just started) is often there within 100 ms.
   */
  intervalMs?: Interval;
  signal?: AbortSignal;
}

export interface Agreement {
  /** null only when no broker is live. */
  controller: number | null;
  brokers: number[];
}

export function agreementTarget(spec: ClusterSpec): AgreementTarget {
  const zk = spec.kafka.mode === 'zookeeper' && spec.zookeeper ? { connect: spec.zookeeper.connect, chroot: spec.zookeeper.chroot, auth: zkAuthOf(spec) } : undefined;
  return { name: spec.name, kafka: kafkaConfig(spec, 'ready'), zookeeper: zk, kraft: spec.kafka.mode === 'kraft' };
}

const isSpec = (t: ClusterSpec | AgreementTarget): t is ClusterSpec => 'bootstrapServers' in t.kafka;

export interface BrokerView {
  controller: number | null;
  brokers: { nodeId: number; address: string }[];
  /** Leader of each partition, per topic asked for (-1: none). */
  leaders: Map<string, number[]>;
  /** Why the broker gave no metadata for a topic asked for (by topic). */
  topicErrors: Map<string, string>;
}

/**
 * One broker's metadata answer, asked of that broker alone, without retries. A raw Metadata v4
 * request: kafkajs's own asks for every topic when given none and throws away the whole answer
 * when any partition has no leader, which is the normal state of a cluster with a broker down.
 */
async function askBroker(base: KafkaConfig, address: string, topics: string[]): Promise<BrokerView> {
  const kafka = new Kafka({ ...base, brokers: [address], retry: { retries: 0 }, connectionTimeout: 3_000, requestTimeout: 10_000 });
  const cluster = clusterOf(kafka);
  await cluster.connect();
  try {
    // An explicit (possibly empty) list: an empty one asks for no topic, not for all of them. v4, which
    // creates none of them (v1 let a broker with auto.create.topics.enable create a topic it did not know).
    const { request, response } = metadataV4(topics);
    const md = (await cluster.brokerPool.seedBroker.connectionPool.send({ request, response: response as WireResponse<unknown> })) as MetadataV1;
    const view: BrokerView = {
      controller: md.controllerId >= 0 ? md.controllerId : null,
      brokers: md.brokers.map((b) => ({ nodeId: b.nodeId, address: `${b.host}:${b.port}` })),
      leaders: new Map(),
      topicErrors: new Map(),
    };
    for (const t of md.topicMetadata) {
      if (t.topicErrorCode !== 0) view.topicErrors.set(t.topic, protocolErrorType(t.topicErrorCode));
      else view.leaders.set(t.topic, t.partitionMetadata.map((p) => (p.partitionErrorCode === 0 || p.partitionErrorCode === 9 ? p.leader : -1)));
    }
    return view;
  } finally {
    await cluster.disconnect().catch(() => {});
  }
}

/**
 * Why the first bootstrap broker that answers gives no metadata for each of `topics` (by topic; a
 * topic it describes is absent): TOPIC_AUTHORIZATION_FAILED is a principal without Describe on it.
 */
export async function topicErrorsOf(spec: ClusterSpec, topics: string[]): Promise<Map<string, string>> {
  const base = kafkaConfig(spec, 'ready');
  let last: unknown;
  for (const address of spec.kafka.bootstrapServers) {
    try {
      return (await askBroker(base, address, topics)).topicErrors;
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

/** UNKNOWN_TOPIC_OR_PARTITION for 3, and so on. */
function protocolErrorType(code: number): string {
  return protocolError(code).type ?? `error ${code}`;
}

/** ECONNREFUSED, UNKNOWN_TOPIC_OR_PARTITION, or the message's first line. */
const shortError = (e: unknown): string => {
  const err = e as Error & { code?: unknown; type?: string; cause?: { code?: string } };
  const code = typeof err.code === 'string' ? err.code : undefined;
  return (err.type ?? err.cause?.code ?? code ?? err.message ?? String(e)).toString().split('\n')[0]!;
};

interface ZkView {
  controller: number | null;
  registered: Map<number, string[]>;
}

async function readZk(zk: ZkClient, chroot: string): Promise<ZkView> {
  const at = (p: string) => chrootPath(chroot, p);
  const noNode = (e: unknown) => e instanceof ZkError && e.code === 'NO_NODE';
  const ids = await getChildren(zk, at('/brokers/ids')).catch((e: unknown) => (noNode(e) ? [] : Promise.reject(e)));
  const controller = await getData(zk, at('/controller')).then(
    ({ data }) => (JSON.parse(data?.toString('utf8') ?? '{}') as { brokerid?: number }).brokerid ?? null,
    (e: unknown) => (noNode(e) ? null : Promise.reject(e)),
  );
  const registered = new Map<number, string[]>();
  for (const id of ids) {
    const reg = await getData(zk, at(`/brokers/ids/${id}`)).then(
      ({ data }) => JSON.parse(data?.toString('utf8') ?? '{}') as { endpoints?: string[] },
      (e: unknown) => (noNode(e) ? undefined : Promise.reject(e)),
    );
    // "PLAINTEXT://127.0.0.1:19091" → "127.0.0.1:19091"
    if (reg) registered.set(Number(id), (reg.endpoints ?? []).map((e) => e.replace(/^[^:]*:\/\//, '')));
  }
  return { controller, registered };
}

/** One look at the cluster: what it agrees on, or every disagreement found. */
async function observe(target: AgreementTarget, zk: ZkClient | undefined, opts: AgreementOptions): Promise<{ agreed?: Agreement; problems: string[] }> {
  const problems: string[] = [];
  const bootstrap = typeof target.kafka.brokers === 'function' ? await target.kafka.brokers() : target.kafka.brokers;
  const topics = opts.topics ?? [];
  let live: number[];
  let controller: number | null;
  const addresses = new Map<number, string>();
  if (zk && target.zookeeper) {
    const view = await readZk(zk, target.zookeeper.chroot);
    live = [...view.registered.keys()].sort((a, b) => a - b);
    controller = view.controller;
    // The endpoint clients bootstrap through, else the first one registered.
    for (const [id, eps] of view.registered) addresses.set(id, eps.find((e) => bootstrap.includes(e)) ?? eps[0] ?? '');
    if (live.length && controller === null) problems.push('ZooKeeper names no controller');
    else if (controller !== null && !live.includes(controller)) problems.push(`ZooKeeper names controller ${controller}, which is not registered`);
  } else {
    let first: BrokerView | undefined;
    const errors: string[] = [];
    for (const a of bootstrap) {
      first = await askBroker(target.kafka, a, []).catch((e: unknown) => void errors.push(`${a}: ${shortError(e)}`));
      if (first) break;
    }
    if (!first) return { problems: [`no bootstrap broker answers (${errors.join(', ')})`] };
    live = first.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
    controller = first.controller;
    for (const b of first.brokers) addresses.set(b.nodeId, b.address);
  }
  const views = await Promise.all(
    live.map((id) =>
      askBroker(target.kafka, addresses.get(id)!, topics).then(
        (v) => ({ id, v }),
        (e: unknown) => ({ id, error: shortError(e) }),
      ),
    ),
  );
  problems.push(...disagreements({ live, controller, kraft: !!target.kraft && !zk }, views, opts));
  return problems.length ? { problems } : { agreed: { controller: live.length ? controller : null, brokers: live }, problems };
}

/**
 * What the brokers' own answers disagree on, against the live brokers and the controller (from
 * ZooKeeper, else the first bootstrap broker's answer). In KRaft no controller is compared: each
 * answer names a random live broker (Kafka's KafkaApis), so a 3-broker cluster agreed by chance on
 * 1 look in 9, a 6-broker one practically never.
 */
export function disagreements(
  seen: { live: number[]; controller: number | null; kraft: boolean },
  views: ({ id: number; v: BrokerView } | { id: number; error: string })[],
  opts: Pick<AgreementOptions, 'absent' | 'present' | 'topics'>,
): string[] {
  const { live, controller, kraft } = seen;
  const problems: string[] = [];
  for (const id of opts.absent ?? []) {
    if (live.includes(id)) problems.push(`broker ${id} is still registered`);
    if (!kraft && controller === id) problems.push(`broker ${id} is still the controller`);
  }
  for (const id of opts.present ?? []) if (!live.includes(id)) problems.push(`broker ${id} is not registered`);
  for (const r of views) {
    if ('error' in r) {
      problems.push(`broker ${r.id} does not answer (${r.error})`);
      continue;
    }
    const { id, v } = r;
    if (!kraft && v.controller !== controller) problems.push(`broker ${id} names controller ${v.controller ?? 'none'}, not ${controller ?? 'none'}`);
    const known = v.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
    if (known.join(',') !== live.join(',')) problems.push(`broker ${id} knows brokers [${known.join(',')}], not [${live.join(',')}]`);
    for (const t of opts.topics ?? []) {
      const leaders = v.leaders.get(t);
      const error = v.topicErrors.get(t);
      if (error) problems.push(`broker ${id} gives no metadata for ${t} (${error})`);
      else if (!leaders || leaders.length === 0) problems.push(`broker ${id} does not know topic ${t}`);
      else {
        const without = leaders.map((l, p) => (live.includes(l) ? -1 : p)).filter((p) => p >= 0);
        if (without.length) problems.push(`broker ${id} knows no live leader for ${t} partition(s) ${without.join(',')}`);
      }
    }
  }
  return problems;
}

/**
 * Waits until the cluster agrees (see the module comment); returns what it agrees on. Throws
 * `Unreachable` after `timeoutMs` (default 60 s), naming every disagreement of the last look;
 * an abort of `signal` ends the wait at once.
 */
export async function waitForAgreement(cluster: ClusterSpec | AgreementTarget, opts: AgreementOptions = {}): Promise<Agreement> {
  const target = isSpec(cluster) ? agreementTarget(cluster) : cluster;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  throwIfAborted(opts.signal);
  const zk = target.zookeeper ? await openZk(target.zookeeper.connect, { auth: target.zookeeper.auth, timeoutMs: Math.min(15_000, timeoutMs), signal: opts.signal }) : undefined;
  const on = opts.topics?.length ? ` on a controller and the leaders of ${opts.topics.join(', ')}` : ' on a controller';
  try {
    return await poll(
      async (note) => {
        try {
          const r = await observe(target, zk, opts);
          if (r.agreed) return r.agreed;
          note(r.problems.join('; '));
        } catch (e) {
          note(`ZooKeeper: ${shortError(e)}`);
        }
        return undefined;
      },
      {
        what: `cluster ${target.name} to agree${on}`,
        timeoutMs,
        intervalMs: opts.intervalMs ?? backoff(50, 250),
        signal: opts.signal,
        message: (last) => `cluster ${target.name} did not agree${on} within ${timeoutMs / 1000}s: ${last ?? 'no answer'}`,
      },
    );
  } finally {
    zk?.close();
  }
}
