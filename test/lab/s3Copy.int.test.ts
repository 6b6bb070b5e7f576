/**
 * A local repository copied to the lab's S3 server with the CLI (`repo copy --to s3://...`, rate
 * limited), restored from S3 (`repo restore-files`, the parallel ranged-read path) byte-identical
 * to the source files; `repo check --read-data` on S3 finds nothing wrong.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lifeboatWith } from '../support/cli';
import { cleanS3, S3_BUCKET, S3_ENDPOINT, s3Credentials, s3Keys, s3Prefix } from '../support/s3';
import { kafkaLike } from '../../bench/repositoryData';

const work = mkdtempSync(join(tmpdir(), 'lifeboat-s3copy-'));
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await cleanS3();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = s3Credentials();
  return lifeboatWith({ LIFEBOAT_PASSWORD: 'copy-test', AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_ENDPOINT_URL: S3_ENDPOINT }, ...args);
}

describe('copy local → S3 → restore', () => {
  it('restores from S3 byte-identical to what was backed up locally; --limit-rate holds on the upload', async () => {
    const src = join(work, 'src');
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 4; i++) files.set(`t-${i}/00000000000000000000.log`, kafkaLike(3 * 1024 * 1024 + i, i));
    files.set('t-0/00000000000000000000.index', Buffer.alloc(2 * 1024 * 1024));
    files.set('random.bin', randomBytes(3 * 1024 * 1024));
    files.set('empty', Buffer.alloc(0));
    for (const [p, d] of files) {
      mkdirSync(join(src, p, '..'), { recursive: true });
      writeFileSync(join(src, p), d);
    }
    const local = join(work, 'repo');
    const prefix = s3Prefix('copy');
    const s3 = `s3://${S3_BUCKET}/${prefix}`;
    expect((await cli(['repo', 'init', '--repo', local])).code).toBe(0);
    const backup = await cli(['repo', 'backup', src, '--repo', local, '--cluster', 'c', '--as', 'logdirs/b1']);
    expect(backup.code, backup.stderr).toBe(0);
    const init = await cli(['repo', 'init', '--repo', s3, '--json']);
    expect(init.code, init.stderr).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ created: s3 });

    const rate = 2 * 1024 * 1024;
    const t0 = Date.now();
    const copy = await cli(['repo', 'copy', '--repo', local, '--to', s3, '--limit-rate', '2M', '--json']);
    const seconds = (Date.now() - t0) / 1000;
    expect(copy.code, copy.stderr).toBe(0);
    const result = JSON.parse(copy.stdout) as { copied: unknown[]; bytesWritten: number };
    expect(result.copied).toHaveLength(1);
    expect(result.bytesWritten).toBeGreaterThan(4 * 1024 * 1024);
    // The limiter lets the first pack go at once; the rest waits for the rate (≥ 1 s of slack for a pack).
    expect(seconds).toBeGreaterThanOrEqual(result.bytesWritten / rate - 1.5);
    expect((await s3Keys(prefix)).filter((k) => k.key.startsWith(`${prefix}/snapshots/`))).toHaveLength(1);

    const target = join(work, 'restored');
    const restore = await cli(['repo', 'restore-files', 'latest', '--repo', s3, '--target', target, '--json']);
    expect(restore.code, restore.stderr).toBe(0);
    for (const [p, d] of files) expect(readFileSync(join(target, 'logdirs/b1', p)).equals(d), p).toBe(true);

    const check = await cli(['repo', 'check', '--read-data', '--repo', s3]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 170_000);
});
