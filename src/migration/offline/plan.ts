/**
 * The plan of an offline migration, read while both clusters still run (read only): the source's
 * topics as ZooKeeper holds them (assignment, topic id, partition states, config overrides), where
 * each partition goes on the target, the consumer groups to carry over, and everything that makes
 * the move impossible or unsafe, each as one actionable line.
 *
 * Moved: every topic but internal ones (`__…`) and those the source spec calls disposable. Not
 * moved as files: `__consumer_offsets` (the target has its own; merging another cluster's into it
 * is not possible file by file) — group offsets are committed again through the admin API, after
 * the target serves the migrated topics — and `__transaction_state` (open transactions do not move).
 */
import type { ClusterSpec } from '../../config/spec';
import { zkAuthOf } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { retryTransient, withAdmin } from '../../kafka/admin';
import { listGroupsSteadily } from '../../kafka/groupCoordinators';
import { kafkaFor } from '../../kafka/client';
import { WireClient } from '../../kafka/wire/client';
import { chrootPath, exists, getChildren, getData, withZk, type ZkClient } from '../../zookeeper/client';
import { type BrokerMap, type PlacedPartition, placePartitions, resolveBrokerMap, rfChanges } from './plan.pure';

export interface PlannedTopic {
  name: string;
  topicId: string;
  /** /brokers/topics/<name> of the source, as JSON text (rewritten with the new assignment on the target). */
  assignment: string;
  /** /config/topics/<name> of the source (null: no overrides). */
  config: string | null;
  /** /kafka-acl/Topic/<name> of the source: the topic's literal ACLs (null: none). */
  acl?: string | null;
  /** The source's min.insync.replicas override, if any (checked against the new replication factor). */
  minIsr?: number;
  partitions: (PlacedPartition & { state: string | null })[];
}

export interface GroupOffsets {
  group: string;
  offsets: { topic: string; partition: number; offset: string }[];
}

export interface OfflinePlan {
  source: string;
  target: string;
  sourceClusterId: string;
  targetClusterId: string;
  sourceBrokers: number[];
  targetBrokers: number[];
  brokerMap: BrokerMap;
  topics: PlannedTopic[];
  rfChanges: { topic: string; from: number; to: number }[];
  skipped: { topic: string; reason: string }[];
  /** Groups with committed offsets on moved topics (their offsets are read again just before the stop). */
  groups: string[];
  /** Reasons the migration cannot run; empty to go on. */
  problems: string[];
  warnings: string[];
}

/** Refusals that need only the specs (the CLI says them before any workflow starts). */
export function specProblems(source: ClusterSpec, target: ClusterSpec): string[] {
  const problems: string[] = [];
  for (const [role, s] of [['source', source], ['target', target]] as const) {
    if (s.kafka.mode === 'kraft' || !s.zookeeper) {
      problems.push(`the ${role} ${s.name} is a KRaft cluster: its metadata is not in ZooKeeper: use online migration, lifeboat migrate (without --offline)`);
    }
  }
  if (problems.length) return problems;
  const sameZk = source.zookeeper!.connect === target.zookeeper!.connect && normChroot(source.zookeeper!.chroot) === normChroot(target.zookeeper!.chroot);
  const shared = source.kafka.bootstrapServers.find((b) => target.kafka.bootstrapServers.includes(b));
  const why = sameZk ? `ZooKeeper ${source.zookeeper!.connect} chroot ${normChroot(source.zookeeper!.chroot)}` : shared ? `bootstrap server ${shared}` : source.name === target.name ? `both named ${source.name}` : undefined;
  if (why) problems.push(`source and target are the same cluster (${why}): give another --target-spec`);
  if (source.brokers.length === 0) problems.push(`the source spec ${source.name} lists no brokers`);
  if (target.brokers.length === 0) problems.push(`the target spec ${target.name} lists no brokers`);
  if (!source.repository) problems.push(`the source spec ${source.name} has no repository section: the log dirs travel through it`);
  return problems;
}

const normChroot = (c: string | undefined) => (c ?? '').replace(/\/+$/, '') || '/';

async function readJson(zk: ZkClient, path: string): Promise<string | null> {
  if (!(await exists(zk, path))) return null;
  return (await getData(zk, path)).data?.toString() ?? null;
}

