/**
 * Properties of the score over random evidence: bounds, determinism, and monotonicity (more time, more
 * loss, more violations or less evidence never score higher). The generator is seeded (mulberry32)
 * with a fixed list of seeds, so every CI run checks the same cases; a failure names its seed and case.
 */
import { describe, expect, it } from 'vitest';
import { scoreDrill } from '../../src/drills/score.pure';
import type { DrillEvidence, PartitionEvidence, Problem, ProblemClass, StepRecord } from '../../src/drills/types';
import { assertWellFormed, at } from './fixtures';

const SEEDS = [1, 7, 42, 1337, 20261203, 0xdeadbeef];
const CASES_PER_SEED = 100;

/** mulberry32: a small, well-mixed 32-bit PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly r: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  /** A time in minutes around the fault (at(0)), at 0.5 min resolution. */
  minute(lo: number, hi: number): number {
    return this.int(lo * 2, hi * 2) / 2;
  }
}

const CLASSES: ProblemClass[] = ['P0', 'P1', 'P2', 'P3'];

function evidence(g: Gen): DrillEvidence {
  const e: DrillEvidence = { drill: { id: `drill-${g.int(1, 9)}`, type: g.pick(['tabletop', 'partial', 'full', 'chaos'] as const), scenario: 'fuzz', startedAt: at(-30), endedAt: at(120) } };
  if (g.chance(0.9)) {
    e.times = {};
    if (g.chance(0.9)) e.times.faultAt = at(0);
    if (g.chance(0.9)) e.times.firstGreenProbeAt = g.chance(0.1) ? null : at(g.minute(-2, 90));
    if (g.chance(0.7)) e.times.probe = 'probe';
    if (g.chance(0.9)) e.times.rtoMinutes = g.pick([5, 15, 30, 60]);
    if (g.chance(0.9)) e.times.rpoMinutes = g.pick([1, 5, 15]);
  }
  if (g.chance(0.9)) {
    e.data = {};
    if (g.chance(0.9)) {
      e.data.partitions = Array.from({ length: g.int(0, 6) }, (_, i) => partition(g, `t${g.int(0, 2)}`, i));
    }
    if (g.chance(0.85)) {
      const last = g.chance(0.9) ? { zxid: `0x${(0x100000000 + g.int(50, 100)).toString(16)}`, at: at(0) } : null;
      const back = g.int(0, 60);
      e.data.zookeeper = { lastAcked: last, intactThrough: last && !g.chance(0.05) ? { zxid: `0x${(parseInt(last.zxid, 16) - (back > 40 ? back - 40 : 0)).toString(16)}`, at: at(-(back > 40 ? back - 40 : 0) / 2) } : null };
    }
  }
  if (g.chance(0.9)) {
    const n = g.int(1, 7);
    const runbook = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, optional: g.chance(0.15), gate: g.chance(0.2) }));
    const steps: StepRecord[] = [];
    for (let i = 0; i < n; i++) {
      if (g.chance(0.1)) continue;
      steps.push({ id: `s${i}`, startedAt: at(i + (g.chance(0.15) ? g.int(-3, 3) : 0)), manual: g.chance(0.1), ...(g.chance(0.05) ? { skipped: 'no time' } : {}) });
    }
    if (g.chance(0.1)) steps.push({ id: 'improvised', startedAt: at(g.int(0, n)) });
    e.process = { runbook, steps };
    if (g.chance(0.85)) {
      e.process.gates = runbook.filter((s) => s.gate && g.chance(0.85)).map((s) => {
        const start = Number(s.id.slice(1));
        return { step: s.id, askedAt: at(start - 1), answer: g.pick(['approved', 'approved', 'approved', 'rejected', 'timed-out'] as const), answeredAt: at(start - (g.chance(0.8) ? 0.5 : -0.5)) };
      });
    }
  }
  if (g.chance(0.9)) {
    e.problems = {};
    if (g.chance(0.9)) e.problems.fallbacks = Array.from({ length: g.int(0, 2) }, () => ({ step: 's0', reason: 'corrupt', at: at(1), worked: g.chance(0.7) }));
    if (g.chance(0.9)) e.problems.found = Array.from({ length: g.int(0, 3) }, (_, i) => ({ title: `p${i}`, evidence: 'e', found: at(10), class: g.chance(0.8) ? g.pick(CLASSES) : null }));
    if (g.chance(0.9)) e.problems.degradation = Array.from({ length: g.int(0, 2) }, () => ({ what: 'read-only', neededAt: at(2), appliedAt: g.chance(0.7) ? at(3) : null }));
  }
  return e;
}

