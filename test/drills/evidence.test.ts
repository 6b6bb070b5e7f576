/** A drill's evidence and record from what its run recorded (src/drills/evidence.pure.ts). */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import { type ChildOutcome, type DrillObservations, drillEvidence, drillRecord, earlierProblems, recoveryVerification, skippedRecord, stepsOf } from '../../src/drills/evidence.pure';
import { drillPlan } from '../../src/drills/plan.pure';
import type { DrillRecord } from '../../src/drills/records';
import type { Problem } from '../../src/drills/types';
import type { RunReport, StepRecord } from '../../src/report/report.pure';
import { at } from './fixtures';

const spec = parseSpec({
  name: 'stage',
  kafka: { bootstrapServers: ['127.0.0.1:1'] },
  zookeeper: { connect: '127.0.0.1:2', chroot: '/stage' },
  brokers: [1].map((id) => ({ id, host: `h${id}`, logDirs: [`/d/${id}`], configDir: `/c/${id}`, control: { type: 'systemd', unit: `kafka-${id}` } })),
  repository: { path: '/r', password: { env: 'UNUSED' } },
  environment: 'staging',
});

/** fullClusterRecovery's steps as its report gives them: minute offsets after the fault. */
function recoverySteps(dryRun = false): StepRecord[] {
  const names = ['choose-set', 'stop-brokers', 'restore-zookeeper', 'restore-registry', 'restore-configs', 'restore-data', 'start-brokers', 'wait-serving', 'restore-topics', 'preferred-election', 'verify'];
  return names.map((name, i) => {
    if (dryRun && name !== 'choose-set') return { name, title: name, status: 'skipped', detail: name === 'restore-registry' ? 'the set has no registry part' : 'dry run' };
    if (name === 'restore-registry') return { name, title: name, status: 'skipped', detail: 'the set has no registry part' };
    if (name === 'restore-topics') return { name, title: name, status: 'skipped', detail: 'the log dirs hold the data' };
    return { name, title: name, status: 'done', startedAt: at(1 + i), endedAt: at(1.5 + i) };
  });
}

const report = (steps: StepRecord[], more: Partial<RunReport> = {}): RunReport => ({
  kind: 'fullClusterRecovery',
  cluster: 'stage',
  workflowId: 'drill-1/recovery',
  runId: 'r',
  dryRun: false,
  outcome: 'succeeded',
  startedAt: at(0.5),
  endedAt: at(13),
  steps,
  checks: [],
  problems: [],
  ...more,
});

function observations(more: Partial<DrillObservations> = {}): DrillObservations {
  const plan = more.plan ?? drillPlan(spec, 'cluster-lost', 'full');
  const children: ChildOutcome[] = more.children ?? [{ call: plan.recovery[0]!, workflowId: 'drill-1/recovery', report: report(recoverySteps()) }];
  return {
    id: 'drill-1',
    cluster: 'stage',
    type: plan.type,
    scenario: plan.scenario,
    workflowId: 'drill-1',
    startedAt: at(-5),
    endedAt: at(20),
    plan,
    objectives: { rtoMinutes: 30, rpoMinutes: 15 },
    approvedBy: 'ops',
    faultAt: at(0),
    firstGreenProbeAt: at(12),
    probe: 'drill probe',
    readBack: {
      partitions: [{ topic: 't', partition: 0, lastAcked: { offset: 9, at: at(0) }, intactThrough: { offset: 9, at: at(0) } }],
      zookeeper: { lastAcked: { zxid: '0x10', at: at(0) }, intactThrough: { zxid: '0x10', at: at(0) } },
    },
    children,
    inventoryDifferences: [],
    faults: [],
    reverts: [],
    revertFailures: [],
    found: [],
    phases: [],
    ...more,
  };
}

const problem = (id: string, cls: Problem['class'], found: string, resolvedAt?: string): Problem => ({ id, drill: id.split('#')[0]!, class: cls, title: `problem ${id}`, evidence: 'e', found, due: null, ...(resolvedAt ? { resolvedAt } : {}) });
const earlier = (id: string, startedAt: string, problems: Problem[]): DrillRecord => ({ ...drillRecord(observations({ id, startedAt, endedAt: startedAt })), problems });

