/**
 * waitForAgreement against the lab: it returns what a healthy cluster agrees on, a wait for
 * something that never comes ends in one Unreachable line naming the disagreement, and an abort
 * ends the wait at once (a cancelled activity does not sit out its timeout).
 */
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { waitForAgreement } from '../../src/kafka/ready';
import { standbySpec } from '../support/lab';

const spec = standbySpec();

describe('waitForAgreement', () => {
  it('returns the controller and live brokers of a cluster in agreement', async () => {
    const a = await waitForAgreement(spec, { timeoutMs: 30_000 });
    expect(a.brokers).toEqual(spec.brokers.map((b) => b.id).sort((x, y) => x - y));
    expect(a.brokers).toContain(a.controller);
  });

  it('times out in one line naming what the last look found', async () => {
    const t0 = Date.now();
    const err = await waitForAgreement(spec, { present: [99], timeoutMs: 1_500, intervalMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).type).toBe('Unreachable');
    expect((err as Error).message).toMatch(/^cluster standby did not agree on a controller within 1\.5s: broker 99 is not registered$/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('stops within a second of an abort, long before its timeout', async () => {
    const ac = new AbortController();
    const waiting = waitForAgreement(spec, { present: [99], timeoutMs: 120_000, intervalMs: 5_000, signal: ac.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 1_500));
    const t0 = Date.now();
    ac.abort();
    const err = await waiting;
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((err as Error).name).toBe('AbortError');
  });
});
