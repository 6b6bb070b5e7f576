import { describe, expect, it } from 'vitest';
import { scoreDrill } from '../../src/drills/score.pure';
import type { Deduction, DrillEvidence, Problem } from '../../src/drills/types';
import { assertWellFormed, at, perfect } from './fixtures';

type Case = {
  name: string;
  change: (e: DrillEvidence) => void;
  open?: Problem[];
  total: number;
  /** Expected deductions with points > 0: [check, finding, points, evidence subset]. */
  lost: [Deduction['check'], Deduction['finding'], number, Partial<Deduction['evidence']>][];
  missing?: string[];
};

const problem = (p: Partial<Problem>): Problem => ({
  id: 'drill-0#1', drill: 'drill-0', class: 'P1', title: 'restore script ignores --set', evidence: 'step restore-kafka', found: at(-60 * 24 * 30), due: at(-60 * 24 * 23), ...p,
});

const cases: Case[] = [
  { name: 'perfect drill', change: () => {}, total: 100, lost: [] },
  // Recovery time: fault at(0).
  { name: 'recovered exactly at the RTO', change: (e) => { e.times!.firstGreenProbeAt = at(30); }, total: 100, lost: [] },
  { name: 'recovered within 1.5× RTO', change: (e) => { e.times!.firstGreenProbeAt = at(40); }, total: 90, lost: [['rto', 'rto-exceeded', 10, { step: 'probe:produce-consume', at: at(40) }]] },
  { name: 'recovered exactly at 1.5× RTO', change: (e) => { e.times!.firstGreenProbeAt = at(45); }, total: 90, lost: [['rto', 'rto-exceeded', 10, { at: at(45) }]] },
  { name: 'recovered beyond 1.5× RTO', change: (e) => { e.times!.firstGreenProbeAt = at(45.5); }, total: 80, lost: [['rto', 'rto-far-exceeded', 20, { at: at(45.5) }]] },
  { name: 'never recovered', change: (e) => { e.times!.firstGreenProbeAt = null; }, total: 80, lost: [['rto', 'not-recovered', 20, { step: 'probe:produce-consume', at: at(40) }]] },
  { name: 'no fault time', change: (e) => { delete e.times!.faultAt; }, total: 80, lost: [['rto', 'missing-evidence', 20, { missing: 'times.faultAt' }]], missing: ['times.faultAt'] },
  { name: 'green probe before the fault', change: (e) => { e.times!.firstGreenProbeAt = at(-1); }, total: 80, lost: [['rto', 'missing-evidence', 20, { missing: 'times.firstGreenProbeAt (before the fault)' }]], missing: ['times.firstGreenProbeAt (before the fault)'] },
  { name: 'no RTO objective', change: (e) => { delete e.times!.rtoMinutes; }, total: 80, lost: [['rto', 'missing-evidence', 20, { missing: 'times.rtoMinutes' }]], missing: ['times.rtoMinutes'] },
  // Data integrity: RPO 15 min.
  {
    name: 'loss within the RPO',
    change: (e) => { e.data!.partitions![1]!.intactThrough = { offset: 450, at: at(-10) }; },
    total: 90,
    lost: [['rpo', 'loss-within-rpo', 10, { partition: 'drill-stream-1', at: at(0) }]],
  },
  {
    name: 'loss beyond the RPO names the worst partition',
    change: (e) => {
      e.data!.partitions![0]!.intactThrough = { offset: 990, at: at(-1) };
      e.data!.partitions![1]!.intactThrough = { offset: 100, at: at(-16) };
    },
    total: 80,
    lost: [['rpo', 'loss-beyond-rpo', 20, { partition: 'drill-stream-1', at: at(0) }]],
  },
  {
    name: 'nothing of the stream readable is beyond the RPO',
    change: (e) => { e.data!.partitions![0]!.intactThrough = null; },
    total: 80,
    lost: [['rpo', 'loss-beyond-rpo', 20, { partition: 'drill-stream-0' }]],
  },
  {
    // The newest set restored predates the stream: it could hold none of it, so the window is the set's age.
    name: 'nothing of the stream readable after a set older than the stream is measured from the set (within the RPO)',
    change: (e) => {
      e.data!.partitions![0]!.intactThrough = null;
      e.data!.streamStartedAt = at(-5);
      e.data!.restoredSet = { id: 'a'.repeat(64), time: at(-10), completedAt: at(-9) };
    },
    total: 90,
    lost: [['rpo', 'loss-within-rpo', 10, { partition: 'drill-stream-0', at: at(0) }]],
  },
  {
    name: 'a set older than the stream by more than the RPO is a loss beyond it',
    change: (e) => {
      e.data!.partitions![0]!.intactThrough = null;
      e.data!.streamStartedAt = at(-5);
      e.data!.restoredSet = { id: 'a'.repeat(64), time: at(-20), completedAt: at(-19) };
    },
    total: 80,
    lost: [['rpo', 'loss-beyond-rpo', 20, { partition: 'drill-stream-0' }]],
  },
  {
    // It should have held the stream's first writes: that none is readable is a loss with no known start.
    name: 'a set newer than the stream does not bound a partition with nothing readable',
    change: (e) => {
      e.data!.partitions![0]!.intactThrough = null;
      e.data!.streamStartedAt = at(-5);
      e.data!.restoredSet = { id: 'a'.repeat(64), time: at(-2), completedAt: at(-1) };
    },
    total: 80,
    lost: [['rpo', 'loss-beyond-rpo', 20, { partition: 'drill-stream-0' }]],
  },
  {
    // Its time is its first part's start: a later part may have held the stream's first writes.
    name: 'a set still being written when the stream began does not bound it',
    change: (e) => {
      e.data!.partitions![0]!.intactThrough = null;
      e.data!.streamStartedAt = at(-5);
      e.data!.restoredSet = { id: 'a'.repeat(64), time: at(-6), completedAt: at(-4) };
    },
    total: 80,
    lost: [['rpo', 'loss-beyond-rpo', 20, { partition: 'drill-stream-0' }]],
  },
  {
    name: 'a set without its completion time does not bound it',
    change: (e) => {
      e.data!.partitions![0]!.intactThrough = null;
      e.data!.streamStartedAt = at(-5);
      e.data!.restoredSet = { id: 'a'.repeat(64), time: at(-10) };
    },
    total: 80,
    lost: [['rpo', 'loss-beyond-rpo', 20, { partition: 'drill-stream-0' }]],
  },
  {
    // The log dirs stayed on the disks for adoption: a partition that came back empty is an unexplained loss.
    name: 'a ZooKeeper-only restore does not bound a partition with nothing readable',
    change: (e) => {
      e.data!.partitions![0]!.intactThrough = null;
      e.data!.streamStartedAt = at(-5);
      e.data!.restoredSet = { id: 'a'.repeat(64), time: at(-10), completedAt: at(-9), parts: ['zookeeper'] };
    },
    total: 80,
    lost: [['rpo', 'loss-beyond-rpo', 20, { partition: 'drill-stream-0' }]],
  },
  {
    name: 'a ZooKeeper-only restore bounds the znode',
    change: (e) => {
      e.data!.zookeeper!.intactThrough = null;
      e.data!.streamStartedAt = at(-5);
      e.data!.restoredSet = { id: 'a'.repeat(64), time: at(-10), completedAt: at(-9), parts: ['zookeeper'] };
    },
    total: 90,
    lost: [['rpo', 'loss-within-rpo', 10, { partition: 'zookeeper' }]],
  },
  {
    name: 'a log-dir restore of one broker bounds a partition',
    change: (e) => {
      e.data!.partitions![0]!.intactThrough = null;
      e.data!.streamStartedAt = at(-5);
      e.data!.restoredSet = { id: 'a'.repeat(64), time: at(-10), completedAt: at(-9), parts: ['logdirs:1'] };
    },
    total: 90,
    lost: [['rpo', 'loss-within-rpo', 10, { partition: 'drill-stream-0' }]],
  },
  {
    name: 'no znode write readable after a set older than the stream is measured from the set',
    change: (e) => {
      e.data!.zookeeper!.intactThrough = null;
      e.data!.streamStartedAt = at(-5);
      e.data!.restoredSet = { id: 'a'.repeat(64), time: at(-6), completedAt: at(-5.5) };
    },
    total: 90,
    lost: [['rpo', 'loss-within-rpo', 10, { partition: 'zookeeper' }]],
  },
  {
    name: 'ZooKeeper writes lost (zxid)',
    change: (e) => { e.data!.zookeeper!.intactThrough = { zxid: '0x100000040', at: at(-2) }; },
    total: 90,
    lost: [['rpo', 'loss-within-rpo', 10, { partition: 'zookeeper' }]],
  },
  { name: 'no ZooKeeper evidence', change: (e) => { delete e.data!.zookeeper; }, total: 80, lost: [['rpo', 'missing-evidence', 20, { missing: 'data.zookeeper' }]], missing: ['data.zookeeper'] },
  { name: 'no partitions measured', change: (e) => { e.data!.partitions = []; }, total: 80, lost: [['rpo', 'missing-evidence', 20, { missing: 'data.partitions' }]], missing: ['data.partitions'] },
  {
    name: 'loss with no RPO objective',
    change: (e) => { delete e.times!.rpoMinutes; e.data!.partitions![1]!.intactThrough = { offset: 450, at: at(-10) }; },
    total: 80,
    lost: [['rpo', 'missing-evidence', 20, { missing: 'times.rpoMinutes' }]],
    missing: ['times.rpoMinutes'],
  },
  {
    name: 'one partition with nothing acknowledged before the fault: unmeasured, not "no loss"',
    change: (e) => { e.data!.partitions![1]!.lastAcked = null; e.data!.partitions![1]!.intactThrough = null; },
    total: 80,
    lost: [['rpo', 'missing-evidence', 20, { missing: `data.partitions[drill-stream-1].lastAcked (nothing acknowledged there before the fault: its loss is not measured)` }]],
    missing: [`data.partitions[drill-stream-1].lastAcked (nothing acknowledged there before the fault: its loss is not measured)`],
  },
  {
    name: 'nothing acknowledged before the fault',
    change: (e) => {
      for (const p of e.data!.partitions!) p.lastAcked = null;
      e.data!.zookeeper!.lastAcked = null;
    },
    total: 80,
    lost: [['rpo', 'missing-evidence', 20, { missing: 'data (the write stream had nothing acknowledged before the fault)' }]],
    missing: ['data (the write stream had nothing acknowledged before the fault)'],
  },
  // Process.
  {
    name: 'steps out of order',
    change: (e) => {
      const s = e.process!.steps!;
      s[2]!.startedAt = at(9); // restore-zk after restore-kafka (8)
    },
    total: 97,
    lost: [['step-order', 'out-of-order', 3, { step: 'restore-zk', at: at(9) }]],
  },
  {
    name: 'an improvised step',
    change: (e) => { e.process!.steps!.push({ id: 'rm -rf /data/kafka', startedAt: at(5), manual: true }); },
    total: 94,
    lost: [['step-order', 'off-runbook', 3, { step: 'rm -rf /data/kafka', at: at(5) }], ['manual-step', 'manual', 3, { step: 'rm -rf /data/kafka', at: at(5) }]],
  },
  {
    name: 'gated step ran before its approval',
    change: (e) => { e.process!.gates![0]!.answeredAt = at(3.5); },
    total: 92,
    lost: [['approval-gate', 'gate-not-honoured', 8, { step: 'approve-restore', at: at(3.5) }]],
  },
  {
    name: 'gated step ran without being asked',
    change: (e) => { e.process!.gates = []; },
    total: 92,
    lost: [['approval-gate', 'gate-not-honoured', 8, { step: 'approve-restore', at: at(3) }]],
  },
  {
    name: 'gated step ran despite a rejection',
    change: (e) => { e.process!.gates![0]!.answer = 'rejected'; },
    total: 92,
    lost: [['approval-gate', 'gate-not-honoured', 8, { step: 'approve-restore', at: at(2.5) }]],
  },
  {
    name: 'rejected gate, step not run: no gate or skip deduction for it',
    change: (e) => {
      e.process!.gates![0]!.answer = 'rejected';
      e.process!.steps = e.process!.steps!.filter((s) => s.id !== 'approve-restore');
    },
    total: 100,
    lost: [],
  },
  { name: 'gates record absent with a gated runbook', change: (e) => { delete e.process!.gates; }, total: 92, lost: [['approval-gate', 'missing-evidence', 8, { missing: 'process.gates' }]], missing: ['process.gates'] },
  {
    name: 'a required step skipped, with its reason',
    change: (e) => {
      e.process!.steps = e.process!.steps!.filter((s) => s.id !== 'verify');
      e.process!.steps.push({ id: 'verify', startedAt: at(18), skipped: 'operator in a hurry' });
    },
    total: 97,
    lost: [['skipped-step', 'skipped', 3, { step: 'verify', at: at(18) }]],
  },
  {
    name: 'optional step not run is no skip',
    change: () => {},
    total: 100,
    lost: [],
  },
  {
    name: 'three skipped steps: capped at 6',
    change: (e) => { e.process!.steps = e.process!.steps!.filter((s) => s.id === 'plan' || s.id === 'approve-restore'); },
    total: 94,
    lost: [['skipped-step', 'skipped', 3, { step: 'restore-zk' }], ['skipped-step', 'skipped', 3, { step: 'restore-kafka' }]],
  },
  {
    name: 'two manual steps: capped at 5',
    change: (e) => { e.process!.steps![2]!.manual = true; e.process!.steps![3]!.manual = true; },
    total: 95,
    lost: [['manual-step', 'manual', 3, { step: 'restore-zk', at: at(4) }], ['manual-step', 'manual', 2, { step: 'restore-kafka', at: at(8) }]],
  },
  {
    name: 'no process evidence at all',
    change: (e) => { delete e.process; },
    total: 75,
    lost: [
      ['step-order', 'missing-evidence', 6, { missing: 'process' }],
      ['approval-gate', 'missing-evidence', 8, { missing: 'process' }],
      ['skipped-step', 'missing-evidence', 6, { missing: 'process' }],
      ['manual-step', 'missing-evidence', 5, { missing: 'process' }],
    ],
    missing: ['process'],
  },
  // Problem handling.
  {
    name: 'a fallback that did not work',
    change: (e) => { e.problems!.fallbacks = [{ step: 'choose-set', reason: 'newest set corrupt; previous set also corrupt', at: at(3), worked: false }]; },
    total: 94,
    lost: [['fallback', 'fallback-failed', 6, { step: 'choose-set', at: at(3) }]],
  },
  {
    name: 'a fallback that worked costs nothing',
    change: (e) => { e.problems!.fallbacks = [{ step: 'choose-set', reason: 'newest set corrupt', at: at(3), worked: true }]; },
    total: 100,
    lost: [],
  },
  {
    name: 'an unclassified problem',
    change: (e) => { e.problems!.found = [{ title: 'inventory differs: topic x', evidence: 'inventory diff', found: at(30), class: null }, { title: 'ok one', evidence: 'e', found: at(31), class: 'P2' }]; },
    total: 98,
    lost: [['classification', 'unclassified', 2, { problem: 'inventory differs: topic x', at: at(30) }]],
  },
  {
    name: 'degradation needed and not applied',
    change: (e) => { e.problems!.degradation = [{ what: 'read-only consumers', step: 'restore-kafka', neededAt: at(5), appliedAt: null }, { what: 'shed batch jobs', neededAt: at(5), appliedAt: at(6) }]; },
    total: 95,
    lost: [['degradation', 'not-degraded', 5, { step: 'restore-kafka', at: at(5), problem: 'read-only consumers' }]],
  },
  { name: 'no problem-handling evidence', change: (e) => { delete e.problems; }, total: 86, lost: [['fallback', 'missing-evidence', 6, { missing: 'problems' }], ['classification', 'missing-evidence', 3, { missing: 'problems' }], ['degradation', 'missing-evidence', 5, { missing: 'problems' }]], missing: ['problems'] },
  {
    name: 'a P1 still open from the previous drill',
    change: () => {},
    open: [problem({})],
    total: 96,
    lost: [['open-problem', 'open-problem', 4, { problem: 'drill-0#1', at: at(-60 * 24 * 30) }]],
  },
  {
    name: 'open P0 and P2 from earlier drills: capped at 6; resolved ones and this drill’s own do not count',
    change: () => {},
    open: [
      problem({ id: 'drill-0#2', class: 'P2' }),
      problem({ id: 'drill-0#1', class: 'P0' }),
      problem({ id: 'drill-0#3', class: 'P1', resolvedAt: at(-60) }),
      problem({ id: 'drill-1#1', drill: 'drill-1', class: 'P0', found: at(5) }),
    ],
    total: 94,
    lost: [['open-problem', 'open-problem', 6, { problem: 'drill-0#1' }]],
  },
  {
    name: 'a problem resolved only after this drill started is still open at it',
    change: () => {},
    open: [problem({ class: 'P3', resolvedAt: at(0) })],
    total: 99,
    lost: [['open-problem', 'open-problem', 1, { problem: 'drill-0#1' }]],
  },
  // Everything missing: the floors of the tiers, nothing of the deduction parts.
  {
    name: 'nothing measured at all',
    change: (e) => { delete e.times; delete e.data; delete e.process; delete e.problems; },
    total: 10 + 5 + 0 + 6,
    lost: [
      ['rto', 'missing-evidence', 20, { missing: 'times' }],
      ['rpo', 'missing-evidence', 20, { missing: 'data' }],
      ['step-order', 'missing-evidence', 6, {}],
      ['approval-gate', 'missing-evidence', 8, {}],
      ['skipped-step', 'missing-evidence', 6, {}],
      ['manual-step', 'missing-evidence', 5, {}],
      ['fallback', 'missing-evidence', 6, {}],
      ['classification', 'missing-evidence', 3, {}],
      ['degradation', 'missing-evidence', 5, {}],
    ],
    missing: ['times', 'data', 'process', 'problems'],
  },
];

