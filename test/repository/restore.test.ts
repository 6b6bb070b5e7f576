import { mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openRepository, restoreFiles, type FileEntry, type SnapshotReader } from '../../src/repository';
import { RestorePool } from '../../src/repository/restorePool';
import { PASSWORD, damageLargestPack, kafkaLike, tempDir, tempRepo, packFiles, withoutWorkers } from './helpers';

/** A reader serving hand-made entries, as a tampered or hostile snapshot would list them. */
function hostileReader(entries: FileEntry[]): SnapshotReader {
  return {
    meta: { id: 'f'.repeat(64), time: '', cluster: 'x', hostname: 'h', components: [], tags: [], points: {}, extra: {}, summary: { files: 0, bytes: 0, newBytes: 0, durationMs: 0 } },
    list: () => entries,
    exists: () => true,
    readFile: () => Readable.from([Buffer.from('evil')]),
    readBuffer: async () => Buffer.from('evil'),
    readJson: async () => ({}) as never,
  };
}
const file = (path: string): FileEntry => ({ path, type: 'file', size: 4, mode: 0o644, mtime: new Date().toISOString() });

describe('restore-files', () => {
  it('restores files, modes, times and safe symlinks; refuses to overwrite unless told', async () => {
    const repo = await tempRepo();
    const w = await repo.newSnapshot({ cluster: 'c', components: ['configs'] });
    const mtime = new Date('2024-01-02T03:04:05Z');
    await w.writeFile('configs/b1/server.properties', Buffer.from('broker.id=1\n'), { mode: 0o600, mtime });
    await w.writeFile('configs/b1/big.log', kafkaLike(500_000));
    w.writeSymlink('configs/b1/current', 'server.properties');
    w.writeDir('configs/b1/empty');
    await w.commit();
    const r = await repo.openSnapshot('latest');
    const target = join(tempDir('restore'), 't');
    const res = await restoreFiles(r, target, { include: 'configs/b1', stripPrefix: 'configs/b1' });
    expect(res).toMatchObject({ files: 2, symlinks: 1, dirs: 1, bytes: 12 + 500_000 });
    expect(readFileSync(join(target, 'server.properties'), 'utf8')).toBe('broker.id=1\n');
    expect(statSync(join(target, 'server.properties')).mode & 0o777).toBe(0o600);
    expect(statSync(join(target, 'server.properties')).mtime.toISOString()).toBe(mtime.toISOString());
    expect(readFileSync(join(target, 'big.log')).equals(kafkaLike(500_000))).toBe(true);
    expect(readlinkSync(join(target, 'current'))).toBe('server.properties');
    expect(statSync(join(target, 'empty')).isDirectory()).toBe(true);
    expect(readdirSync(target).filter((n) => n.includes('lifeboat-restore'))).toEqual([]);

    writeFileSync(join(target, 'server.properties'), 'changed');
    await expect(restoreFiles(r, target, { include: 'configs/b1', stripPrefix: 'configs/b1' })).rejects.toMatchObject({ type: 'UnsafeTarget', message: expect.stringContaining('--overwrite') });
    expect(readFileSync(join(target, 'server.properties'), 'utf8')).toBe('changed');
    await restoreFiles(r, target, { include: 'configs/b1', stripPrefix: 'configs/b1', overwrite: true });
    expect(readFileSync(join(target, 'server.properties'), 'utf8')).toBe('broker.id=1\n');
    await repo.close();
  });

  it('refuses entries that escape the target: "..", absolute paths, symlinks out, symlinked directories', async () => {
    const base = tempDir('escape');
    const target = join(base, 't');
    for (const bad of ['../outside', 'a/../../outside', '/etc/passwd', 'a//b', './a']) {
      await expect(restoreFiles(hostileReader([file(bad)]), target)).rejects.toMatchObject({ type: 'UnsafeTarget', exitCode: 15 });
    }
    const link = (linkTarget: string): FileEntry => ({ path: 'a/link', type: 'symlink', size: 0, mode: 0o777, mtime: new Date().toISOString(), linkTarget });
    for (const t of ['/etc', '../../x', '../..']) {
      await expect(restoreFiles(hostileReader([link(t)]), target)).rejects.toMatchObject({ type: 'UnsafeTarget', message: expect.stringContaining('points outside') });
    }
    // an existing symlink in the target that leads out must not be written through
    mkdirSync(target, { recursive: true });
    const outside = join(base, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(target, 'sub'));
    await expect(restoreFiles(hostileReader([file('sub/x')]), target)).rejects.toMatchObject({ type: 'UnsafeTarget' });
    expect(existsSync(join(outside, 'x'))).toBe(false);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses unsafe paths at backup time too', async () => {
    const repo = await tempRepo();
    const w = await repo.newSnapshot({ cluster: 'c', components: ['configs'] });
    await expect(w.writeFile('../x', Buffer.from('x'))).rejects.toMatchObject({ type: 'UnsafeTarget' });
    await expect(w.writeFile('/abs', Buffer.from('x'))).rejects.toMatchObject({ type: 'UnsafeTarget' });
    await w.abort();
    await repo.close();
  });
});



