import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copySnapshots, restoreFiles } from '../../src/repository';
import { decompress } from '../../src/repository/compress';
import { CompressPool, compressWorkers } from '../../src/repository/compressPool';
import { RestorePool } from '../../src/repository/restorePool';
import { kafkaLike, tempDir, tempRepo } from './helpers';

const installed = RestorePool.nativeDecoderInstalled();

afterEach(() => {
  CompressPool.enabled = true;
  CompressPool.startAfterBytes = 16 * 1024 * 1024;
});

/** Files as a backup reads them (a FileSource: read into the chunker's reused windows) and as buffers. */
function dataSet() {
  const dir = tempDir('cpool');
  const files = new Map<string, Buffer>([
    ['logdirs/b1/orders-0/00000000000000000000.log', kafkaLike(3 * 1024 * 1024 + 5, 1)],
    ['logdirs/b1/orders-1/00000000000000000000.log', kafkaLike(700_000, 2)],
    // Does not compress: stored as is, from the pool's copy (the window is reused meanwhile).
    ['logdirs/b1/random/00000000000000000000.log', randomBytes(1024 * 1024)],
    ['logdirs/b1/tiny', Buffer.from('x')],
  ]);
  for (const [p, d] of files) writeFileSync(join(dir, p.replaceAll('/', '_')), d);
  return { dir, files };
}

async function backUp(repo: Awaited<ReturnType<typeof tempRepo>>, dir: string, files: Map<string, Buffer>) {
  const w = await repo.newSnapshot({ cluster: 'c1', components: ['logdirs'] });
  let newBytes = 0;
  for (const p of files.keys()) {
    const fh = await open(join(dir, p.replaceAll('/', '_')), 'r');
    try {
      newBytes += (await w.writeFile(p, { file: fh })).newBytes;
    } finally {
      await fh.close();
    }
  }
  return { meta: await w.commit(), newBytes };
}

