/**
 * The drill's 100-point score (seed 004 §8.4), from evidence only:
 *
 *   recovery time    30  within RTO 30 · within 1.5× RTO 20 · beyond (or never recovered) 10
 *   data integrity   25  nothing lost 25 · loss window within RPO 15 · beyond RPO 5; the window of a
 *                        partition (or znode) with nothing of the stream readable is unknown (beyond),
 *                        unless the recovery restored it from a set complete before the stream began:
 *                        then it runs from the set's time (the newest set's drill measures its age)
 *   process          25  deductions: steps out of the runbook's order, approval gates not honoured,
 *                        required steps skipped, manual steps (PROCESS_RULES)
 *   problem handling 20  deductions: fallbacks that did not work, problems not classified, degradation
 *                        needed but not applied, problems still open from earlier drills (PROBLEM_RULES)
 *
 * Missing or unusable evidence is named (DrillScore.missing and a deduction) and scored as the worst
 * case: the lowest tier for time and data, a check's whole cap for process and problem handling.
 * Every deduction names its check and its evidence (step, time, partition, problem or the missing
 * field). Total: the sum of the parts, each within 0..max, so always an integer 0–100; the same
 * evidence gives the same score and the same deductions, whatever the order of partitions.
 *
 * Pure: no Node APIs, no clock, never throws; workflows import it.
 */
import { PROBLEM_CLASSES, isOpenAt, isProblemClass } from './problems.pure';
import type {
  AckedRecord,
  Check,
  Deduction,
  DeductionEvidence,
  DrillEvidence,
  DrillScore,
  Finding,
  PartScore,
  PartitionEvidence,
  Problem,
  ProblemClass,
  ProblemEvidence,
  ProcessEvidence,
  ScorePart,
  StepRecord,
  TimeEvidence,
  DataEvidence,
} from './types';

export const PART_MAX: Record<ScorePart, number> = { recoveryTime: 30, dataIntegrity: 25, process: 25, problemHandling: 20 };

/** Recovery time tiers: within RTO, within RTO × RTO_GRACE, beyond. */
export const TIME_POINTS = { withinRto: 30, withinGrace: 20, beyond: 10 } as const;
export const RTO_GRACE = 1.5;
/** Data integrity tiers. */
export const DATA_POINTS = { noLoss: 25, withinRpo: 15, beyondRpo: 5 } as const;

/** Process deductions: points per occurrence, and the most a check can lose (the caps add up to 25). */
export const PROCESS_RULES = {
  'step-order': { each: 3, cap: 6 },
  'approval-gate': { each: 8, cap: 8 },
  'skipped-step': { each: 3, cap: 6 },
  'manual-step': { each: 3, cap: 5 },
} as const;

/** Problem-handling deductions (the caps add up to 20); an open problem costs by its class. */
export const PROBLEM_RULES = {
  fallback: { each: 6, cap: 6 },
  classification: { each: 2, cap: 3 },
  degradation: { each: 5, cap: 5 },
  'open-problem': { each: 6, cap: 6 },
} as const;
export const OPEN_PROBLEM_POINTS: Record<ProblemClass, number> = { P0: 6, P1: 4, P2: 2, P3: 1 };

const MINUTE = 60_000;

/** Score a drill. `openProblems`: problems of earlier drills (resolved ones are ignored). */
export function scoreDrill(evidence: DrillEvidence, openProblems: readonly Problem[] = []): DrillScore {
  const missing: string[] = [];
  const time = recoveryTime(evidence, missing);
  const data = dataIntegrity(evidence, missing);
  const process = processPart(evidence.process, missing);
  const problems = problemHandling(evidence, evidence.problems, openProblems, missing);
  const parts = { recoveryTime: time.part, dataIntegrity: data.part, process, problemHandling: problems };
  return {
    total: time.part.points + data.part.points + process.points + problems.points,
    parts,
    deductions: [...time.part.deductions, ...data.part.deductions, ...process.deductions, ...problems.deductions],
    missing: [...new Set(missing)],
    measured: { recoveryMs: time.recoveryMs, lossWindowMs: data.lossWindowMs, lossWindowAtLeast: data.atLeast },
  };
}

// ---------------------------------------------------------------------------------------------------
// Recovery time

