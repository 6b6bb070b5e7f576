import { describe, expect, it } from 'vitest';
import { forEachLimited } from '../src/concurrency';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('forEachLimited', () => {
  it('runs every item, never more than the limit at once, starting them in order', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      peak = Math.max(peak, ++running);
      await tick();
      running--;
    });
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it('after a failure starts nothing more, lets running items see it, and throws the first failure', async () => {
    const started: number[] = [];
    let sawStop = false;
    const run = forEachLimited([1, 2, 3, 4, 5], 2, async (n, stopped) => {
      started.push(n);
      if (n === 1) {
        await tick();
        throw new Error('first');
      }
      for (let i = 0; i < 10 && !stopped(); i++) await tick();
      sawStop = stopped();
      throw new Error(`later ${n}`);
    });
    await expect(run).rejects.toThrow('first');
    expect(started).toEqual([1, 2]);
    expect(sawStop).toBe(true);
  });

  it('does nothing for no items', async () => {
    await forEachLimited([], 4, async () => {
      throw new Error('never');
    });
  });
});
