/**
 * `ParallelFileRestore.readBuffer`: whole files read into memory by the restore workers (every chunk
 * decrypted, decompressed and verified there, copied into a shared buffer at its offset).
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openRepository, type ParallelFileRestore } from '../../src/repository';
import { RestorePool } from '../../src/repository/restorePool';
import { PASSWORD, damageLargestPack, kafkaLike, tempRepo, packFiles } from './helpers';



/** Files of every size: empty, one byte, one chunk, many chunks over several packs (> 8 MiB: several worker tasks), incompressible, fixed cuts, shared chunks. */
async function shapes(compression: 'auto' | 'off' | 'max' = 'auto') {
  const repo = await tempRepo({ compression });
  const files: Record<string, { data: Buffer; cut?: 'fixed' }> = {
    'topics/t/0/empty.lbb': { data: Buffer.alloc(0), cut: 'fixed' },
    'topics/t/0/one.lbb': { data: Buffer.from('x'), cut: 'fixed' },
    'topics/t/0/a.lbb': { data: kafkaLike(64 * 1024 * 3 + 1000, 1), cut: 'fixed' }, // SMALL chunker: 64 KiB fixed cuts → 4 chunks
    'topics/t/1/random.lbb': { data: randomBytes(300_000), cut: 'fixed' },
    'logdirs/b1/small.properties': { data: Buffer.from('broker.id=1\n') },
    'logdirs/b1/p-0/00.log': { data: kafkaLike(900_000, 2) },
    'logdirs/b1/p-0/00.index': { data: Buffer.alloc(70_000) },
    'logdirs/b1/p-3/big.log': { data: Buffer.concat(Array.from({ length: 10 }, (_, i) => kafkaLike(1024 * 1024, i % 3))) },
  };
  files['logdirs/b1/p-2/copy.log'] = { data: files['logdirs/b1/p-0/00.log']!.data };
  const w = await repo.newSnapshot({ cluster: 'c', components: ['logdirs', 'topics'] });
  for (const [path, f] of Object.entries(files)) await w.writeFile(path, f.data, f.cut ? { cut: f.cut } : {});
  w.writeDir('logdirs/b1/emptydir');
  const meta = await w.commit();
  return { repo, files, meta };
}

let sessions: ParallelFileRestore[] = [];
afterEach(async () => {
  for (const s of sessions) await s.close();
  sessions = [];
  vi.restoreAllMocks();
});
const session = async (r: { parallelRestore?(n: number): Promise<ParallelFileRestore | null> }, workers = 2): Promise<ParallelFileRestore> => {
  const s = await r.parallelRestore!(workers);
  expect(s).not.toBeNull();
  sessions.push(s!);
  return s!;
};