function recoveryTime(e: DrillEvidence, missing: string[]): { part: PartScore; recoveryMs: number | null } {
  const part = 'recoveryTime';
  const max = PART_MAX[part];
  const t: TimeEvidence = isObject(e.times) ? e.times : {};
  const absent: string[] = [];
  if (!isObject(e.times)) absent.push('times');
  const fault = timeOf(t.faultAt);
  if (isObject(e.times) && fault === null) absent.push('times.faultAt');
  const rto = positive(t.rtoMinutes);
  if (isObject(e.times) && rto === null) absent.push('times.rtoMinutes');
  const probe = typeof t.probe === 'string' && t.probe ? t.probe : 'the independent probe';

  const tier = (points: number, finding: Finding, reason: string, evidence: DeductionEvidence): PartScore => ({
    part,
    points,
    max,
    deductions: points < max ? [{ part, check: 'rto', finding, points: max - points, reason, evidence }] : [],
  });

  // Never green is a fact (not missing evidence): the recovery did not finish by the drill's end.
  if (t.firstGreenProbeAt === null && fault !== null) {
    const end = timeOf(e.drill?.endedAt);
    const reason = `not recovered: ${probe} was never green after the fault at ${iso(fault)}${end !== null ? ` (drill ended ${iso(end)})` : ''}`;
    missing.push(...absent);
    const d = tier(TIME_POINTS.beyond, 'not-recovered', reason, { step: probe, at: iso(end ?? fault) });
    if (absent.length) d.deductions.push(missingDeduction(part, 'rto', absent, 0));
    return { part: d, recoveryMs: null };
  }
  const green = timeOf(t.firstGreenProbeAt);
  if (isObject(e.times) && green === null && t.firstGreenProbeAt !== null) absent.push('times.firstGreenProbeAt');
  if (fault !== null && green !== null && green < fault) absent.push('times.firstGreenProbeAt (before the fault)');
  if (absent.length || fault === null || green === null || rto === null) {
    missing.push(...absent);
    return { part: { part, points: TIME_POINTS.beyond, max, deductions: [missingDeduction(part, 'rto', absent, max - TIME_POINTS.beyond)] }, recoveryMs: null };
  }
  const ms = green - fault;
  const span = `${minutes(ms)} from the fault (${iso(fault)}) to the first green probe (${probe}, ${iso(green)})`;
  const evidence = { step: probe, at: iso(green) };
  if (ms <= rto * MINUTE) return { part: tier(TIME_POINTS.withinRto, 'rto-exceeded', '', evidence), recoveryMs: ms };
  if (ms <= rto * RTO_GRACE * MINUTE) {
    return { part: tier(TIME_POINTS.withinGrace, 'rto-exceeded', `RTO exceeded: ${span}, RTO ${rto} min (within ${RTO_GRACE}×)`, evidence), recoveryMs: ms };
  }
  return { part: tier(TIME_POINTS.beyond, 'rto-far-exceeded', `RTO exceeded by more than ${RTO_GRACE}×: ${span}, RTO ${rto} min`, evidence), recoveryMs: ms };
}

// ---------------------------------------------------------------------------------------------------
// Data integrity

interface Loss {
  /** topic-partition or "zookeeper". */
  where: string;
  /** Loss window in ms; null: unbounded (nothing of the stream readable). */
  windowMs: number | null;
  lastAckedAt: number;
  what: string;
}

