import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { LocalBackend } from '../../src/repository/backend';
import { SEAL_OVERHEAD, blobAad, open, seal } from '../../src/repository/crypto';
import { PackWriter, alignedBuffer, parsePack } from '../../src/repository/pack';
import { tempDir, tempRepo } from './helpers';

const aligned = alignedBuffer;

describe('pack writes past the page cache (O_DIRECT)', () => {
  it('writes exactly `size` bytes under the name, leaving no temporary file', async () => {
    const dir = tempDir('direct');
    const b = new LocalBackend(dir);
    await b.init();
    const buf = aligned(3 * 4096);
    randomBytes(10_001).copy(buf);
    const wrote = await b.writeDirect('data', 'ab'.repeat(32), buf, 10_001);
    // The test directory is on a disk file system here (ext4): O_DIRECT is taken, not refused.
    expect(wrote).toBe(true);
    expect(readFileSync(join(dir, 'data', 'ab', 'ab'.repeat(32))).equals(buf.subarray(0, 10_001))).toBe(true);
    expect(readdirSync(join(dir, 'data', 'ab'))).toEqual(['ab'.repeat(32)]);
  });

  it('a refused write (memory not page-aligned) writes nothing and falls back to buffered writes from then on', async () => {
    const dir = tempDir('direct');
    const b = new LocalBackend(dir);
    await b.init();
    const misaligned = aligned(3 * 4096).subarray(1);
    expect(await b.writeDirect('data', 'cd'.repeat(32), misaligned, 5000)).toBe(false);
    expect(readdirSync(join(dir, 'data', 'cd'))).toEqual([]);
    // Refused once: not tried again, even with good memory.
    expect(await b.writeDirect('data', 'ef'.repeat(32), aligned(8192), 5000)).toBe(false);
  });

  it('packs written by PackWriter are named by their SHA-256 and list their blobs', async () => {
    const dir = tempDir('direct');
    const b = new LocalBackend(dir);
    await b.init();
    const key = randomBytes(32);
    const w = new PackWriter(b, key, 100_000, true);
    for (let i = 0; i < 30; i++) {
      const data = randomBytes(7_000 + i * 997);
      await w.addPlain('d', createHash('sha256').update(data).digest('hex'), 0, data, data.length);
    }
    const packs = await w.finish();
    expect(packs.length).toBeGreaterThan(1);
    for (const p of packs) {
      const bytes = readFileSync(join(dir, 'data', p.id.slice(0, 2), p.id));
      expect(bytes.length).toBe(p.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.id);
      expect(parsePack(key, bytes)).toEqual(p.blobs);
      // Sealed with its id (boundIds): opens as itself, and neither without an id nor as another blob.
      for (const [, id, offset, length] of p.blobs) {
        const sealed = bytes.subarray(offset, offset + length);
        expect(createHash('sha256').update(open(key, sealed, blobAad(id)).subarray(1)).digest('hex')).toBe(id);
        expect(() => open(key, sealed)).toThrow();
        expect(() => open(key, sealed, blobAad(p.blobs.find((x) => x[1] !== id)![1]))).toThrow();
      }
    }
  });

  /** Every blob of every pack opens to what was added, in order. */
  function expectBlobs(dir: string, key: Buffer, packs: { id: string; size: number }[], added: Buffer[]): void {
    const got: Buffer[] = [];
    for (const p of packs) {
      const bytes = readFileSync(join(dir, 'data', p.id.slice(0, 2), p.id));
      expect(bytes.length).toBe(p.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.id);
      for (const [, , off, len] of parsePack(key, bytes)) got.push(open(key, bytes.subarray(off, off + len)));
    }
    expect(got.length).toBe(added.length);
    got.forEach((g, i) => expect(g.equals(added[i]!)).toBe(true));
  }

  /** A PackWriter on `b` and `add(n)`: seals n random bytes and adds them (kept in `added`, in order). */
  function writerOn(b: LocalBackend, packSize: number) {
    const key = randomBytes(32);
    const w = new PackWriter(b, key, packSize, false);
    const added: Buffer[] = [];
    const add = (n: number) => {
      const data = randomBytes(n);
      added.push(data);
      return w.add('d', createHash('sha256').update(data).digest('hex'), seal(key, [data]), n);
    };
    return { key, w, added, add };
  }

  it('blobs copied into the pack buffer as they come: one that no longer fits, and a header that does not, still make whole packs', async () => {
    const dir = tempDir('direct');
    const b = new LocalBackend(dir);
    await b.init();
    const MiB = 1024 * 1024;
    const { key, w, added, add } = writerOn(b, MiB);
    // A small blob sizes the buffer (1 MiB + 4 MiB of slack, rounded to 6 MiB); a 7 MiB blob then
    // does not fit it: the pack continues in parts.
    await add(100);
    await add(7 * MiB);
    // A pack filled to a few bytes short of its 6 MiB buffer: the header goes into a bigger one.
    await add(100);
    await add(6 * MiB - 2 * (100 + SEAL_OVERHEAD) - 10);
    const packs = await w.finish();
    expect(packs.map((p) => p.blobs.length)).toEqual([2, 2]);
    expectBlobs(dir, key, packs, added);
  });

  it('adds that arrive while a pack is being written wait their turn: every blob lands once, in order', async () => {
    const dir = tempDir('direct');
    const b = new LocalBackend(dir);
    await b.init();
    const key = randomBytes(32);
    const w = new PackWriter(b, key, 200_000, false);
    const added = Array.from({ length: 40 }, (_, i) => randomBytes(20_000 + i * 331));
    await Promise.all(added.map((d) => w.add('d', createHash('sha256').update(d).digest('hex'), seal(key, [d]), d.length)));
    const packs = await w.finish();
    expect(packs.length).toBeGreaterThan(3);
    expectBlobs(dir, key, packs, added);
  });

  /** A local backend whose pack writes wait for the test to let them through, one at a time (then fail with `failure`, if set). */
  class HeldBackend extends LocalBackend {
    held: (() => void)[] = [];
    failure?: Error;
    override async writeDirect(kind: 'data', name: string, data: Buffer, size: number): Promise<boolean> {
      await new Promise<void>((resolve) => this.held.push(resolve));
      if (this.failure) throw this.failure;
      return super.writeDirect(kind, name, data, size);
    }
  }
  const tick = () => new Promise((r) => setImmediate(r));
  /** Waits (up to 5 s, failing with the condition's message) until `cond` holds: a real write to disk takes a while. */
  const until = (cond: () => boolean) => vi.waitFor(() => expect(cond()).toBe(true), { timeout: 5000, interval: 2 });

  it('while a pack is written, the next blobs are staged (their adds do not wait) and move into the buffer when it is back', async () => {
    const dir = tempDir('direct');
    const b = new HeldBackend(dir);
    await b.init();
    const { key, w, added, add } = writerOn(b, 100_000);
    // Five blobs fill the first pack: its write starts and is held.
    for (let i = 0; i < 5; i++) await add(20_000);
    await tick();
    expect(b.held.length).toBe(1);
    // Blobs of the next pack while it is held: staged, their adds resolve.
    let staged = 0;
    for (let i = 0; i < 3; i++) void add(20_000).then(() => staged++);
    await until(() => staged === 3);
    expect(staged).toBe(3);
    expect(b.held.length).toBe(1);
    // The blob that would end the second pack waits for the buffer, then the pack is cut and written.
    const ending = add(50_000);
    let ended = false;
    void ending.then(() => (ended = true));
    await tick();
    expect(ended).toBe(false);
    b.held.shift()!();
    await until(() => b.held.length === 1);
    expect(b.held.length).toBe(1);
    expect(ended).toBe(true);
    // The last pack is entirely staged while the second is written; finish waits for the buffer.
    await add(10_000);
    let done = false;
    const finished = w.finish().finally(() => (done = true));
    // Let the second pack's write through, then the last pack's.
    b.held.shift()!();
    await until(() => b.held.length === 1 || done);
    expect(b.held.length).toBe(1);
    b.held.shift()!();
    const packs = await finished;
    expect(packs.map((p) => p.blobs.length)).toEqual([5, 4, 1]);
    expectBlobs(dir, key, packs, added);
  });

  it('a pack write that fails fails the add that waits for its buffer, every later add, and finish', async () => {
    const b = new HeldBackend(tempDir('direct'));
    b.failure = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    await b.init();
    const { w, add } = writerOn(b, 100_000);
    for (let i = 0; i < 5; i++) await add(20_000);
    await vi.waitFor(() => expect(b.held.length).toBe(1));
    // Staged while the write is out: the add resolves.
    await add(20_000);
    // Does not fit the rest of the pack: waits for the buffer, then fails with the write.
    const waiting = add(90_000);
    b.held.shift()!();
    await expect(waiting).rejects.toThrow(/no space left/);
    await expect(add(100)).rejects.toThrow(/no space left/);
    await expect(w.finish()).rejects.toThrow(/no space left/);
  });

  it('a snapshot whose pack write failed is not committed, even when the caller took the error for its own file’s and went on', async () => {
    const repo = await tempRepo();
    const backend = repo.backend as LocalBackend;
    // The first pack's write fails with the error a deleted segment gives (logdirs.ts goes on after
    // ENOENT from writeFile); the later ones succeed.
    const real = backend.writeDirect.bind(backend);
    let calls = 0;
    backend.writeDirect = async (...a: Parameters<LocalBackend['writeDirect']>) => {
      if (calls++ === 0) throw Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
      return real(...a);
    };
    const w = await repo.newSnapshot({ cluster: 'c1', components: ['logdirs'] });
    let swallowed = 0;
    for (let i = 0; i < 6; i++) await w.writeFile(`logdirs/b1/f${i}`, randomBytes(200_000)).catch(() => swallowed++);
    expect(swallowed).toBeGreaterThan(0);
    await expect(w.commit()).rejects.toThrow(/ENOENT/);
    expect(await repo.snapshots()).toEqual([]);
    await repo.close();
  });
});
