/**
 * The evidence of a drill (src/drills/types.ts) from what its run recorded, and the drill's record
 * (records.ts DrillRecord) with its score and problems:
 *
 *   times    the fault's time, the first green independent probe, the spec's objectives
 *   data     the write stream read back (per partition and ZooKeeper)
 *   process  the runbook of the plan against the recovery children's steps (each step's first start,
 *            its last end; a tabletop's dry-run steps count as walked through at the child's plan time),
 *            and the approval gates: the drill's start is the approval of its gated steps
 *   problems the fallbacks the children took (or did not, when the scenario needed one), the
 *            degradation a failover had to apply, and what the drill found (child problems,
 *            inventory differences, reverts that failed), each classified
 *
 * The score (scoreDrill) counts the open problems of earlier drills (carryOver of the history); the
 * record's problems are this drill's (reviewProblems) and the earlier ones still open.
 *
 * Pure: no Node APIs, no clock; the workflow imports it.
 */
import type { DataCheck, RunReport, StepRecord as RunStep } from '../report/report.pure';
import type { DrillPlan, RecoveryCall } from './plan.pure';
import { carryOver, newProblem, REVERT_EVIDENCE, reviewProblems } from './problems.pure';
import type { AppliedFault, DrillRecord, InventoryDifference, RevertResult, Scenario } from './records';
import { scoreDrill } from './score.pure';
import type {
  DataEvidence,
  DegradationRecord,
  DrillEvidence,
  DrillType,
  FallbackRecord,
  FoundProblem,
  GateRecord,
  PartitionEvidence,
  Problem,
  ProblemClass,
  StepRecord,
  ZookeeperEvidence,
} from './types';

export type DrillPhase = DrillRecord['phases'][number]['name'];

/** One recovery child as the drill saw it: its report, or why it has none. */
export interface ChildOutcome {
  call: RecoveryCall;
  workflowId: string;
  report?: RunReport;
  /** The child failed: its failure's message (and type). */
  failed?: string;
}

/** Everything the drill recorded while it ran (the workflow's state at the review). */
export interface DrillObservations {
  id: string;
  cluster: string;
  type: DrillType;
  scenario: Scenario;
  workflowId: string;
  runId?: string;
  schedule?: string;
  startedAt: string;
  endedAt: string;
  plan: DrillPlan;
  objectives?: { rtoMinutes: number; rpoMinutes: number };
  /** Who approved the gated steps (the drill's start stands for their approval). */
  approvedBy: string;
  faultAt?: string;
  /** undefined: no probe loop ran; null: it ran and never saw the target green. */
  firstGreenProbeAt?: string | null;
  probe?: string;
  /** The write stream read back; undefined when it was not (tabletop, a failure before it). */
  readBack?: { partitions: PartitionEvidence[]; zookeeper?: ZookeeperEvidence | null; streamStartedAt?: string };
  children: ChildOutcome[];
  /** The backup set the fault damaged (backup-corrupt). */
  corruptedSet?: string;
  inventoryDifferences?: InventoryDifference[];
  faults: AppliedFault[];
  reverts: RevertResult[];
  /** Reverts that failed (after their retries): the target is not as it was. */
  revertFailures: string[];
  /** Problems the drill itself found (a failed step of its own, a gatherer that failed). */
  found: FoundProblem[];
  phases: DrillRecord['phases'];
  /** Stopped by the stop signal or a cancellation: why. */
  stopped?: string;
  /** The chaos fault's step, and whether the recovery reached it. */
  chaos?: { atStep: string; appliedAt?: string };
}

const DRY_RUN = 'dry run';

/**
 * A child's step as the evidence's step (its id prefixed with the child's). `before`: the start of
 * the step before it in the child's plan, the time a step without its own is placed at (ties keep
 * the plan's order).
 */
function stepOf(prefix: string, s: RunStep, report: RunReport, before: string): StepRecord | undefined {
  const id = prefix + s.name;
  if (s.status === 'pending') return undefined;
  if (s.status === 'skipped') {
    // A dry run's planned step is walked through in the plan's order (tabletop); other skips are skips.
    if (report.dryRun && s.detail === DRY_RUN) return { id, startedAt: before, endedAt: before };
    return { id, startedAt: s.startedAt ?? before, skipped: s.detail ?? 'skipped' };
  }
  // A step that ran again (a fallback to an older set): its first start, its last end.
  const first = s.attempts?.find((a) => a.startedAt)?.startedAt ?? s.startedAt ?? before;
  return { id, startedAt: first, ...(s.endedAt ? { endedAt: s.endedAt } : {}) };
}

