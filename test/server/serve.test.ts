/**
 * `bin/lifeboat serve` as a process: refuses to start without its config, listens, answers while
 * Temporal is down (healthz 503, 401 without the token), and exits 0 on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LIFEBOAT_BIN, lifeboat } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('lifeboat serve', () => {
  it('without --config, or with a config without a token: one line, exit 2', async () => {
    const none = await lifeboat('serve');
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/--config <receiver.yaml> is required/);
    writeFileSync(join(dir, 'no-token.yaml'), 'clusters: [primary]\n');
    const noToken = await lifeboat('serve', '--config', join(dir, 'no-token.yaml'));
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/token: /);
    const badListen = await lifeboat('serve', '--config', join(dir, 'no-token.yaml'), '--listen', 'nowhere');
    expect(badListen.code).toBe(2);
    expect(badListen.stderr).toMatch(/--listen must be host:port/);
  }, 120_000);

  it('listens, answers while Temporal is down, and stops on SIGTERM with exit 0', async () => {
    writeFileSync(join(dir, 'token'), 'serve-test-token\n');
    writeFileSync(join(dir, 'r.yaml'), 'token: {file: token}\nclusters: [primary]\ntemporalTimeoutSeconds: 2\n');
    const [port, temporalPort] = [await freePort(), await freePort()];
    const child = spawn(LIFEBOAT_BIN, ['serve', '--config', join(dir, 'r.yaml'), '--listen', `127.0.0.1:${port}`], {
      env: { ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const end = Date.now() + 60_000;
      while (!out.includes('"event":"listening"')) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`serve did not start: ${err}${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(503);
      const unauth = await fetch(`http://127.0.0.1:${port}/v1/alerts/generic`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(unauth.status).toBe(401);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const events = out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { event: string }).event);
      expect(events).toEqual(['listening', 'unauthorized', 'stopping', 'stopped']);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
