import { expect } from 'vitest';
import type { DrillEvidence, DrillScore } from '../../src/drills/types';

export const T0 = Date.parse('2026-12-03T12:00:00.000Z');
/** T0 + minutes, as ISO. */
export const at = (min: number): string => new Date(T0 + min * 60_000).toISOString();

/**
 * A perfect full-cluster drill: recovered in 20 min (RTO 30), nothing lost, the runbook followed with
 * its gate approved, no fallback or degradation needed, no problem found. Scores 100.
 */
export function perfect(): DrillEvidence {
  return {
    drill: { id: 'drill-1', type: 'full', scenario: 'cluster-lost', startedAt: at(-10), endedAt: at(40) },
    times: { faultAt: at(0), firstGreenProbeAt: at(20), probe: 'probe:produce-consume', rtoMinutes: 30, rpoMinutes: 15 },
    data: {
      partitions: [
        { topic: 'drill-stream', partition: 0, lastAcked: { offset: 999, at: at(0) }, intactThrough: { offset: 999, at: at(0) } },
        { topic: 'drill-stream', partition: 1, lastAcked: { offset: 500, at: at(0) }, intactThrough: { offset: 500, at: at(0) } },
      ],
      zookeeper: { lastAcked: { zxid: '0x100000042', at: at(0) }, intactThrough: { zxid: '0x100000042', at: at(0) } },
    },
    process: {
      runbook: [
        { id: 'plan', title: 'choose the backup set' },
        { id: 'approve-restore', title: 'restore the cluster', gate: true },
        { id: 'restore-zk' },
        { id: 'restore-kafka' },
        { id: 'fallback', optional: true },
        { id: 'verify' },
      ],
      steps: [
        { id: 'plan', startedAt: at(1), endedAt: at(2) },
        { id: 'approve-restore', startedAt: at(3), endedAt: at(4) },
        { id: 'restore-zk', startedAt: at(4), endedAt: at(8) },
        { id: 'restore-kafka', startedAt: at(8), endedAt: at(18) },
        { id: 'verify', startedAt: at(18), endedAt: at(20) },
      ],
      gates: [{ step: 'approve-restore', askedAt: at(2), answer: 'approved', answeredAt: at(2.5), by: 'ops' }],
    },
    problems: { fallbacks: [], found: [], degradation: [] },
  };
}

/** Every deduction names its check and at least one piece of evidence, and the points add up. */
export function assertWellFormed(s: DrillScore): void {
  expect(Number.isInteger(s.total)).toBe(true);
  expect(s.total).toBeGreaterThanOrEqual(0);
  expect(s.total).toBeLessThanOrEqual(100);
  let sum = 0;
  for (const p of Object.values(s.parts)) {
    expect(p.points).toBeGreaterThanOrEqual(0);
    expect(p.points).toBeLessThanOrEqual(p.max);
    expect(p.max - p.points).toBe(p.deductions.reduce((a, d) => a + d.points, 0));
    sum += p.points;
  }
  expect(sum).toBe(s.total);
  for (const d of s.deductions) {
    expect(d.check).toBeTruthy();
    expect(d.reason.length).toBeGreaterThan(10);
    expect(Object.values(d.evidence).filter((v) => typeof v === 'string' && v.length > 0).length).toBeGreaterThan(0);
    if (d.evidence.at !== undefined) expect(Number.isFinite(Date.parse(d.evidence.at))).toBe(true);
  }
}

