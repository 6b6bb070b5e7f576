/**
 * Problems a drill finds (seed 004 §8.4) and how they are carried into the next drill's plan (§8.5 PDCA):
 *
 *   P0 critical   — due in 24 h     (e.g. a backup set that cannot be restored)
 *   P1 important  — due in 1 week   (e.g. a recovery step with a bug)
 *   P2 normal     — due in 1 month  (e.g. a runbook that is unclear or out of date)
 *   P3 suggestion — later, no due   (e.g. a step that could be automated)
 *
 * Pure: no Node APIs, no clock (times come in as arguments); workflows import it.
 */
import { LifeboatError } from '../errors';
import type { DrillRecord } from './records';
import type { Deduction, Finding, DrillScore, FoundProblem, Problem, ProblemClass } from './types';

export const PROBLEM_CLASSES: readonly ProblemClass[] = ['P0', 'P1', 'P2', 'P3'];

const HOUR = 3_600_000;

/** §8.4's due times; P2's month is a calendar month (see dueFor), P3 has none. */
export const DUE_AFTER: Record<ProblemClass, string> = { P0: '24 h', P1: '1 week', P2: '1 month', P3: 'later' };

export const isProblemClass = (c: unknown): c is ProblemClass => typeof c === 'string' && (PROBLEM_CLASSES as readonly string[]).includes(c);

/**
 * When a problem of this class found at `found` is due: P0 +24 h, P1 +7 days, P2 the same time one
 * calendar month later (clamped to the month's last day: 31 Jan → 28/29 Feb), P3 null.
 */
export function dueFor(cls: ProblemClass, found: string): string | null {
  const t = Date.parse(found);
  if (!Number.isFinite(t)) throw new LifeboatError('InvalidInput', `a problem's found time is not a date: ${JSON.stringify(found)} (expected ISO-8601, e.g. 2026-12-03T12:00:00Z)`);
  if (!isProblemClass(cls)) throw new LifeboatError('InvalidInput', `unknown problem class ${JSON.stringify(cls)}: expected one of ${PROBLEM_CLASSES.join(', ')}`);
  switch (cls) {
    case 'P0':
      return new Date(t + 24 * HOUR).toISOString();
    case 'P1':
      return new Date(t + 7 * 24 * HOUR).toISOString();
    case 'P2': {
      const d = new Date(t);
      const y = d.getUTCFullYear();
      const m = d.getUTCMonth() + 1;
      const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
      const next = new Date(t);
      next.setUTCDate(1);
      next.setUTCMonth(m);
      next.setUTCDate(Math.min(d.getUTCDate(), last));
      return next.toISOString();
    }
    case 'P3':
      return null;
  }
}

/** A classified problem with its id and due time. */
export function newProblem(drill: string, n: number, p: { class: ProblemClass; title: string; evidence: string; found: string }): Problem {
  return { id: `${drill}#${n}`, drill, class: p.class, title: p.title, evidence: p.evidence, found: p.found, due: dueFor(p.class, p.found) };
}

/**
 * The class of each finding when the review turns it into a problem, after §8.4's examples: what
 * stops recovery or loses data beyond the objective is P0 (like a backup that cannot be restored);
 * what makes recovery wrong, slow or unsafe is P1 (like a script bug), and so is evidence the drill
 * failed to gather (its own measuring is broken); what shows the runbook is not what is done is P2
 * (the documentation); what a person had to do by hand is P3 (automate it). An open problem from an
 * earlier drill is already a problem: null.
 */
export const FINDING_CLASS: Record<Finding, ProblemClass | null> = {
  'not-recovered': 'P0',
  'loss-beyond-rpo': 'P0',
  'fallback-failed': 'P0',
  'rto-far-exceeded': 'P1',
  'gate-not-honoured': 'P1',
  skipped: 'P1',
  'not-degraded': 'P1',
  'missing-evidence': 'P1',
  'rto-exceeded': 'P2',
  'loss-within-rpo': 'P2',
  'out-of-order': 'P2',
  'off-runbook': 'P2',
  unclassified: 'P2',
  manual: 'P3',
  'open-problem': null,
};

export const classifyFinding = (f: Finding): ProblemClass | null => FINDING_CLASS[f] ?? null;

/**
 * The review's problems (§8.3 phase 5): those found and classified during the drill, the unclassified
 * ones with the class given by `classifyUnclassified` (default P2: someone must look at it), and one per
 * deduction that lost points (classified by classifyFinding). Ids are `<drill>#1…`, in that order.
 */
