/**
 * The recovery's waits go through the one poll helper (src/core/poll.ts): waitForServing on the lab
 * says why the cluster is not serving when it times out, and stops at once when its activity is
 * cancelled (the AbortSignal), instead of waiting out its ten minutes.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { waitForServing } from '../../src/recovery/serving';
import { primarySpec } from '../support/lab';

describe('waitForServing', () => {
  const lab = primarySpec();
  // A broker the lab does not run: the cluster never serves "every broker" of this spec.
  const spec: ClusterSpec = { ...lab, brokers: [...lab.brokers, { ...lab.brokers[0]!, id: 99, host: 'nowhere' }] };

  it('serves: every broker of the lab spec registered, no partition offline', async () => {
    const r = await waitForServing(lab, { timeoutMs: 30_000 });
    expect(r.brokers).toEqual(expect.arrayContaining(lab.brokers.map((b) => b.id)));
  });

  it('times out with one line that says what is missing', async () => {
    await expect(waitForServing(spec, { timeoutMs: 1500 })).rejects.toThrow(/^primary is not serving 2 s after the brokers started \(brokers [\d,]+ of 1,2,3,99 registered, \d+ partitions offline\)$/);
  });

  it('stops within a second of an abort', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 300);
    await expect(waitForServing(spec, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});