async function clusterIdAt(zk: ZkClient, chroot: string | undefined): Promise<string | null> {
  const raw = await readJson(zk, chrootPath(chroot, '/cluster/id'));
  return raw ? ((JSON.parse(raw) as { id?: string }).id ?? null) : null;
}

async function childrenOr(zk: ZkClient, path: string): Promise<string[]> {
  return (await exists(zk, path)) ? getChildren(zk, path) : [];
}

/** Reads both clusters and returns the plan; never writes. */
export async function planOfflineMigration(source: ClusterSpec, target: ClusterSpec, opts: { brokerMap?: BrokerMap } = {}): Promise<OfflinePlan> {
  const early = specProblems(source, target);
  if (early.length) throw new LifeboatError('InvalidInput', early[0]!);
  const sz = source.zookeeper!;
  const tz = target.zookeeper!;
  const sourceBrokers = source.brokers.map((b) => b.id);
  const targetBrokers = target.brokers.map((b) => b.id);
  const problems: string[] = [];
  const warnings: string[] = [];
  const { map, problems: mapProblems } = resolveBrokerMap(sourceBrokers, targetBrokers, opts.brokerMap);
  problems.push(...mapProblems);

  const disposable = source.topics.disposable.map((p) => new RegExp(p));
  const skipped: OfflinePlan['skipped'] = [];
  const raw = await withZk(
    sz.connect,
    async (zk) => {
      const clusterId = await clusterIdAt(zk, sz.chroot);
      const deleting = await childrenOr(zk, chrootPath(sz.chroot, '/admin/delete_topics'));
      const reassigning = await exists(zk, chrootPath(sz.chroot, '/admin/reassign_partitions'));
      const topics: { name: string; assignment: string; config: string | null; acl: string | null; states: Record<number, string | null> }[] = [];
      for (const name of (await childrenOr(zk, chrootPath(sz.chroot, '/brokers/topics'))).sort()) {
        if (name.startsWith('__')) {
          skipped.push({ topic: name, reason: name === '__consumer_offsets' ? 'internal: group offsets are committed again through the admin API' : 'internal' });
          continue;
        }
        if (disposable.some((r) => r.test(name))) {
          skipped.push({ topic: name, reason: 'disposable (the source spec\'s topics.disposable)' });
          continue;
        }
        if (deleting.includes(name)) problems.push(`topic ${name} is being deleted on ${source.name}: wait until the deletion has finished`);
        const assignment = await readJson(zk, chrootPath(sz.chroot, `/brokers/topics/${name}`));
        if (!assignment) continue; // deleted meanwhile
        const config = await readJson(zk, chrootPath(sz.chroot, `/config/topics/${name}`));
        const acl = await readJson(zk, chrootPath(sz.chroot, `/kafka-acl/Topic/${name}`));
        const parsed = JSON.parse(assignment) as { partitions: Record<string, number[]> };
        const states: Record<number, string | null> = {};
        for (const p of Object.keys(parsed.partitions)) states[Number(p)] = await readJson(zk, chrootPath(sz.chroot, `/brokers/topics/${name}/partitions/${p}/state`));
        topics.push({ name, assignment, config, acl, states });
      }
      // ACLs the move does not carry: wildcard and prefixed topic ACLs, and every other resource type's.
      const otherAcls: string[] = [];
      for (const type of await childrenOr(zk, chrootPath(sz.chroot, '/kafka-acl'))) {
        for (const r of await childrenOr(zk, chrootPath(sz.chroot, `/kafka-acl/${type}`))) if (type !== 'Topic' || r === '*') otherAcls.push(`${type}:${r}`);
      }
      for (const type of await childrenOr(zk, chrootPath(sz.chroot, '/kafka-acl-extended/prefixed'))) {
        for (const r of await childrenOr(zk, chrootPath(sz.chroot, `/kafka-acl-extended/prefixed/${type}`))) otherAcls.push(`${type}:${r}* (prefixed)`);
      }
      return { clusterId, topics, reassigning: reassigning !== null, otherAcls };
    },
    { auth: zkAuthOf(source) },
  );
  if (raw.otherAcls.length) {
    warnings.push(
      `ACLs other than the moved topics' own are not moved (${raw.otherAcls.slice(0, 5).join(', ')}${raw.otherAcls.length > 5 ? ` and ${raw.otherAcls.length - 5} more` : ''}): set them on ${target.name} (lifeboat metadata export / apply)`,
    );
  }
  if (raw.reassigning) problems.push(`a partition reassignment is running on ${source.name}: wait until it has finished`);

  const tgt = await withZk(
    tz.connect,
    async (zk) => ({
      clusterId: await clusterIdAt(zk, tz.chroot),
      topics: await childrenOr(zk, chrootPath(tz.chroot, '/brokers/topics')),
      topicIds: await Promise.all(
        (await childrenOr(zk, chrootPath(tz.chroot, '/brokers/topics'))).map(async (t) => (JSON.parse((await readJson(zk, chrootPath(tz.chroot, `/brokers/topics/${t}`))) ?? '{}') as { topic_id?: string }).topic_id),
      ),
    }),
    { auth: zkAuthOf(target) },
  );
  if (!raw.clusterId) problems.push(`ZooKeeper of ${source.name} (${sz.connect}${sz.chroot ?? ''}) holds no cluster id: is the chroot right?`);
  if (!tgt.clusterId) problems.push(`ZooKeeper of ${target.name} (${tz.connect}${tz.chroot ?? ''}) holds no cluster id: start the target once so it has one`);
  if (raw.clusterId && raw.clusterId === tgt.clusterId) problems.push(`source and target are the same cluster (cluster id ${raw.clusterId}): give another --target-spec`);

  const clash = raw.topics.map((t) => t.name).filter((n) => tgt.topics.includes(n));
  if (clash.length) {
    problems.push(
      `${target.name} already has topic${clash.length > 1 ? 's' : ''} ${clash.slice(0, 5).join(', ')}${clash.length > 5 ? ` and ${clash.length - 5} more` : ''} of the same name: the target's own topics are never overwritten; rename or delete them on ${target.name} first`,
    );
  }

  const sourceParts = raw.topics.flatMap((t) =>
    Object.entries((JSON.parse(t.assignment) as { partitions: Record<string, number[]> }).partitions).map(([p, replicas]) => ({ topic: t.name, partition: Number(p), replicas })),
  );
  const placed = mapProblems.length ? [] : placePartitions(sourceParts, map, targetBrokers);
  const topics: PlannedTopic[] = raw.topics.map((t) => {
    const a = JSON.parse(t.assignment) as { topic_id?: string; adding_replicas?: Record<string, number[]>; removing_replicas?: Record<string, number[]> };
    if (!a.topic_id) problems.push(`topic ${t.name} has no topic id in ZooKeeper (created before Kafka 2.8 and never loaded since): start ${source.name} on Kafka ≥ 2.8 once`);
    if (Object.keys(a.adding_replicas ?? {}).length || Object.keys(a.removing_replicas ?? {}).length) problems.push(`topic ${t.name} is being reassigned on ${source.name}: wait until it has finished`);
    if (a.topic_id && tgt.topicIds.includes(a.topic_id)) problems.push(`topic ${t.name}'s id ${a.topic_id} is already used on ${target.name}`);
    const cfg = t.config ? (JSON.parse(t.config) as { config?: Record<string, string> }).config : undefined;
    const minIsr = cfg?.['min.insync.replicas'] !== undefined ? Number(cfg['min.insync.replicas']) : undefined;
    return {
      name: t.name,
      topicId: a.topic_id ?? '',
      assignment: t.assignment,
      config: t.config,
      acl: t.acl,
      ...(minIsr !== undefined ? { minIsr } : {}),
      partitions: placed.filter((p) => p.topic === t.name).map((p) => ({ ...p, state: t.states[p.partition] ?? null })),
    };
  });
  const changes = rfChanges(placed);
  for (const t of topics) {
    const rf = Math.max(0, ...t.partitions.map((p) => p.targetReplicas.length));
    if (t.minIsr !== undefined && t.minIsr > rf) {
      warnings.push(`topic ${t.name} keeps min.insync.replicas=${t.minIsr} with ${rf} replica${rf > 1 ? 's' : ''} on ${target.name}: producers with acks=all are refused there until it is lowered`);
    }
  }

  const moved = new Set(topics.map((t) => t.name));
  await openTransactions(source, [...moved], problems);
  const groups = await sourceGroups(source, moved, problems);
  await checkTargetGroups(target, groups, problems);

  return {
    source: source.name,
    target: target.name,
    sourceClusterId: raw.clusterId ?? '',
    targetClusterId: tgt.clusterId ?? '',
    sourceBrokers,
    targetBrokers,
    brokerMap: map,
    topics,
    rfChanges: changes,
    skipped,
    groups,
    problems,
    warnings,
  };
}