/** The recovery children's steps, in the order they started (ties: the order the children recorded them). */
export function stepsOf(children: ChildOutcome[]): StepRecord[] {
  const out: StepRecord[] = [];
  for (const c of children) {
    if (!c.report) continue;
    let before = c.report.startedAt;
    for (const s of c.report.steps) {
      const r = stepOf(c.call.stepPrefix, s, c.report, before);
      if (!r) continue;
      out.push(r);
      if (!r.skipped && Date.parse(r.startedAt) > Date.parse(before)) before = r.startedAt;
    }
  }
  return out
    .map((r, i) => ({ r, i }))
    .sort((a, b) => Date.parse(a.r.startedAt) - Date.parse(b.r.startedAt) || a.i - b.i)
    .map((x) => x.r);
}

/** A recovery child's own verification, as the drill takes it instead of verifying again. */
export interface ChildVerification {
  workflowId: string;
  /** The child's step that verified (its id in the evidence: the child's prefix and `verify`). */
  step: string;
  endedAt?: string;
  checks: DataCheck[];
}

/**
 * The recovery's own verification, when the drill takes it instead of running verifyCluster again
 * (the drill's own probe loop and the stream's read-back still measure on their own): not a dry run,
 * not a chaos drill (its second fault lands inside the recovery: the drill checks afterwards for
 * itself), and every planned child ran, succeeded, and ended with its `verify` step done and every
 * check passed. Undefined when the drill must verify for itself (restoreState has no verify step).
 */
export function recoveryVerification(plan: Pick<DrillPlan, 'dryRun' | 'chaos' | 'recovery'>, children: readonly ChildOutcome[]): ChildVerification[] | undefined {
  if (plan.dryRun || plan.chaos || children.length !== plan.recovery.length || children.length === 0) return undefined;
  const out: ChildVerification[] = [];
  for (const c of children) {
    const r = c.report;
    if (c.failed || !r || r.dryRun || r.outcome !== 'succeeded') return undefined;
    const step = r.steps.find((s) => s.name === 'verify');
    if (step?.status !== 'done') return undefined;
    if (r.checks.length === 0 || !r.checks.every((x) => x.ok)) return undefined;
    out.push({ workflowId: c.workflowId, step: c.call.stepPrefix + step.name, ...(step.endedAt ? { endedAt: step.endedAt } : {}), checks: r.checks });
  }
  return out;
}

/** Gates: each gated runbook step that ran or was planned was approved when the drill was started. */
export function gatesOf(plan: DrillPlan, steps: StepRecord[], approvedBy: string, startedAt: string): GateRecord[] {
  return plan.runbook
    .filter((s) => s.gate && steps.some((r) => r.id === s.id && !r.skipped))
    .map((s) => ({ step: s.id, askedAt: startedAt, answer: 'approved' as const, answeredAt: startedAt, by: approvedBy }));
}

const FELL_BACK = /fell back to|restoring again from the set before it/;

/**
 * Fallbacks: every one a child took (a set passed over or found corrupt), worked when its child
 * succeeded; and when the scenario needed one (the newest set damaged) and none was taken, or its
 * child failed, one that did not work.
 */
export function fallbacksOf(o: Pick<DrillObservations, 'plan' | 'children' | 'corruptedSet' | 'faultAt' | 'endedAt'>): FallbackRecord[] {
  const out: FallbackRecord[] = [];
  for (const c of o.children) {
    const r = c.report;
    if (!r || r.dryRun) continue;
    const worked = !c.failed && r.outcome === 'succeeded';
    for (const p of r.problems.filter((x) => FELL_BACK.test(x))) out.push({ step: `${c.call.stepPrefix}choose-set`, reason: p, at: r.endedAt, worked });
  }
  if (o.plan.fallbackNeeded && !o.plan.dryRun) {
    const corrupt = o.corruptedSet;
    const took = out.some((f) => f.worked && (!corrupt || f.reason.includes(corrupt)));
    if (!took) {
      const failed = o.children.find((c) => c.failed || c.report?.outcome !== 'succeeded');
      const why = failed
        ? `the recovery ${failed.failed ? `failed: ${failed.failed}` : `ended ${failed.report?.outcome}`}`
        : `the recovery did not fall back from the damaged set${corrupt ? ` ${corrupt}` : ''}`;
      out.push({ step: 'choose-set', reason: `the newest backup set was damaged and needed a fallback: ${why}`, at: o.faultAt ?? o.endedAt, worked: false });
    }
  }
  return out;
}

