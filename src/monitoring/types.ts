/**
 * Backup monitoring's shared vocabulary (issue 15): the facts gathered about a cluster's backups per
 * tier (from persisted state only: the repositories' snapshots, Temporal's schedules and runs,
 * the monitor's own recorded verifications — never "now"), the verdicts drawn from them, and what
 * the monitor raises in Alertmanager. Facts feed both `/metrics` and `lifeboat backup health`.
 */

/** One repository tier as the facts see it ("primary" is `repository`, "offsite" `offsiteRepository`, else a `tiers[]` name). */
export interface TierFacts {
  tier: string;
  medium: 'disk' | 'nas' | 'object' | 'archive';
  offsite: boolean;
  /** The repository's path or s3:// URL (no credentials). */
  location: string;
  /** The repository could be opened and listed; else `error` says why in one line. */
  reachable: boolean;
  error?: string;
  /** Number of backup sets of the cluster in this tier (complete or not). */
  sets: number;
  /** Newest complete set (every part the spec asks for). Time = the set's own time (when it was taken). */
  lastSuccess?: { setId: string; time: string; parts: number; bytes?: number; durationSeconds?: number };
  /** Newest set of any completeness (a partial one is an attempt that did not finish). */
  lastAttempt?: { setId: string; time: string; complete: boolean };
  /** Newest recorded verification of a set in this tier (structure + sampled data read). */
  lastVerified?: { setId: string; time: string; ok: boolean; detail?: string };
  /** Bytes stored by the repository (packs), when known. */
  storedBytes?: number;
  /** The newest complete set of the first tier is here too (false: the copy lags). */
  hasNewest?: boolean;
  /** Seconds between the newest complete set of the first tier and the newest one here (0 when it has it). */
  copyLagSeconds?: number;
  /** Result of the last repository check recorded, when one was. */
  lastCheck?: { time: string; ok: boolean; problems: number };
}

/** The backup schedule of a cluster as Temporal holds it. */
export interface ScheduleFacts {
  id: string;
  exists: boolean;
  paused: boolean;
  /** The schedule's pause note (who paused it and why), when paused. */
  note?: string;
  /** The interval its spec asks for, in seconds (from the Temporal schedule), when it exists. */
  intervalSeconds?: number;
}

export interface BackupFacts {
  cluster: string;
  /** When these facts were gathered (ISO 8601). */
  gatheredAt: string;
  /** How often a set is expected (from the schedule, else the spec's objectives.rpoMinutes). */
  expectedIntervalSeconds: number;
  schedule: ScheduleFacts;
  tiers: TierFacts[];
  /** Failed backup runs by reason (from Temporal's closed runs), counted since the worker's history began. */
  failures: { reason: string; count: number }[];
}

export type CheckName = 'fresh' | 'verified' | 'offsite' | 'scheduled' | 'protected' | 'reachable';

/** One verdict, with its evidence (also the alert's annotations). */
export interface HealthCheck {
  check: CheckName;
  /** The tier it is about, when it is about one. */
  tier?: string;
  ok: boolean;
  severity: 'ok' | 'warning' | 'critical';
  /** One line for a person: what is wrong and what to do. */
  summary: string;
  evidence: Record<string, string | number | boolean>;
}

export interface BackupHealth {
  cluster: string;
  at: string;
  verdict: 'healthy' | 'degraded' | 'failing';
  checks: HealthCheck[];
  facts: BackupFacts;
}

/** The monitor's policy (spec defaults, overridable in the workflow input). */
export interface MonitorPolicy {
  /** A tier is stale when its newest complete set is older than k × the expected interval (default 2). */
  staleFactor: number;
  /** Verify the newest set each run, reading this share of its data at random (default 0.02). */
  sampleFraction: number;
}
