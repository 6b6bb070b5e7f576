/**
 * What a drill's parts hand each other (issue 16): the scenario and fault asked for, the record of
 * an applied fault (everything its revert needs, stored in the workflow's history before the fault
 * is applied), the target's inventory, the write stream's acknowledgements, and the drill's record
 * kept in the repository (it outlives Temporal's retention).
 *
 * Plain JSON (Temporal payloads, repository files): times ISO-8601, offsets numbers.
 */
import type { DrillEvidence, DrillScore, DrillType, Problem } from './types';

/** The scenarios of issue 16; each names its fault and the recovery that answers it. */
export const SCENARIOS = [
  'broker-killed',
  'broker-disk-wiped',
  'brokers-lost',
  'cluster-lost',
  'zookeeper-data-lost',
  'backup-corrupt',
  'registry-lost',
  'datacenter-lost',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** One fault, as the drill applies it. Broker faults run on the broker's host (its task queue). */
export type FaultSpec =
  /** SIGKILL (the control adapter's kill; its stop when it has none). Revert: start it. */
  | { kind: 'broker-kill'; brokerId: number }
  /** Stop, then move the log dirs' contents aside (never deleted by the fault). Revert: stop, move them back, start. */
  | { kind: 'broker-disk'; brokerId: number }
  /** Delete the cluster's ZooKeeper chroot, after exporting it into the repository. Revert: import the export. */
  | { kind: 'zookeeper-chroot' }
  /** Delete the registry's roots (spec.registry), after exporting them. Revert: import the export. */
  | { kind: 'registry' }
  /** Damage one pack of the newest backup set (a byte range overwritten). Revert: write the bytes back. */
  | { kind: 'backup-corrupt' };

/** An applied fault: what the revert needs. Recorded (in the workflow's state) before the fault runs. */
export interface AppliedFault {
  fault: FaultSpec;
  /** When the fault took effect. */
  at: string;
  /** broker-kill / broker-disk: whether the broker was running before. */
  wasRunning?: boolean;
  /** broker-disk: each log dir and where its contents were moved. */
  movedAside?: { logDir: string; asideDir: string }[];
  /** zookeeper-chroot / registry: the repository snapshot holding the export, and the roots it covers. */
  zkExport?: { snapshot: string; roots: string[]; znodes: number; zxid: string };
  /** backup-corrupt: the file and the original bytes (base64) the revert writes back. */
  corrupted?: { tier: string; setId: string; file: string; offset: number; original: string };
  /** Free text for the report (what was done, e.g. "killed pid 1234"). */
  detail: string;
}

/** How a fault is undone: `restore` puts back what was there (the drill failed or was stopped); `discard` drops what was kept (the recovery succeeded and was verified). */
export type RevertMode = 'restore' | 'discard';

export interface RevertResult {
  fault: FaultSpec;
  mode: RevertMode;
  /** Nothing to do (already reverted: reverts run twice without harm). */
  alreadyDone: boolean;
  detail: string;
}

/** The target's inventory: what a drill must leave as it found it. */
export interface Inventory {
  takenAt: string;
  cluster: string;
  /** name → partitions, replication factor and the configs set on the topic (not defaults). Internal topics included; the drill's own stream topic excluded. */
  topics: Record<string, { partitions: number; replicationFactor: number; configs: Record<string, string> }>;
  /** group id → committed offsets "topic/partition" → offset. */
  groups: Record<string, Record<string, number>>;
  /** ZooKeeper paths under the chroot and the registry roots → sha256 of the data (ephemeral nodes and Kafka's own volatile nodes left out). */
  znodes: Record<string, string>;
  /** broker id → configs set dynamically on it (not the defaults). */
  brokerConfigs: Record<string, Record<string, string>>;
}

export interface InventoryDifference {
  area: 'topics' | 'groups' | 'znodes' | 'brokerConfigs';
  key: string;
  change: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
}

/** One acknowledged write of the drill's write stream. */
export interface StreamAck {
  partition: number;
  offset: number;
  /** The stream's own sequence number, also in the record's value and headers. */
  seq: number;
  at: string;
}

/** What the write stream wrote: its topic and every acknowledgement (and the ZooKeeper stream's). */
export interface StreamLog {
  topic: string;
  /** The drill whose records these are (in each record's headers and value); optional, B's read-back matches records by it. */
  drillId?: string;
  startedAt: string;
  endedAt: string;
  acks: StreamAck[];
  /** Sends that failed (the cluster was down): count and first/last time. */
  failures: { count: number; first?: string; last?: string };
  /**
   * The ZooKeeper write stream: one znode set again and again, each write's mzxid. `before` (optional,
   * B's read-back uses it): the stream's seq the znode held just before this write, read in the same
   * step (null: absent or not the stream's), which shows a restore that took writes back. `failures`
   * (optional): the znode writes that failed.
   */
  zookeeper?: {
    path: string;
    acks: { seq: number; zxid: string; at: string; before?: number | null }[];
    failures?: { count: number; first?: string; last?: string };
  };
}

/** A drill's record in the repository: enough to show its history and write its report again. */
export interface DrillRecord {
  id: string;
  cluster: string;
  type: DrillType;
  scenario: Scenario;
  /** Scheduled drills: the schedule's id; a skipped one has `skipped` set and no evidence worth scoring. */
  schedule?: string;
  skipped?: string;
  startedAt: string;
  endedAt: string;
  /** Workflow ID and run, for the Temporal UI while the run is retained. */
  workflowId: string;
  runId?: string;
  evidence: DrillEvidence;
  score: DrillScore;
  /** Problems this drill found, classified, plus those still open from earlier drills (PDCA). */
  problems: Problem[];
  /** Measured, for the trend: RTO and RPO in seconds (null: not recovered / not measured). */
  rtoSeconds: number | null;
  rpoSeconds: number | null;
  inventoryDifferences: InventoryDifference[];
  faults: AppliedFault[];
  reverts: RevertResult[];
  /** The five phases of §8.3 with their times and what each found. */
  phases: { name: 'prepare' | 'start' | 'execute' | 'verify' | 'review'; startedAt: string; endedAt?: string; notes: string[] }[];
  /** Improvement items of the review (PDCA "act"). */
  improvements: string[];
}
