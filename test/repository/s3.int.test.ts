/**
 * The repository on the lab's S3 server (versitygw): a spec whose repository is s3://bucket/prefix
 * is created by a backup, read back byte for byte (sequential and parallel restore), and the
 * backend's own contract (layout, listing, ranged reads, write-once names) holds on object storage.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { primarySpec } from '../support/lab';
import { cleanS3, labS3, S3_BUCKET, s3Keys, s3Location, s3Prefix, s3Repository } from '../support/s3';
import { initRepository, locationOf, openBackend, openRepository, openRepositoryForSpec, pruneRepository, RepositorySessions, restoreFiles } from '../../src/repository';
import { S3Backend } from '../../src/repository/s3Backend';
import { resolveSecret } from '../../src/config/spec';
import { kafkaLike, PASSWORD, SMALL } from './helpers';
import { RestorePool } from '../../src/repository/restorePool';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'lifeboat-s3-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await cleanS3();
});

describe('repository on S3 (versitygw)', () => {
  it('a backup creates the repository at s3://bucket/prefix; every file comes back identical', async () => {
    const prefix = s3Prefix('spec');
    const spec = { ...primarySpec(), repository: s3Repository(prefix) };
    const notices: string[] = [];
    // A read never creates: the prefix is empty.
    await expect(openRepositoryForSpec(spec, 'primary', { notice: (m) => notices.push(m) })).rejects.toMatchObject({
      type: 'RepositoryNotFound',
      message: expect.stringContaining(`no repository at s3://${spec.repository.path.slice(5)}`),
    });
    expect(await s3Keys(prefix)).toEqual([]);

    const repo = await openRepositoryForSpec(spec, 'primary', { create: true, notice: (m) => notices.push(m) });
    expect(repo.path).toBe(spec.repository.path);
    expect(notices.join('\n')).toContain(`created a new repository at ${spec.repository.path}`);
    const files = new Map<string, Buffer>([
      ['logdirs/b1/t-0/00000000000000000000.log', kafkaLike(5 * 1024 * 1024 + 11, 1)],
      ['logdirs/b1/t-0/00000000000000000000.index', Buffer.alloc(1024 * 1024)],
      ['configs/b1/server.properties', Buffer.from('broker.id=1\n')],
      ['configs/b1/empty', Buffer.alloc(0)],
      ['logdirs/b1/random.bin', randomBytes(700_000)],
    ]);
    const meta = (
      await repo.saveSnapshot({ cluster: spec.name, components: ['logdirs', 'configs'], tags: ['s3'] }, async (w) => {
        for (const [p, d] of files) await w.writeFile(p, d);
      })
    ).meta;
    await repo.close();

    const keys = (await s3Keys(prefix)).map((k) => k.key.slice(prefix.length + 1));
    expect(keys).toContain('config');
    expect(keys.some((k) => /^data\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(k))).toBe(true);
    expect(keys.filter((k) => k.startsWith('snapshots/'))).toEqual([`snapshots/${meta.id}`]);
    expect(keys.filter((k) => k.startsWith('locks/'))).toEqual([]); // released at close

    const again = await openRepositoryForSpec(spec, 'primary', { notice: () => undefined });
    try {
      const reader = await again.openSnapshot('latest', { cluster: spec.name });
      for (const [p, d] of files) expect((await reader.readBuffer(p)).equals(d), p).toBe(true);
      // restoreFiles: its parallel path where there is one, else the sequential one; same bytes either way.
      const target = join(tmp(), 'out');
      const r = await restoreFiles(reader, target);
      expect(r.files).toBe(files.size);
      for (const [p, d] of files) expect(readFileSync(join(target, p)).equals(d), p).toBe(true);
    } finally {
      await again.close();
    }
  });

  it('the backend: local layout under the prefix, paginated listing, ranged reads, write-once names', async () => {
    const where = s3Location();
    const b = openBackend(where);
    try {
      expect(b).toBeInstanceOf(S3Backend);
      await b.init();
      expect(await b.stat('config', 'config')).toBeNull();
      await expect(b.read('index', 'ab'.repeat(32))).rejects.toMatchObject({ code: 'ENOENT' });
      // More than one page of a listing (1000 keys a page): 1100 small lock-like objects.
      const names = Array.from({ length: 1100 }, (_, i) => `l${String(i).padStart(5, '0')}`);
      for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => b.write('locks', n, Buffer.from(n))));
      const listed = await b.list('locks');
      expect(listed.length).toBe(1100);
      expect(listed.every((f) => f.size === 6)).toBe(true);
      const id = createHash('sha256').update('0123456789').digest('hex');
      await b.write('data', id, [Buffer.from('0123'), Buffer.from('456789')]);
      expect(await b.stat('data', id)).toEqual({ size: 10 });
      expect((await b.readRange('data', id, 3, 4)).toString()).toBe('3456');
      expect((await b.readRange('data', id, 8, 10)).toString()).toBe('89'); // short: the object ends
      expect((await b.readRange('data', id, 20, 4)).length).toBe(0);
      expect(await b.list('data')).toEqual([{ name: id, size: 10 }]);
      // Written once: the same name again leaves the object alone (content-addressed, same bytes).
      await b.write('data', id, Buffer.from('0123456789'));
      expect((await b.read('data', id)).toString()).toBe('0123456789');
      // The server checks a content-addressed upload against its name (x-amz-checksum-sha256): bytes
      // that do not match (damaged on the way) are refused and nothing is stored (the signed payload
      // hash, x-amz-content-sha256, is the name too: versitygw names that mismatch first).
      const other = 'cd'.repeat(32);
      await expect(b.write('data', other, Buffer.from('0123456789'))).rejects.toThrow(/do not match their SHA-256 \((BadDigest|XAmzContentSHA256Mismatch)\); nothing was stored/);
      expect(await b.stat('data', other)).toBeNull();
      await b.write('config', 'config', Buffer.from('{}'));
      await expect(b.write('config', 'config', Buffer.from('{"other":1}'))).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('already exists') });
      // Lock files are rewritten (refresh).
      await b.write('locks', names[0]!, Buffer.from('refreshed'));
      expect((await b.read('locks', names[0]!)).toString()).toBe('refreshed');
      await b.remove('data', id);
      expect(await b.stat('data', id)).toBeNull();
      await b.remove('data', id); // removing what is gone is fine
    } finally {
      await b.close();
    }
  }, 120_000);

  it('two inits racing for one prefix: one repository, the other told it exists', async () => {
    const where = s3Location();
    const results = await Promise.allSettled([initRepository(where, PASSWORD, SMALL), initRepository(where, PASSWORD, SMALL)]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect(f.reason).toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('already exists') });
    for (const r of ok) await (r as PromiseFulfilledResult<Awaited<ReturnType<typeof initRepository>>>).value.close();
    const repo = await openRepository(where, PASSWORD, SMALL);
    const configs = (await s3Keys(where.prefix)).filter((k) => k.key.endsWith('/config'));
    expect(configs.length).toBe(1);
    // Whichever won, its key opens the repository.
    expect(repo.config.version).toBeGreaterThan(0);
    await repo.close();
  });

  it('restore from S3: chunks of a pack come in coalesced ranged reads, each verified; an altered or cut object is CorruptBackup', async () => {
    const where = s3Location();
    const repo = await initRepository(where, PASSWORD, SMALL);
    const data = kafkaLike(3 * 1024 * 1024, 7);
    const { meta } = await repo.saveSnapshot({ cluster: 'c', components: ['logdirs'] }, async (w) => {
      await w.writeFile('logdirs/a.log', data);
    });
    const reader = await repo.openSnapshot(meta.id);
    const chunks = (reader as unknown as { chunksOf(p: string): string[] }).chunksOf('logdirs/a.log').length;
    const session = (await reader.parallelRestore!(2))!;
    expect(session).not.toBeNull();
    let reads = 0;
    const real = repo.backend.readRange.bind(repo.backend);
    repo.backend.readRange = (...a) => (reads++, real(...a));
    // The restore reads into its own buffers where the backend can (S3 does): count those reads too.
    const realInto = repo.backend.readRangeInto!.bind(repo.backend);
    repo.backend.readRangeInto = (...a) => (reads++, realInto(...a));
    const tasksBefore = RestorePool.tasksDone;
    try {
      expect((await session.readBuffer('logdirs/a.log')).equals(data)).toBe(true);
      const target = join(tmp(), 'a.log');
      const r = await restoreFiles(reader, join(target, '..', 'out'), { workers: 2 });
      expect(r.files).toBe(1);
      expect(readFileSync(join(target, '..', 'out', 'logdirs/a.log')).equals(data)).toBe(true);
    } finally {
      repo.backend.readRange = real;
      repo.backend.readRangeInto = realInto;
    }
    // One read per pack at most (~13 packs of 256 KiB for dozens of chunks), twice over (readBuffer, then restoreFiles).
    expect(chunks).toBeGreaterThan(30);
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThan(chunks);
    // The chunks were opened, verified and written by the restore workers, not on this thread.
    expect(RestorePool.tasksDone - tasksBefore).toBeGreaterThanOrEqual(reads);
    await session.close();

    // The largest pack altered behind the repository's back, then cut short: both named as damage.
    const packs = (await s3Keys(where.prefix)).filter((k) => k.key.includes('/data/')).sort((a, b) => b.size - a.size);
    const key = packs[0]!.key;
    const original = await repo.backend.read('data', key.split('/').pop()!);
    const c = labS3();
    try {
      const flipped = Buffer.from(original);
      flipped[Math.floor(flipped.length / 3)]! ^= 0x10;
      await c.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: key, Body: flipped }));
      await expect(restoreFiles(reader, join(tmp(), 'x'), { workers: 2 })).rejects.toMatchObject({ type: 'CorruptBackup', message: expect.stringMatching(/fails authentication|does not match/) });
      await c.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: key, Body: original.subarray(0, original.length >> 1) }));
      await expect(restoreFiles(reader, join(tmp(), 'y'), { workers: 2 })).rejects.toMatchObject({ type: 'CorruptBackup', message: expect.stringContaining('truncated') });
      await expect(reader.readBuffer('logdirs/a.log')).rejects.toMatchObject({ type: 'CorruptBackup' });
    } finally {
      c.destroy();
      await repo.close();
    }
  });

  it('a worker session opens an S3 repository once (one unlock), a handle per activity', async () => {
    const section = s3Repository();
    const where = locationOf(section);
    await (await initRepository(where, resolveSecret(section.password), SMALL)).close();
    const sessions = new RepositorySessions();
    const a = await sessions.open(locationOf(section), resolveSecret(section.password), { notice: () => undefined });
    const b = await sessions.open(locationOf(section), resolveSecret(section.password), { notice: () => undefined });
    expect(sessions.all()).toHaveLength(1);
    expect(sessions.all()[0]!.stats.unlocks).toBe(1);
    expect(a.path).toBe(section.path);
    await a.close();
    await b.close();
    await expect(sessions.open(locationOf(section), 'wrong', { notice: () => undefined })).rejects.toMatchObject({ type: 'WrongPassword' });
  });

  it('big objects go up in parts; prune aborts the multipart uploads interrupted writes left', async () => {
    const where = s3Location();
    const repo = await initRepository(where, PASSWORD, SMALL);
    const b = repo.backend;
    const big = randomBytes(65 * 1024 * 1024 + 5);
    const id = 'ef'.repeat(32);
    await b.write('data', id, [big.subarray(0, 1000), big.subarray(1000)]);
    expect(await b.stat('data', id)).toEqual({ size: big.length });
    expect((await b.readRange('data', id, big.length - 10, 10)).equals(big.subarray(big.length - 10))).toBe(true);
    await b.remove('data', id);
    // An upload a killed writer started and never completed: invisible, and gone after prune.
    const c = labS3();
    try {
      const key = `${where.prefix}/data/aa/${'aa'.repeat(32)}`;
      const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: S3_BUCKET, Key: key }));
      await c.send(new UploadPartCommand({ Bucket: S3_BUCKET, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1024) }));
      expect(await b.list('data')).toEqual([]);
      const r = await pruneRepository(repo, {});
      expect(r.temporariesRemoved).toBeGreaterThanOrEqual(1);
      const left = await c.send(new ListMultipartUploadsCommand({ Bucket: S3_BUCKET, Prefix: `${where.prefix}/` }));
      expect(left.Uploads ?? []).toEqual([]);
    } finally {
      c.destroy();
      await repo.close();
    }
  }, 120_000);
});
