import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { openRepository } from '../../src/repository';
import { PASSWORD, kafkaLike, tempRepo } from './helpers';

describe('repository round trip', () => {
  it('returns every file byte-identical: many, empty, large, sparse-ish', async () => {
    const repo = await tempRepo();
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 60; i++) files.set(`logdirs/b1/orders-${i % 6}/000000000000000${i}.log`, kafkaLike(1000 + i * 997, i));
    files.set('configs/b1/empty.properties', Buffer.alloc(0));
    files.set('logdirs/b1/big/00000000000000000000.log', kafkaLike(3 * 1024 * 1024 + 17, 99));
    // An index file as Kafka preallocates it: mostly zeros with a few entries at the start.
    const idx = Buffer.alloc(2 * 1024 * 1024);
    randomBytes(4096).copy(idx, 0);
    files.set('logdirs/b1/big/00000000000000000000.index', idx);
    files.set('logdirs/b1/random.bin', randomBytes(300_000));

    const w = await repo.newSnapshot({ cluster: 'c1', components: ['logdirs', 'configs'], tags: ['t1'], points: { zookeeper: { zxid: '0x10' } } });
    for (const [path, data] of files) {
      // alternate Buffer and stream input
      const r = await w.writeFile(path, path.length % 2 ? data : Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { mode: 0o640 });
      expect(r.size).toBe(data.length);
    }
    await w.writeJson('kafka-metadata/topics.json', { topics: ['orders'] });
    w.setExtra('note', 'hello');
    const meta = await w.commit();
    expect(meta.id).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.summary.files).toBe(files.size + 1);
    await repo.close();

    const again = await openRepository(repo.path, PASSWORD, { notice: () => undefined });
    const snaps = await again.snapshots({ cluster: 'c1' });
    expect(snaps.map((s) => s.id)).toEqual([meta.id]);
    expect(snaps[0]!.points).toEqual({ zookeeper: { zxid: '0x10' } });
    expect(snaps[0]!.extra).toEqual({ note: 'hello' });
    const r = await again.openSnapshot('latest', { cluster: 'c1', component: 'logdirs' });
    for (const [path, data] of files) {
      const back = await r.readBuffer(path);
      expect(back.equals(data), path).toBe(true);
    }
    expect(await r.readJson('kafka-metadata/topics.json')).toEqual({ topics: ['orders'] });
    expect(r.list('logdirs/b1/big').map((e) => e.path)).toEqual(['logdirs/b1/big/00000000000000000000.index', 'logdirs/b1/big/00000000000000000000.log']);
    expect(r.list('configs')[0]).toMatchObject({ path: 'configs/b1/empty.properties', size: 0, type: 'file', mode: 0o640 });
    expect(r.exists('nope')).toBe(false);
    await expect(again.openSnapshot(meta.id.slice(0, 8))).resolves.toBeTruthy();
    await expect(again.openSnapshot('latest', { cluster: 'other' })).rejects.toMatchObject({ type: 'SnapshotNotFound' });
    await expect(again.openSnapshot('deadbeef')).rejects.toMatchObject({ type: 'SnapshotNotFound' });
    await again.close();
  });

  it('dedupes: an unchanged file costs nothing, an appended one only its new bytes', async () => {
    const repo = await tempRepo();
    const seg = kafkaLike(4 * 1024 * 1024, 1);
    const other = kafkaLike(1024 * 1024, 2);
    const w1 = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    expect((await w1.writeFile('logdirs/a.log', seg)).newBytes).toBe(seg.length);
    await w1.writeFile('logdirs/b.log', other);
    const s1 = await w1.commit();
    const stored1 = await repo.storedBytes();

    const appended = Buffer.concat([seg, kafkaLike(200 * 1024, 3)]);
    const w2 = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'], parent: s1.id });
    const ra = await w2.writeFile('logdirs/a.log', appended);
    const rb = await w2.writeFile('logdirs/b.log', other);
    const s2 = await w2.commit();
    expect(rb.newBytes).toBe(0);
    // new bytes = the 200 KiB appended + at most the old last chunk (max 64 KiB) re-cut
    expect(ra.newBytes).toBeGreaterThanOrEqual(200 * 1024);
    expect(ra.newBytes).toBeLessThanOrEqual(200 * 1024 + 64 * 1024);
    const stored2 = await repo.storedBytes();
    // stored growth (compressed, sealed) is well below the appended amount, and nothing near a full copy
    expect(stored2 - stored1).toBeLessThan(264 * 1024);
    expect(s2.summary.newBytes).toBe(ra.newBytes);
    expect(s2.parent).toBe(s1.id);
    const r = await repo.openSnapshot(s2.id);
    expect((await r.readBuffer('logdirs/a.log')).equals(appended)).toBe(true);
    await repo.close();
  });

  it('reuses unchanged files of the parent without reading them (same size and mtime)', async () => {
    const repo = await tempRepo();
    const mtime = new Date('2024-05-01T00:00:00.123Z');
    const w1 = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    await w1.writeFile('logdirs/a.log', kafkaLike(100_000), { mtime });
    const s1 = await w1.commit();
    const w2 = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'], parent: s1.id });
    expect(await w2.reuseUnchanged('logdirs/a.log', { size: 100_000, mtime })).toBe(true);
    expect(await w2.reuseUnchanged('logdirs/a.log', { size: 100_001, mtime })).toBe(false);
    expect(await w2.reuseUnchanged('logdirs/other.log', { size: 100_000, mtime })).toBe(false);
    const s2 = await w2.commit();
    expect(s2.summary).toMatchObject({ files: 1, bytes: 100_000, newBytes: 0 });
    expect((await (await repo.openSnapshot(s2.id)).readBuffer('logdirs/a.log')).equals(kafkaLike(100_000))).toBe(true);
    await repo.close();
  });

  it('reuses a file recorded with inode and ctime only while both are unchanged', async () => {
    const repo = await tempRepo();
    const mtime = new Date('2024-05-01T00:00:00.123Z');
    const ctime = new Date('2024-05-02T00:00:00.456Z');
    const w1 = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    await w1.writeFile('logdirs/a.log', kafkaLike(10_000), { mtime, inode: '42', ctime });
    await w1.writeFile('logdirs/b.log', kafkaLike(10_000), { mtime });
    const s1 = await w1.commit();
    const w2 = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'], parent: s1.id });
    const same = { size: 10_000, mtime, inode: '42', ctime };
    expect(await w2.reuseUnchanged('logdirs/a.log', { ...same, inode: '43' })).toBe(false); // renamed over
    expect(await w2.reuseUnchanged('logdirs/a.log', { ...same, ctime: new Date(ctime.getTime() + 1) })).toBe(false); // mtime set back
    expect(await w2.reuseUnchanged('logdirs/b.log', same)).toBe(false); // recorded without them: read once more
    expect(await w2.reuseUnchanged('logdirs/a.log', { ...same, inode: undefined, ctime: undefined })).toBe(true); // not compared: ignored
    expect(await w2.reuseUnchanged('logdirs/a.log', same)).toBe(true);
    await w2.commit();
    await repo.close();
  });

  it('refuses a wrong password with one clear line', async () => {
    const repo = await tempRepo();
    await repo.close();
    const err = await openRepository(repo.path, 'not the password').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifeboatError);
    expect(err).toMatchObject({ type: 'WrongPassword', exitCode: 12 });
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toContain(repo.path);
  });

  it('refuses a repository of a newer format, and a missing one', async () => {
    const repo = await tempRepo();
    await repo.close();
    const { readFileSync, writeFileSync } = await import('node:fs');
    const cfg = JSON.parse(readFileSync(`${repo.path}/config`, 'utf8'));
    writeFileSync(`${repo.path}/config`, JSON.stringify({ ...cfg, version: 3 }));
    await expect(openRepository(repo.path, PASSWORD)).rejects.toMatchObject({ type: 'RepositoryFormat', message: expect.stringContaining('format version 3') });
    await expect(openRepository(`${repo.path}-missing`, PASSWORD)).rejects.toMatchObject({ type: 'RepositoryNotFound' });
  });

  it('opens a snapshot by its whole id without listing the snapshots (a LIST request on object storage); a missing one is SnapshotNotFound', async () => {
    const repo = await tempRepo();
    const w = await repo.newSnapshot({ cluster: 'c1', components: ['configs'] });
    await w.writeJson('configs/a.json', { a: 1 });
    const meta = await w.commit();
    const list = vi.spyOn(repo.backend, 'list');
    const r = await repo.openSnapshot(meta.id);
    expect(await r.readJson('configs/a.json')).toEqual({ a: 1 });
    expect(list).not.toHaveBeenCalled();
    await expect(repo.openSnapshot('f'.repeat(64))).rejects.toMatchObject({ type: 'SnapshotNotFound', message: expect.stringContaining('ffffffffffff not found') });
    // A prefix still lists (and resolves).
    await expect(repo.openSnapshot(meta.id.slice(0, 10))).resolves.toBeTruthy();
    expect(list).toHaveBeenCalled();
    await repo.close();
  });
});
