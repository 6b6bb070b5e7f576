import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { connectZk } from '../../src/zookeeper/client';

// A TCP peer that accepts and never answers: the client waits for a session that never comes.
const silent: Server = createServer(() => {});
const port = new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)));
afterAll(() => silent.close());

describe('connectZk', () => {
  it('stops waiting for a session within a second of an abort, long before its timeout', async () => {
    const ac = new AbortController();
    const connecting = connectZk(`127.0.0.1:${await port}`, { timeoutMs: 60_000, signal: ac.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    ac.abort();
    const r = await connecting;
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((r as Error).name).toBe('AbortError');
    await expect(connectZk(`127.0.0.1:${await port}`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
