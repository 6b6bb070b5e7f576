import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Chunker, openRepository } from '../../src/repository';
import { SPARE_WINDOWS } from '../../src/repository/chunker';
import { PASSWORD, kafkaLike, tempRepo } from './helpers';

const P = { min: 4096, avg: 16384, max: 65536 };

/** Deterministic pseudo-random sizes and orders. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('chunker reading into its own windows (room/fill/release)', () => {
  const data = kafkaLike(3_000_000, 11);

  it('cuts exactly as push does, and never reuses a window while one of its chunks is held', () => {
    const ref = new Chunker(P);
    const want: number[] = [];
    for (const c of ref.push(data)) want.push(c.length);
    const last = ref.finish();
    if (last) want.push(last.length);

    const spare: Buffer[] = [];
    const c = new Chunker(P, spare);
    const r = rng(5);
    const held: { chunk: Buffer; copy: Buffer }[] = [];
    const got: Buffer[] = [];
    const releaseSome = (keep: number) => {
      while (held.length > keep) {
        const [h] = held.splice(Math.floor(r() * held.length), 1);
        // Still what it was when handed out: its window was not written to meanwhile.
        expect(h!.chunk.equals(h!.copy)).toBe(true);
        c.release(h!.chunk);
      }
    };
    for (let pos = 0; pos < data.length; ) {
      const room = c.room(1 + Math.floor(r() * 100_000));
      const n = Math.min(room.length, data.length - pos, 1 + Math.floor(r() * room.length));
      data.copy(room, 0, pos, pos + n);
      pos += n;
      for (const ch of c.fill(n)) {
        held.push({ chunk: ch, copy: Buffer.from(ch) });
        got.push(Buffer.from(ch));
      }
      releaseSome(Math.floor(r() * 6)); // up to 5 chunks held across reads, released out of order
    }
    const tail = c.finishHeld();
    if (tail) {
      held.push({ chunk: tail, copy: Buffer.from(tail) });
      got.push(Buffer.from(tail));
    }
    c.done();
    releaseSome(0);
    expect(got.map((g) => g.length)).toEqual(want);
    expect(Buffer.concat(got).equals(data)).toBe(true);
    // Windows were reused (a spare is left for the next file) rather than allocated per read.
    expect(spare.length).toBeGreaterThan(0);
  });
});

describe("a writer's chunkers share their windows", () => {
  it('files read one after another with chunks in flight (released oldest first) reuse a few windows, never a fresh one per file', () => {
    // Like Writer.writeFile: one spare list for all files, up to 8 chunks hashed/compressed/sealed at
    // once (each holds its window), the last ones of a file still in flight while the next file starts.
    const spare: Buffer[] = [];
    const windows = new Set<ArrayBuffer>();
    const inFlight: { c: Chunker; chunk: Buffer }[] = [];
    const settle = (keep: number) => {
      while (inFlight.length > keep) {
        const { c, chunk } = inFlight.shift()!;
        c.release(chunk);
      }
    };
    for (let f = 0; f < 12; f++) {
      const data = kafkaLike(400_000, 100 + f);
      const c = new Chunker(P, spare);
      for (let pos = 0; pos < data.length; ) {
        const room = c.room(P.max);
        windows.add(room.buffer as ArrayBuffer);
        const n = Math.min(room.length, data.length - pos);
        data.copy(room, 0, pos, pos + n);
        pos += n;
        for (const chunk of c.fill(n)) {
          inFlight.push({ c, chunk });
          settle(8);
        }
      }
      const tail = c.finishHeld();
      if (tail) inFlight.push({ c, chunk: tail });
      c.done();
    }
    settle(0);
    // 4.8 MB through 128 KiB windows: 37 windows' worth; the current one, those held and the spares suffice.
    expect(windows.size).toBeLessThanOrEqual(SPARE_WINDOWS + 1);
    expect(spare.length).toBeLessThanOrEqual(SPARE_WINDOWS);
  });
});

describe('backing up an open file (FileSource)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lb-filesrc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores the same chunks as a buffer of the same bytes, up to `length`, and reads back identical', async () => {
    const repo = await tempRepo();
    const repoPath = repo.path;
    const data = kafkaLike(1_500_000, 3);
    const file = join(dir, 'seg.log');
    writeFileSync(file, data);
    const fh = await open(file, 'r');
    try {
      const { meta } = await repo.saveSnapshot({ cluster: 'c', components: ['logdirs'] }, async (w) => {
        await w.writeFile('logdirs/a', data);
        const r = await w.writeFile('logdirs/b', { file: fh });
        expect(r).toEqual({ size: data.length, newBytes: 0 }); // every chunk already stored by 'a'
        await w.writeFile('logdirs/c', { file: fh, length: 1_000_000 });
      });
      await repo.close();
      const again = await openRepository(repoPath, PASSWORD, { notice: () => undefined });
      const reader = await again.openSnapshot(meta.id);
      const tree = await again.loadTree(meta.id);
      expect(tree.get('logdirs/b')!.chunks).toEqual(tree.get('logdirs/a')!.chunks);
      expect((await reader.readBuffer('logdirs/b')).equals(data)).toBe(true);
      expect((await reader.readBuffer('logdirs/c')).equals(data.subarray(0, 1_000_000))).toBe(true);
      await again.close();
    } finally {
      await fh.close();
    }
  });
});
