/**
 * A long activity against the lab, run as the worker runs it (Temporal's MockActivityEnvironment,
 * the activities from createActivities): it heartbeats typed Progress, and cancelling it stops it
 * within a second (the activity's cancellation signal reaches the wait), not at its timeout.
 */
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { activityDeps, createActivities } from '../../activities';
import { parseProgress } from '../../src/core/progress';
import { primarySpec } from '../support/lab';

describe('activity cancellation on the lab', () => {
  it('waitForServing for a broker that never comes: typed progress while it waits, stopped by the cancellation', async () => {
    const lab = primarySpec();
    // A fourth broker the cluster will never have: the wait can only end by its timeout or a cancellation.
    const spec = { ...lab, brokers: [...lab.brokers, { ...lab.brokers[0]!, id: 9, host: 'nowhere', logDirs: ['/nonexistent/9'], configDir: '/nonexistent/9-config' }] };
    const acts = createActivities(activityDeps());
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const run = env.run(() => acts.waitForServingActivity({ spec, timeoutMs: 120_000 })).catch((e: unknown) => e);
    const deadline = Date.now() + 30_000;
    while (!beats.some((b) => parseProgress(b)?.total === 4) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const cancelledAt = Date.now();
    env.cancel();
    const err = await run;
    expect(Date.now() - cancelledAt).toBeLessThan(1_500);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(beats.length).toBeGreaterThan(1);
    for (const b of beats) expect(parseProgress(b), JSON.stringify(b)).toBeDefined();
    expect(beats.at(-1)).toMatchObject({ phase: 'wait for serving', done: 3, total: 4, unit: 'brokers' });
  });
});