function dataIntegrity(e: DrillEvidence, missing: string[]): { part: PartScore; lossWindowMs: number | null; atLeast: boolean } {
  const part = 'dataIntegrity';
  const max = PART_MAX[part];
  const d: DataEvidence = isObject(e.data) ? e.data : {};
  const absent: string[] = [];
  if (!isObject(e.data)) absent.push('data');
  const losses: Loss[] = [];
  let staked = 0;

  // Nothing of the stream readable after the recovery restored that data from a set completed before
  // the stream began: the set could hold none of it, so the loss window runs from the set's time (its
  // first part's start) to the last acknowledged write, not unknown. A set that was still being
  // written when the stream began, or data the recovery did not take from the set (a ZooKeeper-only
  // restore leaves the log dirs to adoption), keeps the loss unexplained: unknown.
  const set = isObject(d.restoredSet) && typeof d.restoredSet.id === 'string' ? d.restoredSet : undefined;
  const setAt = set ? timeOf(set.time) : null;
  const setDone = set ? timeOf(set.completedAt) : null;
  const streamAt = timeOf(d.streamStartedAt);
  const setBefore = setAt !== null && setDone !== null && streamAt !== null && setAt <= setDone && setDone <= streamAt ? setAt : null;
  const restored = (lane: 'kafka' | 'zookeeper') => {
    const parts = Array.isArray(set?.parts) ? set.parts : null;
    if (!parts) return true;
    return lane === 'zookeeper' ? parts.includes('zookeeper') : parts.some((p) => p === 'topics' || p === 'logdirs' || (typeof p === 'string' && p.startsWith('logdirs:')));
  };
  const fromSet = (lastAt: number, lane: 'kafka' | 'zookeeper') =>
    setBefore !== null && setBefore <= lastAt && restored(lane)
      ? { windowMs: lastAt - setBefore, why: `; the recovery restored it from set ${set!.id.slice(0, 12)} of ${iso(setBefore)}, complete before the stream began: the loss counts from it` }
      : null;

  const partitions = Array.isArray(d.partitions) ? [...d.partitions].filter(isObject).sort(byPartition) : [];
  if (isObject(e.data) && partitions.length === 0) absent.push('data.partitions');
  /** Partitions with nothing acknowledged before the fault: what they lost is not measured, so "no loss" cannot be claimed for them. */
  const unwritten: string[] = [];
  for (const p of partitions) {
    const where = `${String(p.topic)}-${String(p.partition)}`;
    const last = acked(p.lastAcked);
    const intact = acked(p.intactThrough);
    if (last === undefined) absent.push(`data.partitions[${where}].lastAcked`);
    if (last === null) unwritten.push(where);
    if (intact === undefined) absent.push(`data.partitions[${where}].intactThrough`);
    if (!last || intact === undefined) continue;
    staked++;
    if (intact && intact.offset >= last.offset) continue;
    if (!intact) {
      const f = fromSet(last.at, 'kafka');
      losses.push({ where, windowMs: f?.windowMs ?? null, lastAckedAt: last.at, what: `nothing of the write stream readable (last acknowledged offset ${last.offset} at ${iso(last.at)})${f?.why ?? ''}` });
    } else if (intact.at > last.at) {
      absent.push(`data.partitions[${where}].intactThrough (acknowledged after lastAcked)`);
    } else {
      const lost = last.offset - intact.offset;
      losses.push({ where, windowMs: last.at - intact.at, lastAckedAt: last.at, what: `offsets ${intact.offset + 1}–${last.offset} lost (${lost}), acknowledged ${iso(intact.at)}–${iso(last.at)}` });
    }
  }

  const zk = d.zookeeper;
  // null says the cluster has no ZooKeeper (KRaft): nothing was there to lose.
  if (isObject(e.data) && zk !== null && !isObject(zk)) absent.push('data.zookeeper');
  if (isObject(zk)) {
    const last = zxidWrite(zk.lastAcked);
    const intact = zxidWrite(zk.intactThrough);
    if (last === undefined) absent.push('data.zookeeper.lastAcked');
    if (intact === undefined) absent.push('data.zookeeper.intactThrough');
    if (last && intact !== undefined) {
      staked++;
      if (!intact) {
        const f = fromSet(last.at, 'zookeeper');
        losses.push({ where: 'zookeeper', windowMs: f?.windowMs ?? null, lastAckedAt: last.at, what: `no znode write of the stream readable (last acknowledged zxid ${hex(last.zxid)} at ${iso(last.at)})${f?.why ?? ''}` });
      } else if (intact.zxid < last.zxid) {
        if (intact.at > last.at) absent.push('data.zookeeper.intactThrough (acknowledged after lastAcked)');
        else losses.push({ where: 'zookeeper', windowMs: last.at - intact.at, lastAckedAt: last.at, what: `znode writes after zxid ${hex(intact.zxid)} through ${hex(last.zxid)} lost, acknowledged ${iso(intact.at)}–${iso(last.at)}` });
      }
    }
  }
  if (!absent.length && staked === 0) absent.push('data (the write stream had nothing acknowledged before the fault)');
  else if (unwritten.length) absent.push(`data.partitions[${unwritten.slice(0, 4).join(', ')}${unwritten.length > 4 ? ', …' : ''}].lastAcked (nothing acknowledged there before the fault: its loss is not measured)`);

  // The worst loss first: unbounded, then the widest window, then by name (inputs are sorted).
  losses.sort((a, b) => (a.windowMs === null ? -1 : 0) - (b.windowMs === null ? -1 : 0) || (b.windowMs ?? 0) - (a.windowMs ?? 0));
  const known = losses.filter((l) => l.windowMs !== null).map((l) => l.windowMs as number);
  const atLeast = losses.some((l) => l.windowMs === null);
  // Every loss unbounded (nothing of the stream readable): the window is unknown, not 0.
  const lossWindowMs = absent.length ? null : known.length ? Math.max(...known) : atLeast ? null : 0;
  const rpo = positive(e.times?.rpoMinutes);
  if (losses.length && rpo === null) absent.push('times.rpoMinutes');
  missing.push(...absent);

  const deductions: Deduction[] = [];
  let points: number = DATA_POINTS.noLoss;
  const worst = losses[0];
  if (worst) {
    const others = losses.length > 1 ? ` (and ${losses.length - 1} more: ${losses.slice(1, 6).map((l) => l.where).join(', ')}${losses.length > 6 ? ', …' : ''})` : '';
    const beyond = worst.windowMs === null || (rpo !== null && worst.windowMs > rpo * MINUTE);
    const within = !beyond && rpo !== null;
    if (beyond || within) {
      points = beyond ? DATA_POINTS.beyondRpo : DATA_POINTS.withinRpo;
      const window = worst.windowMs === null ? 'a loss window that starts before the write stream' : `a ${minutes(worst.windowMs)} loss window`;
      deductions.push({
        part,
        check: 'rpo',
        finding: beyond ? 'loss-beyond-rpo' : 'loss-within-rpo',
        points: max - points,
        reason: `data lost ${beyond ? 'beyond' : 'within'} the RPO${rpo !== null ? ` (${rpo} min)` : ''}: ${worst.where}: ${worst.what}, ${window}${others}`,
        evidence: { partition: worst.where, at: iso(worst.lastAckedAt) },
      });
    }
  }
  if (absent.length) {
    const lost = max - DATA_POINTS.beyondRpo - (max - points);
    deductions.push(missingDeduction(part, 'rpo', absent, lost));
    points = DATA_POINTS.beyondRpo;
  }
  return { part: { part, points, max, deductions }, lossWindowMs, atLeast };
}