describe('scoreDrill: the rubric, deduction by deduction', () => {
  it.each(cases)('$name', (c) => {
    const e = perfect();
    c.change(e);
    const s = scoreDrill(e, c.open);
    assertWellFormed(s);
    const lost = s.deductions.filter((d) => d.points > 0);
    expect(lost.map((d) => [d.check, d.finding, d.points])).toEqual(c.lost.map(([check, finding, points]) => [check, finding, points]));
    c.lost.forEach(([, , , evidence], i) => expect(lost[i]!.evidence).toMatchObject(evidence));
    expect(s.total).toBe(c.total);
    expect(s.missing).toEqual(c.missing ?? []);
  });

  it('measures recovery time and the loss window for the history', () => {
    const e = perfect();
    e.times!.firstGreenProbeAt = at(22.5);
    e.data!.partitions![1]!.intactThrough = { offset: 450, at: at(-10) };
    e.data!.zookeeper!.intactThrough = { zxid: '4294967360', at: at(-3) }; // 0x100000040, decimal
    const s = scoreDrill(e);
    expect(s.measured).toEqual({ recoveryMs: 22.5 * 60_000, lossWindowMs: 10 * 60_000, lossWindowAtLeast: false });
    expect(s.deductions[0]!.reason).toContain('offsets 451–500 lost (50)');
    expect(s.deductions[0]!.reason).toContain('and 1 more: zookeeper');
  });

  it("measures the loss window from a restored set older than the stream, and says so; without the stream's start it stays unknown", () => {
    const e = perfect();
    e.data!.partitions![0]!.intactThrough = null;
    e.data!.zookeeper!.intactThrough = null;
    e.data!.restoredSet = { id: 'b'.repeat(64), time: at(-7), completedAt: at(-6) };
    expect(scoreDrill(e).measured).toEqual({ recoveryMs: 20 * 60_000, lossWindowMs: null, lossWindowAtLeast: true });
    e.data!.streamStartedAt = at(-4);
    const s = scoreDrill(e);
    expect(s.measured).toEqual({ recoveryMs: 20 * 60_000, lossWindowMs: 7 * 60_000, lossWindowAtLeast: false });
    expect(s.deductions[0]!.reason).toContain(`the recovery restored it from set bbbbbbbbbbbb of ${at(-7)}, complete before the stream began: the loss counts from it`);
    expect(s.deductions[0]!.reason).toContain('a 7 min loss window');
  });

  it('a capped deduction is still named, with 0 points', () => {
    const e = perfect();
    for (const s of e.process!.steps!) s.manual = true;
    const s = scoreDrill(e);
    const manual = s.deductions.filter((d) => d.check === 'manual-step');
    expect(manual.map((d) => d.points)).toEqual([3, 2, 0, 0, 0]);
    expect(manual.map((d) => d.evidence.step)).toEqual(['plan', 'approve-restore', 'restore-zk', 'restore-kafka', 'verify']);
    expect(manual[2]!.reason).toContain('cap of 5');
    expect(s.parts.process.points).toBe(20);
  });

  it('names the step a step ran after when out of order', () => {
    const e = perfect();
    e.process!.steps![1]!.startedAt = at(0.5); // approve-restore before plan (1)
    e.process!.gates![0]!.answeredAt = at(0.4);
    e.process!.gates![0]!.askedAt = at(0.3);
    const d = scoreDrill(e).deductions.filter((x) => x.points > 0);
    expect(d).toHaveLength(1);
    expect(d[0]!.evidence).toEqual({ step: 'plan', at: at(1) });
    expect(d[0]!.reason).toContain('after approve-restore (restore the cluster) (runbook #2');
  });

  it('never throws on garbage and scores it as the worst case', () => {
    const junk = { drill: { id: 'x', type: 'full', scenario: 's', startedAt: 'never' }, times: { faultAt: 42, firstGreenProbeAt: 'soon', rtoMinutes: -1 }, data: { partitions: [null, { topic: 't', partition: 0, lastAcked: { offset: 'ten', at: at(0) } }], zookeeper: { lastAcked: { zxid: 'zz', at: at(0) }, intactThrough: null } }, process: { runbook: 'read it', steps: [] }, problems: { fallbacks: [{}], found: [{ class: 'P9' }], degradation: 'n/a' } } as unknown as DrillEvidence;
    const s = scoreDrill(junk, [{ class: 'PX' } as unknown as Problem]);
    assertWellFormed(s);
    expect(s.parts.recoveryTime.points).toBe(10);
    expect(s.parts.dataIntegrity.points).toBe(5);
    expect(s.parts.process.points).toBe(0);
    // A fallback of unknown outcome 6, one unclassified problem 2, degradation unreadable 5, an open problem of unknown class as P0 6.
    expect(s.parts.problemHandling.points).toBe(1);
    expect(s.total).toBe(16);
  });
});

describe('scoreDrill: a cluster without ZooKeeper (KRaft)', () => {
  it('gives full data points when zookeeper is null (nothing to measure there), not the missing-evidence tier', () => {
    const e = perfect();
    e.data = { ...e.data, zookeeper: null };
    const s = scoreDrill(e);
    assertWellFormed(s);
    expect(s.parts.dataIntegrity.points).toBe(25);
    expect(s.missing.filter((m) => m.includes('zookeeper'))).toEqual([]);
  });

  it('still scores absent ZooKeeper evidence as missing', () => {
    const e = perfect();
    delete e.data!.zookeeper;
    expect(scoreDrill(e).missing).toContain('data.zookeeper');
  });
});
