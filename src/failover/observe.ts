/**
 * What the failover's decision tree looks at, observed directly (never the alert's word):
 *  - observeCluster: every broker asked on its own for metadata (no retries, short timeouts), the
 *    controller they name, each ZooKeeper server of the ensemble by a session of its own (a server
 *    that is not in a quorum sets up no session), offline / critical / under-min-ISR partitions, and
 *    what broker control says of each process where it can tell;
 *  - observeStandby: the standby's health and the mirror primary → standby from its durable state
 *    on the standby (positions and their age; lag where the primary still answers);
 *  - newestVerifiedSet: the newest backup set of the primary that covers the cluster and verifies.
 * Every observation finishes within its timeout even when nothing answers (the common case).
 */
import { hostname } from 'node:os';
import { Kafka, type KafkaConfig } from 'kafkajs';
import type { ClusterSpec } from '../config/spec';
import { isLifeboatError } from '../errors';
import { brokerControlFor } from '../host/brokerControl';
import { withAdmin } from '../kafka/admin';
import { kafkaConfig, kafkaFor } from '../kafka/client';
import { mirrorPair, mirrorWorkflowId } from '../kafka/mirrorRun.pure';
import { readState } from '../kafka/mirror/state';
import { WireClient } from '../kafka/wire/client';
import { clusterOf, type MetadataV1, metadataV1, type WireResponse } from '../kafka/wire/transport';
import { chooseBackupSet } from '../recovery/choose';
import { connectZk, zkServers } from '../zookeeper/client';
import { classify } from './decide.pure';
import type { BackupObservation, BrokerObservation, ClusterObservation, PartitionRef, StandbyObservation } from './types';

export interface ObserveOptions {
  /** The whole observation's budget (default 10 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** A mirror whose newest position is older than this is not running (it writes every partition's position at least once a round, 60 s by default). */
export const MIRROR_RUNNING_MS = 3 * 60_000;

/** `p`, or `fallback` once `ms` passed (the work goes on in the background and is dropped). */
function within<T>(p: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback()), Math.max(0, ms))));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** ECONNREFUSED, a protocol error's type, or the message's first line. */
function shortError(e: unknown): string {
  const err = e as Error & { code?: unknown; type?: string; cause?: { code?: string } };
  const code = typeof err.code === 'string' ? err.code : undefined;
  return String(err.type ?? err.cause?.code ?? code ?? err.message ?? e).split('\n')[0]!;
}

/** One broker's Metadata v1 answer for every topic, asked of it alone, no retries. */
async function askBroker(base: KafkaConfig, address: string, timeoutMs: number): Promise<MetadataV1> {
  const kafka = new Kafka({
    ...base,
    brokers: [address],
    retry: { retries: 0 },
    connectionTimeout: Math.max(200, Math.min(3_000, timeoutMs)),
    authenticationTimeout: Math.max(200, Math.min(3_000, timeoutMs)),
    requestTimeout: Math.max(500, timeoutMs),
  });
  const cluster = clusterOf(kafka);
  await cluster.connect();
  try {
    const { request, response } = metadataV1(null);
    return (await cluster.brokerPool.seedBroker.connectionPool.send({ request, response: response as WireResponse<unknown> })) as MetadataV1;
  } finally {
    await cluster.disconnect().catch(() => {});
  }
}

/** Where broker control can tell from here: adapters and command templates anywhere, systemd on its own host. */
async function processStatus(spec: ClusterSpec, id: number, timeoutMs: number): Promise<BrokerObservation['process']> {
  const b = spec.brokers.find((x) => x.id === id);
  if (!b) return 'unknown';
  if (b.control.type === 'systemd' && b.host !== hostname() && b.host !== 'localhost') return 'unknown';
  try {
    const control = brokerControlFor(spec, id);
    return await within(control.status(), timeoutMs, () => 'unknown' as const);
  } catch {
    return 'unknown';
  }
}

/** How many servers of the ensemble give a session (each asked alone). */
async function observeZooKeeper(connect: string, timeoutMs: number): Promise<NonNullable<ClusterObservation['zookeeper']>> {
  const servers = zkServers(connect);
  const errors: string[] = [];
  const answers = await Promise.all(
    servers.map(async (s) => {
      const address = `${s.host}:${s.port}`;
      const session = connectZk(address, { timeoutMs, sessionTimeoutMs: Math.max(4_000, timeoutMs) });
      const ok = await within(
        session.then(
          (zk) => (zk.close(), true),
          (e: unknown) => (errors.push(`${address}: ${shortError(e)}`), false),
        ),
        timeoutMs + 500,
        () => (errors.push(`${address}: no session within ${timeoutMs} ms`), false),
      );
      // A session that came after the deadline is closed too.
      if (!ok) void session.then((zk) => zk.close()).catch(() => {});
      return ok;
    }),
  );
  const reachable = answers.filter(Boolean).length;
  return { reachable, total: servers.length, quorum: reachable * 2 > servers.length, ...(errors.length ? { error: errors.join('; ') } : {}) };
}