const byPartition = (a: PartitionEvidence, b: PartitionEvidence): number =>
  cmp(String(a.topic), String(b.topic)) || (Number(a.partition) || 0) - (Number(b.partition) || 0);

/** A valid acknowledged record, null, or undefined when absent/unusable. */
function acked(r: AckedRecord | null | undefined): { offset: number; at: number } | null | undefined {
  if (r === null) return null;
  if (!isObject(r) || !Number.isSafeInteger(r.offset) || r.offset < 0) return undefined;
  const at = timeOf(r.at);
  return at === null ? undefined : { offset: r.offset, at };
}

function zxidWrite(r: { zxid: string; at: string } | null | undefined): { zxid: bigint; at: number } | null | undefined {
  if (r === null) return null;
  if (!isObject(r) || typeof r.zxid !== 'string' || !/^(0x[0-9a-f]{1,16}|[0-9]{1,20})$/i.test(r.zxid.trim())) return undefined;
  const at = timeOf(r.at);
  return at === null ? undefined : { zxid: BigInt(r.zxid.trim()), at };
}

const hex = (z: bigint): string => `0x${z.toString(16)}`;

// ---------------------------------------------------------------------------------------------------
// Process

/** Adds deductions to a part, each check within its cap. */
class Tally {
  readonly deductions: Deduction[] = [];
  private readonly used = new Map<Check, number>();
  constructor(
    private readonly part: ScorePart,
    private readonly rules: Partial<Record<Check, { each: number; cap: number }>>,
  ) {}

  add(check: Check, finding: Finding, reason: string, evidence: DeductionEvidence, want = this.rules[check]!.each): void {
    const cap = this.rules[check]!.cap;
    const used = this.used.get(check) ?? 0;
    const points = Math.max(0, Math.min(want, cap - used));
    this.used.set(check, used + points);
    this.deductions.push({ part: this.part, check, finding, points, reason: used + want > cap && points < want ? `${reason} (cap of ${cap} for this check reached)` : reason, evidence });
  }

