import { describe, expect, it } from 'vitest';
import { AbortError, backoff, poll, retry, sleep } from '../../src/core/poll';
import { LifeboatError } from '../../src/errors';

const elapsed = async (p: Promise<unknown>): Promise<{ ms: number; error?: unknown; value?: unknown }> => {
  const t0 = Date.now();
  try {
    const value = await p;
    return { ms: Date.now() - t0, value };
  } catch (error) {
    return { ms: Date.now() - t0, error };
  }
};

describe('sleep', () => {
  it('waits the time asked', async () => {
    const r = await elapsed(sleep(60));
    expect(r.error).toBeUndefined();
    expect(r.ms).toBeGreaterThanOrEqual(55);
  });

  it('rejects at once when the signal aborts mid-way, with the signal reason when it is an Error', async () => {
    const ac = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => ac.abort(reason), 20);
    const r = await elapsed(sleep(10_000, ac.signal));
    expect(r.error).toBe(reason);
    expect(r.ms).toBeLessThan(500);
  });

  it('rejects with an AbortError for an already-aborted signal without a reason of its own', async () => {
    const ac = new AbortController();
    ac.abort('stop');
    const r = await elapsed(sleep(10_000, ac.signal));
    expect(r.error).toBeInstanceOf(AbortError);
    expect((r.error as Error).name).toBe('AbortError');
    expect(r.ms).toBeLessThan(50);
  });
});

describe('poll', () => {
  it('returns the first value the check gives, after the interval between looks', async () => {
    let calls = 0;
    const r = await elapsed(poll(async () => (++calls >= 3 ? `done at ${calls}` : undefined), { what: 'x', timeoutMs: 5_000, intervalMs: 40 }));
    expect(r.value).toBe('done at 3');
    expect(calls).toBe(3);
    // Two sleeps of 40 ms between three looks.
    expect(r.ms).toBeGreaterThanOrEqual(75);
    expect(r.ms).toBeLessThan(1_000);
  });

  it('takes false as not yet, and a backoff as the interval', async () => {
    const seen: number[] = [];
    let last = Date.now();
    let calls = 0;
    await poll(
      () => {
        const now = Date.now();
        seen.push(now - last);
        last = now;
        return ++calls >= 4;
      },
      { what: 'x', timeoutMs: 5_000, intervalMs: backoff(30, 60) },
    );
    // Waits of 30, 60, 60 ms before the 2nd, 3rd and 4th look.
    expect(seen.slice(1).map((ms) => ms >= 25)).toEqual([true, true, true]);
    expect(seen[2]!).toBeGreaterThanOrEqual(55);
  });

  it('times out with one LifeboatError line naming what it waited for and the last reason', async () => {
    let calls = 0;
    const r = await elapsed(
      poll(
        (note) => {
          calls += 1;
          note(`broker 2 names controller ${calls}`);
          return undefined;
        },
        { what: 'cluster primary to agree', timeoutMs: 200, intervalMs: 30 },
      ),
    );
    expect(r.error).toBeInstanceOf(LifeboatError);
    const err = r.error as LifeboatError;
    expect(err.type).toBe('Unreachable');
    expect(err.message).toBe(`timed out after 200ms waiting for cluster primary to agree (broker 2 names controller ${calls})`);
    expect(err.message).not.toContain('\n');
    expect(r.ms).toBeGreaterThanOrEqual(195);
    expect(r.ms).toBeLessThan(1_000);
  });

  it('words the timeout as the caller asks, with the last reason', async () => {
    const r = await elapsed(poll((note) => (note('broker 2 is not registered'), false), { what: 'x', timeoutMs: 50, intervalMs: 10, message: (last) => `cluster primary did not agree within 0.05s: ${last}` }));
    expect((r.error as LifeboatError).type).toBe('Unreachable');
    expect((r.error as Error).message).toBe('cluster primary did not agree within 0.05s: broker 2 is not registered');
  });

  it('counts an error of the check as a reason, and ends at once on a fatal one', async () => {
    const r = await elapsed(poll(async () => Promise.reject(new Error('ECONNREFUSED\nstack...')), { what: 'ZooKeeper', timeoutMs: 1000, intervalMs: 100, errorType: 'Locked' }));
    expect((r.error as LifeboatError).type).toBe('Locked');
    expect((r.error as Error).message).toBe('timed out after 1s waiting for ZooKeeper (ECONNREFUSED)');

    let calls = 0;
    const denied = new LifeboatError('InvalidInput', 'denied');
    const f = await elapsed(
      poll(async () => {
        calls += 1;
        throw denied;
      }, { what: 'x', timeoutMs: 5_000, fatal: (e) => e instanceof LifeboatError }),
    );
    expect(f.error).toBe(denied);
    expect(calls).toBe(1);
  });

  it('stops at once when the signal aborts during a sleep, and does not look again', async () => {
    const ac = new AbortController();
    let calls = 0;
    setTimeout(() => ac.abort(), 50);
    const r = await elapsed(poll(() => void calls++, { what: 'x', timeoutMs: 60_000, intervalMs: 10_000, signal: ac.signal }));
    expect((r.error as Error).name).toBe('AbortError');
    expect(r.ms).toBeLessThan(500);
    expect(calls).toBe(1);
  });

  it('stops when the signal aborts during a check, with the abort error rather than what the check threw', async () => {
    const ac = new AbortController();
    const r = await elapsed(
      poll(
        async () => {
          ac.abort();
          throw new Error('socket closed');
        },
        { what: 'x', timeoutMs: 60_000, signal: ac.signal },
      ),
    );
    expect((r.error as Error).name).toBe('AbortError');
    expect(r.ms).toBeLessThan(500);
  });
});

describe('retry', () => {
  it('retries what retryIf accepts, rethrows the last error as it is after the deadline', async () => {
    let calls = 0;
    const transient = new Error('LEADER_NOT_AVAILABLE');
    const r = await elapsed(retry(async () => { calls += 1; throw transient; }, { timeoutMs: 100, intervalMs: 20, retryIf: () => true }));
    expect(r.error).toBe(transient);
    expect(calls).toBeGreaterThan(2);

    calls = 0;
    const v = await retry(async (attempt) => { calls += 1; if (attempt < 3) throw transient; return attempt; }, { timeoutMs: 5_000, intervalMs: 1, retryIf: () => true });
    expect(v).toBe(3);
    const permanent = await elapsed(retry(async () => { throw new Error('denied'); }, { timeoutMs: 5_000, retryIf: (e) => e === transient }));
    expect((permanent.error as Error).message).toBe('denied');
  });

  it('stops at once on abort', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const r = await elapsed(retry(async () => { throw new Error('busy'); }, { timeoutMs: 60_000, intervalMs: 10_000, retryIf: () => true, signal: ac.signal }));
    expect((r.error as Error).name).toBe('AbortError');
    expect(r.ms).toBeLessThan(500);
  });
});