/** Files of every shape: many chunks over several packs, one chunk, empty, incompressible, repeated content. */
async function shapes() {
  const repo = await tempRepo();
  const files: Record<string, Buffer> = {
    'logdirs/b1/p-0/00.log': kafkaLike(900_000, 1),
    'logdirs/b1/p-0/00.index': Buffer.alloc(70_000),
    'logdirs/b1/p-1/00.log': kafkaLike(400_000, 2),
    'logdirs/b1/p-1/empty': Buffer.alloc(0),
    'logdirs/b1/random.bin': randomBytes(200_000),
    // > 8 MiB: split into several worker tasks, written at their offsets (repeated blocks: chunks reused at many offsets)
    'logdirs/b1/p-3/big.log': Buffer.concat(Array.from({ length: 10 }, (_, i) => kafkaLike(1024 * 1024, i % 3))),
    'logdirs/b1/small.properties': Buffer.from('broker.id=1\n'),
  };
  files['logdirs/b1/p-2/copy.log'] = files['logdirs/b1/p-0/00.log']!; // every chunk shared with another file
  const w = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
  const mtime = new Date('2024-05-06T07:08:09Z');
  for (const [path, data] of Object.entries(files)) await w.writeFile(path, data, { mode: 0o640, mtime });
  const meta = await w.commit();
  return { repo, files, meta, mtime };
}

