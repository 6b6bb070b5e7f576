/** The failover run's pure helpers: the manual incident, probe summaries, RTO, RPO totals, the status text. */
import { describe, expect, it } from 'vitest';
import { type FailoverStatus, manualIncident, notMirroredTotal, renderFailoverStatus, rtoOf, summarizeProbe } from '../../src/failover/run.pure';
import { failoverWorkflowId } from '../../src/failover/ids.pure';
import type { ClusterObservation } from '../../src/failover/types';

const probe: ClusterObservation = {
  cluster: 'primary',
  at: '2026-12-03T15:00:00.000Z',
  brokers: [
    { id: 1, listener: 'h:1', reachable: true },
    { id: 2, listener: 'h:2', reachable: false, process: 'stopped' },
  ],
  controller: 1,
  zookeeper: { reachable: 1, total: 3, quorum: false },
  offline: [{ topic: 'a', partition: 0 }],
  criticalOffline: [],
  underMinIsr: [{ topic: 'a', partition: 1 }, { topic: 'b', partition: 0 }],
  reachable: true,
};

describe('failover run helpers', () => {
  it('names a manual incident by the UTC second, usable in a workflow ID', () => {
    const i = manualIncident(new Date('2026-12-03T15:38:16.789Z'));
    expect(i).toBe('manual-20261203T153816Z');
    expect(failoverWorkflowId('primary', i)).toBe('failover-primary-manual-20261203T153816Z');
  });

  it('summarizes a probe: brokers up of all, ZooKeeper quorum, counts', () => {
    expect(summarizeProbe(probe)).toEqual({
      at: probe.at,
      reachable: true,
      brokersUp: 1,
      brokersTotal: 2,
      controller: 1,
      zookeeper: '1/3 (NO quorum)',
      offline: 1,
      criticalOffline: 0,
      underMinIsr: 2,
    });
  });

  it('RTO runs from the alert (or start) to the first record consumed; none before it', () => {
    expect(rtoOf('2026-12-03T15:00:00.000Z', '2026-12-03T15:00:42.500Z')).toBe(42_500);
    expect(rtoOf('2026-12-03T15:00:00.000Z', undefined)).toBeUndefined();
  });

  it('RPO total: the sum of records not mirrored, unknown when any partition is', () => {
    const d = (notMirrored: number | null) => ({ topic: 't', partition: 0, primaryEnd: 10, mirrored: 5, notMirrored, from: 'live' as const });
    expect(notMirroredTotal([d(3), d(0), d(7)])).toBe(10);
    expect(notMirroredTotal([d(3), d(null)])).toBeNull();
    expect(notMirroredTotal([])).toBe(0);
  });

  it('renders the status: outcome, decision with branches, approvals, RPO per partition, RTO parts', () => {
    const s: FailoverStatus = {
      workflowId: 'failover-primary-x',
      primary: 'primary',
      standby: 'standby',
      dryRun: false,
      phase: 'done',
      outcome: 'failed over',
      reason: 'primary → standby',
      alerts: { count: 3 },
      alert: { source: 'alertmanager', incident: 'x', alertname: 'KafkaDown', receivedAt: '2026-12-03T15:00:00.000Z' },
      severity: 'P0',
      decision: { action: 'failover', reason: 'standby ready' },
      branches: [{ question: 'Confirmed?', answer: 'yes', evidence: '3 probes' }],
      probes: [summarizeProbe(probe)],
      approval: { needed: 2, approvedBy: ['alice', 'bob'], auto: false, escalations: 1 },
      pointOfNoReturn: true,
      divergence: [
        { topic: 'orders', partition: 0, primaryEnd: 110, mirrored: 100, notMirrored: 10, from: 'disk' },
        { topic: 'orders', partition: 1, primaryEnd: 50, mirrored: 50, notMirrored: 0, from: 'disk' },
      ],
      notMirroredTotal: 10,
      degradation: { level: 0 },
      rtoMs: 42_000,
      rtoParts: { confirm: 10_000, decide: 1_000, approve: 0, promote: 20_000, switch: 5_000, verify: 6_000 },
      problems: ['something to know'],
    };
    const text = renderFailoverStatus(s);
    expect(text).toContain('failover-primary-x: failed over, primary → standby (past the point of no return)');
    expect(text).toContain('alert: KafkaDown (incident x) received 2026-12-03T15:00:00.000Z; 3 firing in all');
    expect(text).toContain('severity: P0; decision: failover — standby ready');
    expect(text).toContain('  Confirmed? yes (3 probes)');
    expect(text).toContain('approval: 2/2 (alice, bob), escalated 1×');
    expect(text).toContain('RPO: 10 records not mirrored over 2 partitions');
    expect(text).toContain('  orders/0: 10 (primary end 110 from disk, mirrored to 100)');
    expect(text).not.toContain('orders/1:');
    expect(text).toContain('RTO: 42.0 s (confirm 10.0 s, decide 1.0 s, approve 0 ms, promote 20.0 s, switch 5.0 s, verify 6.0 s)');
    expect(text).toContain('problem: something to know');
  });
});