const GROUP_RETRY = { timeoutMs: 30_000 };

/**
 * Partitions with a transaction still open (last stable offset below the high watermark): the
 * transaction's state (__transaction_state) does not move, so on the target it would never end and
 * read_committed readers would stop there for good.
 */
async function openTransactions(source: ClusterSpec, topics: string[], problems: string[]): Promise<void> {
  if (!topics.length) return;
  const wire = await WireClient.open(kafkaFor(source, 'offline-migration'), topics);
  try {
    const open: string[] = [];
    for (const topic of topics) {
      const stable = await retryTransient(() => wire.listOffsets(topic, 'committed'), GROUP_RETRY);
      const end = await retryTransient(() => wire.listOffsets(topic, 'end'), GROUP_RETRY);
      for (const [p, e] of end) if ((stable.get(p) ?? e) < e) open.push(`${topic}-${p} (stable ${stable.get(p)}, end ${e})`);
    }
    if (open.length) {
      problems.push(
        `${open.length} partition${open.length > 1 ? 's have' : ' has'} an open transaction on ${source.name}: ${open.slice(0, 3).join(', ')}${open.length > 3 ? ` and ${open.length - 3} more` : ''}: stop the transactional producers and let their transactions end first (transaction state does not move)`,
      );
    }
  } finally {
    await wire.close();
  }
}

