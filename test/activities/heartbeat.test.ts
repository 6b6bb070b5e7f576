import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { withHeartbeat } from '../../activities/heartbeat';
import { parseProgress } from '../../src/core/progress';
import { sleep } from '../../src/core/poll';

describe('withHeartbeat', () => {
  it("repeats the step's newest typed progress on its timer, not the progress it started with", async () => {
    const env = new MockActivityEnvironment();
    const sent: unknown[] = [];
    env.on('heartbeat', (d: unknown) => sent.push(d));
    const result = await env.run(() =>
      withHeartbeat(
        { phase: 'restore' },
        async (beat) => {
          beat({ phase: 'restore', done: 3, total: 10, unit: 'files' });
          await new Promise((r) => setTimeout(r, 120));
          return 'ok';
        },
        20,
      ),
    );
    expect(result).toBe('ok');
    const afterProgress = sent.slice(2);
    expect(sent.slice(0, 2)).toEqual([{ phase: 'restore' }, { phase: 'restore', done: 3, total: 10, unit: 'files' }]);
    expect(afterProgress.length).toBeGreaterThanOrEqual(2);
    for (const d of afterProgress) expect(d).toEqual({ phase: 'restore', done: 3, total: 10, unit: 'files' });
    for (const d of sent) expect(parseProgress(d)).toEqual(d);
  });

  it("hands the step the activity's cancellation signal: cancelling the activity aborts it and stops the step's wait", async () => {
    const env = new MockActivityEnvironment();
    let signalSeen: AbortSignal | undefined;
    const started = Date.now();
    const run = env.run(() =>
      withHeartbeat({ phase: 'wait' }, async (_beat, signal) => {
        signalSeen = signal;
        await sleep(60_000, signal); // a src/ wait that takes the signal (src/core/poll.ts)
        return 'not cancelled';
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(signalSeen?.aborted).toBe(false);
    env.cancel();
    const err = await run.catch((e: unknown) => e);
    expect(signalSeen?.aborted).toBe(true);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
