/**
 * Bad input and failures on S3, against the lab's versitygw: wrong credentials, a missing bucket and
 * an unreachable server are one line each with their exit codes; a server that goes away in the
 * middle of a backup's upload leaves nothing visible half-written and the re-run completes, storing
 * only what is missing; a lock dated ahead of this machine's clock is named as a clock skew.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { lifeboatWith } from '../support/cli';
import { primarySpec } from '../support/lab';
import { cleanS3, S3_BUCKET, S3_ENDPOINT, s3Credentials, s3Keys, s3Location, s3Prefix, s3Repository } from '../support/s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRepository, copySnapshots, initRepository, openBackend, openRepository, openRepositoryForSpec } from '../../src/repository';
import { EXIT } from '../../src/errors';
import { kafkaLike, PASSWORD, SMALL } from './helpers';

const work = mkdtempSync(join(tmpdir(), 'lifeboat-s3err-'));
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await cleanS3();
});

/** Runs the CLI with the lab's S3 server (or `env` over it) in AWS_* variables. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = s3Credentials();
  return lifeboatWith({ LIFEBOAT_PASSWORD: PASSWORD, AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_ENDPOINT_URL: S3_ENDPOINT, ...env }, ...args);
}
const oneLine = (stderr: string): string[] => stderr.trim().split('\n');

/** A TCP proxy to the S3 server that goes away (every connection cut, the port closed) after `after` bytes sent to it. */
async function dyingProxy(after: number): Promise<{ endpoint: string; sent: () => number; gone: Promise<void> }> {
  const target = new URL(S3_ENDPOINT);
  const sockets = new Set<Socket>();
  let sent = 0;
  let die: () => void = () => undefined;
  const gone = new Promise<void>((resolve) => (die = resolve));
  const server: Server = createServer((client) => {
    const up = connect(Number(target.port), target.hostname);
    sockets.add(client).add(up);
    client.on('data', (d: Buffer) => {
      sent += d.length;
      if (sent > after) {
        server.close();
        for (const s of sockets) s.destroy();
        die();
        return;
      }
      up.write(d);
    });
    up.on('data', (d: Buffer) => client.write(d));
    const end = () => {
      client.destroy();
      up.destroy();
    };
    client.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent: () => sent, gone };
}

describe('S3: bad input and failures', () => {
  it('wrong credentials: one line, exit code of a wrong password, nothing written', async () => {
    const prefix = s3Prefix('creds');
    const url = `s3://${S3_BUCKET}/${prefix}`;
    const r = await cli(['repo', 'init', '--repo', url], { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    expect(r.code, r.stderr).toBe(EXIT.WRONG_PASSWORD);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/refused the credentials for s3:\/\/.* \(SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied|HTTP 403/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const unknown = await cli(['repo', 'snapshots', '--repo', url], { AWS_ACCESS_KEY_ID: 'nobody' });
    expect(unknown.code, unknown.stderr).toBe(EXIT.WRONG_PASSWORD);
    expect(oneLine(unknown.stderr)).toHaveLength(1);
    expect(await s3Keys(prefix)).toEqual([]);
  });

  it('a missing bucket: RepositoryNotFound naming the bucket, for init and for reads', async () => {
    const bucket = `no-such-${randomUUID().slice(0, 8)}`;
    // A spec's repository in a missing bucket: a backup (create) is told so too, and nothing is made.
    const spec = { ...primarySpec(), repository: { ...s3Repository(), path: `s3://${bucket}/x` } };
    for (const create of [false, true]) {
      await expect(openRepositoryForSpec(spec, 'primary', { create, notice: () => undefined })).rejects.toMatchObject({
        type: 'RepositoryNotFound',
        message: expect.stringMatching(new RegExp(`^no bucket "${bucket}" on http://127\\.0\\.0\\.1:\\d+ \\(for s3://${bucket}/x\\): create it`)),
      });
    }
    for (const cmd of [['repo', 'init'], ['repo', 'snapshots']]) {
      const r = await cli([...cmd, '--repo', `s3://${bucket}/x`]);
      expect(r.code, r.stderr).toBe(EXIT.REPOSITORY_NOT_FOUND);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(`no bucket "${bucket}"`);
    }
  });

  it('an unreachable server: Unreachable (retryable), one line', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const r = await cli(['repo', 'snapshots', '--repo', `s3://${S3_BUCKET}/x`], { AWS_ENDPOINT_URL: `http://127.0.0.1:${closed}` });
    expect(r.code, r.stderr).toBe(EXIT.UNREACHABLE);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/S3 server http:\/\/127\.0\.0\.1:\d+ failed while .*ECONNREFUSED/);
  });

  it('the server goes away mid-upload: nothing visible half-written, the re-run completes with what is missing', async () => {
    const prefix = s3Prefix('gone');
    const direct = s3Location(prefix);
    await (await initRepository(direct, PASSWORD, SMALL)).close();
    const files = Array.from({ length: 6 }, (_, i) => [`logdirs/p${i}.log`, i % 2 ? randomBytes(400_000) : kafkaLike(400_000, i)] as const);
    const total = files.reduce((n, [, d]) => n + d.length, 0);

    // Through a proxy that dies once ~1 MB went up (a few 256 KiB packs of the ~2.4 MB).
    const proxy = await dyingProxy(1_000_000);
    const viaProxy = await openRepository(s3Location(prefix, { endpoint: proxy.endpoint }), PASSWORD, SMALL);
    const err = await viaProxy
      .saveSnapshot({ cluster: 'c', components: ['logdirs'] }, async (w) => {
        for (const [p, d] of files) await w.writeFile(p, d);
      })
      .catch((e: unknown) => e);
    await proxy.gone;
    expect(err).toMatchObject({ type: 'Unreachable', message: expect.stringContaining(`S3 server ${proxy.endpoint} failed while`) });
    expect((err as Error).message.split('\n')).toHaveLength(1);
    await viaProxy.close().catch(() => undefined); // its lock cannot be released through the dead proxy

    // No snapshot; every object there is whole (a PUT is all or nothing): each pack hashes to its name.
    const keys = await s3Keys(prefix);
    expect(keys.filter((k) => k.key.includes('/snapshots/'))).toEqual([]);
    const packs = keys.filter((k) => k.key.includes('/data/'));
    expect(packs.length).toBeGreaterThanOrEqual(1);
    const b = openBackend(direct);
    for (const k of packs) {
      const name = k.key.split('/').pop()!;
      expect(createHash('sha256').update(await b.read('data', name)).digest('hex')).toBe(name);
    }
    await b.close();

    // The re-run (server back; the dead run's shared lock does not stand in its way) reuses the packs that landed and stores only the rest.
    const repo = await openRepository(direct, PASSWORD, SMALL);
    const { meta } = await repo.saveSnapshot({ cluster: 'c', components: ['logdirs'] }, async (w) => {
      for (const [p, d] of files) await w.writeFile(p, d);
    });
    expect(meta.summary.bytes).toBe(total);
    expect(meta.summary.newBytes).toBeLessThan(total);
    const reader = await repo.openSnapshot(meta.id);
    for (const [p, d] of files) expect((await reader.readBuffer(p)).equals(d), p).toBe(true);
    expect((await checkRepository(repo, { readData: true })).problems).toEqual([]);
    await repo.close();
  }, 120_000);

  it('a copy to S3 cut off by the server going away resumes: the next copy reuses the packs that landed', async () => {
    const local = await initRepository(join(work, 'src'), PASSWORD, SMALL);
    const files = Array.from({ length: 6 }, (_, i) => [`logdirs/p${i}.log`, randomBytes(300_000)] as const);
    const { meta } = await local.saveSnapshot({ cluster: 'c', components: ['logdirs'] }, async (w) => {
      for (const [p, d] of files) await w.writeFile(p, d);
    });
    const prefix = s3Prefix('copy-gone');
    await (await initRepository(s3Location(prefix), PASSWORD, SMALL)).close();
    const proxy = await dyingProxy(800_000);
    const viaProxy = await openRepository(s3Location(prefix, { endpoint: proxy.endpoint }), PASSWORD, SMALL);
    await expect(copySnapshots(local, viaProxy)).rejects.toMatchObject({ type: 'Unreachable' });
    await viaProxy.close().catch(() => undefined);
    const dst = await openRepository(s3Location(prefix), PASSWORD, SMALL);
    expect(await dst.snapshots()).toEqual([]);
    const res = await copySnapshots(local, dst);
    expect(res.reusedPacks).toBeGreaterThanOrEqual(1);
    expect(res.copied.map((c) => c.id)).toEqual([meta.id]);
    const reader = await dst.openSnapshot('latest');
    for (const [p, d] of files) expect((await reader.readBuffer(p)).equals(d), p).toBe(true);
    await dst.close();
    await local.close();
  }, 120_000);

  it('a lock dated ahead of this clock names the skew', async () => {
    const where = s3Location();
    const repo = await initRepository(where, PASSWORD, SMALL);
    const b = openBackend(where);
    const ahead = new Date(Date.now() + 2 * 3600_000).toISOString();
    await b.write('locks', 'skewed', Buffer.from(JSON.stringify({ host: 'elsewhere', pid: 1, time: ahead, exclusive: true, purpose: 'prune' })));
    await expect(repo.openSnapshot('latest')).rejects.toMatchObject({
      type: 'Locked',
      message: expect.stringMatching(/locked exclusively by prune .*its time is 120 min ahead of this machine's clock: the clock of elsewhere or of this machine is wrong/),
    });
    await b.remove('locks', 'skewed');
    await b.close();
    await repo.close();
  });

  it("a clock far ahead of the server's: locks are dated and judged by the server's clock, a live lock is not broken", async () => {
    const where = s3Location();
    await (await initRepository(where, PASSWORD, SMALL)).close();
    const b = openBackend(where);
    // Another host's live exclusive lock, refreshed 10 minutes ago (by a right clock).
    const live = { host: 'elsewhere', pid: 1, time: new Date(Date.now() - 10 * 60_000).toISOString(), exclusive: true, purpose: 'prune' };
    await b.write('locks', 'live', Buffer.from(JSON.stringify(live)));
    const real = Date.now.bind(Date);
    const ahead = vi.spyOn(Date, 'now').mockImplementation(() => real() + 45 * 60_000); // this machine 45 min ahead
    const notices: string[] = [];
    try {
      const repo = await openRepository(where, PASSWORD, { ...SMALL, notice: (m) => notices.push(m) });
      // By this clock the lock is 55 min old (stale); by the server's, 10 min (live): it stands.
      await expect(repo.openSnapshot('latest')).rejects.toMatchObject({ type: 'Locked', message: expect.stringContaining('locked exclusively by prune (pid 1 on elsewhere') });
      await repo.close();
    } finally {
      ahead.mockRestore();
    }
    expect(notices.join('\n')).toMatch(/this machine's clock is 45 min ahead of the storage server's \(s3:\/\/.*\): locks there are dated and judged by the server's clock; set this clock \(NTP\)/);
    expect(await b.stat('locks', 'live')).not.toBeNull();
    await b.close();
  });
});
