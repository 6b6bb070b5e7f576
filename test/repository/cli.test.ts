import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, openSync, readSync, writeSync, closeSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifeboatWith } from '../support/cli';
import { kafkaLike, tempDir } from './helpers';

const lifeboat = (args: string[], password = 'cli-pw') => lifeboatWith({ LIFEBOAT_PASSWORD: password }, 'repo', ...args);

describe('lifeboat repo (CLI)', () => {
  it('backs up, lists, checks, restores; stable exit codes for wrong password, damage and unsafe targets', async () => {
    const base = tempDir('cli');
    const repo = join(base, 'repo');
    const src = join(base, 'src');
    mkdirSync(join(src, 'orders-0'), { recursive: true });
    writeFileSync(join(src, 'orders-0', '00000000000000000000.log'), kafkaLike(600_000));
    writeFileSync(join(src, 'server.properties'), 'broker.id=1\n');

    expect((await lifeboat(['init', '--repo', repo])).code).toBe(0);
    const b = await lifeboat(['backup', src, '--repo', repo, '--cluster', 'prod', '--as', 'logdirs/b1', '--json']);
    expect(b.code, b.stderr).toBe(0);
    const meta = JSON.parse(b.stdout.trim().split('\n').pop()!);
    expect(meta).toMatchObject({ cluster: 'prod', components: ['logdirs'], summary: { files: 2 } });

    const list = await lifeboat(['snapshots', '--repo', repo, '--json']);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((s) => s.id)).toEqual([meta.id]);
    expect((await lifeboat(['snapshots', '--repo', repo], 'wrong')).code).toBe(12);
    expect((await lifeboat(['snapshots', '--repo', join(base, 'nope')])).code).toBe(10);
    expect((await lifeboat(['restore-files', 'abcdef12', '--repo', repo, '--target', join(base, 'x')])).code).toBe(14);

    const out = join(base, 'out');
    const r = await lifeboat(['restore-files', 'latest', '--repo', repo, '--target', out, '--include', 'logdirs/b1', '--strip', 'logdirs/b1']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'orders-0', '00000000000000000000.log')).equals(kafkaLike(600_000))).toBe(true);
    expect((await lifeboat(['restore-files', 'latest', '--repo', repo, '--target', out, '--include', 'logdirs/b1', '--strip', 'logdirs/b1'])).code).toBe(15);

    expect((await lifeboat(['check', '--repo', repo, '--read-data'])).code).toBe(0);
    const packDir = join(repo, 'data', readdirSync(join(repo, 'data'))[0]!);
    const pack = join(packDir, readdirSync(packDir)[0]!);
    const fd = openSync(pack, 'r+');
    const at = Math.floor(statSync(pack).size / 2);
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 1;
    writeSync(fd, byte, 0, 1, at);
    closeSync(fd);
    const c = await lifeboat(['check', '--repo', repo, '--read-data']);
    expect(c.code).toBe(13);
    expect(c.stdout).toContain(meta.id.slice(0, 12));
  }, 180_000); // spawns the CLI ~20 times: slow on a loaded machine

  it('backup reads a file again when its ctime changed under the same size and mtime; --ignore-inode --ignore-ctime do not look', async () => {
    const base = tempDir('cli-reuse');
    const repo = join(base, 'repo');
    const src = join(base, 'src');
    const file = join(src, '00000000000000000000.log');
    mkdirSync(src, { recursive: true });
    const [a, b, c] = [randomBytes(100_000), randomBytes(100_000), randomBytes(100_000)];
    writeFileSync(file, a);
    const { atime, mtime } = statSync(file);
    /** Rewritten in place, its mtime set back: only the ctime tells. */
    const rewrite = (content: Buffer) => {
      writeFileSync(file, content);
      utimesSync(file, atime, mtime);
    };
    const backup = async (...more: string[]) => {
      const r = await lifeboat(['backup', src, '--repo', repo, '--cluster', 'prod', '--as', 'logdirs/b1', '--json', ...more]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { id: string; summary: { newBytes: number } };
    };
    const stored = async (id: string) => {
      const out = join(base, `out-${id}`);
      expect((await lifeboat(['restore-files', id, '--repo', repo, '--target', out, '--include', 'logdirs/b1', '--strip', 'logdirs/b1'])).code).toBe(0);
      return readFileSync(join(out, '00000000000000000000.log'));
    };
    expect((await lifeboat(['init', '--repo', repo])).code).toBe(0);
    await backup();
    rewrite(b);
    const strict = await backup();
    expect(strict.summary.newBytes).toBeGreaterThan(0);
    expect((await stored(strict.id)).equals(b)).toBe(true);
    rewrite(c);
    // As the operator asked: size and mtime alone, so the rewritten file passes for unchanged.
    const lax = await backup('--ignore-inode', '--ignore-ctime');
    expect(lax.summary.newBytes).toBe(0);
    expect((await stored(lax.id)).equals(b)).toBe(true);
  }, 180_000); // spawns the CLI ~20 times: slow on a loaded machine
});
