/**
 * The failover workflow's run vocabulary, pure so the workflow, the CLI and tests share it: its
 * phases and outcomes, the status its `failoverStatus` query answers, the manual incident name,
 * the RTO and its parts, and the status text `lifeboat failover status` prints.
 */
import type { GroupOutcome } from '../migration/onlineRun.pure';
import type { PrimaryFence } from './data/types';
import type { HookOutcome } from '../migration/hooks';
import type { AlertEvent, Branch, FailoverInput, ClusterObservation, Decision, PartitionDivergence, Severity, StandbyObservation } from './types';

/**
 * The workflow's input: FailoverInput and, optionally, the consumer groups to move; none named
 * (an alert names none) moves every group with committed offsets on the mirrored topics.
 */
export interface FailoverRunInput extends FailoverInput {
  groups?: string[];
}

export type FailoverPhase =
  | 'starting'
  | 'confirming'
  | 'deciding'
  | 'repairing'
  | 'assessing'
  | 'awaiting-approval'
  | 'promoting'
  | 'switching'
  | 'verifying'
  | 'planned'
  | 'done'
  | 'stood-down'
  | 'escalated'
  | 'failed';

/** How a run ended (the status's `outcome` once it has). */
export type FailoverOutcome = 'stood down' | 'repaired in place' | 'failed over' | 'planned' | 'escalated' | 'failed';

/** The parts of the RTO, in ms (each absent until its part ran). */
export interface RtoParts {
  confirm?: number;
  decide?: number;
  approve?: number;
  promote?: number;
  switch?: number;
  verify?: number;
}

/** One probe of the primary as the status shows it (the full observations are in the result). */
export interface ProbeSummary {
  at: string;
  reachable: boolean;
  brokersUp: number;
  brokersTotal: number;
  controller?: number | null;
  zookeeper?: string;
  offline: number;
  criticalOffline: number;
  underMinIsr: number;
}

export interface FailoverStatus {
  workflowId: string;
  primary: string;
  standby?: string;
  dryRun: boolean;
  phase: FailoverPhase;
  outcome?: FailoverOutcome;
  /** One line: why it ended as it did. */
  reason?: string;
  /** The run started by an alert (else by hand): when it was received (RTO starts there). */
  alert?: { source: AlertEvent['source']; incident: string; alertname?: string; receivedAt: string };
  /** Firing alerts for the incident seen by the run (the first included), and when the last came. */
  alerts: { count: number; lastAt?: string };
  /** A resolved alert: when, and what it did (stood the run down, or only recorded past promotion). */
  resolved?: { at: string; effect: 'stood down' | 'recorded' };
  severity: Severity | null;
  decision?: Decision;
  branches: Branch[];
  probes: ProbeSummary[];
  standbyObservation?: StandbyObservation;
  newestVerifiedSet?: { setId: string; time: string };
  repair?: { tried: string; ok: boolean; detail: string };
  approval?: { needed: number; approvedBy: string[]; auto: boolean; escalations: number; proceededOnTimeout?: boolean };
  /** Past it (the mirror stopped and the fence attempted) the run never stands down. */
  pointOfNoReturn: boolean;
  mirror?: { workflowId: string; stopped: 'stopped' | 'not running' | 'cancel requested' };
  /** The old primary's fence; `record` is what unfencePrimaryActivity takes back (failback, or by hand). */
  fence?: { how: string; detail: string; fenced: boolean; record?: PrimaryFence };
  divergence?: PartitionDivergence[];
  /** Records on the primary not on the standby, summed (null when some partition is unknown). */
  notMirroredTotal?: number | null;
  groups?: GroupOutcome[];
  /** Write fences found on the standby's topics and lifted at promotion (topics, ACL count). */
  standbyFence?: { topics: string[]; acls: number };
  /** Group offsets the primary had past what was mirrored (their consumers re-read nothing, skip nothing mirrored). */
  consumedNotMirrored?: number;
  degradation: { level: number; since?: string };
  hooks?: HookOutcome[];
  /**
   * The client-switch hook (its index in the standby's clientSwitch) whose activity has not returned an
   * outcome: running now, or failed without one, or the run ended meanwhile. What it did is unknown.
   */
  hookPending?: number;
  /** When the verify probe had consumed its records on the standby (the RTO's end). */
  firstConsumedAt?: string;
  rtoMs?: number;
  rtoParts: RtoParts;
  problems: string[];
}

/** The incident of a run started by hand: `manual-<UTC time to the second>` (e.g. manual-20261203T153816Z). */
export function manualIncident(now: Date): string {
  return `manual-${now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')}`;
}

export function summarizeProbe(o: ClusterObservation): ProbeSummary {
  return {
    at: o.at,
    reachable: o.reachable,
    brokersUp: o.brokers.filter((b) => b.reachable).length,
    brokersTotal: o.brokers.length,
    ...(o.controller !== undefined ? { controller: o.controller } : {}),
    ...(o.zookeeper ? { zookeeper: `${o.zookeeper.reachable}/${o.zookeeper.total}${o.zookeeper.quorum ? ' (quorum)' : ' (NO quorum)'}` } : {}),
    offline: o.offline.length,
    criticalOffline: o.criticalOffline.length,
    underMinIsr: o.underMinIsr.length,
  };
}

