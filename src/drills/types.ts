/**
 * The vocabulary of a DR drill (seed 004 §8): the evidence a drill gathers, the score computed from
 * it (src/drills/score.pure.ts) and the problems it finds (src/drills/problems.pure.ts).
 *
 * Everything is plain JSON (Temporal payloads, the drill record in the repository): times are ISO-8601
 * strings, offsets numbers, zxids strings ("0x…" or decimal, 64-bit).
 *
 * Optional fields are optional on purpose: a drill killed half-way, or a gatherer that failed, leaves
 * evidence out. The score names every piece that is absent and scores it as the worst case.
 */

/** The four drill types of §8.2. */
export type DrillType = 'tabletop' | 'partial' | 'full' | 'chaos';

/** Problem classes of §8.4: P0 due in 24 h, P1 in a week, P2 in a month, P3 some time later. */
export type ProblemClass = 'P0' | 'P1' | 'P2' | 'P3';

/** Everything a drill measured. */
export interface DrillEvidence {
  drill: {
    id: string;
    type: DrillType;
    scenario: string;
    /** When the drill started: problems found before it are "from earlier drills". */
    startedAt: string;
    endedAt?: string;
  };
  times?: TimeEvidence;
  data?: DataEvidence;
  process?: ProcessEvidence;
  problems?: ProblemEvidence;
}

/** Recovery time: measured from the fault to the first green independent probe. */
export interface TimeEvidence {
  /** When the fault was applied (the fault activity's completion). */
  faultAt?: string;
  /** The first independent probe that found the target healthy after the fault; null: none by the drill's end. */
  firstGreenProbeAt?: string | null;
  /** Which probe that was (named in the score's deductions). */
  probe?: string;
  /** The spec's objectives (spec.objectives). */
  rtoMinutes?: number;
  rpoMinutes?: number;
}

/** A record of the drill's write stream, with the time its write was acknowledged. */
export interface AckedRecord {
  offset: number;
  at: string;
}

/** A znode write of the drill's ZooKeeper write stream: its zxid (Stat.mzxid, from the write's answer) and ack time. */
export interface AckedZnodeWrite {
  zxid: string;
  at: string;
}

/**
 * Per partition of the drill's write stream (a producer with acks=all running through the drill).
 * `intactThrough` is the newest acknowledged record such that it and every acknowledged record before
 * it are readable after recovery with their own content (the stream's sequence numbers match): a
 * hole, or an offset reused by another record after an unclean election, ends the intact run there.
 */
export interface PartitionEvidence {
  topic: string;
  partition: number;
  /** The last record acknowledged before the fault; null: the stream wrote nothing to this partition. */
  lastAcked: AckedRecord | null;
  /** null: no acknowledged record of the stream is readable after recovery. */
  intactThrough: AckedRecord | null;
}

/** The same for ZooKeeper: a znode write stream, compared by zxid. */
export interface ZookeeperEvidence {
  lastAcked: AckedZnodeWrite | null;
  intactThrough: AckedZnodeWrite | null;
}

export interface DataEvidence {
  partitions?: PartitionEvidence[];
  /** null: the cluster keeps no ZooKeeper (KRaft), there is nothing to measure; absent: not measured. */
  zookeeper?: ZookeeperEvidence | null;
  /** When the write stream began (before its first write). */
  streamStartedAt?: string;
  /**
   * The oldest backup set the recovery restored (from its children's reports): its time (its first
   * part's start), when its last part was written, and the parts restored from it (absent: all).
   */
  restoredSet?: { id: string; time: string; completedAt?: string; parts?: string[] };
}

/** One step of the runbook (the recovery's plan, in the order the runbook gives). */
export interface RunbookStep {
  id: string;
  title?: string;
  /** Runs only when its condition holds (e.g. "fall back to the previous set"): not running it is no skip. */
  optional?: boolean;
  /** Needs an approval before it runs. */
  gate?: boolean;
}

/** A step as the drill recorded it. */
export interface StepRecord {
  /** The runbook step's id (a step that is not in the runbook was improvised). */
  id: string;
  /** When it started, or for a skipped step when it was skipped. */
  startedAt: string;
  endedAt?: string;
  /** Done by a person outside the workflow (a command typed, a file edited by hand). */
  manual?: boolean;
  /** Set when the step was not run: why. */
  skipped?: string;
}

