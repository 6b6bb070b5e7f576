/**
 * The exact data figures of a failover, as the activities exchange them (types only: workflows
 * import them). What the standby lacks is counted in RECORDS a read_committed consumer would get,
 * from the mirror's position (the `next` source offset in its state on the standby) to the
 * primary's end, read live from the brokers or from the replicas' log dirs on disk.
 */
import type { GroupMove } from '../../migration/groups';
import type { FenceRecord } from '../../migration/fence';
import type { PartitionDivergence, PartitionRef } from '../types';

/** The records of an offset range, by what they are. */
export interface RecordCount {
  /** Data records a read_committed consumer gets: not transactional, or of a committed transaction. */
  records: number;
  /** Data records of aborted transactions (no consumer reads them). */
  aborted: number;
  /** Data records of transactions with no marker yet (decided by the coordinator once the cluster is back). */
  open: number;
  /** Transaction markers (control records: offsets, not records). */
  markers: number;
}

/** A partition and an offset in it. */
export interface PartitionOffset extends PartitionRef {
  offset: number;
}

/** One partition as the log dirs of a host hold it: the replica Kafka keeps (newest leader epoch, then highest end). */
export interface DiskPartition extends PartitionRef {
  /** The end of the last complete batch of the newest segment (the log end offset). */
  end: number;
  /** The partition leader epoch of its last batch (-1: none); compared before the end across replicas. */
  epoch?: number;
  /** The base offset of the oldest segment (the log start, near enough: retention may have moved it within). */
  start: number;
  brokerId: number;
  logDir: string;
  /** Every replica of the partition on this host: broker, end and last epoch. */
  replicas: { brokerId: number; end: number; epoch?: number }[];
  /** Counted from here (the mirror's position, or the log start), when asked. */
  from?: number;
  /** Records in [from, end). */
  count?: RecordCount;
  /** Records in [from, offset) for each asked offset (a group's offset beyond the mirrored position). */
  cuts?: { offset: number; count: RecordCount }[];
}

/** Input of partitionEndsFromDiskActivity (on the broker's host queue: hostTaskQueue(host)). */
export interface DiskReadInput {
  spec: unknown;
  /** The brokers of the spec on this host whose log dirs are read. */
  brokerIds: number[];
  /** Topics to read (all partitions of each found on disk). */
  topics: string[];
  /** Count records from these offsets to the end (partitions not listed: ends only). */
  from?: PartitionOffset[];
  /** Also count records from `from` up to these offsets. */
  cuts?: PartitionOffset[];
  /** Count partitions not in `from` from their log start (a partition the mirror never copied). */
  fromStart?: boolean;
}

/** What one host's log dirs say (partitionEndsFromDiskActivity's result). */
export interface DiskPartitions {
  host: string;
  brokerIds: number[];
  partitions: DiskPartition[];
  /** Unreadable log dirs, partitions asked for and not found, and such: one line each. */
  problems: string[];
}

/** A partition's divergence with its counts by kind (see PartitionDivergence for the fields). */
export interface PartitionDivergenceDetail extends PartitionDivergence {
  /** The records of [mirrored, primaryEnd) by kind (notMirrored = count.records); absent when unknown. */
  count?: RecordCount;
  /** Where the disk figure came from. */
  disk?: { host: string; brokerId: number };
  /** Why primaryEnd or notMirrored is unknown. */
  problem?: string;
}

/** failoverDivergenceActivity's result. */
export interface FailoverDivergence {
  /** The mirror's pair (mirrorPair(primary, standby)). */
  pair: string;
  primary: string;
  standby: string;
  /** 'live' every end from the brokers; 'disk' from the log dirs; 'unknown' the primary did not answer and no disk reads were given. */
  from: 'live' | 'disk' | 'unknown';
  partitions: PartitionDivergenceDetail[];
  totals: {
    partitions: number;
    /** Records not mirrored, over the partitions where it is known. */
    notMirrored: number;
    aborted: number;
    open: number;
    /** Partitions whose count is unknown. */
    unknown: number;
  };
  /**
   * Present when the primary did not answer and no disk reads were given: one
   * partitionEndsFromDiskActivity input per broker host (run each on hostTaskQueue(host)), then
   * call failoverDivergenceActivity again with their results as `disk`.
   */
  diskReads?: (DiskReadInput & { host: string })[];
  /** Things the figures depend on, one line each (e.g. a mirror batch sent without an answer). */
  problems?: string[];
  at: string;
}