export function reviewProblems(
  drill: string,
  at: string,
  found: FoundProblem[],
  score: DrillScore,
  classifyUnclassified: (p: FoundProblem) => ProblemClass = () => 'P2',
): Problem[] {
  const out: Problem[] = [];
  for (const p of found) out.push(newProblem(drill, out.length + 1, { class: p.class ?? classifyUnclassified(p), title: p.title, evidence: p.evidence, found: p.found }));
  for (const d of score.deductions) {
    const cls = d.points > 0 ? classifyFinding(d.finding) : null;
    if (!cls) continue;
    out.push(newProblem(drill, out.length + 1, { class: cls, title: d.reason, evidence: describeEvidence(d), found: d.evidence.at ?? at }));
  }
  return out;
}

const describeEvidence = (d: Deduction): string =>
  [`check ${d.check}`, ...Object.entries(d.evidence).map(([k, v]) => `${k} ${String(v)}`)].join(', ');

/** Whether a problem is still open at `at` (not resolved, or resolved only after `at`). */
export function isOpenAt(p: Problem, at: string): boolean {
  if (p.resolvedAt === undefined || p.resolvedAt === null) return true;
  const r = Date.parse(p.resolvedAt);
  const t = Date.parse(at);
  // An unreadable resolution time proves nothing: still open.
  if (!Number.isFinite(r)) return true;
  return Number.isFinite(t) ? r > t : false;
}

export interface CarriedProblem extends Problem {
  overdue: boolean;
}

/**
 * The open problems to carry into the next drill's plan (PDCA "Plan"): those found before `at` and
 * not resolved by then, most severe first, then the earliest due, then the earliest found, then id.
 */
export function carryOver(problems: readonly Problem[], at: string): CarriedProblem[] {
  const t = Date.parse(at);
  return problems
    .filter((p) => isOpenAt(p, at) && !(Number.isFinite(t) && Date.parse(p.found) >= t))
    .map((p) => ({ ...p, overdue: p.due !== null && Number.isFinite(t) && Date.parse(p.due) < t }))
    .sort(
      (a, b) =>
        PROBLEM_CLASSES.indexOf(a.class) - PROBLEM_CLASSES.indexOf(b.class) ||
        cmpNum(dueKey(a), dueKey(b)) ||
        cmp(a.found, b.found) ||
        cmp(a.id, b.id),
    );
}

const dueKey = (p: Problem): number => {
  const t = p.due === null ? NaN : Date.parse(p.due);
  return Number.isFinite(t) ? t : Number.POSITIVE_INFINITY;
};
const cmpNum = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The evidence of a problem that says a fault is still in place: a revert that failed (evidence.pure.ts),
 * or faults an earlier drill left that this one found unchecked and carried on (faultsLeftByLastDrill).
 */
export const REVERT_EVIDENCE = 'revert';

export interface FaultsLeft {
  /** The drill whose record says so. */
  drill: string;
  endedAt: string;
  /** Its problems' titles, one per fault left. */
  faults: string[];
}

type HistoryRecord = Pick<DrillRecord, 'id' | 'startedAt' | 'endedAt' | 'skipped' | 'problems'>;
const ownLeft = (r: HistoryRecord): string[] => (r.problems ?? []).filter((p) => p.evidence === REVERT_EVIDENCE && p.drill === r.id).map((p) => p.title);

/**
 * What the newest earlier drill says it left in place: its own problems with REVERT_EVIDENCE (not the
 * earlier drills' it carried: a drill after a failed revert either refuses its faults and says so again,
 * or ran because a person checked the target). A skipped drill that says nothing of faults left (another
 * drill ran) is passed over: it touched nothing and looked at nothing. null when the newest drill left
 * nothing (or there is none).
 */
export function faultsLeftByLastDrill(history: readonly HistoryRecord[]): FaultsLeft | null {
  let newest: HistoryRecord | undefined;
  for (const r of history) {
    if (r.skipped && ownLeft(r).length === 0) continue;
    if (!newest || Date.parse(r.startedAt) > Date.parse(newest.startedAt)) newest = r;
  }
  if (!newest) return null;
  const faults = ownLeft(newest);
  return faults.length ? { drill: newest.id, endedAt: newest.endedAt, faults } : null;
}

const NOT_REVERTED = /^a fault was not reverted: /;
const NOT_CHECKED = /^a fault drill (\S+) did not revert is not checked yet: /;

/** The title under which a drill that found `left` unchecked carries one of its faults on (the drill that did not revert it named once). */
export const carriedFaultTitle = (left: FaultsLeft, title: string): string =>
  NOT_REVERTED.test(title) ? `a fault drill ${left.drill} did not revert is not checked yet: ${title.replace(NOT_REVERTED, '')}` : title;

/** The faults left, for one line: each with the drill that did not revert it, as its revert said it (fault, mode, error). */
export const faultsLeftText = (left: FaultsLeft): string =>
  left.faults
    .map((f) => {
      const origin = NOT_CHECKED.exec(f)?.[1] ?? left.drill;
      return `drill ${origin} did not revert ${f.replace(NOT_REVERTED, '').replace(NOT_CHECKED, '')}`;
    })
    .join('; ');