describe('drill evidence', () => {
  it('a full drill that recovered in time, lost nothing and followed its runbook scores 100 with no problem', () => {
    const rec = drillRecord(observations());
    expect(rec.score.deductions).toEqual([]);
    expect(rec.score.total).toBe(100);
    expect(rec.problems).toEqual([]);
    expect(rec.rtoSeconds).toBe(720);
    expect(rec.rpoSeconds).toBe(0);
    // The drill's start approved the gated step, before it ran.
    expect(rec.evidence.process?.gates).toEqual([{ step: 'stop-brokers', askedAt: at(-5), answer: 'approved', answeredAt: at(-5), by: 'ops' }]);
    // Skipped optional steps are recorded as skipped, with why.
    expect(rec.evidence.process?.steps?.find((s) => s.id === 'restore-registry')?.skipped).toBe('the set has no registry part');
  });

  it('a step that ran again after a fallback counts from its first start: no order deduction', () => {
    const steps = recoverySteps();
    const zk = steps.find((s) => s.name === 'restore-zookeeper')!;
    zk.attempts = [{ status: 'failed', startedAt: zk.startedAt, endedAt: zk.endedAt }];
    zk.startedAt = at(8.2);
    zk.endedAt = at(8.4);
    const choose = steps[0]!;
    choose.attempts = [{ status: 'done', startedAt: choose.startedAt, endedAt: choose.endedAt }];
    choose.startedAt = at(8);
    choose.endedAt = at(8.5);
    const rec = drillRecord(observations({ children: [{ call: drillPlan(spec, 'cluster-lost', 'full').recovery[0]!, workflowId: 'w', report: report(steps) }] }));
    expect(rec.score.parts.process.points).toBe(25);
    expect(rec.evidence.process?.steps?.[0]).toEqual({ id: 'choose-set', startedAt: at(1), endedAt: at(8.5) });
  });

  it('tabletop: the dry-run plan is walked through in order, no fault; unmeasured time and data cost points but are not filed as problems', () => {
    const plan = drillPlan(spec, 'cluster-lost', 'tabletop');
    const child = { call: plan.recovery[0]!, workflowId: 'w', report: report(recoverySteps(true), { dryRun: true, outcome: 'planned' }) };
    const rec = drillRecord(observations({ plan, children: [child], faultAt: undefined, firstGreenProbeAt: undefined, readBack: undefined }));
    expect(rec.score.parts.process.points).toBe(25);
    expect(rec.score.parts.problemHandling.points).toBe(20);
    expect(rec.score.parts.recoveryTime.points).toBe(10);
    expect(rec.score.parts.dataIntegrity.points).toBe(5);
    expect(rec.score.total).toBe(60);
    expect(rec.problems).toEqual([]);
    expect(rec.evidence.times).toBeUndefined();
    expect(rec.evidence.problems?.fallbacks).toEqual([]);
  });

  it('backup-corrupt: a fallback the recovery took away from the damaged set worked; none taken is a failed fallback (P0)', () => {
    const plan = drillPlan(spec, 'backup-corrupt', 'full');
    const fell = 'backup set aaa111 is corrupt (pack damaged): restoring again from the set before it';
    const ok = drillRecord(observations({ plan, corruptedSet: 'aaa111', children: [{ call: plan.recovery[0]!, workflowId: 'w', report: report(recoverySteps(), { problems: [fell] }) }] }));
    expect(ok.evidence.problems?.fallbacks).toEqual([{ step: 'choose-set', reason: fell, at: at(13), worked: true }]);
    expect(ok.score.parts.problemHandling.points).toBe(20);
    // The expected fallback line is not filed as a problem.
    expect(ok.problems).toEqual([]);

    const none = drillRecord(observations({ plan, corruptedSet: 'aaa111' }));
    expect(none.evidence.problems?.fallbacks).toEqual([
      { step: 'choose-set', reason: 'the newest backup set was damaged and needed a fallback: the recovery did not fall back from the damaged set aaa111', at: at(0), worked: false },
    ]);
    expect(none.score.parts.problemHandling.points).toBe(14);
    expect(none.problems.map((p) => p.class)).toEqual(['P0']);

    const failedChild = drillRecord(observations({ plan, children: [{ call: plan.recovery[0]!, workflowId: 'w', failed: 'no set verifies', report: report(recoverySteps().slice(0, 2), { outcome: 'failed', problems: [fell] }) }], firstGreenProbeAt: null }));
    expect(failedChild.evidence.problems?.fallbacks?.every((f) => !f.worked)).toBe(true);
    expect(failedChild.score.parts.recoveryTime.points).toBe(10);
    expect(failedChild.problems.map((p) => p.title)).toEqual(expect.arrayContaining(['recovery fullClusterRecovery failed: no set verifies']));
    expect(failedChild.rtoSeconds).toBeNull();
  });

  it('inventory differences and failed reverts are problems (P1, P0), classified', () => {
    const rec = drillRecord(
      observations({
        inventoryDifferences: [{ area: 'topics', key: 'orders', change: 'removed', before: '{"partitions":3}' }],
        revertFailures: ['broker 1 killed (restore): start failed'],
      }),
    );
    expect(rec.problems.map((p) => [p.class, p.title])).toEqual([
      ['P1', 'the drill left the target different: topics orders removed'],
      ['P0', 'a fault was not reverted: broker 1 killed (restore): start failed'],
    ]);
    expect(rec.problems[0]!.id).toBe('drill-1#1');
    expect(rec.problems[1]!.due).toBe(new Date(Date.parse(at(20)) + 24 * 3600_000).toISOString());
    expect(rec.inventoryDifferences).toHaveLength(1);
  });

  it('open problems of earlier drills are deducted and carried in the record; resolved ones are not; the newest copy of a problem counts', () => {
    const h = [
      earlier('d0', at(-1000), [problem('d0#1', 'P1', at(-1000)), problem('d0#2', 'P0', at(-1000))]),
      // The next drill carried d0#2 and it was resolved since.
      earlier('d1', at(-500), [problem('d0#2', 'P0', at(-1000), at(-600)), problem('d0#1', 'P1', at(-1000))]),
    ];
    expect(earlierProblems(h).map((p) => [p.id, p.resolvedAt ?? null])).toEqual([
      ['d0#1', null],
      ['d0#2', at(-600)],
    ]);
    const rec = drillRecord(observations(), h);
    const open = rec.score.deductions.filter((d) => d.check === 'open-problem');
    expect(open.map((d) => [d.evidence.problem, d.points])).toEqual([['d0#1', 4]]);
    expect(rec.score.total).toBe(96);
    expect(rec.problems.map((p) => p.id)).toEqual(['d0#1']);
  });

  it('a drill stopped before its fault: reverts none, its missing measures are not filed as problems', () => {
    const rec = drillRecord(observations({ stopped: 'stopped by ops', faultAt: undefined, firstGreenProbeAt: undefined, readBack: undefined, children: [] }));
    expect(rec.improvements[0]).toBe('stopped: stopped by ops');
    // The runbook was not run: those are problems (the drill did not exercise it), the measures are not.
    expect(rec.problems.every((p) => !/times|data/.test(p.evidence))).toBe(true);
  });

  it('a failed child is scored from its last progress; children step ids carry their prefix', () => {
    const plan = drillPlan(parseSpec({ ...spec, brokers: [1, 2, 3].map((id) => ({ id, host: `h${id}`, logDirs: [`/d/${id}`], configDir: `/c/${id}`, control: { type: 'systemd', unit: `k${id}` } })) }), 'brokers-lost', 'full');
    const steps = (t0: number): StepRecord[] => ['check-cluster', 'plan'].map((name, i) => ({ name, title: name, status: 'done', startedAt: at(t0 + i), endedAt: at(t0 + i + 0.5) }));
    const out = stepsOf([
      { call: plan.recovery[1]!, workflowId: 'b', report: report(steps(5)) },
      { call: plan.recovery[0]!, workflowId: 'a', report: report(steps(1)) },
    ]);
    expect(out.map((s) => s.id)).toEqual(['broker-2/check-cluster', 'broker-2/plan', 'broker-3/check-cluster', 'broker-3/plan']);
  });

  it('evidence without a probe loop or stream leaves times and data out (named missing by the score)', () => {
    const e = drillEvidence(observations({ faultAt: undefined, firstGreenProbeAt: undefined, readBack: undefined }));
    expect(e.times).toBeUndefined();
    expect(e.data).toBeUndefined();
    const never = drillEvidence(observations({ firstGreenProbeAt: null }));
    expect(never.times).toEqual({ faultAt: at(0), firstGreenProbeAt: null, probe: 'drill probe', rtoMinutes: 30, rpoMinutes: 15 });
  });

  it('a KRaft read-back (zookeeper null) keeps null in the evidence, so the score does not call it unmeasured', () => {
    const partitions = [{ topic: 't', partition: 0, lastAcked: { offset: 9, at: at(0) }, intactThrough: { offset: 9, at: at(0) } }];
    const e = drillEvidence(observations({ readBack: { partitions, zookeeper: null } }));
    expect(e.data).toEqual({ partitions, zookeeper: null });
  });

  it("the newest set's drill: nothing of the stream in the set it restored, the RPO is the set's age (the oldest set a child restored), within the objective", () => {
    const partitions = [{ topic: 't', partition: 0, lastAcked: { offset: 0, at: at(0) }, intactThrough: null }];
    const zookeeper = { lastAcked: { zxid: '0x10', at: at(0) }, intactThrough: null };
    const newest = { id: 'a'.repeat(64), time: at(-6), completedAt: at(-5) };
    const older = { id: 'b'.repeat(64), time: at(-9), completedAt: at(-8), fallbackFrom: newest.id };
    const plan = drillPlan(spec, 'cluster-lost', 'full');
    const children: ChildOutcome[] = [
      { call: plan.recovery[0]!, workflowId: 'drill-1/recovery', report: report(recoverySteps(), { snapshot: newest }) },
      { call: plan.recovery[0]!, workflowId: 'drill-1/recovery-2', report: report(recoverySteps(), { snapshot: older }) },
    ];
    const rec = drillRecord(observations({ children, readBack: { partitions, zookeeper, streamStartedAt: at(-1) } }));
    expect(rec.evidence.data).toEqual({ partitions, zookeeper, streamStartedAt: at(-1), restoredSet: { id: older.id, time: older.time, completedAt: older.completedAt } });
    expect(rec.rpoSeconds).toBe(9 * 60);
    expect(rec.score.parts.dataIntegrity.deductions.map((d) => d.finding)).toEqual(['loss-within-rpo']);
    // Without the stream's start (a drill recorded before it was kept) the window stays unknown: beyond the RPO.
    const unknown = drillRecord(observations({ children, readBack: { partitions, zookeeper } }));
    expect(unknown.rpoSeconds).toBeNull();
    expect(unknown.score.parts.dataIntegrity.deductions.map((d) => d.finding)).toEqual(['loss-beyond-rpo']);
    // The parts the child's call named go with the set: a ZooKeeper-only restore bounds only the znode.
    const zkOnly = drillPlan(spec, 'zookeeper-data-lost', 'full');
    const zkChild: ChildOutcome[] = [{ call: zkOnly.recovery[0]!, workflowId: 'drill-1/recovery', report: report(recoverySteps(), { snapshot: newest }) }];
    expect(zkOnly.recovery[0]!.parts).toEqual(['zookeeper']);
    const zkRec = drillRecord(observations({ plan: zkOnly, children: zkChild, readBack: { partitions, zookeeper, streamStartedAt: at(-1) } }));
    expect(zkRec.evidence.data?.restoredSet).toEqual({ id: newest.id, time: newest.time, completedAt: newest.completedAt, parts: ['zookeeper'] });
    // The znode's window is known (6 min), the partition's is not: at least 6 min, scored beyond the RPO.
    expect(zkRec.rpoSeconds).toBe(6 * 60);
    expect(zkRec.score.measured.lossWindowAtLeast).toBe(true);
    expect(zkRec.score.parts.dataIntegrity.deductions.map((d) => d.finding)).toEqual(['loss-beyond-rpo']);
  });

  it('a skipped drill is recorded with why, no faults and no problems', () => {
    const r = skippedRecord({ id: 'd', cluster: 'stage', type: 'full', scenario: 'cluster-lost', workflowId: 'd', startedAt: at(0), endedAt: at(0) }, 'another drill runs on stage: x');
    expect(r.skipped).toBe('another drill runs on stage: x');
    expect(r.problems).toEqual([]);
    expect(r.faults).toEqual([]);
    expect(r.score.total).toBeGreaterThanOrEqual(0);
  });
});