/**
 * min.insync.replicas of each topic (effective: the topic's, else the broker default), asked of one
 * broker that answered, on its own connection (kafkajs's admin refuses to start while a partition
 * has no leader, exactly when this matters).
 */
async function minIsrOf(base: KafkaConfig, address: string, topics: string[], timeoutMs: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!topics.length) return out;
  const kafka = new Kafka({ ...base, brokers: [address], retry: { retries: 0 }, connectionTimeout: Math.max(200, Math.min(3_000, timeoutMs)), requestTimeout: Math.max(500, timeoutMs) });
  const cluster = clusterOf(kafka);
  await cluster.connect();
  try {
    const r = await cluster.brokerPool.seedBroker.describeConfigs({ resources: topics.map((name) => ({ type: 2, name, configNames: ['min.insync.replicas'] })) });
    for (const res of r.resources) {
      const v = res.errorCode === 0 ? res.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue : undefined;
      if (v !== undefined && v !== null && Number.isFinite(Number(v))) out.set(res.resourceName, Number(v));
    }
    return out;
  } finally {
    await cluster.disconnect().catch(() => {});
  }
}

/**
 * One probe of `spec`'s cluster, straight to its brokers and ZooKeeper servers. Partitions are read
 * from the controller's answer when it answered (the freshest view), else from the first broker
 * that did. `underMinIsr`: partitions with a leader whose ISR is below the topic's
 * min.insync.replicas (partitions without a leader are in `offline`).
 */
