/**
 * The write stream stops when asked, even with a send or a ZooKeeper write in flight that nothing
 * answers (a drill's faults are applied: its broker killed). Before, the stream waited for that
 * send's own timeout (10-20 s) or for the recovery to bring the broker back, and the drill's
 * read-back, which waits for the stream's log, came after the recovery on the drill's own time.
 * The "cluster" here is a listener that accepts connections and never answers, as a hung broker does.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import { runWriteStream } from '../../src/drills/stream';

let silent: Server;
const sockets = new Set<Socket>();
let port = 0;

beforeAll(async () => {
  silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  port = (silent.address() as { port: number }).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

describe('the write stream, told to stop while nothing answers', () => {
  it('returns at once, the unanswered send and write counted as failed, nothing acknowledged', async () => {
    const spec = parseSpec({ name: 'hung', kafka: { bootstrapServers: [`127.0.0.1:${port}`] }, zookeeper: { connect: `127.0.0.1:${port}`, chroot: '/hung' } });
    const askedAt = Date.now() + 600;
    const t0 = Date.now();
    const log = await runWriteStream({ spec, drillId: 'drill-hung', topic: 'lifeboat-drill-hung', zookeeper: true, intervalMs: 100, stopEveryMs: 50, shouldStop: async () => Date.now() >= askedAt });
    const took = Date.now() - t0;
    // Asked at 0.6 s (every 50 ms): done within ~2 s, not after the 10 s send timeout.
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(2_500);
    expect(log.acks).toEqual([]);
    expect(log.failures.count).toBeGreaterThanOrEqual(1);
    expect(log.zookeeper?.acks).toEqual([]);
    expect(log.zookeeper?.failures?.count).toBeGreaterThanOrEqual(1);
  });

  it('gives what is in flight one grace from the stop (stopGraceMs), then counts it as failed', async () => {
    const spec = parseSpec({ name: 'hung', kafka: { bootstrapServers: [`127.0.0.1:${port}`] }, zookeeper: { connect: `127.0.0.1:${port}`, chroot: '/hung' } });
    const askedAt = Date.now() + 300;
    const t0 = Date.now();
    const log = await runWriteStream({ spec, drillId: 'drill-hung-grace', topic: 'lifeboat-drill-hung', zookeeper: true, intervalMs: 100, stopEveryMs: 50, stopGraceMs: 1_500, shouldStop: async () => Date.now() >= askedAt });
    const took = Date.now() - t0;
    // Asked at 0.3 s: the hung calls are waited for 1.5 s more, once (not a grace per call after the stop).
    expect(took).toBeGreaterThanOrEqual(1_750);
    expect(took).toBeLessThan(3_000);
    expect(log.acks).toEqual([]);
    expect(log.failures.count).toBeGreaterThanOrEqual(1);
    expect(log.zookeeper?.failures?.count).toBeGreaterThanOrEqual(1);
  });
});
