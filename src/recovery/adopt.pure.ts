/**
 * Topics on the brokers' disks that a restored ZooKeeper does not know (pure: the recovery's
 * adopt-topics step runs it). When ZooKeeper is restored from a set and the brokers keep their log
 * dirs (zookeeper-data-lost: the chroot is gone, the disks are whole), the disks are newer than the
 * set: whatever was created after the set's ZooKeeper part is on them and not in ZooKeeper. Left so,
 *  - a topic created after the set is unreachable (its logs are strays the controller never loads);
 *  - Kafka's own __consumer_offsets, created by the first consumer group after the set (on a fresh
 *    cluster: by the backup's own baseline probe, which runs after its ZooKeeper part), is created
 *    again by the next group with a NEW topic id, which the broker refuses for the log it holds
 *    (InconsistentTopicIdException): no group coordinator, no consumer reads anything;
 *  - a topic deleted and created again after the set has another id on the disks than in the set:
 *    the same refusal, its partitions stay offline.
 * So the disks' topics are registered again as the disks hold them: the topic id from each
 * partition's partition.metadata, the replicas where the partition's directory is, the leader epoch
 * past every epoch in the logs' leader-epoch checkpoints (the epoch history stays monotonic).
 */

/** One partition directory on a broker's disk. */
export interface DiskPartition {
  topic: string;
  partition: number;
  /** From partition.metadata (absent: none written, Kafka before 2.8). */
  topicId?: string;
  /** The newest epoch in leader-epoch-checkpoint (-1: none). */
  lastEpoch: number;
}

export interface BrokerDisk {
  brokerId: number;
  partitions: DiskPartition[];
}

/** A topic as ZooKeeper has it now (/brokers/topics/<t>): its id and replica assignment. */
export interface ZkTopic {
  topicId?: string;
  partitions: Record<string, number[]>;
}

export interface AdoptedPartition {
  partition: number;
  replicas: number[];
  /** The leader epoch to register: one past the newest on the disks. */
  leaderEpoch: number;
}

export interface AdoptTopic {
  name: string;
  topicId: string;
  /** missing: not in ZooKeeper; other-id: ZooKeeper has it with another id; more-partitions: partitions ZooKeeper lacks. */
  kind: 'missing' | 'other-id' | 'more-partitions';
  /** The whole assignment to write (every partition of the topic). */
  assignment: Record<string, number[]>;
  /** Partitions whose state is written (every one for missing and other-id; the new ones for more-partitions). */
  partitions: AdoptedPartition[];
  /** Topic config to write for a missing topic (Kafka's own topics have known ones); undefined: leave what is there. */
  config?: Record<string, string>;
}

export interface AdoptionPlan {
  topics: AdoptTopic[];
  /** What cannot be adopted, or came back without what the set would have held (config overrides). */
  problems: string[];
}

/** The configs Kafka gives its internal topics when it creates them (what a missing one gets back). */
export const INTERNAL_TOPIC_CONFIGS: Record<string, Record<string, string>> = {
  // In the order Kafka writes them (its /config/topics JSON, as a broker of the lab wrote it): the znode's bytes match.
  __consumer_offsets: { 'compression.type': 'producer', 'cleanup.policy': 'compact', 'segment.bytes': '104857600' },
  __transaction_state: { 'cleanup.policy': 'compact', 'compression.type': 'uncompressed', 'segment.bytes': '104857600', 'unclean.leader.election.enable': 'false' },
};

const contiguous = (ns: number[]) => [...ns].sort((a, b) => a - b).every((n, i) => n === i);

/**
 * What to register for the topics on the disks, against ZooKeeper as restored. Replicas are the
 * brokers holding the partition's directory, rotated by partition so leadership spreads as Kafka's
 * own assignment would; a topic whose disks disagree on its id, or hold no id, or hold partitions
 * that do not make 0..n-1, is not adopted and said why.
 */
