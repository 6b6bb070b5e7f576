/**
 * What a recovery restores from a backup set, and in which steps (pure: the recovery workflows run
 * it). Every decision that reads part names lives here, so workflow code never parses them: which
 * snapshot each state step restores (or why the step is skipped), whether the data comes back as
 * log-dir copies or as topics, and the steps' titles, shared by the parent and its children.
 */
import type { BackupSet } from '../backup/parts';
import type { ClusterSpec } from '../config/spec';

/** A step either runs on `run`, or is skipped for the reason in `skip`. */
export type Planned<T> = { run: T; skip?: undefined } | { run?: undefined; skip: string };

/** A snapshot to restore on one broker's host. */
export interface BrokerSnapshot {
  brokerId: number;
  host: string;
  snapshotId: string;
}

/** How a set brings the brokers' data back: log-dir copies (brokers stopped), topics (brokers serving), or not at all. */
export type DataPath = 'logdirs' | 'topics' | 'none';

const LOGDIRS = /^logdirs:\d+$/;

/** Whether a part is to be restored: every part, unless the operator named some. */
const wantedBy = (parts: string[] | undefined) => (part: string) => !parts?.length || parts.includes(part);

const notAsked = (parts: string[] | undefined) => `not among the parts asked for (${parts?.join(',')})`;

/** The data path of a set: log-dir copies when it holds any, else its topics part, else none. */
export function dataPathOf(set: BackupSet): DataPath {
  const parts = Object.keys(set.snapshots);
  if (parts.some((p) => LOGDIRS.test(p))) return 'logdirs';
  return set.snapshots.topics ? 'topics' : 'none';
}

/** The snapshot of a broker's log-dir copy in a set (a broker recovery restores it), if the set holds one. */
export function brokerLogDirSnapshot(set: BackupSet, brokerId: number): string | undefined {
  return set.snapshots[`logdirs:${brokerId}`]?.id;
}

/** The set as far as it is restored: with `parts`, only those (its other parts say nothing about the cluster). */
export function restoredSubset(set: BackupSet, parts?: string[]): BackupSet {
  if (!parts?.length) return set;
  return { ...set, snapshots: Object.fromEntries(Object.entries(set.snapshots).filter(([p]) => parts.includes(p))) };
}

export interface StateWork {
  zookeeper: Planned<string>;
  registry: Planned<string>;
  configs: Planned<BrokerSnapshot[]>;
}

/** restoreState's work: ZooKeeper, the registry, every broker's configs — each a snapshot, or why not. */
export function stateWork(spec: ClusterSpec, set: BackupSet, parts?: string[]): StateWork {
  const wanted = wantedBy(parts);
  const one = (part: 'zookeeper' | 'registry', missing: string): Planned<string> => {
    if (!wanted(part)) return { skip: notAsked(parts) };
    const snap = set.snapshots[part];
    return snap ? { run: snap.id } : { skip: missing };
  };
  const configs: BrokerSnapshot[] = spec.brokers.flatMap((b) => {
    const snap = wanted(`configs:${b.id}`) ? set.snapshots[`configs:${b.id}`] : undefined;
    return snap ? [{ brokerId: b.id, host: b.host, snapshotId: snap.id }] : [];
  });
  const configsAsked = spec.brokers.some((b) => wanted(`configs:${b.id}`));
  return {
    zookeeper: one('zookeeper', 'the set has no ZooKeeper part'),
    registry: one('registry', 'the set has no registry part'),
    configs: !configsAsked ? { skip: notAsked(parts) } : configs.length ? { run: configs } : { skip: 'the set has no broker configs' },
  };
}

export interface DataWork {
  path: DataPath;
  /** Log-dir copies to restore, one per broker (brokers stopped). */
  logdirs: Planned<BrokerSnapshot[]>;
  /** Topics restored record by record once the brokers serve (a logical set). */
  topics: Planned<BackupSet>;
}