  /** The check's whole cap, for evidence that is absent. */
  missing(check: Check, fields: string[]): void {
    this.add(check, 'missing-evidence', `not measured, scored as the worst case: ${fields.join(', ')} absent or unusable`, { missing: fields.join(', ') }, this.rules[check]!.cap);
  }

  result(max: number): PartScore {
    const lost = this.deductions.reduce((s, d) => s + d.points, 0);
    return { part: this.part, points: Math.max(0, max - lost), max, deductions: this.deductions };
  }
}

function processPart(p: ProcessEvidence | undefined, missing: string[]): PartScore {
  const part = 'process';
  const tally = new Tally(part, PROCESS_RULES);
  const runbook = isObject(p) && Array.isArray(p.runbook) ? p.runbook.filter((s) => isObject(s) && typeof s.id === 'string') : null;
  const records = isObject(p) && Array.isArray(p.steps) ? p.steps.filter((s) => isObject(s) && typeof s.id === 'string') : null;
  if (!runbook || !records) {
    const fields = !isObject(p) ? ['process'] : [...(!runbook ? ['process.runbook'] : []), ...(!records ? ['process.steps'] : [])];
    missing.push(...fields);
    for (const check of ['step-order', 'approval-gate', 'skipped-step', 'manual-step'] as const) tally.missing(check, fields);
    return tally.result(PART_MAX[part]);
  }

  const index = new Map<string, number>();
  runbook.forEach((s, i) => { if (!index.has(s.id)) index.set(s.id, i); });
  const title = (id: string): string => {
    const s = runbook[index.get(id) ?? -1];
    return s?.title ? `${id} (${s.title})` : id;
  };

  // Each step's first run, in the order the steps started (ties: the order recorded).
  const runs = records.filter((r) => !r.skipped);
  const untimed = runs.filter((r) => timeOf(r.startedAt) === null);
  const timed = runs
    .map((r, i) => ({ r, i, t: timeOf(r.startedAt) }))
    .filter((x): x is { r: StepRecord; i: number; t: number } => x.t !== null)
    .sort((a, b) => a.t - b.t || a.i - b.i);
  const firstRun = new Map<string, { r: StepRecord; t: number }>();
  for (const x of timed) if (!firstRun.has(x.r.id)) firstRun.set(x.r.id, x);
  const ran = (id: string): boolean => firstRun.has(id) || untimed.some((r) => r.id === id);

  // Order (seed: "was the runbook followed"): improvised steps, steps without a start time, and steps
  // outside the longest run in the runbook's order.
  const seen = new Set<string>();
  for (const r of untimed) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    if (firstRun.has(r.id)) continue;
    missing.push(`process.steps[${r.id}].startedAt`);
    tally.add('step-order', 'missing-evidence', `step ${title(r.id)} has no usable start time: its order cannot be checked`, { step: r.id, missing: `process.steps[${r.id}].startedAt` });
  }
  const ordered = [...firstRun.values()];
  for (const x of ordered) {
    if (!index.has(x.r.id)) tally.add('step-order', 'off-runbook', `step ${x.r.id} is not in the runbook (ran at ${iso(x.t)})`, { step: x.r.id, at: iso(x.t) });
  }
  const inBook = ordered.filter((x) => index.has(x.r.id));
  const keep = longestInOrder(inBook.map((x) => index.get(x.r.id)!));
  inBook.forEach((x, k) => {
    if (keep.has(k)) return;
    const mine = index.get(x.r.id)!;
    // Outside the longest in-order run: it ran after a later runbook step, or before an earlier one.
    const after = inBook.slice(0, k).find((y) => index.get(y.r.id)! > mine);
    const other = after ?? inBook.slice(k + 1).find((y) => index.get(y.r.id)! < mine)!;
    tally.add(
      'step-order',
      'out-of-order',
      `step ${title(x.r.id)} (runbook #${mine + 1}) ran at ${iso(x.t)}, ${after ? 'after' : 'before'} ${title(other.r.id)} (runbook #${index.get(other.r.id)! + 1}, ${iso(other.t)})`,
      { step: x.r.id, at: iso(x.t) },
    );
  });

  // Approval gates: a gated step that ran needs an approval answered before it started.
  const gated = runbook.filter((s, i) => s.gate === true && index.get(s.id) === i);
  const gates = isObject(p) && Array.isArray(p.gates) ? p.gates.filter(isObject) : null;
  const refused = new Set<string>();
  if (gated.length && !gates) {
    missing.push('process.gates');
    tally.missing('approval-gate', ['process.gates']);
  } else if (gates) {
    for (const s of gated) {
      const asks = gates.filter((g) => g.step === s.id);
      if (asks.some((g) => g.answer === 'rejected' || g.answer === 'timed-out')) refused.add(s.id);
      if (!ran(s.id)) continue;
      const start = firstRun.get(s.id)?.t ?? null;
      if (start === null) {
        tally.add('approval-gate', 'missing-evidence', `gated step ${title(s.id)} ran with no usable start time: its approval cannot be checked`, { step: s.id, missing: `process.steps[${s.id}].startedAt` });
        continue;
      }
      const ok = asks.some((g) => {
        const asked = timeOf(g.askedAt);
        const answered = timeOf(g.answeredAt);
        return g.answer === 'approved' && asked !== null && answered !== null && asked <= answered && answered <= start;
      });
      if (ok) continue;
      const why = gateFailure(asks, start);
      tally.add('approval-gate', 'gate-not-honoured', `gate of step ${title(s.id)} not honoured: it ran at ${iso(start)} ${why.text}`, { step: s.id, at: iso(why.at ?? start) });
    }
  }

  // Skipped: a required step that never ran (a gate that said no is an answer, not a skip).
  const skipRecord = new Map<string, StepRecord>();
  for (const r of records) if (r.skipped && !skipRecord.has(r.id)) skipRecord.set(r.id, r);
  runbook.forEach((s, i) => {
    if (index.get(s.id) !== i || s.optional === true || ran(s.id) || refused.has(s.id)) return;
    const rec = skipRecord.get(s.id);
    const at = rec ? timeOf(rec.startedAt) : null;
    const reason = `required step ${title(s.id)} (runbook #${i + 1}) was not run${rec ? `: skipped${at !== null ? ` at ${iso(at)}` : ''} (${String(rec.skipped)})` : ''}`;
    tally.add('skipped-step', 'skipped', reason, at !== null ? { step: s.id, at: iso(at) } : { step: s.id });
  });

  // Manual steps: each record of a step done by hand.
  for (const r of runs) {
    if (r.manual !== true) continue;
    const at = timeOf(r.startedAt);
    tally.add('manual-step', 'manual', `step ${title(r.id)} was done by hand${at !== null ? ` at ${iso(at)}` : ''}`, at !== null ? { step: r.id, at: iso(at) } : { step: r.id });
  }
  return tally.result(PART_MAX[part]);
}

