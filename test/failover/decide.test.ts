import { describe, expect, it } from 'vitest';
import { MIRROR_STALE_MS, classify, decide } from '../../src/failover/decide.pure';
import { DEFAULT_FAILOVER_POLICY } from '../../src/failover/policy.pure';
import type { ClusterObservation, FailoverPolicy, Observations, StandbyObservation } from '../../src/failover/types';

const T0 = Date.parse('2026-12-03T12:00:00.000Z');
const policy: FailoverPolicy = { ...DEFAULT_FAILOVER_POLICY, autoApprove: [] };

/** A healthy 3-broker ZooKeeper cluster, changed by `patch`. */
function probe(patch: Partial<ClusterObservation> = {}, i = 0): ClusterObservation {
  return {
    cluster: 'primary',
    at: new Date(T0 + i * 5000).toISOString(),
    brokers: [1, 2, 3].map((id) => ({ id, listener: `127.0.0.1:${9091 + id}`, reachable: true, process: 'running' as const })),
    controller: 1,
    zookeeper: { reachable: 3, total: 3, quorum: true },
    offline: [],
    criticalOffline: [],
    underMinIsr: [],
    reachable: true,
    ...patch,
  };
}

const down = (ids: number[], process: 'stopped' | 'unknown' | 'running' = 'unknown'): Partial<ClusterObservation> => ({
  brokers: [1, 2, 3].map((id) => ({ id, listener: `127.0.0.1:${9091 + id}`, reachable: !ids.includes(id), process: ids.includes(id) ? process : ('running' as const) })),
});
const allDown: Partial<ClusterObservation> = { ...down([1, 2, 3]), reachable: false, controller: undefined, offline: [], criticalOffline: [], underMinIsr: [] };

const three = (patch: Partial<ClusterObservation>): ClusterObservation[] => [0, 1, 2].map((i) => probe(patch, i));

function standby(patch: Partial<StandbyObservation> = {}, mirror: Partial<StandbyObservation['mirror']> = {}): StandbyObservation {
  return {
    cluster: 'standby',
    healthy: true,
    brokersUp: 3,
    brokersTotal: 3,
    problems: [],
    ...patch,
    mirror: { workflowId: 'mirror-primary-to-standby', running: true, lagRecords: 10, lastPositionAt: T0 - 2000, topics: ['orders'], ...mirror },
  };
}

const obs = (probes: ClusterObservation[], extra: Partial<Observations> = {}): Observations => ({
  probes,
  standby: standby(),
  backup: { newestVerified: { setId: 'set-1', time: '2026-12-03T11:00:00Z', parts: ['kafka-1'] } },
  sinceAlertMs: 20 * 60_000, // past the default 15 min budget unless a test says otherwise
  ...extra,
});

describe('classify', () => {
  it('healthy → null', () => expect(classify(probe())).toBeNull());
  it('P0: no broker answers', () => expect(classify(probe(allDown))).toBe('P0'));
  it('P0: no controller', () => expect(classify(probe({ controller: null }))).toBe('P0'));
  it('P0: no ZooKeeper quorum', () => expect(classify(probe({ zookeeper: { reachable: 1, total: 3, quorum: false } }))).toBe('P0'));
  it('P0: a critical partition offline', () => {
    const p = { topic: 'payments', partition: 0 };
    expect(classify(probe({ offline: [p], criticalOffline: [p] }))).toBe('P0');
  });
  it('P1: a non-critical partition offline', () => expect(classify(probe({ offline: [{ topic: 'logs', partition: 1 }] }))).toBe('P1'));
  it('P1: under min ISR', () => expect(classify(probe({ ...down([3]), underMinIsr: [{ topic: 'logs', partition: 1 }] }))).toBe('P1'));
  it('P2: a broker down, every partition led', () => expect(classify(probe(down([2])))).toBe('P2'));
  it('P2: a broker whose process is stopped (even if its port answers)', () => {
    const p = probe();
    p.brokers[1]!.process = 'stopped';
    expect(classify(p)).toBe('P2');
  });
  it('P3: a ZooKeeper server down, quorum intact', () => expect(classify(probe({ zookeeper: { reachable: 2, total: 3, quorum: true } }))).toBe('P3'));
  it('KRaft (no zookeeper field) healthy → null', () => expect(classify(probe({ zookeeper: undefined }))).toBeNull());
});

