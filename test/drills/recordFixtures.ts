/**
 * Realistic drill records for the history, report and CLI tests: evidence from fixtures.ts's perfect
 * drill, made worse drill by drill (slower recovery, data lost, a manual step, a failed fallback),
 * scored by the real scoreDrill with the earlier drills' open problems, problems from reviewProblems.
 */
import { carryOver, reviewProblems } from '../../src/drills/problems.pure';
import type { DrillRecord, Scenario } from '../../src/drills/records';
import { scoreDrill } from '../../src/drills/score.pure';
import type { DrillEvidence } from '../../src/drills/types';
import { perfect } from './fixtures';

const MIN = 60_000;
const iso = (t: number) => new Date(t).toISOString();

export interface DrillShape {
  /** Start of the drill (ISO). */
  start: string;
  /** Fault → first green probe, minutes; null: never green. */
  recoveryMin: number | null;
  /** The loss window on partition 0, minutes (0: nothing lost). */
  lossMin?: number;
  manualStep?: boolean;
  failedFallback?: boolean;
  scenario?: Scenario;
  title?: string;
}

/** The evidence of one drill of the given shape (times relative to its start). */
export function evidenceOf(id: string, s: DrillShape): DrillEvidence {
  const e = perfect();
  const t0 = Date.parse(s.start);
  const at = (min: number) => iso(t0 + (10 + min) * MIN);
  e.drill = { id, type: 'full', scenario: s.scenario ?? 'cluster-lost', startedAt: s.start, endedAt: at(60) };
  e.times = { ...e.times!, faultAt: at(0), firstGreenProbeAt: s.recoveryMin === null ? null : at(s.recoveryMin) };
  const loss = s.lossMin ?? 0;
  e.data!.partitions = e.data!.partitions!.map((p, i) => ({
    ...p,
    lastAcked: { offset: p.lastAcked!.offset, at: at(0) },
    intactThrough: i === 0 && loss > 0 ? { offset: p.lastAcked!.offset - 100, at: at(-loss) } : { offset: p.lastAcked!.offset, at: at(0) },
  }));
  e.data!.zookeeper = { lastAcked: { zxid: '0x100000042', at: at(0) }, intactThrough: { zxid: '0x100000042', at: at(0) } };
  e.process!.steps = e.process!.steps!.map((st, i) => ({ ...st, startedAt: at(1 + i * 3), endedAt: at(2 + i * 3), ...(s.manualStep && st.id === 'restore-zk' ? { manual: true } : {}) }));
  e.process!.gates = [{ step: 'approve-restore', askedAt: at(2), answer: 'approved', answeredAt: at(2.5), by: 'ops' }];
  e.problems = {
    fallbacks: s.failedFallback ? [{ step: 'fallback', reason: 'newest set corrupt: pack <a&b> unreadable', at: at(5), worked: false }] : [],
    found: s.title ? [{ title: s.title, evidence: 'restore-kafka log line 42', found: at(15), class: null }] : [],
    degradation: [],
  };
  return e;
}

/** A whole record, scored against the open problems of `earlier`. */
export function recordOf(cluster: string, id: string, s: DrillShape, earlier: DrillRecord[] = []): DrillRecord {
  const evidence = evidenceOf(id, s);
  const open = carryOver(earlier.flatMap((r) => r.problems), s.start);
  // One problem per id: a later record repeats the problems it carried.
  const unique = [...new Map(open.map((p) => [p.id, p])).values()];
  const score = scoreDrill(evidence, unique);
  const end = evidence.drill.endedAt!;
  const problems = [...reviewProblems(id, end, evidence.problems?.found ?? [], score), ...unique.map(({ overdue: _o, ...p }) => p)];
  const t = evidence.times!;
  return {
    id,
    cluster,
    type: 'full',
    scenario: evidence.drill.scenario as Scenario,
    startedAt: s.start,
    endedAt: end,
    workflowId: `drill-${cluster}-${evidence.drill.scenario}-${s.start.replace(/[^0-9TZ]/g, '')}`,
    runId: '0190f3c4-aaaa-bbbb-cccc-000000000001',
    evidence,
    score,
    problems,
    rtoSeconds: score.measured.recoveryMs === null ? null : score.measured.recoveryMs / 1000,
    rpoSeconds: score.measured.lossWindowMs === null ? null : score.measured.lossWindowMs / 1000,
    inventoryDifferences: s.manualStep ? [{ area: 'topics', key: 'orders', change: 'changed', before: 'partitions 6', after: 'partitions 3' }] : [],
    faults: [{ fault: { kind: 'broker-kill', brokerId: 2 }, at: t.faultAt!, wasRunning: true, detail: 'killed pid 4242' }],
    reverts: [{ fault: { kind: 'broker-kill', brokerId: 2 }, mode: 'discard', alreadyDone: false, detail: 'broker 2 running again' }],
    phases: (['prepare', 'start', 'execute', 'verify', 'review'] as const).map((name, i) => ({
      name,
      startedAt: iso(Date.parse(s.start) + i * 12 * MIN),
      endedAt: iso(Date.parse(s.start) + (i + 1) * 12 * MIN),
      notes: [`${name} done`],
    })),
    improvements: s.manualStep ? ['automate the ZooKeeper restore step'] : [],
  };
}

/** Three drills a month apart: good (recovered in 20 min), worse (45 min, 5 min lost, a manual step), bad (never green, fallback failed). */
export function threeDrills(cluster: string): DrillRecord[] {
  const a = recordOf(cluster, `drill-${cluster}-1`, { start: '2026-09-03T12:00:00.000Z', recoveryMin: 20 });
  const b = recordOf(cluster, `drill-${cluster}-2`, { start: '2026-10-03T12:00:00.000Z', recoveryMin: 45, lossMin: 5, manualStep: true, title: 'restore <b>script</b> & "tool" needed a retry' }, [a]);
  const c = recordOf(cluster, `drill-${cluster}-3`, { start: '2026-11-03T12:00:00.000Z', recoveryMin: 12, lossMin: 30, failedFallback: true }, [a, b]);
  return [a, b, c];
}