function gateFailure(asks: { askedAt?: string; answer?: string; answeredAt?: string }[], start: number): { text: string; at?: number } {
  if (!asks.length) return { text: 'without an approval being asked' };
  const last = asks[asks.length - 1]!;
  const answered = timeOf(last.answeredAt);
  if (last.answer === 'rejected' || last.answer === 'timed-out') return { text: `although the approval was ${last.answer}${answered !== null ? ` at ${iso(answered)}` : ''}`, at: answered ?? undefined };
  if (last.answer === 'approved' && answered !== null && answered > start) return { text: `before its approval at ${iso(answered)}`, at: answered };
  if (last.answer === 'approved') return { text: 'with an approval whose ask or answer time is absent or out of order' };
  return { text: 'while its approval was still pending' };
}

/**
 * Positions (into `xs`) of a longest strictly increasing subsequence: the steps that ran in the
 * runbook's order. O(n²), deterministic: among equally long ones, the one ending earliest, built
 * from the earliest predecessors.
 */
function longestInOrder(xs: number[]): Set<number> {
  const len = xs.map(() => 1);
  const prev = xs.map(() => -1);
  for (let i = 0; i < xs.length; i++) {
    for (let j = 0; j < i; j++) {
      if (xs[j]! < xs[i]! && len[j]! + 1 > len[i]!) {
        len[i] = len[j]! + 1;
        prev[i] = j;
      }
    }
  }
  let end = -1;
  for (let i = 0; i < xs.length; i++) if (end < 0 || len[i]! > len[end]!) end = i;
  const keep = new Set<number>();
  for (let i = end; i >= 0; i = prev[i]!) keep.add(i);
  return keep;
}

// ---------------------------------------------------------------------------------------------------
// Problem handling