/** Degradation a failover needed while the clients switch: applied when its step ran. */
export function degradationOf(plan: DrillPlan, steps: StepRecord[], faultAt: string | undefined, endedAt: string): DegradationRecord[] {
  if (plan.dryRun) return [];
  return plan.degradationSteps.map((step) => {
    const ran = steps.find((s) => s.id === step && !s.skipped);
    return { what: 'registry degradation while the clients switch', step, neededAt: faultAt ?? endedAt, appliedAt: ran?.startedAt ?? null };
  });
}

/**
 * A child's problem line classified: a verification that failed is P1 (a recovery that is not
 * right), a fallback the scenario asked for is expected (not a problem), anything else P2 (someone
 * must look at it).
 */
export function classifyChildProblem(line: string, plan: DrillPlan): ProblemClass | 'expected' {
  if (/^verification:/.test(line)) return 'P1';
  if (plan.fallbackNeeded && FELL_BACK.test(line)) return 'expected';
  return 'P2';
}

/** What the drill found: its own problems, the children's (classified), inventory differences (P1) and failed reverts (P0). */
export function foundProblemsOf(o: DrillObservations): FoundProblem[] {
  const out: FoundProblem[] = [...o.found];
  for (const c of o.children) {
    for (const line of c.report?.problems ?? []) {
      const cls = classifyChildProblem(line, o.plan);
      if (cls === 'expected') continue;
      out.push({ title: line, evidence: `child ${c.workflowId}`, found: c.report!.endedAt, class: cls });
    }
    if (c.failed) out.push({ title: `recovery ${c.call.workflow} failed: ${c.failed}`, evidence: `child ${c.workflowId}`, found: o.endedAt, class: 'P1' });
  }
  for (const d of o.inventoryDifferences ?? []) {
    out.push({
      title: `the drill left the target different: ${d.area} ${d.key} ${d.change}`,
      evidence: `inventory ${d.area}/${d.key}${d.before !== undefined ? ` before ${d.before}` : ''}${d.after !== undefined ? ` after ${d.after}` : ''}`,
      found: o.endedAt,
      class: 'P1',
    });
  }
  for (const r of o.revertFailures) out.push({ title: `a fault was not reverted: ${r}`, evidence: REVERT_EVIDENCE, found: o.endedAt, class: 'P0' });
  return out;
}

/** The drill's evidence for scoreDrill. */
export function drillEvidence(o: DrillObservations): DrillEvidence {
  const steps = stepsOf(o.children);
  const evidence: DrillEvidence = {
    drill: { id: o.id, type: o.type, scenario: o.scenario, startedAt: o.startedAt, endedAt: o.endedAt },
    process: { runbook: o.plan.runbook, steps, gates: gatesOf(o.plan, steps, o.approvedBy, o.startedAt) },
    problems: {
      fallbacks: fallbacksOf(o),
      found: foundProblemsOf(o),
      degradation: degradationOf(o.plan, steps, o.faultAt, o.endedAt),
    },
  };
  if (o.faultAt !== undefined || o.firstGreenProbeAt !== undefined) {
    evidence.times = {
      ...(o.faultAt !== undefined ? { faultAt: o.faultAt } : {}),
      ...(o.firstGreenProbeAt !== undefined ? { firstGreenProbeAt: o.firstGreenProbeAt } : {}),
      ...(o.probe ? { probe: o.probe } : {}),
      ...(o.objectives ? { rtoMinutes: o.objectives.rtoMinutes, rpoMinutes: o.objectives.rpoMinutes } : {}),
    };
  }
  if (o.readBack) {
    const set = restoredSetOf(o.children);
    evidence.data = {
      partitions: o.readBack.partitions,
      ...(o.readBack.zookeeper !== undefined ? { zookeeper: o.readBack.zookeeper } : {}),
      ...(o.readBack.streamStartedAt ? { streamStartedAt: o.readBack.streamStartedAt } : {}),
      ...(set ? { restoredSet: set } : {}),
    };
  }
  return evidence;
}

/** The oldest backup set a recovery child restored (its report's snapshot, the parts its call named): what the data came back to. */
export function restoredSetOf(children: readonly ChildOutcome[]): NonNullable<DataEvidence['restoredSet']> | undefined {
  let oldest: NonNullable<DataEvidence['restoredSet']> | undefined;
  for (const c of children) {
    const s = c.report?.snapshot;
    if (!s || Number.isNaN(Date.parse(s.time))) continue;
    if (oldest && Date.parse(s.time) >= Date.parse(oldest.time)) continue;
    oldest = { id: s.id, time: s.time, ...(s.completedAt ? { completedAt: s.completedAt } : {}), ...(c.call.parts ? { parts: [...c.call.parts] } : {}) };
  }
  return oldest;
}