describe('ParallelFileRestore.readBuffer', () => {
  for (const compression of ['auto', 'off', 'max'] as const) {
    it(`reads every file byte-identical, in a buffer of its own the caller may change (compression ${compression})`, async () => {
      const { repo, files } = await shapes(compression);
      expect(packFiles(repo).length).toBeGreaterThan(3);
      const r = await repo.openSnapshot('latest');
      const s = await session(r);
      for (const [path, f] of Object.entries(files)) {
        const got = await s.readBuffer(path);
        expect(Buffer.isBuffer(got), path).toBe(true);
        expect(got.length, path).toBe(f.data.length);
        expect(got.equals(f.data), path).toBe(true);
        expect(got.equals(await r.readBuffer(path)), path).toBe(true);
      }
      // A new buffer per call: changing one changes nothing else.
      const a = await s.readBuffer('topics/t/0/a.lbb');
      const b = await s.readBuffer('topics/t/0/a.lbb');
      a.fill(0);
      expect(b.equals(files['topics/t/0/a.lbb']!.data)).toBe(true);
      expect((await s.readBuffer('topics/t/0/a.lbb')).equals(files['topics/t/0/a.lbb']!.data)).toBe(true);
      await repo.close();
    });
  }

  it('serves many concurrent calls (with writeFile calls among them), each with the right content, and fills at most 64 MiB of buffers at once', async () => {
    const { repo, files } = await shapes();
    const r = await repo.openSnapshot('latest');
    const s = await session(r);
    // Track the shared buffers the pool is filling at any moment.
    let filling = 0;
    let peak = 0;
    const write = RestorePool.prototype.write;
    vi.spyOn(RestorePool.prototype, 'write').mockImplementation(async function (this: RestorePool, target, chunks) {
      const n = typeof target === 'number' ? 0 : target.byteLength;
      filling += n;
      peak = Math.max(peak, filling);
      try {
        return await write.call(this, target, chunks);
      } finally {
        filling -= n;
      }
    });
    const paths = Object.keys(files);
    const big = 'logdirs/b1/p-3/big.log'; // 10 MiB: 12 of them at once would be 120 MiB
    const calls = [...paths, ...paths, ...paths, ...Array.from({ length: 12 }, () => big)];
    const dir = join(repo.path, '..');
    const [bufs] = await Promise.all([
      Promise.all(calls.map((p) => s.readBuffer(p).then((b) => [p, b] as const))),
      Promise.all(
        paths.map(async (p, i) => {
          const out = join(dir, `written-${i}`);
          const fd = openSync(out, 'w');
          try {
            await s.writeFile(p, fd);
          } finally {
            closeSync(fd);
          }
          expect(readFileSync(out).equals(files[p]!.data), p).toBe(true);
        }),
      ),
    ]);
    for (const [p, b] of bufs) expect(b.equals(files[p]!.data), p).toBe(true);
    const filled = bufs.filter(([, b]) => b.length > 0);
    expect(new Set(filled.map(([, b]) => b.buffer)).size).toBe(filled.length); // every call its own memory
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(64 * 1024 * 1024);
    await repo.close();
  });

  it('refills a recycled buffer with the next file of a fitting size, exactly', async () => {
    const { repo, files } = await shapes();
    const r = await repo.openSnapshot('latest');
    const s = await session(r);
    const random = files['topics/t/1/random.lbb']!.data; // 300,000 bytes
    const first = await s.readBuffer('topics/t/1/random.lbb');
    s.recycle(first);
    s.recycle(first); // twice: still one spare buffer
    // A smaller file (197,608 bytes of another kind) goes into the spare buffer; only its bytes are visible.
    const a = await s.readBuffer('topics/t/0/a.lbb');
    expect(a.buffer).toBe(first.buffer);
    expect(a.length).toBe(files['topics/t/0/a.lbb']!.data.length);
    expect(a.equals(files['topics/t/0/a.lbb']!.data)).toBe(true);
    // Not handed back (twice recycled above counts once): the next read gets new memory.
    const again = await s.readBuffer('topics/t/1/random.lbb');
    expect(again.buffer).not.toBe(first.buffer);
    expect(again.equals(random)).toBe(true);
    // More than twice the size a file needs: left for a bigger one.
    s.recycle(again);
    const tiny = await s.readBuffer('logdirs/b1/small.properties');
    expect(tiny.buffer).not.toBe(again.buffer);
    expect(tiny.toString()).toBe('broker.id=1\n');
    // Buffers that are not the workers' are ignored.
    s.recycle(Buffer.alloc(10));
    await repo.close();
  });

  it('refuses what is not a file of the snapshot', async () => {
    const { repo } = await shapes();
    const r = await repo.openSnapshot('latest');
    const s = await session(r);
    await expect(s.readBuffer('logdirs/b1/nope')).rejects.toMatchObject({ type: 'SnapshotNotFound' });
    await expect(s.readBuffer('logdirs/b1/emptydir')).rejects.toMatchObject({ type: 'InvalidInput' });
    expect((await s.readBuffer('logdirs/b1/small.properties')).toString()).toBe('broker.id=1\n');
    await repo.close();
  });

  it('verifies every chunk: a flipped bit or a truncated pack fails with CorruptBackup naming the snapshot and the chunk', async () => {
    const { repo, files, meta } = await shapes();
    const path = repo.path;
    await repo.close();
    for (const damage of ['flip', 'truncate'] as const) {
      const { pack, at, undo } = damageLargestPack(repo, damage);
      const damaged = await openRepository(path, PASSWORD, { notice: () => undefined });
      const r = await damaged.openSnapshot(meta.id);
      // The files with a chunk in the damaged part of the pack, per the index.
      const name = pack.split('/').at(-1)!;
      const broken = (id: string) => {
        const loc = damaged.index.get(id);
        return loc?.pack === name && (damage === 'flip' ? loc.offset <= at && at < loc.offset + loc.length : loc.offset + loc.length > at);
      };
      const chunksOf = (p: string) => (r as unknown as { chunksOf(path: string): string[] }).chunksOf(p);
      const hit = Object.keys(files).filter((p) => chunksOf(p).some(broken));
      expect(hit.length, damage).toBeGreaterThan(0);
      // The main thread's reader agrees that the file is damaged.
      await expect(r.readBuffer(hit[0]!), damage).rejects.toMatchObject({ type: 'CorruptBackup' });
      const s = await session(r);
      const err = await s.readBuffer(hit[0]!).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, damage).toMatchObject({
        type: 'CorruptBackup',
        exitCode: 13,
        message: expect.stringContaining(meta.id.slice(0, 12)),
        details: expect.objectContaining({ snapshot: meta.id, pack: name }),
      });
      expect((err as Error).message).toMatch(damage === 'flip' ? /fails authentication|does not match/ : /truncated|cannot be read/);
      await damaged.close();
      undo();
    }
  });
});