describe('decide: confirmation', () => {
  it('no probe → stand-down, not confirmed', () => {
    const r = decide(obs([]), policy);
    expect(r.decision).toMatchObject({ action: 'stand-down' });
    expect(r.severity).toBeNull();
    expect(r.branches).toHaveLength(1);
    expect(r.branches[0]!.answer).toMatch(/^no: 0 probe/);
  });
  it('fewer probes than the policy needs → stand-down', () => {
    const r = decide(obs([probe(allDown)]), policy);
    expect(r.decision.action).toBe('stand-down');
    expect((r.decision as { reason: string }).reason).toMatch(/1 of 3 probe/);
  });
  it('a healthy cluster → stand-down', () => {
    const r = decide(obs(three({})), policy);
    expect(r.decision.action).toBe('stand-down');
    expect((r.decision as { reason: string }).reason).toMatch(/healthy/);
    expect(r.branches[0]!.evidence).toMatch(/3\/3 brokers answer/);
  });
  it('a single flapping probe → stand-down, not confirmed', () => {
    const r = decide(obs([probe({}, 0), probe(allDown, 1), probe({}, 2)]), policy);
    expect(r.decision).toMatchObject({ action: 'stand-down' });
    expect((r.decision as { reason: string }).reason).toMatch(/not confirmed: only 1 of 3 probes found a problem \(flapping\)/);
    expect(r.severity).toBeNull();
  });
  it('a problem that cleared in the newest probe → stand-down', () => {
    const r = decide(obs([probe(allDown, 0), probe(allDown, 1), probe({}, 2)]), policy);
    expect(r.decision.action).toBe('stand-down');
  });
  it('only the newest confirmProbes probes count', () => {
    const r = decide(obs([probe({}, 0), ...three(allDown)]), policy);
    expect(r.decision.action).toBe('failover');
  });
  it('confirmProbes 1: one probe confirms', () => {
    const r = decide(obs([probe(allDown)]), { ...policy, confirmProbes: 1 });
    expect(r.decision.action).toBe('failover');
  });
  it('severity is the least severe of the probes (every probe saw at least that much)', () => {
    const r = decide(obs([probe(allDown, 0), probe(down([2]), 1), probe(allDown, 2)], { sinceAlertMs: 0 }), policy);
    expect(r.severity).toBe('P2');
    expect(r.branches[1]!.evidence).toMatch(/least severe of the probes: P0, P2, P0/);
  });
});