describe('restore-files through worker threads', () => {
  it('restores every file byte-identical with its mode and time', async () => {
    const { repo, files, mtime } = await shapes();
    expect(packFiles(repo).length).toBeGreaterThan(3); // chunks spread over packs: reads cross pack boundaries
    const r = await repo.openSnapshot('latest');
    const target = join(tempDir('restore-pool'), 't');
    const tasksBefore = RestorePool.tasksDone;
    const res = await restoreFiles(r, target, { include: 'logdirs/b1', stripPrefix: 'logdirs/b1', workers: 2 });
    // The worker threads did the reading: the silent fallback to the calling thread did not run.
    // (Every file is at least one task; the > 8 MiB one is several.)
    expect(RestorePool.tasksDone - tasksBefore).toBeGreaterThanOrEqual(Object.keys(files).filter((f) => files[f]!.length > 0).length);
    expect(res.files).toBe(Object.keys(files).length);
    expect(res.bytes).toBe(Object.values(files).reduce((n, b) => n + b.length, 0));
    for (const [path, data] of Object.entries(files)) {
      const out = join(target, path.slice('logdirs/b1/'.length));
      expect(readFileSync(out).equals(data), path).toBe(true);
      expect(statSync(out).mode & 0o777).toBe(0o640);
      expect(statSync(out).mtime.toISOString()).toBe(mtime.toISOString());
    }
    const left = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? left(join(d, e.name)) : e.name.includes('lifeboat-restore') ? [e.name] : []));
    expect(left(target)).toEqual([]);
    await repo.close();
  });

  it('decodes zstd chunks with zstd-napi when it is installed, and restores the same with @mongodb-js/zstd alone', async () => {
    const { repo, files } = await shapes();
    const r = await repo.openSnapshot('latest');
    const installed = RestorePool.nativeDecoderInstalled();
    try {
      for (const native of [true, false]) {
        RestorePool.nativeDecoder = native;
        const target = join(tempDir(`restore-decoder-${native}`), 't');
        const before = RestorePool.nativeChunks;
        await restoreFiles(r, target, { include: 'logdirs/b1', stripPrefix: 'logdirs/b1', workers: 2 });
        // kafkaLike data compresses: with zstd-napi every such chunk is decoded by it, without it none.
        if (native && installed) expect(RestorePool.nativeChunks - before).toBeGreaterThan(10);
        else expect(RestorePool.nativeChunks).toBe(before);
        for (const [path, data] of Object.entries(files)) expect(readFileSync(join(target, path.slice('logdirs/b1/'.length))).equals(data), `${path} (native ${native})`).toBe(true);
      }
    } finally {
      RestorePool.nativeDecoder = true;
    }
    await repo.close();
  });

  it('takes workers started before the key was known (prestart), and ends unused ones', async () => {
    const { repo, files } = await shapes();
    RestorePool.prestart(2);
    expect(RestorePool.warmWorkers()).toBe(2);
    const r = await repo.openSnapshot('latest');
    const target = join(tempDir('restore-warm'), 't');
    const tasksBefore = RestorePool.tasksDone;
    await restoreFiles(r, target, { include: 'logdirs/b1', stripPrefix: 'logdirs/b1', workers: 2 });
    // The prestarted threads got the key and did the work (a wrong or missing key fails every chunk's authentication).
    expect(RestorePool.warmWorkers()).toBe(0);
    expect(RestorePool.tasksDone - tasksBefore).toBeGreaterThanOrEqual(Object.keys(files).filter((f) => files[f]!.length > 0).length);
    for (const [path, data] of Object.entries(files)) expect(readFileSync(join(target, path.slice('logdirs/b1/'.length))).equals(data), path).toBe(true);
    RestorePool.prestart(2);
    await RestorePool.discardWarm();
    expect(RestorePool.warmWorkers()).toBe(0);
    await repo.close();
  });

  it('restores on the calling thread when the workers cannot start', async () => {
    const { repo, files } = await shapes();
    const real = await repo.openSnapshot('latest');
    const reader = withoutWorkers(real, 'rejects');
    const target = join(tempDir('restore-fallback'), 't');
    const tasksBefore = RestorePool.tasksDone;
    const res = await restoreFiles(reader, target, { include: 'logdirs/b1', stripPrefix: 'logdirs/b1', workers: 2 });
    expect(RestorePool.tasksDone).toBe(tasksBefore);
    expect(res.files).toBe(Object.keys(files).length);
    for (const [path, data] of Object.entries(files)) expect(readFileSync(join(target, path.slice('logdirs/b1/'.length))).equals(data), path).toBe(true);
    await repo.close();
  });

  it('verifies every chunk: a flipped bit or a truncated pack fails with CorruptBackup naming the snapshot, and leaves no temporary files', async () => {
    const { repo, meta } = await shapes();
    const path = repo.path;
    await repo.close();
    for (const damage of ['flip', 'truncate'] as const) {
      const { undo } = damageLargestPack(repo, damage);
      const damaged = await openRepository(path, PASSWORD, { notice: () => undefined });
      const r = await damaged.openSnapshot(meta.id);
      const target = join(tempDir('restore-damaged'), 't');
      const err = await restoreFiles(r, target, { workers: 2 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, damage).toMatchObject({ type: 'CorruptBackup', message: expect.stringContaining(meta.id.slice(0, 12)) });
      const left = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? left(join(d, e.name)) : e.name.includes('lifeboat-restore') ? [e.name] : []));
      expect(left(target)).toEqual([]);
      await damaged.close();
      undo();
    }
  });
});