/**
 * Every problem of earlier drills, each as its newest record has it (a later drill carries an open
 * one with the same id; a resolution is recorded there).
 */
export function earlierProblems(history: readonly DrillRecord[]): Problem[] {
  const byId = new Map<string, Problem>();
  const sorted = [...history].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const r of sorted) for (const p of r.problems ?? []) byId.set(p.id, p);
  return [...byId.values()];
}

/** Improvement items (PDCA "act"): one per problem of this drill, most severe first. */
export function improvementsOf(problems: Problem[]): string[] {
  return problems.map((p) => `${p.class}${p.due ? ` (due ${p.due})` : ''}: ${p.title}`);
}

/**
 * The drill's record: evidence, score (with the open problems of earlier drills), problems (this
 * drill's, classified, then the earlier ones still open), RTO and RPO in seconds. A tabletop measures
 * no time and no data by design: that absence costs its points, but is not filed as a problem.
 */
export function drillRecord(o: DrillObservations, history: readonly DrillRecord[] = []): DrillRecord {
  const evidence = drillEvidence(o);
  const open = carryOver(earlierProblems(history), o.startedAt);
  const score = scoreDrill(evidence, open);
  const forReview = o.plan.dryRun || o.stopped
    ? { ...score, deductions: score.deductions.filter((d) => !(d.finding === 'missing-evidence' && (d.part === 'recoveryTime' || d.part === 'dataIntegrity'))) }
    : score;
  const found = evidence.problems?.found ?? [];
  const mine = reviewProblems(o.id, o.endedAt, found, forReview);
  const carried: Problem[] = open.map(({ overdue: _overdue, ...p }) => p);
  const { recoveryMs, lossWindowMs } = score.measured;
  return {
    id: o.id,
    cluster: o.cluster,
    type: o.type,
    scenario: o.scenario,
    ...(o.schedule ? { schedule: o.schedule } : {}),
    startedAt: o.startedAt,
    endedAt: o.endedAt,
    workflowId: o.workflowId,
    ...(o.runId ? { runId: o.runId } : {}),
    evidence,
    score,
    problems: [...mine, ...carried],
    rtoSeconds: recoveryMs === null ? null : Math.round(recoveryMs / 100) / 10,
    rpoSeconds: lossWindowMs === null ? null : Math.round(lossWindowMs / 100) / 10,
    inventoryDifferences: o.inventoryDifferences ?? [],
    faults: o.faults,
    reverts: o.reverts,
    phases: o.phases,
    improvements: [...(o.stopped ? [`stopped: ${o.stopped}`] : []), ...improvementsOf(mine)],
  };
}

/** The record of a drill that did not run (another drill was running on the cluster): skipped, not silent. */
export function skippedRecord(o: Pick<DrillObservations, 'id' | 'cluster' | 'type' | 'scenario' | 'workflowId' | 'runId' | 'schedule' | 'startedAt' | 'endedAt'>, why: string): DrillRecord {
  const evidence: DrillEvidence = { drill: { id: o.id, type: o.type, scenario: o.scenario, startedAt: o.startedAt, endedAt: o.endedAt } };
  return {
    id: o.id,
    cluster: o.cluster,
    type: o.type,
    scenario: o.scenario,
    ...(o.schedule ? { schedule: o.schedule } : {}),
    skipped: why,
    startedAt: o.startedAt,
    endedAt: o.endedAt,
    workflowId: o.workflowId,
    ...(o.runId ? { runId: o.runId } : {}),
    evidence,
    score: scoreDrill(evidence),
    problems: [],
    rtoSeconds: null,
    rpoSeconds: null,
    inventoryDifferences: [],
    faults: [],
    reverts: [],
    phases: [{ name: 'prepare', startedAt: o.startedAt, endedAt: o.endedAt, notes: [`skipped: ${why}`] }],
    improvements: [],
  };
}

/**
 * The record of a drill that applied no fault because the last drill left faults in place (`why`):
 * skipped, with those faults as its own P0 problems (and any revert of its own that failed), so the
 * drill after it finds them too. It measured nothing: no score of its own, no other problem filed.
 */
export function refusedRecord(o: DrillObservations, why: string): DrillRecord {
  const left = foundProblemsOf(o).filter((p) => p.evidence === REVERT_EVIDENCE);
  const problems = left.map((p, i) => newProblem(o.id, i + 1, { class: p.class ?? 'P0', title: p.title, evidence: p.evidence, found: p.found }));
  return { ...skippedRecord(o, why), phases: o.phases, problems, improvements: improvementsOf(problems) };
}