/** restoreData's work: the log-dir copies or the topics of the set, as far as they are asked for. */
export function dataWork(spec: ClusterSpec, set: BackupSet, parts?: string[]): DataWork {
  const wanted = wantedBy(parts);
  const path = dataPathOf(set);
  const logdirsAsked = spec.brokers.some((b) => wanted(`logdirs:${b.id}`));
  const copies: BrokerSnapshot[] = spec.brokers.flatMap((b) => {
    const snap = wanted(`logdirs:${b.id}`) ? set.snapshots[`logdirs:${b.id}`] : undefined;
    return snap ? [{ brokerId: b.id, host: b.host, snapshotId: snap.id }] : [];
  });
  const logdirs: Planned<BrokerSnapshot[]> = !logdirsAsked
    ? { skip: notAsked(parts) }
    : path === 'topics'
      ? { skip: 'the set holds topics, not log-dir copies: restored once the brokers serve' }
      : copies.length
        ? { run: copies }
        : { skip: 'the set has no log-dir copies' };
  const topics: Planned<BackupSet> = !wanted('topics')
    ? { skip: notAsked(parts) }
    : path === 'topics'
      ? { run: set }
      : { skip: path === 'logdirs' ? 'the log dirs hold the data' : 'the set has no topics part' };
  return { path, logdirs, topics };
}

/**
 * Whether a full-cluster recovery registers the disks' topics again after restoring ZooKeeper
 * (src/recovery/adopt.pure.ts), and on which brokers' disks it looks: those that keep their log
 * dirs. ZooKeeper restored from a set is older than disks that were not restored from that set
 * (zookeeper-data-lost: every disk), and a disk restored from the set matches its ZooKeeper.
 */
export function adoptWork(spec: ClusterSpec, set: BackupSet, parts?: string[]): Planned<BrokerSnapshot['brokerId'][]> {
  if (!spec.zookeeper || spec.kafka.mode === 'kraft') return { skip: 'no ZooKeeper: the brokers keep their own metadata' };
  if (stateWork(spec, set, parts).zookeeper.skip) return { skip: 'ZooKeeper is not restored' };
  const restored = new Set((dataWork(spec, set, parts).logdirs.run ?? []).map((c) => c.brokerId));
  const keep = spec.brokers.filter((b) => !restored.has(b.id)).map((b) => b.id);
  return keep.length ? { run: keep } : { skip: 'every log dir is restored from the same set as ZooKeeper' };
}

/** Steps (name and title) of each part of a full-cluster recovery, in the order they run. */
export const recoverySteps = {
  choose: (parts?: string[]) => ({
    name: 'choose-set',
    title: parts?.length ? `Choose the newest backup set that holds ${parts.join(',')} and verifies` : 'Choose the newest backup set that covers the cluster and verifies',
  }),
  stop: (spec: ClusterSpec) => ({ name: 'stop-brokers', title: `Stop brokers ${spec.brokers.map((b) => b.id).join(', ')}` }),
  state: (spec: ClusterSpec) => [
    { name: 'restore-zookeeper', title: `Restore ZooKeeper ${spec.zookeeper?.chroot || '/'}` },
    { name: 'restore-registry', title: 'Restore the service registry (persistent nodes; instances re-register)' },
    { name: 'restore-configs', title: 'Restore broker configs' },
  ],
  adopt: () => ({ name: 'adopt-topics', title: "Register the topics the brokers' disks hold and the restored ZooKeeper lacks" }),
  data: () => [
    { name: 'restore-data', title: 'Restore log dirs (a set of log-dir copies)' },
    { name: 'start-brokers', title: 'Start brokers' },
    { name: 'wait-serving', title: 'Wait until every broker serves and no partition is offline' },
    { name: 'restore-topics', title: 'Restore topics, critical first, and group offsets (a set of logical topic backups)' },
    { name: 'preferred-election', title: 'Preferred leader election' },
  ],
  verify: () => [{ name: 'verify', title: 'Verify against the backup set (topics, offsets, groups, probe)' }],
};

/** Steps of a full-cluster recovery that are skipped whatever the set holds, because `parts` does not name them. */
export function skippedByParts(spec: ClusterSpec, parts?: string[]): { name: string; reason: string }[] {
  if (!parts?.length) return [];
  const wanted = wantedBy(parts);
  const reason = notAsked(parts);
  return [
    ...(wanted('zookeeper') ? [] : ['restore-zookeeper']),
    ...(wanted('registry') ? [] : ['restore-registry']),
    ...(spec.brokers.some((b) => wanted(`configs:${b.id}`)) ? [] : ['restore-configs']),
    ...(spec.brokers.some((b) => wanted(`logdirs:${b.id}`)) ? [] : ['restore-data']),
    ...(wanted('topics') ? [] : ['restore-topics']),
  ].map((name) => ({ name, reason }));
}
