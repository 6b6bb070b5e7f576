import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { withHeartbeat } from '../../activities/heartbeat';

describe('withHeartbeat', () => {
  it("repeats the step's newest progress on its timer, not the details it started with", async () => {
    const env = new MockActivityEnvironment();
    const sent: unknown[] = [];
    env.on('heartbeat', (d: unknown) => sent.push(d));
    const result = await env.run(() =>
      withHeartbeat(
        { step: 'restore' },
        async (beat) => {
          beat({ step: 'restore', done: 3, total: 10 });
          await new Promise((r) => setTimeout(r, 120));
          return 'ok';
        },
        20,
      ),
    );
    expect(result).toBe('ok');
    const afterProgress = sent.slice(2);
    expect(sent.slice(0, 2)).toEqual([{ step: 'restore' }, { step: 'restore', done: 3, total: 10 }]);
    expect(afterProgress.length).toBeGreaterThanOrEqual(2);
    for (const d of afterProgress) expect(d).toEqual({ step: 'restore', done: 3, total: 10 });
  });
});