describe('compression in worker threads (zstd-napi, reused context)', () => {
  it('compresses the new chunks of a backup where zstd-napi is installed; the restore is identical through either decoder, and the chunk ids are those of libuv’s path', async () => {
    const { dir, files } = dataSet();
    const repo = await tempRepo({ compression: 'auto' });
    // The pool after the first 1 MiB (16 MiB by default: a small snapshot is not worth a thread).
    CompressPool.startAfterBytes = 1024 * 1024;
    const before = CompressPool.chunksDone;
    const { meta } = await backUp(repo, dir, files);
    if (installed) expect(CompressPool.chunksDone - before).toBeGreaterThan(50);
    else expect(CompressPool.chunksDone).toBe(before);
    expect(meta.summary.newBytes).toBe([...files.values()].reduce((n, d) => n + d.length, 0));

    const r = await repo.openSnapshot(meta.id);
    // readBuffer decodes on this thread with @mongodb-js/zstd; restoreFiles' workers with zstd-napi.
    for (const [p, d] of files) expect((await r.readBuffer(p)).equals(d), p).toBe(true);
    const out = join(tempDir('cpool-out'), 't');
    await restoreFiles(r, out, { include: 'logdirs/b1', stripPrefix: 'logdirs/b1', workers: 2 });
    for (const [p, d] of files) expect(readFileSync(join(out, p.slice('logdirs/b1/'.length))).equals(d), p).toBe(true);

    // The same data through libuv's pool into the same repository: every chunk is already there.
    CompressPool.enabled = false;
    const again = await backUp(repo, dir, files);
    expect(again.newBytes).toBe(0);
    await repo.close();
  });

  it('a small snapshot starts no worker; without workers (pools off, or zstd-napi missing) compresses in libuv’s pool as before', async () => {
    const small = dataSet();
    const repo0 = await tempRepo({ compression: 'auto' });
    const before0 = CompressPool.chunksDone;
    await backUp(repo0, small.dir, small.files);
    expect(CompressPool.chunksDone).toBe(before0);
    await repo0.close();

    CompressPool.enabled = false;
    CompressPool.startAfterBytes = 0;
    const { dir, files } = dataSet();
    const repo = await tempRepo({ compression: 'auto' });
    const before = CompressPool.chunksDone;
    const { meta } = await backUp(repo, dir, files);
    expect(CompressPool.chunksDone).toBe(before);
    const r = await repo.openSnapshot(meta.id);
    for (const [p, d] of files) expect((await r.readBuffer(p)).equals(d), p).toBe(true);
    await repo.close();
  });

  it('a lost worker fails the chunk it held with a clear error; later chunks go to libuv’s pool', async () => {
    const pool = CompressPool.start(1);
    if (!installed) return expect(pool).toBeNull();
    if (!pool) throw new Error('zstd-napi is installed but no pool started');
    const chunk = kafkaLike(512 * 1024, 7);
    const first = await pool.compress(chunk);
    expect(first.codec).toBe(2);
    expect((await decompress(first.codec, first.payload)).equals(chunk)).toBe(true);
    first.done();

    const crashed = pool.crashWorker();
    let copied = false;
    await expect(pool.compress(chunk, () => (copied = true))).rejects.toThrow(/compression worker exited/);
    expect(copied).toBe(true);
    await crashed;
    const later = await pool.compress(chunk);
    expect((await decompress(later.codec, later.payload)).equals(chunk)).toBe(true);
    later.done();
    await pool.close();
  });

  it('once it says the chunk is copied, the chunk’s memory may be reused: compressed or stored as is', async () => {
    const pool = CompressPool.start(1);
    if (!installed) return expect(pool).toBeNull();
    if (!pool) throw new Error('zstd-napi is installed but no pool started');
    for (const original of [kafkaLike(300_000, 3), randomBytes(300_000)]) {
      const chunk = Buffer.from(original);
      const c = await pool.compress(chunk, () => chunk.fill(0));
      expect(chunk.every((b) => b === 0)).toBe(true);
      expect((await decompress(c.codec, c.payload)).equals(original)).toBe(true);
      c.done();
    }
    await pool.close();
  });

  it('a copy between repositories of the same compression stores the verified payload again; with another compression it compresses anew', async () => {
    // The source written by the workers (zstd-napi), whose bytes differ from @mongodb-js/zstd's for the
    // same chunk: the destination's payload tells which path the copy took.
    CompressPool.startAfterBytes = 0;
    const { dir, files } = dataSet();
    const src = await tempRepo({ compression: 'auto' });
    const { meta } = await backUp(src, dir, files);
    CompressPool.enabled = false;
    const payloads = async (repo: Awaited<ReturnType<typeof tempRepo>>, ids: string[]) => Promise.all(ids.map(async (id) => (await repo.loadBlobStored(id)).payload.toString('hex')));
    const tree = JSON.parse((await src.loadBlob((await src.loadSnapshotFile(meta.id)).tree)).toString('utf8')) as { entries: { chunks?: string[] }[] };
    const ids = [...new Set(tree.entries.flatMap((e) => e.chunks ?? []))];
    const before = await payloads(src, ids);
    for (const [compression, same] of [['auto', true], ['max', false]] as const) {
      const dst = await tempRepo({ compression });
      const r = await copySnapshots(src, dst);
      expect(r.copied).toHaveLength(1);
      const after = await payloads(dst, ids);
      const equal = after.filter((p, i) => p === before[i]).length;
      if (same) expect(equal).toBe(ids.length);
      // Brotli's payloads differ from zstd's, but for the chunks stored as is (random data, tiny).
      else expect(equal).toBeLessThan(ids.length / 2);
      const copy = await dst.openSnapshot(r.copied[0]!.newId);
      for (const [p, d] of files) expect((await copy.readBuffer(p)).equals(d), p).toBe(true);
      await dst.close();
    }
    await src.close();
  });

  it('uses one worker fewer than the cores, between one and four', () => {
    expect([1, 2, 3, 4, 8, 64].map((c) => compressWorkers(c))).toEqual([1, 1, 2, 3, 4, 4]);
  });
});