export async function observeCluster(spec: ClusterSpec, opts: ObserveOptions = {}): Promise<ClusterObservation> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const t0 = Date.now();
  const left = () => timeoutMs - (Date.now() - t0);
  const base = kafkaConfig(spec, 'failover-observe');
  const probeMs = Math.max(300, Math.floor(timeoutMs * 0.5));

  // Brokers the spec names, at their listener; without a listener, at the address another broker gives.
  const candidates: { id?: number; address?: string }[] = spec.brokers.length
    ? spec.brokers.map((b) => ({ id: b.id, address: b.listener }))
    : spec.kafka.bootstrapServers.map((address) => ({ address }));
  const ask = (address: string) =>
    within(
      askBroker(base, address, probeMs).then(
        (md) => ({ md }),
        (e: unknown) => ({ error: shortError(e) }),
      ),
      probeMs + 300,
      () => ({ error: `no answer within ${probeMs} ms` }),
    );
  const zkConnect = spec.kafka.mode === 'zookeeper' && spec.zookeeper ? spec.zookeeper.connect : undefined;
  const zkPromise = zkConnect ? observeZooKeeper(zkConnect, Math.max(500, Math.floor(timeoutMs * 0.8))) : Promise.resolve(undefined);
  const statusPromise = Promise.all(spec.brokers.map(async (b) => [b.id, await processStatus(spec, b.id, probeMs)] as const));

  const first = await Promise.all(candidates.map(async (c) => ({ ...c, answer: c.address ? await ask(c.address) : undefined })));
  // Brokers the answers name that the spec gave no address for (or a spec without brokers: all of them).
  const named = new Map<number, string>();
  for (const f of first) if (f.answer && 'md' in f.answer) for (const b of f.answer.md.brokers) named.set(b.nodeId, `${b.host}:${b.port}`);
  const rows: { id: number; address: string; answer?: { md: MetadataV1 } | { error: string } }[] = [];
  for (const f of first) if (f.id !== undefined && f.address) rows.push({ id: f.id, address: f.address, answer: f.answer });
  const missing = spec.brokers.length ? spec.brokers.filter((b) => !b.listener).map((b) => b.id) : [...named.keys()];
  await Promise.all(
    missing.map(async (id) => {
      const address = named.get(id);
      if (!address) return void rows.push({ id, address: '', answer: { error: 'the spec gives no listener and no broker that answers names it' } });
      // Already asked (a bootstrap server that is this broker).
      const asked = first.find((f) => f.address === address)?.answer;
      rows.push({ id, address, answer: asked ?? (await ask(address)) });
    }),
  );
  rows.sort((a, b) => a.id - b.id);

  const statuses = new Map(await within(statusPromise, Math.max(0, left() * 0.2), () => [] as (readonly [number, BrokerObservation['process']])[]));
  const brokers: BrokerObservation[] = rows.map((r) => {
    const md = r.answer && 'md' in r.answer ? r.answer.md : undefined;
    const process = statuses.get(r.id);
    return {
      id: r.id,
      listener: r.address,
      reachable: md !== undefined,
      ...(process && spec.brokers.some((b) => b.id === r.id) ? { process } : {}),
      ...(r.answer && 'error' in r.answer ? { error: r.answer.error } : {}),
    };
  });
  const answered = rows.filter((r): r is typeof r & { answer: { md: MetadataV1 } } => !!r.answer && 'md' in r.answer);

  // The controller: the one most answers name, counted only when it answers itself.
  let controller: number | null | undefined;
  let view: { row: (typeof answered)[number] } | undefined;
  if (answered.length) {
    const votes = new Map<number, number>();
    for (const r of answered) if (r.answer.md.controllerId >= 0) votes.set(r.answer.md.controllerId, (votes.get(r.answer.md.controllerId) ?? 0) + 1);
    const top = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
    const own = answered.find((r) => r.id === top);
    controller = own ? top! : null;
    view = { row: own ?? answered[0]! };
  }

  const offline: PartitionRef[] = [];
  const underMinIsr: PartitionRef[] = [];
  if (view) {
    const md = view.row.answer.md;
    const topics = md.topicMetadata.filter((t) => t.topicErrorCode === 0 || t.partitionMetadata.length > 0);
    const live = new Set(answered.map((r) => r.id));
    const minIsr = await within(
      minIsrOf(base, view.row.address, topics.map((t) => t.topic), Math.max(300, left() - 500)).catch(() => new Map<string, number>()),
      Math.max(0, left() - 300),
      () => new Map<string, number>(),
    );
    for (const t of topics) {
      for (const p of t.partitionMetadata) {
        const ref = { topic: t.topic, partition: p.partitionId };
        // LEADER_NOT_AVAILABLE, no leader, or a leader that does not answer: nobody serves it.
        const led = p.leader >= 0 && p.partitionErrorCode !== 5 && (live.has(p.leader) || !spec.brokers.some((b) => b.id === p.leader));
        if (!led) offline.push(ref);
        else if (p.isr.length < (minIsr.get(t.topic) ?? 1)) underMinIsr.push(ref);
      }
    }
  }
  const critical = (spec.topics?.critical ?? []).map((c) => new RegExp(c));
  const criticalOffline = offline.filter((p) => critical.some((re) => re.test(p.topic)));
  const zookeeper = await within(zkPromise, Math.max(0, left()), () => (zkConnect ? { reachable: 0, total: zkServers(zkConnect).length, quorum: false, error: 'no answer within the timeout' } : undefined));

  return {
    cluster: spec.name,
    at: new Date().toISOString(),
    brokers,
    ...(answered.length ? { controller } : {}),
    ...(zookeeper ? { zookeeper } : {}),
    offline,
    criticalOffline,
    underMinIsr,
    reachable: answered.length > 0,
  };
}

/** What is wrong with a cluster, one line each (the standby's `problems`). */
export function clusterProblems(o: ClusterObservation): string[] {
  const out: string[] = [];
  const down = o.brokers.filter((b) => !b.reachable || b.process === 'stopped');
  if (!o.reachable) out.push('no broker answers');
  else if (down.length) out.push(`broker(s) ${down.map((b) => `${b.id}${b.error ? ` (${b.error})` : ''}`).join(', ')} down`);
  if (o.reachable && o.controller === null) out.push('no active controller');
  if (o.zookeeper && !o.zookeeper.quorum) out.push(`no ZooKeeper quorum (${o.zookeeper.reachable}/${o.zookeeper.total})`);
  if (o.offline.length) out.push(`${o.offline.length} partition(s) offline`);
  if (o.underMinIsr.length) out.push(`${o.underMinIsr.length} partition(s) under min.insync.replicas`);
  return out;
}

export interface StandbyOptions extends ObserveOptions {
  /** "Now" for the running test of the mirror (default Date.now()). */
  now?: number;
}

/**
 * The standby at decision time: its health, and the mirror primary → standby from the durable state
 * it keeps on the standby (`__lifeboat_mirror`): the topics it copies, when it last wrote a position
 * (running: within MIRROR_RUNNING_MS), and, when the primary answers, its lag = the primary's ends
 * minus the positions (offsets, so transaction markers count: an upper bound of the records).
 */