/** One group's committed offsets as `__consumer_offsets` on disk holds them. */
export interface DiskGroupOffsets {
  group: string;
  /** The partition of `__consumer_offsets` that holds the group (Kafka's partitionFor). */
  offsetsPartition: number;
  /** The replica read (the one Kafka keeps among those on this host); undefined when the host holds none. */
  brokerId?: number;
  end?: number;
  /** The leader epoch of its last batch. */
  epoch?: number;
  /** Committed offsets ("next to read"), after the last commit and tombstone of each. */
  offsets: PartitionOffset[];
  /** Transactional offset commits with no marker yet (not applied). */
  pending: number;
}

/** Input of groupOffsetsFromDiskActivity (on the broker's host queue). */
export interface GroupOffsetsInput {
  spec: unknown;
  brokerIds: number[];
  /** 'all': every group with offsets on `topics`, found by replaying every replica here. */
  groups: string[] | 'all';
  /** Only offsets of these topics (default all). */
  topics?: string[];
  /** The partition count of __consumer_offsets when known (default: from the log dirs on this host). */
  offsetsPartitions?: number;
}

export interface DiskGroups {
  host: string;
  brokerIds: number[];
  offsetsPartitions: number;
  groups: DiskGroupOffsets[];
  problems: string[];
  /** With groups 'all': every partition of __consumer_offsets read here (the replica Kafka keeps). */
  read?: { partition: number; brokerId: number; end: number; epoch?: number }[];
}

/** A group's offset the mirror had not reached: consumed on the primary, never on the standby. */
export interface ConsumedNotMirrored extends PartitionRef {
  /** The group's committed offset on the primary. */
  sourceOffset: number;
  /** The mirror's position (the standby has everything before it). */
  mirrored: number;
  /** Records in [mirrored, sourceOffset) (read on the primary, held only by its divergent tail); null when unknown. */
  records: number | null;
}

/** A GroupMove (commitGroupsActivity commits it) with what the group read that the standby lacks. */
export interface FailoverGroupMove extends GroupMove {
  consumedNotMirrored: ConsumedNotMirrored[];
  /** Where the group's offsets on the primary came from. */
  from: 'live' | 'disk';
}

/** failoverGroupMovesActivity's result: the moves, and why the primary's group list may be short. */
export interface FailoverGroupMoves {
  moves: FailoverGroupMove[];
  /** The live listing of the primary's groups ('all') did not settle: groups may be missing from `moves`. */
  warnings: string[];
}

/** failoverGroupMovesActivity's input. */
export interface GroupMovesInput {
  primary: unknown;
  standby: unknown;
  /**
   * 'all': every group with committed offsets on the topics (live: the primary's groups; from disk:
   * those of `diskGroups`, read with groups 'all'). Groups without offsets there are left out.
   */
  groups: string[] | 'all';
  /** Only these topics (default: the mirror's). */
  topics?: string[];
  /** The primary is down: the groups' offsets from disk (groupOffsetsFromDiskActivity, every host). */
  diskGroups?: DiskGroups[];
  /** The primary is down: partitionEndsFromDiskActivity's results with cuts at the groups' offsets. */
  disk?: DiskPartitions[];
}

/** How the old primary was fenced (fencePrimaryActivity's result; unfencePrimaryActivity takes it back). */
export interface PrimaryFence extends FenceRecord {
  /** 'admin': the brokers answered (the migration's fence); 'zookeeper': written into ZooKeeper for brokers that were down. */
  via: 'admin' | 'zookeeper';
  /**
   * ZooKeeper: `acls` are exactly the entries this fence added (the marker znode `marker` keeps
   * them, so a retried fence returns the same record); entries of the fence's shape that were
   * there before are listed here and left in place by unfence.
   */
  alreadyPresent?: string[];
  /** ZooKeeper: the marker znode that holds what was added (removed by unfence). */
  marker?: string;
}
