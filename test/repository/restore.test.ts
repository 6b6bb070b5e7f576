import { mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { restoreFiles, type FileEntry, type SnapshotReader } from '../../src/repository';
import { kafkaLike, tempDir, tempRepo } from './helpers';

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