describe('recoveryVerification: when the drill takes the recovery\'s own verify instead of verifying again', () => {
  const ok = [
    { subject: 'topics', expected: 3, actual: 3, ok: true },
    { subject: 'produce/consume probe', expected: 30, actual: 30, ok: true },
  ];
  const full = drillPlan(spec, 'cluster-lost', 'full');
  const child = (more: Partial<RunReport> = {}, outcome: Partial<ChildOutcome> = {}): ChildOutcome => ({ call: full.recovery[0]!, workflowId: 'drill-1/recovery', report: report(recoverySteps(), { checks: ok, ...more }), ...outcome });

  it('a full drill whose recovery verified: its verify step and checks, named for the evidence', () => {
    expect(recoveryVerification(full, [child()])).toEqual([{ workflowId: 'drill-1/recovery', step: 'verify', endedAt: at(11.5), checks: ok }]);
  });

  it('the drill verifies for itself: a chaos drill, a dry run, a failed or unverified child, a check that failed, no verify step, a child missing', () => {
    expect(recoveryVerification(drillPlan(spec, 'cluster-lost', 'chaos', { chaosStep: 'restore-data' }), [child()])).toBeUndefined();
    expect(recoveryVerification(drillPlan(spec, 'cluster-lost', 'tabletop'), [child({ dryRun: true, outcome: 'planned', steps: recoverySteps(true) })])).toBeUndefined();
    expect(recoveryVerification(full, [child({ outcome: 'failed' })])).toBeUndefined();
    expect(recoveryVerification(full, [child({}, { failed: 'boom' })])).toBeUndefined();
    expect(recoveryVerification(full, [child({ checks: [...ok, { subject: 'brokers serving', expected: 1, actual: 0, ok: false }] })])).toBeUndefined();
    expect(recoveryVerification(full, [child({ checks: [] })])).toBeUndefined();
    const unverified = recoverySteps().map((s) => (s.name === 'verify' ? { ...s, status: 'failed' as const } : s));
    expect(recoveryVerification(full, [child({ steps: unverified })])).toBeUndefined();
    expect(recoveryVerification(full, [child({ steps: recoverySteps().filter((s) => s.name !== 'verify') })])).toBeUndefined();
    expect(recoveryVerification(full, [])).toBeUndefined();
  });

  it('several children (brokers-lost): every one must have verified; each verify step carries its prefix', () => {
    const three = parseSpec({ ...spec, brokers: [1, 2, 3].map((id) => ({ id, host: `h${id}`, logDirs: [`/d/${id}`], configDir: `/c/${id}`, control: { type: 'systemd', unit: `kafka-${id}` } })) });
    const plan = drillPlan(three, 'brokers-lost', 'full');
    const steps: StepRecord[] = ['check-cluster', 'verify'].map((name, i) => ({ name, title: name, status: 'done', startedAt: at(i), endedAt: at(i + 0.5) }));
    const kids = plan.recovery.map((call): ChildOutcome => ({ call, workflowId: `drill-1/${call.id}`, report: report(steps, { kind: 'brokerRecovery', checks: ok }) }));
    expect(recoveryVerification(plan, kids)?.map((v) => v.step)).toEqual(['broker-2/verify', 'broker-3/verify']);
    expect(recoveryVerification(plan, kids.slice(0, 1))).toBeUndefined();
  });
});
