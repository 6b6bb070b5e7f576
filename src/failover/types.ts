/**
 * The failover's shared vocabulary: what the alert receiver hands the failover workflow, what the
 * confirmation observes, what the decision tree decides, and the exact data figures of a promotion.
 * Types only (workflows import them); the logic lives beside them in this folder.
 */

/** P0 cluster down (no leader for critical topics / no quorum) … P3 degraded without data at risk. */
export type Severity = 'P0' | 'P1' | 'P2' | 'P3';

/** One alert as the receiver normalised it (Alertmanager v4, Grafana, or the generic JSON). */
export interface AlertEvent {
  source: 'alertmanager' | 'grafana' | 'generic' | 'manual';
  /** The primary cluster the alert is about (its spec name, from the configured label). */
  cluster: string;
  /** Stable across duplicates and HA pairs: the workflow ID's suffix (see failoverWorkflowId). */
  incident: string;
  status: 'firing' | 'resolved';
  alertname?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When the alert started (the sender's clock; RTO is measured from receivedAt). */
  startsAt: string;
  /** When the receiver accepted it (the receiver's clock). */
  receivedAt: string;
  fingerprint?: string;
  groupKey?: string;
}

export interface BrokerObservation {
  id: number;
  listener: string;
  /** Answered a metadata request within the probe's timeout. */
  reachable: boolean;
  /** What broker control says of the process, where it can tell. */
  process?: 'running' | 'stopped' | 'unknown';
  error?: string;
}

export interface PartitionRef {
  topic: string;
  partition: number;
}

/** One probe of a cluster, straight to its brokers and ZooKeeper (not the alert's word). */
export interface ClusterObservation {
  cluster: string;
  at: string;
  brokers: BrokerObservation[];
  /** The active controller's id; null when none answers; undefined when no broker answered. */
  controller?: number | null;
  /** ZooKeeper-mode clusters: how many servers of the ensemble answer, and whether a quorum does. */
  zookeeper?: { reachable: number; total: number; quorum: boolean; error?: string };
  /** Partitions without a leader, and those of them in the spec's critical topics. */
  offline: PartitionRef[];
  criticalOffline: PartitionRef[];
  /** Partitions with fewer in-sync replicas than min.insync.replicas (writes with acks=all refused). */
  underMinIsr: PartitionRef[];
  /** Some broker answered metadata. */
  reachable: boolean;
}

/** The warm standby, seen at decision time. */
export interface StandbyObservation {
  cluster: string;
  healthy: boolean;
  brokersUp: number;
  brokersTotal: number;
  /** The mirror primary → standby (ID mirror-<primary>-to-<standby>). */
  mirror: {
    workflowId: string;
    running: boolean;
    /** Records the mirror had not copied at its last round (from its status; undefined when unknown). */
    lagRecords?: number;
    /** When the mirror last wrote a position (ms since epoch). */
    lastPositionAt?: number;
    topics: string[];
  };
  problems: string[];
}

export interface BackupObservation {
  /** The newest backup set of the primary that verified (id and time), if any. */
  newestVerified?: { setId: string; time: string; parts: string[] };
}

/** Everything the decision tree looks at. */
export interface Observations {
  /** Repeated probes of the primary (confirmation: the alert alone never moves clusters). */
  probes: ClusterObservation[];
  standby?: StandbyObservation;
  backup?: BackupObservation;
  /** A repair in place already tried in this run, and how it ended. */
  repair?: { tried: string; ok: boolean; detail: string };
  /** Milliseconds since the alert was received. */
  sinceAlertMs: number;
}

export interface FailoverPolicy {
  /** Repair in place is tried when it fits in this budget (default 15). */
  repairBudgetMinutes: number;
  /** Probes that must agree before acting (default 3), this far apart (default 5 s). */
  confirmProbes: number;
  confirmIntervalSeconds: number;
  /** The standby is ready only with the mirror's lag at most this (default 10000 records). */
  maxLagRecords: number;
  /** Approvals needed from different people (default 1; 2 = the two-person rule). */
  approvers: number;
  /** Severities promoted without an approver (default none; P0 always needs one unless listed here). */
  autoApprove: Severity[];
  approvalTimeoutMinutes: number;
  /** At the approval timeout: escalate and keep waiting (default), or proceed (only if the policy says so). */
  onApprovalTimeout: 'escalate' | 'proceed' | 'stand-down';
  /** Registry degradation level held while clients switch (0 = none; default 1, read-only). */
  degradationLevel: 0 | 1 | 2 | 3 | 4;
}

export type Decision =
  | { action: 'stand-down'; reason: string }
  | { action: 'repair'; how: 'start-process' | 'broker-recovery'; brokers: number[]; budgetMs: number; reason: string }
  | { action: 'failover'; reason: string }
  | { action: 'escalate'; reason: string };

/** One question of the decision tree as it was answered (the report lists them all, in order). */
export interface Branch {
  question: string;
  answer: string;
  evidence: string;
}

export interface DecisionResult {
  severity: Severity | null;
  decision: Decision;
  branches: Branch[];
}

/** Per partition: what the primary has and the standby does not (exact, not an estimate). */
export interface PartitionDivergence extends PartitionRef {
  /** The primary's end offset (next offset), from a live broker or its log dirs on disk. */
  primaryEnd: number | null;
  /** The source position the mirror reached (next source offset it would copy). */
  mirrored: number;
  /** primaryEnd − mirrored, counting records (not offsets: markers and gaps left out); null when unknown. */
  notMirrored: number | null;
  /** Where primaryEnd came from. */
  from: 'live' | 'disk' | 'unknown';
}

/** The failover workflow's input (type `failover`; ID failoverWorkflowId(primary, incident)). */
export interface FailoverInput {
  /** The failing primary: `{ "cluster": "<name>" }` or `{ "spec": {...} }` (workflows/support/cluster.ts ClusterRef). */
  primary: { cluster?: string; spec?: unknown; specSource?: unknown };
  /** The warm standby; default the primary spec's `standby`. */
  standby?: { cluster?: string; spec?: unknown; specSource?: unknown };
  /** The alert that started it (absent for a run started by hand). */
  alert?: AlertEvent;
  /** Observe, decide and plan only: nothing changes. */
  dryRun?: boolean;
  /** Approve the promotion up front (the benchmark; a drill). */
  autoApprove?: boolean;
  /** Overrides of the primary spec's `failover` policy for this run. */
  policy?: Partial<FailoverPolicy>;
}