/** An approval gate: what was asked, when, and the answer. */
export interface GateRecord {
  /** The gated runbook step. */
  step: string;
  askedAt?: string;
  answer?: 'approved' | 'rejected' | 'timed-out';
  answeredAt?: string;
  by?: string;
}

export interface ProcessEvidence {
  runbook?: RunbookStep[];
  steps?: StepRecord[];
  /** Needed when the runbook has gated steps. */
  gates?: GateRecord[];
}

/** A fallback the drill needed (e.g. the newest backup set was corrupt): did it work? */
export interface FallbackRecord {
  step: string;
  reason: string;
  at: string;
  worked: boolean;
}

/** A degradation the drill needed (a degradation level of §6): was it applied? */
export interface DegradationRecord {
  what: string;
  step?: string;
  neededAt: string;
  /** null or absent: not applied. */
  appliedAt?: string | null;
}

/** A problem as found during the drill; class null: nobody classified it. */
export interface FoundProblem {
  title: string;
  evidence: string;
  found: string;
  class: ProblemClass | null;
}

export interface ProblemEvidence {
  /** Every fallback that was needed; [] when none was. */
  fallbacks?: FallbackRecord[];
  /** Every problem found in this drill. */
  found?: FoundProblem[];
  /** Every degradation that was needed; [] when none was. */
  degradation?: DegradationRecord[];
}

/** A classified problem with its due time, carried from drill to drill until resolved (PDCA). */
export interface Problem {
  /** Stable across drills: `<drill id>#<n>`. */
  id: string;
  /** The drill that found it. */
  drill: string;
  class: ProblemClass;
  title: string;
  evidence: string;
  found: string;
  /** found + the class's due time; null for P3 ("later"). */
  due: string | null;
  /** When it was resolved; absent or null: still open. */
  resolvedAt?: string | null;
}

export type ScorePart = 'recoveryTime' | 'dataIntegrity' | 'process' | 'problemHandling';

export type Check =
  | 'rto'
  | 'rpo'
  | 'step-order'
  | 'approval-gate'
  | 'skipped-step'
  | 'manual-step'
  | 'fallback'
  | 'classification'
  | 'degradation'
  | 'open-problem';

/** What a deduction found (problems.pure.ts classifies each as P0–P3). */
export type Finding =
  | 'not-recovered'
  | 'rto-exceeded'
  | 'rto-far-exceeded'
  | 'loss-within-rpo'
  | 'loss-beyond-rpo'
  | 'out-of-order'
  | 'off-runbook'
  | 'gate-not-honoured'
  | 'skipped'
  | 'manual'
  | 'fallback-failed'
  | 'unclassified'
  | 'not-degraded'
  | 'open-problem'
  | 'missing-evidence';

/** Where a deduction's evidence is: at least one of these is set. */
export interface DeductionEvidence {
  step?: string;
  /** The time the evidence refers to (ISO). */
  at?: string;
  /** topic-partition, or "zookeeper". */
  partition?: string;
  /** A problem's id or title. */
  problem?: string;
  /** The evidence field that was absent or unusable (e.g. "times.faultAt"). */
  missing?: string;
}

export interface Deduction {
  part: ScorePart;
  check: Check;
  finding: Finding;
  /** Points lost (≥ 0; 0 when the check's cap was already reached: still named). */
  points: number;
  /** One line a person reads. */
  reason: string;
  evidence: DeductionEvidence;
}

export interface PartScore {
  part: ScorePart;
  points: number;
  max: number;
  deductions: Deduction[];
}

export interface DrillScore {
  /** 0–100, the sum of the parts. */
  total: number;
  parts: Record<ScorePart, PartScore>;
  /** Every deduction, part by part. */
  deductions: Deduction[];
  /** Evidence fields that were absent or unusable (each also named by a deduction). */
  missing: string[];
  /** What was measured, for the history's chart. */
  measured: {
    /** Fault → first green probe; null when not measured or never green. */
    recoveryMs: number | null;
    /** The largest loss window over the partitions and ZooKeeper (0: nothing lost); null when not measured. */
    lossWindowMs: number | null;
    /** True when lossWindowMs is only a lower bound (nothing of the stream readable somewhere). */
    lossWindowAtLeast: boolean;
  };
}