function partition(g: Gen, topic: string, partition: number): PartitionEvidence {
  if (g.chance(0.05)) return { topic, partition, lastAcked: null, intactThrough: null };
  const last = { offset: g.int(100, 1000), at: at(0) };
  const back = g.int(0, 60); // minutes lost, most often none
  const lost = back > 40 ? back - 40 : 0;
  const intactThrough = g.chance(0.04) ? null : { offset: last.offset - lost * 3, at: at(-lost) };
  return { topic, partition, lastAcked: last, intactThrough };
}

function openProblems(g: Gen): Problem[] {
  return Array.from({ length: g.int(0, 3) }, (_, i) => {
    const cls = g.pick(CLASSES);
    return { id: `drill-0#${i + 1}`, drill: 'drill-0', class: cls, title: `old ${i}`, evidence: 'e', found: at(-60 * 24 * 40), due: null, ...(g.chance(0.3) ? { resolvedAt: at(-60) } : {}) };
  });
}

const clone = <T>(x: T): T => structuredClone(x);

/** Every (seed, case) pair: the evidence and the open problems. */
function* cases(): Generator<{ seed: number; i: number; g: Gen; e: DrillEvidence; open: Problem[] }> {
  for (const seed of SEEDS) {
    const g = new Gen(rng(seed));
    for (let i = 0; i < CASES_PER_SEED; i++) yield { seed, i, g, e: evidence(g), open: openProblems(g) };
  }
}

/** Check `worse` scores no higher than the original, naming the case when not. */
function notHigher(seed: number, i: number, what: string, e: DrillEvidence, worse: DrillEvidence, open: Problem[], worseOpen = open): void {
  const a = scoreDrill(e, open).total;
  const b = scoreDrill(worse, worseOpen).total;
  if (b > a) expect.fail(`seed ${seed} case ${i}: ${what} raised the score from ${a} to ${b}\n${JSON.stringify(e)}`);
}