/** RTO: the first record consumed on the standby − when the alert was received (or the run started, by hand). */
export function rtoOf(startIso: string, firstConsumedIso: string | undefined): number | undefined {
  if (!firstConsumedIso) return undefined;
  return Math.max(0, Date.parse(firstConsumedIso) - Date.parse(startIso));
}

/** The divergence's total: null when any partition's count is unknown. */
export function notMirroredTotal(d: PartitionDivergence[]): number | null {
  let n = 0;
  for (const p of d) {
    if (p.notMirrored === null) return null;
    n += p.notMirrored;
  }
  return n;
}

const ms = (v: number | undefined) => (v === undefined ? '–' : v < 1000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`);

/** The status for people: phase, decision with its branches, approvals, promotion, RTO/RPO. */
export function renderFailoverStatus(s: FailoverStatus): string {
  const lines = [
    `${s.workflowId}: ${s.outcome ?? s.phase}${s.dryRun ? ' (dry run)' : ''}, ${s.primary}${s.standby ? ` → ${s.standby}` : ''}${s.pointOfNoReturn ? ' (past the point of no return)' : ''}`,
  ];
  if (s.reason) lines.push(`reason: ${s.reason}`);
  lines.push(s.alert ? `alert: ${s.alert.alertname ?? s.alert.source} (incident ${s.alert.incident}) received ${s.alert.receivedAt}; ${s.alerts.count} firing in all` : `started by hand; ${s.alerts.count} alerts`);
  if (s.resolved) lines.push(`resolved at ${s.resolved.at}: ${s.resolved.effect}`);
  lines.push(`severity: ${s.severity ?? '–'}; decision: ${s.decision ? `${s.decision.action}${s.decision.action === 'repair' ? ` (${s.decision.how} of broker ${s.decision.brokers.join(', ')})` : ''} — ${s.decision.reason}` : '–'}`);
  for (const b of s.branches) lines.push(`  ${b.question} ${b.answer} (${b.evidence})`);
  for (const p of s.probes) lines.push(`probe ${p.at}: ${p.reachable ? 'reachable' : 'UNREACHABLE'}, brokers ${p.brokersUp}/${p.brokersTotal}, controller ${p.controller ?? '–'}${p.zookeeper ? `, ZooKeeper ${p.zookeeper}` : ''}, offline ${p.offline} (critical ${p.criticalOffline}), under min ISR ${p.underMinIsr}`);
  if (s.standbyObservation) {
    const o = s.standbyObservation;
    lines.push(`standby ${o.cluster}: ${o.healthy ? 'healthy' : 'NOT healthy'} (${o.brokersUp}/${o.brokersTotal} brokers); mirror ${o.mirror.workflowId} ${o.mirror.running ? 'running' : 'not running'}, lag ${o.mirror.lagRecords ?? '?'} records`);
  }
  if (s.newestVerifiedSet) lines.push(`newest verified backup set: ${s.newestVerifiedSet.setId} (${s.newestVerifiedSet.time})`);
  if (s.repair) lines.push(`repair in place: ${s.repair.tried} — ${s.repair.ok ? 'ok' : 'FAILED'}: ${s.repair.detail}`);
  if (s.approval) lines.push(`approval: ${s.approval.auto ? 'auto-approved' : s.approval.proceededOnTimeout ? 'proceeded at the timeout (policy)' : `${s.approval.approvedBy.length}/${s.approval.needed}${s.approval.approvedBy.length ? ` (${s.approval.approvedBy.join(', ')})` : ''}`}${s.approval.escalations ? `, escalated ${s.approval.escalations}×` : ''}`);
  if (s.mirror) lines.push(`mirror ${s.mirror.workflowId}: ${s.mirror.stopped}`);
  if (s.fence) lines.push(`fence of ${s.primary}: ${s.fence.fenced ? '' : 'NOT FENCED — '}${s.fence.how}: ${s.fence.detail}`);
  if (s.divergence) {
    lines.push(`RPO: ${s.notMirroredTotal ?? 'unknown'} records not mirrored over ${s.divergence.length} partitions`);
    for (const d of s.divergence.filter((x) => x.notMirrored !== 0)) lines.push(`  ${d.topic}/${d.partition}: ${d.notMirrored ?? '?'} (primary end ${d.primaryEnd ?? '?'} from ${d.from}, mirrored to ${d.mirrored})`);
  }
  for (const g of s.groups ?? []) lines.push(`group ${g.group}: ${g.partitions} partitions, re-read ${g.reRead}, skipped ${g.skipped}`);
  lines.push(`registry degradation: level ${s.degradation.level}${s.degradation.since ? ` since ${s.degradation.since}` : ''}`);
  for (const h of s.hooks ?? []) lines.push(`hook #${h.index + 1} ${h.type}: ${h.ok ? 'ok' : 'FAILED'} — ${h.description}${h.detail ? `: ${h.detail}` : ''}`);
  const parts = Object.entries(s.rtoParts)
    .map(([k, v]) => `${k} ${ms(v)}`)
    .join(', ');
  if (s.rtoMs !== undefined || parts) lines.push(`RTO: ${ms(s.rtoMs)}${parts ? ` (${parts})` : ''}`);
  for (const p of s.problems) lines.push(`problem: ${p}`);
  return lines.join('\n');
}