describe('decide: repair in place', () => {
  it('one broker down, the rest serve, within budget → broker-recovery of that broker', () => {
    const r = decide(obs(three(down([2])), { sinceAlertMs: 60_000 }), policy);
    expect(r.severity).toBe('P2');
    expect(r.decision).toEqual({ action: 'repair', how: 'broker-recovery', brokers: [2], budgetMs: 14 * 60_000, reason: expect.stringMatching(/broker\(s\) 2 down, 2 of 3 serve/) });
    expect(r.branches.map((b) => b.question)).toEqual([
      expect.stringMatching(/confirmed/),
      expect.stringMatching(/severe/),
      expect.stringMatching(/repaired in place within the repair budget \(15 min\)/),
    ]);
  });
  it('a stopped process → start-process', () => {
    const r = decide(obs(three(down([3], 'stopped')), { sinceAlertMs: 0 }), policy);
    expect(r.decision).toMatchObject({ action: 'repair', how: 'start-process', brokers: [3], budgetMs: 15 * 60_000 });
  });
  it('every broker stopped (P0) → start-process of all, when ZooKeeper has quorum', () => {
    const r = decide(obs(three({ ...allDown, ...down([1, 2, 3], 'stopped') }), { sinceAlertMs: 30_000 }), policy);
    expect(r.severity).toBe('P0');
    expect(r.decision).toMatchObject({ action: 'repair', how: 'start-process', brokers: [1, 2, 3] });
  });
  it('a majority down (processes unknown) → not repairable in place → failover', () => {
    const r = decide(obs(three({ ...down([1, 2]), controller: null }), { sinceAlertMs: 0 }), policy);
    expect(r.severity).toBe('P0');
    expect(r.branches[2]!.answer).toMatch(/^no: 2 of 3 brokers down/);
    expect(r.decision.action).toBe('failover');
  });
  it('only brokers down in every probe are repaired (one that came back is not)', () => {
    const r = decide(obs([probe(down([2, 3]), 0), probe(down([2, 3]), 1), probe(down([2]), 2)], { sinceAlertMs: 0 }), policy);
    expect(r.decision).toMatchObject({ action: 'repair', how: 'broker-recovery', brokers: [2] });
  });
  it('a broker that is down only in the newest probe is not "serving": no minority repair', () => {
    const r = decide(obs([probe(down([2]), 0), probe(down([2]), 1), probe(down([2, 3]), 2)], { sinceAlertMs: 0 }), policy);
    expect(r.branches[2]!.answer).toMatch(/^no: 1 of 3 brokers down/);
  });
  it('budget spent → no repair (P2 → escalate, the primary still serves)', () => {
    const r = decide(obs(three(down([2])), { sinceAlertMs: 15 * 60_000 }), policy);
    expect(r.branches[2]!.answer).toBe('no: the repair budget is spent');
    expect(r.decision.action).toBe('escalate');
    expect((r.decision as { reason: string }).reason).toMatch(/P2 not repaired in place .* still serves every partition/);
  });
  it('less than a minute of budget left → no repair', () => {
    const r = decide(obs(three(down([2])), { sinceAlertMs: 14.5 * 60_000 }), policy);
    expect(r.decision.action).toBe('escalate');
  });
  it('budget 0 → repair is off', () => {
    const r = decide(obs(three(down([2])), { sinceAlertMs: 0 }), { ...policy, repairBudgetMinutes: 0 });
    expect(r.branches[2]!.answer).toMatch(/off/);
    expect(r.decision.action).toBe('escalate');
  });
  it('a larger budget leaves room', () => {
    const r = decide(obs(three(down([2])), { sinceAlertMs: 20 * 60_000 }), { ...policy, repairBudgetMinutes: 30 });
    expect(r.decision).toMatchObject({ action: 'repair', budgetMs: 10 * 60_000 });
  });
  it('a repair already tried and failed → not again; P0 goes on to failover', () => {
    const r = decide(obs(three({ ...allDown, ...down([1, 2, 3], 'stopped') }), { sinceAlertMs: 0, repair: { tried: 'start-process 1,2,3', ok: false, detail: 'broker 1 exited' } }), policy);
    expect(r.branches[2]!.answer).toMatch(/already tried \(start-process 1,2,3, it failed\)/);
    expect(r.branches[2]!.evidence).toMatch(/broker 1 exited/);
    expect(r.decision.action).toBe('failover');
  });
  it('a repair already tried that ended but the failure persists → not again', () => {
    const r = decide(obs(three(down([2])), { sinceAlertMs: 0, repair: { tried: 'broker-recovery 2', ok: true, detail: 'done' } }), policy);
    expect(r.branches[2]!.answer).toMatch(/failure persists/);
    expect(r.decision.action).toBe('escalate');
  });
  it('ZooKeeper without quorum → no broker repair; P0 → failover', () => {
    const r = decide(obs(three({ ...down([2], 'stopped'), zookeeper: { reachable: 1, total: 3, quorum: false } }), { sinceAlertMs: 0 }), policy);
    expect(r.branches[2]!.answer).toMatch(/ZooKeeper has no quorum/);
    expect(r.decision.action).toBe('failover');
  });
  it('partitions offline with every broker up (P1) → nothing to repair → failover', () => {
    const r = decide(obs(three({ offline: [{ topic: 'logs', partition: 0 }] }), { sinceAlertMs: 0 }), policy);
    expect(r.severity).toBe('P1');
    expect(r.branches[2]!.answer).toMatch(/every broker answers/);
    expect(r.decision.action).toBe('failover');
  });
  it('P3 → escalate, never failover', () => {
    const r = decide(obs(three({ zookeeper: { reachable: 2, total: 3, quorum: true } }), { sinceAlertMs: 0 }), policy);
    expect(r.severity).toBe('P3');
    expect(r.decision.action).toBe('escalate');
    expect(r.branches[3]!.answer).toBe('no: P3');
  });
});

