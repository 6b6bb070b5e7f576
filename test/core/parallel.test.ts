import { describe, expect, it } from 'vitest';
import { mapLimit, settleAll } from '../../src/core/parallel';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps the order of the items and never has more than the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const r = await mapLimit([30, 5, 20, 1, 10, 2, 15], 3, async (ms, i) => {
      most = Math.max(most, ++inFlight);
      await tick(ms);
      inFlight--;
      return `${i}:${ms}`;
    });
    expect(r).toEqual(['0:30', '1:5', '2:20', '3:1', '4:10', '5:2', '6:15']);
    expect(most).toBe(3);
  });

  it('an empty list gives an empty result; a limit above the count runs them all at once', async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
    let most = 0;
    let inFlight = 0;
    await mapLimit([1, 2], 8, async () => {
      most = Math.max(most, ++inFlight);
      await tick(5);
      inFlight--;
    });
    expect(most).toBe(2);
  });

  it('rejects with the first failure once the calls in flight have settled, and starts nothing after it', async () => {
    const started: number[] = [];
    const ended: number[] = [];
    await expect(
      mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
        started.push(n);
        await tick(n === 1 ? 1 : 20);
        ended.push(n);
        if (n === 1) throw new Error('item 1 failed');
        return n;
      }),
    ).rejects.toThrow('item 1 failed');
    expect(ended).toEqual([1, 0]);
    await tick(50);
    expect(started).toEqual([0, 1]);
  });

  it('a limit that is not a positive number runs one at a time', async () => {
    expect(await mapLimit([1, 2, 3], Number.NaN, async (n) => n * 2)).toEqual([2, 4, 6]);
    expect(await mapLimit([1, 2], 0, async (n) => n)).toEqual([1, 2]);
  });
});

describe('settleAll', () => {
  it('gives the values in order, typed as Promise.all would', async () => {
    const [a, b] = await settleAll([tick(5).then(() => 'a'), Promise.resolve(2)]);
    expect([a.toUpperCase(), b + 1]).toEqual(['A', 3]);
  });

  it('throws the first rejection only after every promise settled', async () => {
    let slowDone = false;
    await expect(
      settleAll([
        tick(30).then(() => {
          slowDone = true;
        }),
        Promise.reject(new Error('first')),
        tick(1).then(() => {
          throw new Error('second');
        }),
      ]),
    ).rejects.toThrow('first');
    expect(slowDone).toBe(true);
  });
});