describe('scoreDrill over random evidence', () => {
  it('is bounded, well formed and deterministic (also under reordered partitions), and never mutates its input', () => {
    for (const { seed, i, g, e, open } of cases()) {
      const before = clone(e);
      const s = scoreDrill(e, open);
      assertWellFormed(s);
      expect(e, `seed ${seed} case ${i}`).toEqual(before);
      expect(scoreDrill(clone(e), clone(open)), `seed ${seed} case ${i}`).toEqual(s);
      if (e.data?.partitions && e.data.partitions.length > 1) {
        const shuffled = clone(e);
        shuffled.data!.partitions!.sort(() => g.r() - 0.5);
        shuffled.data!.partitions!.reverse();
        expect(scoreDrill(shuffled, open), `seed ${seed} case ${i}`).toEqual(s);
      }
    }
  });

  it('more recovery time never scores higher; never recovering scores lowest', () => {
    for (const { seed, i, g, e, open } of cases()) {
      const green = e.times?.firstGreenProbeAt;
      // Only a usable measurement (green at or after the fault) can get later; one before the fault is unusable evidence.
      if (typeof green !== 'string' || typeof e.times?.faultAt !== 'string' || Date.parse(green) < Date.parse(e.times.faultAt)) continue;
      const later = clone(e);
      later.times!.firstGreenProbeAt = new Date(Date.parse(green) + g.int(1, 60) * 30_000).toISOString();
      notHigher(seed, i, 'a later green probe', e, later, open);
      const never = clone(e);
      never.times!.firstGreenProbeAt = null;
      notHigher(seed, i, 'never green', later, never, open);
    }
  });

  it('more data loss never scores higher', () => {
    for (const { seed, i, g, e, open } of cases()) {
      const ps = e.data?.partitions ?? [];
      const k = ps.findIndex((p) => p.lastAcked && p.intactThrough);
      if (k >= 0) {
        const more = clone(e);
        const p = more.data!.partitions![k]!;
        const mins = g.int(1, 30);
        p.intactThrough = { offset: Math.max(0, p.intactThrough!.offset - mins * 3), at: new Date(Date.parse(p.intactThrough!.at) - mins * 60_000).toISOString() };
        notHigher(seed, i, `more loss on partition ${k}`, e, more, open);
        const all = clone(more);
        all.data!.partitions![k]!.intactThrough = null;
        notHigher(seed, i, `nothing readable on partition ${k}`, more, all, open);
      }
      const zk = e.data?.zookeeper;
      if (zk?.lastAcked && zk.intactThrough) {
        const more = clone(e);
        const z = more.data!.zookeeper!.intactThrough!;
        const mins = g.int(1, 30);
        more.data!.zookeeper!.intactThrough = { zxid: `0x${(parseInt(z.zxid, 16) - mins).toString(16)}`, at: new Date(Date.parse(z.at) - mins * 60_000).toISOString() };
        notHigher(seed, i, 'more ZooKeeper loss', e, more, open);
      }
    }
  });

  it('more violations never score higher', () => {
    for (const { seed, i, g, e, open } of cases()) {
      if (e.process?.steps?.length) {
        const manual = clone(e);
        manual.process!.steps![g.int(0, manual.process!.steps!.length - 1)]!.manual = true;
        notHigher(seed, i, 'a manual step', e, manual, open);
      }
      if (e.problems?.fallbacks) {
        const failed = clone(e);
        failed.problems!.fallbacks!.push({ step: 's1', reason: 'both sets corrupt', at: at(2), worked: false });
        notHigher(seed, i, 'a failed fallback', e, failed, open);
      }
      if (e.problems?.degradation) {
        const notApplied = clone(e);
        notApplied.problems!.degradation!.push({ what: 'shed load', neededAt: at(2), appliedAt: null });
        notHigher(seed, i, 'a degradation not applied', e, notApplied, open);
      }
      const more = [...open, { id: 'drill-0#9', drill: 'drill-0', class: g.pick(CLASSES), title: 'never fixed', evidence: 'e', found: at(-60 * 24 * 60), due: null }];
      notHigher(seed, i, 'one more open problem', e, e, open, more);
    }
  });

  it('absent evidence never scores higher than present evidence', () => {
    const drop: [string, (e: DrillEvidence) => void][] = [
      ['times', (e) => delete e.times],
      ['times.faultAt', (e) => e.times && delete e.times.faultAt],
      ['times.firstGreenProbeAt', (e) => e.times && delete e.times.firstGreenProbeAt],
      ['times.rtoMinutes', (e) => e.times && delete e.times.rtoMinutes],
      ['times.rpoMinutes', (e) => e.times && delete e.times.rpoMinutes],
      ['data', (e) => delete e.data],
      ['data.partitions', (e) => e.data && delete e.data.partitions],
      ['data.zookeeper', (e) => e.data && delete e.data.zookeeper],
      ['a partition’s intactThrough', (e) => e.data?.partitions?.[0] && delete (e.data.partitions[0] as Partial<PartitionEvidence>).intactThrough],
      ['process', (e) => delete e.process],
      ['process.runbook', (e) => e.process && delete e.process.runbook],
      ['process.steps', (e) => e.process && delete e.process.steps],
      ['process.gates', (e) => e.process && delete e.process.gates],
      ['a step’s start time', (e) => e.process?.steps?.[0] && ((e.process.steps[0] as { startedAt?: string }).startedAt = undefined)],
      ['problems', (e) => delete e.problems],
      ['problems.fallbacks', (e) => e.problems && delete e.problems.fallbacks],
      ['problems.found', (e) => e.problems && delete e.problems.found],
      ['problems.degradation', (e) => e.problems && delete e.problems.degradation],
    ];
    for (const { seed, i, e, open } of cases()) {
      for (const [what, f] of drop) {
        const less = clone(e);
        f(less);
        notHigher(seed, i, `dropping ${what}`, e, less, open);
        const s = scoreDrill(less, open);
        assertWellFormed(s);
      }
    }
  });

  it('the generator reaches every tier of the tiered parts (the properties are not vacuous)', () => {
    const time = new Set<number>();
    const data = new Set<number>();
    const totals = new Set<number>();
    for (const { e, open } of cases()) {
      const s = scoreDrill(e, open);
      time.add(s.parts.recoveryTime.points);
      data.add(s.parts.dataIntegrity.points);
      totals.add(s.total);
    }
    expect([...time].sort((a, b) => a - b)).toEqual([10, 20, 30]);
    expect([...data].sort((a, b) => a - b)).toEqual([5, 15, 25]);
    expect(totals.size).toBeGreaterThan(30);
    expect(totals.has(100)).toBe(true);
  });
});
