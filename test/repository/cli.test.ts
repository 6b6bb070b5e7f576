import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, openSync, readSync, writeSync, closeSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaLike, tempDir } from './helpers';

const ROOT = resolve(__dirname, '../..');
function lifeboat(args: string[], password = 'cli-pw') {
  const r = spawnSync(join(ROOT, 'bin/lifeboat'), ['repo', ...args], { env: { ...process.env, LIFEBOAT_PASSWORD: password }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('lifeboat repo (CLI)', () => {
  it('backs up, lists, checks, restores; stable exit codes for wrong password, damage and unsafe targets', () => {
    const base = tempDir('cli');
    const repo = join(base, 'repo');
    const src = join(base, 'src');
    mkdirSync(join(src, 'orders-0'), { recursive: true });
    writeFileSync(join(src, 'orders-0', '00000000000000000000.log'), kafkaLike(600_000));
    writeFileSync(join(src, 'server.properties'), 'broker.id=1\n');

    expect(lifeboat(['init', '--repo', repo]).code).toBe(0);
    const b = lifeboat(['backup', src, '--repo', repo, '--cluster', 'prod', '--as', 'logdirs/b1', '--json']);
    expect(b.code, b.stderr).toBe(0);
    const meta = JSON.parse(b.stdout.trim().split('\n').pop()!);
    expect(meta).toMatchObject({ cluster: 'prod', components: ['logdirs'], summary: { files: 2 } });

    const list = lifeboat(['snapshots', '--repo', repo, '--json']);
    expect(list.stdout.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual([meta.id]);
    expect(lifeboat(['snapshots', '--repo', repo], 'wrong').code).toBe(12);
    expect(lifeboat(['snapshots', '--repo', join(base, 'nope')]).code).toBe(10);
    expect(lifeboat(['restore-files', 'abcdef12', '--repo', repo, '--target', join(base, 'x')]).code).toBe(14);

    const out = join(base, 'out');
    const r = lifeboat(['restore-files', 'latest', '--repo', repo, '--target', out, '--include', 'logdirs/b1', '--strip', 'logdirs/b1']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'orders-0', '00000000000000000000.log')).equals(kafkaLike(600_000))).toBe(true);
    expect(lifeboat(['restore-files', 'latest', '--repo', repo, '--target', out, '--include', 'logdirs/b1', '--strip', 'logdirs/b1']).code).toBe(15);

    expect(lifeboat(['check', '--repo', repo, '--read-data']).code).toBe(0);
    const packDir = join(repo, 'data', readdirSync(join(repo, 'data'))[0]!);
    const pack = join(packDir, readdirSync(packDir)[0]!);
    const fd = openSync(pack, 'r+');
    const at = Math.floor(statSync(pack).size / 2);
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 1;
    writeSync(fd, byte, 0, 1, at);
    closeSync(fd);
    const c = lifeboat(['check', '--repo', repo, '--read-data']);
    expect(c.code).toBe(13);
    expect(c.stdout).toContain(meta.id.slice(0, 12));
  }, 60_000);
});