/** Groups with offsets on moved topics; a group with live members is a problem (its offsets would move on after the copy). */
async function sourceGroups(source: ClusterSpec, moved: Set<string>, problems: string[]): Promise<string[]> {
  return withAdmin(kafkaFor(source, 'offline-migration'), source.name, async (admin) => {
    const listing = await listGroupsSteadily(admin, { timeoutMs: 60_000 });
    // A group the listing may have missed would not get its offsets copied: not planned around silently.
    problems.push(...listing.warnings.map((w) => `${source.name}: ${w}; its groups' offsets would not be copied: bring its __consumer_offsets partitions online and plan again once its brokers have settled`));
    const listed = listing.groups.filter((g) => g.protocolType === 'consumer' || g.protocolType === '');
    const out: string[] = [];
    for (const g of listed) {
      const offsets = await retryTransient(() => admin.fetchOffsets({ groupId: g.groupId }), GROUP_RETRY);
      if (offsets.some((t) => moved.has(t.topic) && t.partitions.some((p) => Number(p.offset) >= 0))) out.push(g.groupId);
    }
    if (out.length) {
      const described = (await retryTransient(() => admin.describeGroups(out), GROUP_RETRY)).groups;
      for (const d of described) {
        if (d.members.length > 0) problems.push(`group ${d.groupId} has ${d.members.length} active member${d.members.length > 1 ? 's' : ''} on ${source.name}: stop its consumers first (its offsets must not move after the copy)`);
      }
    }
    return out.sort();
  });
}

async function checkTargetGroups(target: ClusterSpec, groups: string[], problems: string[]): Promise<void> {
  if (!groups.length) return;
  await withAdmin(kafkaFor(target, 'offline-migration'), target.name, async (admin) => {
    const described = (await retryTransient(() => admin.describeGroups(groups), GROUP_RETRY)).groups;
    for (const d of described) {
      if (d.members.length > 0) problems.push(`group ${d.groupId} is active on ${target.name} (${d.members.length} members): its offsets cannot be set there; stop it first`);
    }
  });
}

/** The committed offsets of `groups` on the moved topics, read just before the source stops. */
export async function readGroupOffsets(source: ClusterSpec, groups: string[], topics: string[]): Promise<GroupOffsets[]> {
  const moved = new Set(topics);
  return withAdmin(kafkaFor(source, 'offline-migration'), source.name, async (admin) => {
    const out: GroupOffsets[] = [];
    for (const group of groups) {
      const offsets = await retryTransient(() => admin.fetchOffsets({ groupId: group }), GROUP_RETRY);
      out.push({
        group,
        offsets: offsets
          .filter((t) => moved.has(t.topic))
          .flatMap((t) => t.partitions.filter((p) => Number(p.offset) >= 0).map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset }))),
      });
    }
    return out;
  });
}