export async function observeStandby(primary: ClusterSpec, standby: ClusterSpec, opts: StandbyOptions = {}): Promise<StandbyObservation> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const t0 = Date.now();
  const left = () => timeoutMs - (Date.now() - t0);
  const pair = mirrorPair(primary.name, standby.name);
  const problems: string[] = [];

  const healthP = observeCluster(standby, { timeoutMs: Math.floor(timeoutMs * 0.5) });
  const stateP = (async () => {
    const signal = AbortSignal.timeout(Math.max(500, Math.floor(timeoutMs * 0.6)));
    return readState(kafkaFor(standby, 'failover-observe'), pair, signal);
  })().catch((e: unknown) => {
    problems.push(`mirror state on ${standby.name} unreadable: ${shortError(e)}`);
    return undefined;
  });
  // The standby's topics: positions of a topic deleted there since are history, not data to count.
  const topicsP = Promise.race([
    withAdmin(kafkaFor(standby, 'failover-observe'), standby.name, (a) => a.listTopics()),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), Math.max(500, Math.floor(timeoutMs * 0.6))).unref()),
  ]).catch(() => undefined);
  const [health, state, onStandby] = await Promise.all([healthP, stateP, topicsP]);
  problems.unshift(...clusterProblems(health));

  const all = state ? [...state.positions.values()] : [];
  const present = onStandby && new Set(onStandby);
  const positions = present ? all.filter((p) => present.has(p.topic)) : all;
  const gone = [...new Set(all.filter((p) => !positions.includes(p)).map((p) => p.topic))];
  if (gone.length) problems.push(`the mirror's state names ${gone.length} topic${gone.length === 1 ? '' : 's'} no longer on ${standby.name} (left out): ${gone.slice(0, 5).join(', ')}${gone.length > 5 ? ', …' : ''}`);
  const topics = [...new Set(positions.map((p) => p.topic))].sort();
  const lastPositionAt = positions.length ? Math.max(...positions.map((p) => p.at)) : undefined;
  const now = opts.now ?? Date.now();
  const running = lastPositionAt !== undefined && now - lastPositionAt <= MIRROR_RUNNING_MS;

  let lagRecords: number | undefined;
  if (topics.length && left() > 300) {
    const signal = AbortSignal.timeout(Math.max(300, left() - 200));
    lagRecords = await (async () => {
      const client = await WireClient.open(new Kafka({ ...kafkaConfig(primary, 'failover-observe'), retry: { retries: 0 }, connectionTimeout: 2_000 }), topics, signal);
      try {
        let lag = 0;
        for (const t of topics) {
          const ends = await client.listOffsets(t, 'committed');
          for (const p of positions.filter((x) => x.topic === t)) {
            const end = ends.get(p.partition);
            if (end === undefined) throw new Error(`no end for ${t}-${p.partition}`);
            lag += Math.max(0, end - p.next);
          }
        }
        return lag;
      } finally {
        await client.close();
      }
    })().catch(() => undefined);
    if (signal.aborted) lagRecords = undefined;
  }

  return {
    cluster: standby.name,
    healthy: classify(health) === null,
    brokersUp: health.brokers.filter((b) => b.reachable && b.process !== 'stopped').length,
    brokersTotal: health.brokers.length,
    mirror: {
      workflowId: mirrorWorkflowId(primary.name, standby.name),
      running,
      ...(lagRecords !== undefined ? { lagRecords } : {}),
      ...(lastPositionAt !== undefined ? { lastPositionAt } : {}),
      topics,
    },
    problems,
  };
}

/**
 * The newest backup set of `spec` that covers the whole cluster and verifies (structure, small parts
 * whole, a sample of the data: recovery/choose.ts), or none with why.
 */
export async function newestVerifiedSet(spec: ClusterSpec, onProgress?: (m: string) => void): Promise<BackupObservation & { why?: string }> {
  if (!spec.repository) return { why: `${spec.name} has no repository in its spec` };
  try {
    const chosen = await chooseBackupSet(spec, { onProgress });
    return { newestVerified: { setId: chosen.set.setId, time: chosen.set.time, parts: Object.keys(chosen.set.snapshots).sort() } };
  } catch (e) {
    if (isLifeboatError(e) && ['SnapshotNotFound', 'CorruptBackup', 'RepositoryNotFound'].includes(e.type)) return { why: e.message };
    throw e;
  }
}