describe('decide: data elsewhere and the standby', () => {
  const p0 = three(allDown);
  it('P0, mirror fresh, standby ready → failover, every branch recorded', () => {
    const r = decide(obs(p0), policy);
    expect(r.severity).toBe('P0');
    expect(r.decision).toMatchObject({ action: 'failover', reason: expect.stringMatching(/P0 confirmed \(no broker answers/) });
    expect(r.branches.map((b) => b.answer)).toEqual([
      'yes: all 3 probes found a problem',
      'P0',
      expect.stringMatching(/^no: /),
      'yes: P0',
      'yes: the mirror on standby and set-1',
      'yes',
    ]);
    expect(r.branches[4]!.evidence).toMatch(/mirror mirror-primary-to-standby: running, 1 topic\(s\)/);
    for (const b of r.branches) expect(b.evidence.length).toBeGreaterThan(0);
  });
  it('lag unknown (the primary does not answer) is accepted, and said so', () => {
    const r = decide(obs(p0, { standby: standby({}, { lagRecords: undefined, running: false, lastPositionAt: T0 - 60_000 }) }), policy);
    expect(r.decision.action).toBe('failover');
    expect(r.branches[5]!.evidence).toMatch(/lag unknown/);
  });
  it('no standby, a backup set → escalate naming the set', () => {
    const r = decide(obs(p0, { standby: undefined }), policy);
    expect(r.decision.action).toBe('escalate');
    expect((r.decision as { reason: string }).reason).toMatch(/set-1 .* can be restored: an operator decides/);
    expect(r.branches[4]!.answer).toBe('no standby observed');
  });
  it('no standby, no backup → escalate', () => {
    const r = decide(obs(p0, { standby: undefined, backup: {} }), policy);
    expect(r.decision).toMatchObject({ action: 'escalate', reason: expect.stringMatching(/no usable data elsewhere/) });
    expect(r.branches[4]!.evidence).toMatch(/no verified backup set/);
  });
  it('standby without a mirror → escalate', () => {
    const r = decide(obs(p0, { standby: standby({}, { running: false, lastPositionAt: undefined, topics: [], lagRecords: undefined }), backup: {} }), policy);
    expect(r.branches[4]!.answer).toMatch(/no mirror data on standby standby/);
    expect(r.decision.action).toBe('escalate');
  });
  it('a mirror that stopped long before the alert → not usable → escalate', () => {
    const alertAt = T0 + 10_000 - 20 * 60_000;
    const r = decide(obs(p0, { standby: standby({}, { running: false, lastPositionAt: alertAt - MIRROR_STALE_MS - 60_000 }) }), policy);
    expect(r.branches[4]!.answer).toMatch(/stopped writing positions 16 min before the alert, only a backup set/);
    expect(r.decision.action).toBe('escalate');
  });
  it('standby lagging beyond maxLagRecords → escalate', () => {
    const r = decide(obs(p0, { standby: standby({}, { lagRecords: 10_001 }) }), policy);
    expect(r.branches[5]!.answer).toBe('no: the mirror lags 10001 records (max 10000)');
    expect(r.decision).toMatchObject({ action: 'escalate', reason: expect.stringMatching(/standby standby not ready: the mirror lags/) });
  });
  it('lag exactly maxLagRecords → ready', () => {
    expect(decide(obs(p0, { standby: standby({}, { lagRecords: 10_000 }) }), policy).decision.action).toBe('failover');
  });
  it('standby unhealthy → escalate with its problem', () => {
    const r = decide(obs(p0, { standby: standby({ healthy: false, problems: ['2 partitions offline'] }) }), policy);
    expect(r.branches[5]!.answer).toBe('no: unhealthy (2 partitions offline)');
    expect(r.decision.action).toBe('escalate');
  });
  it('standby with a broker down → escalate', () => {
    const r = decide(obs(p0, { standby: standby({ brokersUp: 2 }) }), policy);
    expect(r.branches[5]!.answer).toBe('no: 2 of 3 brokers up');
    expect(r.decision.action).toBe('escalate');
  });
  it('P1 (under min ISR) → failover when the standby is ready', () => {
    const r = decide(obs(three({ underMinIsr: [{ topic: 'orders', partition: 0 }] }), { sinceAlertMs: 0 }), policy);
    expect(r.severity).toBe('P1');
    expect(r.decision.action).toBe('failover');
  });
});