export function adoptionPlan(zk: Record<string, ZkTopic>, disks: BrokerDisk[]): AdoptionPlan {
  const byTopic = new Map<string, Map<number, { brokers: number[]; ids: Set<string | undefined>; epoch: number }>>();
  for (const d of disks) {
    for (const p of d.partitions) {
      const parts = byTopic.get(p.topic) ?? new Map();
      byTopic.set(p.topic, parts);
      const e = parts.get(p.partition) ?? { brokers: [], ids: new Set(), epoch: -1 };
      parts.set(p.partition, e);
      if (!e.brokers.includes(d.brokerId)) e.brokers.push(d.brokerId);
      e.ids.add(p.topicId);
      e.epoch = Math.max(e.epoch, p.lastEpoch);
    }
  }
  const topics: AdoptTopic[] = [];
  const problems: string[] = [];
  for (const name of [...byTopic.keys()].sort()) {
    const parts = byTopic.get(name)!;
    const ids = new Set([...parts.values()].flatMap((e) => [...e.ids]));
    const where = [...new Set([...parts.values()].flatMap((e) => e.brokers))].sort((a, b) => a - b).join(', ');
    const known = zk[name];
    const defined = [...ids].filter((x): x is string => !!x);
    if (defined.length > 1) {
      problems.push(`topic ${name} on broker(s) ${where} was not registered again: its partitions' directories hold several topic ids (${defined.join(', ')})`);
      continue;
    }
    const topicId = defined[0];
    if (!topicId) {
      // Without an id on the disks only ZooKeeper's own entry can say what the topic is: left as it is.
      if (!known) problems.push(`topic ${name} on broker(s) ${where} was not registered again: its partitions' directories hold no topic id (partition.metadata)`);
      continue;
    }
    const adopted = (ns: number[]): AdoptedPartition[] =>
      ns.map((n) => {
        const e = parts.get(n)!;
        const holders = [...e.brokers].sort((a, b) => a - b);
        const k = holders.length ? n % holders.length : 0;
        return { partition: n, replicas: [...holders.slice(k), ...holders.slice(0, k)], leaderEpoch: Math.max(0, e.epoch + 1) };
      });
    const onDisk = [...parts.keys()].sort((a, b) => a - b);
    if (!known || (known.topicId !== undefined && known.topicId !== topicId)) {
      if (!contiguous(onDisk)) {
        problems.push(`topic ${name} (id ${topicId}) on broker(s) ${where} was not registered again: its disks hold partitions ${onDisk.join(', ')}, not 0..${onDisk.length - 1} (some are on no broker)`);
        continue;
      }
      const ps = adopted(onDisk);
      const kind = known ? 'other-id' : 'missing';
      const config = kind === 'missing' ? (INTERNAL_TOPIC_CONFIGS[name] ?? {}) : undefined;
      topics.push({ name, topicId, kind, assignment: Object.fromEntries(ps.map((p) => [String(p.partition), p.replicas])), partitions: ps, config });
      if (kind === 'other-id') problems.push(`topic ${name} was deleted and created again after the set (id ${topicId} on the disks, ${known!.topicId} in the set): registered again as the disks hold it, with the set's config overrides`);
      else if (!INTERNAL_TOPIC_CONFIGS[name]) problems.push(`topic ${name} was created after the set: registered again from the disks of broker(s) ${where} with its data, without config overrides (the set has none for it)`);
      continue;
    }
    const extra = onDisk.filter((n) => !(String(n) in known.partitions));
    if (!extra.length) continue;
    const all = [...Object.keys(known.partitions).map(Number), ...extra];
    if (!contiguous(all)) {
      problems.push(`topic ${name}: partitions ${extra.join(', ')} on the disks do not follow the ${Object.keys(known.partitions).length} ZooKeeper has: not registered`);
      continue;
    }
    const ps = adopted(extra);
    topics.push({ name, topicId, kind: 'more-partitions', assignment: { ...known.partitions, ...Object.fromEntries(ps.map((p) => [String(p.partition), p.replicas])) }, partitions: ps });
  }
  return { topics, problems };
}

/** partition.metadata: `version: 0` and `topic_id: <id>` lines. */
export function parsePartitionMetadata(text: string): string | undefined {
  const m = /^\s*topic_id\s*:\s*(\S+)\s*$/m.exec(text);
  return m?.[1];
}

/** leader-epoch-checkpoint: version, count, then `<epoch> <start offset>` lines; the newest epoch, -1 for none. */
export function lastLeaderEpoch(text: string): number {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  let last = -1;
  for (const l of lines.slice(2)) {
    const m = /^(\d+)\s+\d+$/.exec(l);
    if (m) last = Math.max(last, Number(m[1]));
  }
  return last;
}