function problemHandling(e: DrillEvidence, ph: ProblemEvidence | undefined, openProblems: readonly Problem[], missing: string[]): PartScore {
  const part = 'problemHandling';
  const tally = new Tally(part, PROBLEM_RULES);
  const has = isObject(ph);

  // Fallbacks: each one needed must have worked.
  if (!has || !Array.isArray(ph.fallbacks)) {
    const f = has ? 'problems.fallbacks' : 'problems';
    missing.push(f);
    tally.missing('fallback', [f]);
  } else {
    for (const f of ph.fallbacks.filter(isObject)) {
      if (f.worked === true) continue;
      const at = timeOf(f.at);
      tally.add('fallback', 'fallback-failed', `fallback at step ${String(f.step)} did not work${at !== null ? ` (${iso(at)})` : ''}: ${String(f.reason)}`, at !== null ? { step: String(f.step), at: iso(at) } : { step: String(f.step) });
    }
  }

  // Classification: every problem found has a class.
  if (!has || !Array.isArray(ph.found)) {
    const f = has ? 'problems.found' : 'problems';
    missing.push(f);
    tally.missing('classification', [f]);
  } else {
    for (const p of ph.found.filter(isObject)) {
      if (isProblemClass(p.class)) continue;
      const at = timeOf(p.found);
      tally.add('classification', 'unclassified', `problem "${String(p.title)}" was not classified P0–P3`, at !== null ? { problem: String(p.title), at: iso(at) } : { problem: String(p.title) });
    }
  }

  // Degradation: each one needed was applied.
  if (!has || !Array.isArray(ph.degradation)) {
    const f = has ? 'problems.degradation' : 'problems';
    missing.push(f);
    tally.missing('degradation', [f]);
  } else {
    for (const g of ph.degradation.filter(isObject)) {
      if (timeOf(g.appliedAt) !== null) continue;
      const at = timeOf(g.neededAt);
      const step = typeof g.step === 'string' ? g.step : undefined;
      tally.add('degradation', 'not-degraded', `degradation "${String(g.what)}" was needed${at !== null ? ` at ${iso(at)}` : ''} and not applied`, { ...(step ? { step } : {}), ...(at !== null ? { at: iso(at) } : {}), problem: String(g.what) });
    }
  }

  // Problems of earlier drills still open when this one started (PDCA: they should have been fixed).
  const start = timeOf(e.drill?.startedAt);
  const open = openProblems
    .filter(isObject)
    .filter((p) => isOpenAt(p, e.drill?.startedAt ?? '') && !(start !== null && (timeOf(p.found) ?? -Infinity) >= start) && p.drill !== e.drill?.id)
    .map((p) => ({ p, cls: isProblemClass(p.class) ? p.class : ('P0' as const) }))
    .sort((a, b) => PROBLEM_CLASSES.indexOf(a.cls) - PROBLEM_CLASSES.indexOf(b.cls) || cmp(String(a.p.id), String(b.p.id)));
  for (const { p, cls } of open) {
    const due = timeOf(p.due);
    const overdue = due !== null && start !== null && due < start ? `, overdue since ${iso(due)}` : due !== null ? `, due ${iso(due)}` : '';
    tally.add('open-problem', 'open-problem', `${cls} problem ${String(p.id)} "${String(p.title)}" from drill ${String(p.drill)} still open${overdue}`, { problem: String(p.id), ...(timeOf(p.found) !== null ? { at: iso(timeOf(p.found)!) } : {}) }, OPEN_PROBLEM_POINTS[cls]);
  }
  return tally.result(PART_MAX[part]);
}

// ---------------------------------------------------------------------------------------------------

function missingDeduction(part: ScorePart, check: Check, fields: string[], points: number): Deduction {
  return { part, check, finding: 'missing-evidence', points, reason: `not measured, scored as the worst case: ${fields.join(', ')} absent or unusable`, evidence: { missing: fields.join(', ') } };
}

function isObject<T>(x: T): x is NonNullable<T> & object {
  return typeof x === 'object' && x !== null;
}

/** A time in ms, or null when absent or not a date. */
function timeOf(s: unknown): number | null {
  if (typeof s !== 'string') return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

const positive = (n: unknown): number | null => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : null);
const iso = (t: number): string => new Date(t).toISOString();
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function minutes(ms: number): string {
  if (ms < MINUTE) return `${Math.round(ms / 1000)} s`;
  const m = ms / MINUTE;
  return `${Number.isInteger(m) ? m : m.toFixed(1)} min`;
}
