/**
 * A backup whose ZooKeeper does not answer: the `backup` command (real CLI, real worker, real
 * Temporal and Kafka; only the spec's ZooKeeper port has nothing listening) stops within 30 s with
 * exit 18, names ZooKeeper, its address and the reason, and says while it runs what it waits for.
 * A ZooKeeper that comes back within a few seconds (a restart) is waited out and the part is taken.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackupSets } from '../../src/backup/parts';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import { openRepositoryForSpec } from '../../src/repository';
import { temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { LIFEBOAT_BIN, lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';

/** A loopback port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Forwards a port to the lab's ZooKeeper: the same server, reachable at another address. */
async function forward(port: number, to: string): Promise<Server> {
  const [host, target] = to.split(':');
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target), host!);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

describe('backup with ZooKeeper down', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-zkdown-'));
  const lab = primarySpec();
  let workers: RunningWorkers;
  let running: Promise<void>;

  const specWith = (name: string, connectString: string): { spec: ClusterSpec; file: string } => {
    const spec: ClusterSpec = {
      ...lab,
      name,
      zookeeper: { ...lab.zookeeper!, connect: connectString },
      repository: { ...lab.repository!, path: join(dir, name) },
      offsiteRepository: undefined,
    };
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(spec));
    return { spec, file };
  };

  beforeAll(async () => {
    workers = await createWorkers({ settings: temporalSettings() });
    running = workers.run();
  });

  afterAll(async () => {
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 18 within 30 s, naming ZooKeeper, its address and what it waited for', async () => {
    const port = await freePort();
    const { file } = specWith(unique('zkdown'), `127.0.0.1:${port}`);
    const t0 = Date.now();
    const r = await lifeboat('backup', '--spec', file, '--parts', 'zookeeper', '--skip-retention');
    const seconds = (Date.now() - t0) / 1000;
    console.log(`backup with ZooKeeper down: exit ${r.code} after ${seconds.toFixed(1)} s\n${r.stderr}`);
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(seconds).toBeLessThan(30);
    const lines = r.stderr.trim().split('\n');
    // The failure: one line naming ZooKeeper, its address and why.
    expect(lines.at(-1)).toMatch(new RegExp(`ZooKeeper 127\\.0\\.0\\.1:${port}.*unreachable for \\d+ s \\(connection refused\\)`));
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    // While it waited, the progress line said what for.
    expect(r.stderr).toMatch(new RegExp(`step: zookeeper — waiting for ZooKeeper 127\\.0\\.0\\.1:${port} \\(connection refused`));
  });

  it('waits out a ZooKeeper that comes back within seconds, and takes the part', async () => {
    const port = await freePort();
    const { spec, file } = specWith(unique('zkblip'), `127.0.0.1:${port}`);
    let proxy: Server | undefined;
    let downMs = 0;
    // Nothing listens (a restarting ZooKeeper) until the command says it waits for it; then the
    // lab's ZooKeeper answers at that address.
    const child = spawn(LIFEBOAT_BIN, ['backup', '--spec', file, '--parts', 'zookeeper', '--skip-retention'], { env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    const t0 = Date.now();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!proxy && new RegExp(`step: zookeeper — waiting for ZooKeeper 127\\.0\\.0\\.1:${port} \\(connection refused\\)`).test(stderr)) {
        downMs = Date.now() - t0;
        void forward(port, lab.zookeeper!.connect).then((s) => (proxy = s));
      }
    });
    try {
      const code = await new Promise<number | null>((r) => child.on('close', r));
      console.log(`ZooKeeper back after ${(downMs / 1000).toFixed(1)} s: exit ${code}\n${stderr}`);
      expect(downMs, stderr).toBeGreaterThan(0);
      // The wait is visible while it lasts (heartbeats are not held back for most of the timeout).
      expect(downMs, stderr).toBeLessThan(8_000);
      expect(code, stderr).toBe(EXIT.OK);
      const repo = await openRepositoryForSpec(spec);
      try {
        const sets = await listBackupSets(repo, spec.name);
        expect(sets).toHaveLength(1);
        expect(sets[0]!.complete).toBe(true);
        expect(String(sets[0]!.snapshots.zookeeper!.extra.summary)).toMatch(/export of \/primary at zxid 0x[0-9a-f]+, [1-9]\d* znodes/);
      } finally {
        await repo.close();
      }
    } finally {
      child.kill();
      await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    }
  });
});
