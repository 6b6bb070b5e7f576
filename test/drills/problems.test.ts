import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { FINDING_CLASS, carryOver, classifyFinding, dueFor, carriedFaultTitle, faultsLeftByLastDrill, faultsLeftText, isOpenAt, newProblem, REVERT_EVIDENCE, reviewProblems } from '../../src/drills/problems.pure';
import { scoreDrill } from '../../src/drills/score.pure';
import type { Problem, ProblemClass } from '../../src/drills/types';
import { at, perfect } from './fixtures';

describe('due times (§8.4)', () => {
  it.each<[ProblemClass, string, string | null]>([
    ['P0', '2026-12-03T12:00:00.000Z', '2026-12-04T12:00:00.000Z'],
    ['P1', '2026-12-03T12:00:00.000Z', '2026-12-10T12:00:00.000Z'],
    ['P2', '2026-12-03T12:00:00.000Z', '2027-01-03T12:00:00.000Z'],
    ['P2', '2027-01-31T08:30:00.000Z', '2027-02-28T08:30:00.000Z'],
    ['P2', '2028-01-31T08:30:00.000Z', '2028-02-29T08:30:00.000Z'],
    ['P2', '2026-03-31T00:00:00.000Z', '2026-04-30T00:00:00.000Z'],
    ['P3', '2026-12-03T12:00:00.000Z', null],
  ])('%s found %s is due %s', (cls, found, due) => {
    expect(dueFor(cls, found)).toBe(due);
  });

  it('refuses a found time that is not a date, and an unknown class, with one actionable line', () => {
    expect(() => dueFor('P1', 'yesterday')).toThrow(LifeboatError);
    expect(() => dueFor('P1', 'yesterday')).toThrow(/not a date: "yesterday" \(expected ISO-8601/);
    expect(() => dueFor('P5' as ProblemClass, at(0))).toThrow(/unknown problem class "P5": expected one of P0, P1, P2, P3/);
    try {
      dueFor('P1', 'x');
    } catch (e) {
      expect((e as LifeboatError).type).toBe('InvalidInput');
    }
  });

  it('newProblem numbers problems by drill and sets the due time', () => {
    expect(newProblem('drill-7', 2, { class: 'P0', title: 'set corrupt', evidence: 'restore', found: at(0) })).toEqual({
      id: 'drill-7#2', drill: 'drill-7', class: 'P0', title: 'set corrupt', evidence: 'restore', found: at(0), due: at(24 * 60),
    });
  });
});

describe('classification', () => {
  it('follows §8.4: unrecoverable or data beyond the objective is P0, a broken or unsafe step P1, the runbook P2, hand work P3', () => {
    expect(classifyFinding('fallback-failed')).toBe('P0');
    expect(classifyFinding('loss-beyond-rpo')).toBe('P0');
    expect(classifyFinding('not-recovered')).toBe('P0');
    expect(classifyFinding('gate-not-honoured')).toBe('P1');
    expect(classifyFinding('missing-evidence')).toBe('P1');
    expect(classifyFinding('out-of-order')).toBe('P2');
    expect(classifyFinding('manual')).toBe('P3');
    expect(classifyFinding('open-problem')).toBeNull();
    expect(Object.keys(FINDING_CLASS)).toHaveLength(15);
  });

  it('the review turns found problems and every deduction that cost points into classified problems', () => {
    const e = perfect();
    e.times!.firstGreenProbeAt = at(50); // beyond 1.5× RTO
    e.process!.steps![3]!.manual = true;
    e.problems!.found = [
      { title: 'inventory differs: group g1 missing', evidence: 'inventory diff', found: at(45), class: null },
      { title: 'runbook names an old path', evidence: 'step plan', found: at(2), class: 'P2' },
    ];
    const old: Problem = { id: 'drill-0#1', drill: 'drill-0', class: 'P1', title: 'old', evidence: 'e', found: at(-9000), due: at(-8000) };
    const score = scoreDrill(e, [old]);
    const problems = reviewProblems('drill-1', at(60), e.problems!.found, score);
    expect(problems.map((p) => [p.id, p.class, p.found, p.due])).toEqual([
      ['drill-1#1', 'P2', at(45), dueFor('P2', at(45))],
      ['drill-1#2', 'P2', at(2), dueFor('P2', at(2))],
      ['drill-1#3', 'P1', at(50), at(50 + 7 * 24 * 60)], // RTO far exceeded
      ['drill-1#4', 'P3', at(8), null], // the manual step
      ['drill-1#5', 'P2', at(45), dueFor('P2', at(45))], // it was not classified
    ]);
    expect(problems[2]!.title).toMatch(/^RTO exceeded by more than 1.5×: 50 min/);
    expect(problems[2]!.evidence).toBe(`check rto, step probe:produce-consume, at ${at(50)}`);
    // The open problem from drill-0 is a deduction, not a new problem.
    expect(score.deductions.some((d) => d.check === 'open-problem' && d.points === 4)).toBe(true);
  });
});

describe('carrying open problems into the next plan (PDCA)', () => {
  const p = (id: string, cls: ProblemClass, found: number, extra: Partial<Problem> = {}): Problem => ({
    id, drill: id.split('#')[0]!, class: cls, title: id, evidence: 'e', found: at(found), due: dueFor(cls, at(found)), ...extra,
  });

  it('keeps the open ones found before the next drill, most severe first, then by due, and marks the overdue', () => {
    const day = 24 * 60;
    const all = [
      p('d1#1', 'P2', -40 * day),
      p('d1#2', 'P3', -40 * day),
      p('d2#1', 'P1', -3 * day),
      p('d1#3', 'P0', -40 * day, { resolvedAt: at(-39 * day) }),
      p('d2#2', 'P0', -3 * day),
      p('d2#3', 'P2', -3 * day),
      p('d3#1', 'P0', 1), // found after `at`: not carried
      p('d2#4', 'P1', -3 * day, { resolvedAt: at(5) }), // resolved only after `at`: still open then
    ];
    const carried = carryOver(all, at(0));
    expect(carried.map((c) => [c.id, c.overdue])).toEqual([
      ['d2#2', true],
      ['d2#1', false],
      ['d2#4', false],
      ['d1#1', true],
      ['d2#3', false],
      ['d1#2', false],
    ]);
  });

  it('isOpenAt: unresolved, resolved later, or an unreadable resolution time is open', () => {
    expect(isOpenAt(p('a#1', 'P1', 0), at(1))).toBe(true);
    expect(isOpenAt(p('a#1', 'P1', 0, { resolvedAt: at(2) }), at(1))).toBe(true);
    expect(isOpenAt(p('a#1', 'P1', 0, { resolvedAt: at(1) }), at(1))).toBe(false);
    expect(isOpenAt(p('a#1', 'P1', 0, { resolvedAt: 'soon' }), at(1))).toBe(true);
  });
});

describe('faults the last drill left in place', () => {
  const rec = (id: string, startedAt: string, problems: { title: string; evidence: string; drill?: string }[], skipped?: string) => ({
    id,
    startedAt,
    endedAt: startedAt,
    ...(skipped ? { skipped } : {}),
    problems: problems.map((p, i) => newProblem(p.drill ?? id, i + 1, { class: 'P0', title: p.title, evidence: p.evidence, found: startedAt })),
  });
  const failedRevert = rec('d1', at(0), [{ title: 'a fault was not reverted: broker 1 killed (restore): timed out', evidence: REVERT_EVIDENCE }]);

  it('are the newest drill’s own problems with the revert evidence, whatever order the history is in', () => {
    expect(faultsLeftByLastDrill([failedRevert])).toEqual({ drill: 'd1', endedAt: at(0), faults: ['a fault was not reverted: broker 1 killed (restore): timed out'] });
    const clean = rec('d2', at(10), [{ title: 'recovery took 40 s', evidence: 'step x' }]);
    expect(faultsLeftByLastDrill([clean, failedRevert])).toBeNull();
    expect(faultsLeftByLastDrill([failedRevert, clean])).toBeNull();
    expect(faultsLeftByLastDrill([])).toBeNull();
  });

  it('a skipped drill in between hides nothing; a later drill carrying the earlier one’s revert problem does not count it again', () => {
    const skipped = rec('d2', at(10), [], 'another drill ran');
    expect(faultsLeftByLastDrill([failedRevert, skipped])?.drill).toBe('d1');
    // A drill skipped because of them (it applied no fault) says so again: it is the newest that counts.
    const refusedSkip = rec('d2', at(10), [{ title: 'a fault drill d1 did not revert is not checked yet: broker 1 killed (restore): timed out', evidence: REVERT_EVIDENCE }], 'no fault applied: …');
    expect(faultsLeftByLastDrill([failedRevert, refusedSkip])?.drill).toBe('d2');
    // d3 ran after a person checked the target: it carries d1's problem (open) but left nothing itself.
    const checked = rec('d3', at(20), [{ title: failedRevert.problems[0]!.title, evidence: REVERT_EVIDENCE, drill: 'd1' }]);
    expect(faultsLeftByLastDrill([failedRevert, skipped, checked])).toBeNull();
    // d3 refused its faults and said so again: the next one still finds them.
    const left = faultsLeftByLastDrill([failedRevert])!;
    const carried = carriedFaultTitle(left, left.faults[0]!);
    expect(carried).toBe('a fault drill d1 did not revert is not checked yet: broker 1 killed (restore): timed out');
    const refused = rec('d3', at(20), [{ title: carried, evidence: REVERT_EVIDENCE }]);
    const again = faultsLeftByLastDrill([failedRevert, refused])!;
    expect(again.drill).toBe('d3');
    // Carried on again, it still names the drill that did not revert it, once.
    expect(again.faults.map((f) => carriedFaultTitle(again, f))).toEqual([carried]);
    // Both name the drill that did not revert it.
    expect(faultsLeftText(again)).toBe('drill d1 did not revert broker 1 killed (restore): timed out');
    expect(faultsLeftText(left)).toBe('drill d1 did not revert broker 1 killed (restore): timed out');
  });
});
