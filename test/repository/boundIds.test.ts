import { cpSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository, copySnapshots, initRepository, openRepository, restoreFiles, type LocalRepository, type SnapshotReader } from '../../src/repository';
import type { IndexFile } from '../../src/repository/format';
import { RestorePool } from '../../src/repository/restorePool';
import { PASSWORD, SMALL, kafkaLike, tempDir, tempRepo, withoutWorkers } from './helpers';

/**
 * Format 2 seals every blob with its id as associated data, and a restore then checks the tag, not
 * the SHA-256 of every byte. What must hold: a blob read in place of another (an index pointing at
 * the wrong bytes, all of them intact) fails as altered, on every read path; and repositories
 * written before (format 1, a fixture made by Lifeboat at 7c67730) still restore identical, re-hashed.
 */

/** Points one data blob's index entry at another blob of the same pack: intact bytes, the wrong ones. */
async function misplaceOneBlob(path: string, password: string): Promise<string> {
  const repo = await openRepository(path, password, { notice: () => undefined });
  const names = (await repo.backend.list('index')).map((f) => f.name);
  const files = await Promise.all(names.map((n) => repo.readSealedJson<IndexFile>('index', n)));
  const file = files.find((f) => f.packs.some((p) => p.blobs.filter((b) => b[0] === 'd').length >= 2))!;
  const pack = file.packs.find((p) => p.blobs.filter((b) => b[0] === 'd').length >= 2)!;
  const [a, b] = pack.blobs.filter((x) => x[0] === 'd');
  const victim = b![1];
  pack.blobs = pack.blobs.map((x) => (x[1] === victim ? (['d', victim, a![2], a![3], a![4]] as const as typeof x) : x));
  for (const n of names) await repo.backend.remove('index', n);
  await repo.writeSealedJson('index', file);
  await repo.close();
  return victim;
}

const restoreError = (r: SnapshotReader, workers: number): Promise<unknown> =>
  restoreFiles(r, join(tempDir('bound-restore'), 't'), { workers }).then(
    () => null,
    (e: unknown) => e,
  );

describe('format 2: blobs sealed with their ids', () => {
  it('a new repository is format 2, and restores byte-identical through the workers without re-hashing', async () => {
    const repo = await tempRepo();
    expect(repo.config.version).toBe(2);
    expect(repo.boundIds).toBe(true);
    const data = Buffer.concat(Array.from({ length: 6 }, (_, i) => kafkaLike(1024 * 1024, i)));
    const w = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    await w.writeFile('logdirs/b1/p-0/00.log', data);
    await w.commit();
    const target = join(tempDir('bound-ok'), 't');
    const tasks = RestorePool.tasksDone;
    await restoreFiles(await repo.openSnapshot('latest'), target, { workers: 2 });
    expect(RestorePool.tasksDone).toBeGreaterThan(tasks);
    expect(readFileSync(join(target, 'logdirs/b1/p-0/00.log')).equals(data)).toBe(true);
    expect((await checkRepository(repo, { readData: true })).ok).toBe(true);
    await repo.close();
  });

  it('a blob read in place of another fails authentication on every read path, though every byte is intact', async () => {
    const repo = await tempRepo();
    const w = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    await w.writeFile('logdirs/b1/p-0/00.log', kafkaLike(600_000, 1));
    const meta = await w.commit();
    await repo.close();
    const victim = await misplaceOneBlob(repo.path, PASSWORD);

    const damaged = await openRepository(repo.path, PASSWORD, { notice: () => undefined });
    const real = await damaged.openSnapshot(meta.id);
    for (const [how, reader, workers] of [
      ['workers', real, 2],
      ['calling thread', withoutWorkers(real, 'absent'), 2],
    ] as const) {
      expect(await restoreError(reader, workers), how).toMatchObject({
        type: 'CorruptBackup',
        message: expect.stringContaining('fails authentication'),
        details: { blob: victim },
      });
    }
    // loadBlob (copy, prune's repack, small reads) opens it as itself too, and still re-hashes.
    await expect(damaged.loadBlob(victim)).rejects.toMatchObject({ message: expect.stringContaining('fails authentication') });
    await damaged.close();
  });
});

describe('format 1: a repository written before blobs carried their ids', () => {
  const FIXTURE = join(__dirname, 'fixtures', 'format1');
  const FIXTURE_PASSWORD = 'fixture-password';
  /** The 17 MiB segment the fixture's snapshot holds (so it restores through the workers). */
  const segment = (): Buffer => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 17 * 256; i++) {
      const line = `{"offset":${i},"key":"order-${i % 97}","value":"${'x'.repeat(40 + (i % 13))}","ts":${1700000000000 + i * 37}}\n`;
      parts.push(Buffer.from(line.repeat(Math.ceil(4096 / line.length))).subarray(0, 4096));
    }
    return Buffer.concat(parts);
  };
  const fixtureCopy = (): string => {
    const dir = join(tempDir('format1'), 'repo');
    cpSync(FIXTURE, dir, { recursive: true });
    return dir;
  };
  const restored = (target: string) => ({
    log: readFileSync(join(target, 'logdirs/kafka-logs/orders-0/00000000000000000000.log')),
    index: readFileSync(join(target, 'logdirs/kafka-logs/orders-0/00000000000000000000.index')),
    meta: readFileSync(join(target, 'logdirs/kafka-logs/meta.properties'), 'utf8'),
  });

  it('restores byte-identical through the workers and on the calling thread, re-hashed; check --read-data passes', async () => {
    const repo = await openRepository(fixtureCopy(), FIXTURE_PASSWORD, { notice: () => undefined });
    expect(repo.config.version).toBe(1);
    expect(repo.boundIds).toBe(false);
    const real = await repo.openSnapshot('latest');
    for (const [how, reader] of [
      ['workers', real],
      ['calling thread', withoutWorkers(real, 'absent')],
    ] as const) {
      const target = join(tempDir('format1-restore'), 't');
      await restoreFiles(reader, target, { workers: 2 });
      const got = restored(target);
      expect(got.log.equals(segment()), how).toBe(true);
      expect(got.index.equals(Buffer.alloc(4096)), how).toBe(true);
      expect(got.meta, how).toBe('broker.id=1\nversion=0\n');
    }
    expect(await checkRepository(repo, { readData: true })).toMatchObject({ ok: true, problems: [] });
    await repo.close();
  });

  it('a blob read in place of another still fails its hash there', async () => {
    const path = fixtureCopy();
    const victim = await misplaceOneBlob(path, FIXTURE_PASSWORD);
    const repo = await openRepository(path, FIXTURE_PASSWORD, { notice: () => undefined });
    const real = await repo.openSnapshot('latest');
    for (const [how, reader] of [
      ['workers', real],
      ['calling thread', withoutWorkers(real, 'absent')],
    ] as const) {
      expect(await restoreError(reader, 2), how).toMatchObject({ type: 'CorruptBackup', message: expect.stringContaining('does not match its hash'), details: { blob: victim } });
    }
    await repo.close();
  });

  it('stays format 1 when backed up into, and copies into a format-2 repository sealed with ids', async () => {
    const path = fixtureCopy();
    const repo: LocalRepository = await openRepository(path, FIXTURE_PASSWORD, { notice: () => undefined });
    const added = kafkaLike(300_000, 4);
    const w = await repo.newSnapshot({ cluster: 'fixture', components: ['logdirs'] });
    await w.writeFile('logdirs/kafka-logs/orders-1/00000000000000000000.log', added);
    await w.commit();
    expect(JSON.parse(readFileSync(join(path, 'config'), 'utf8')).version).toBe(1);
    const dst = await initRepository(join(tempDir('format2-dst'), 'repo'), FIXTURE_PASSWORD, { ...SMALL });
    const copied = await copySnapshots(repo, dst);
    expect(copied.copied.length).toBe(2);
    // Every blob of the destination opens only as itself: check re-reads them all with their ids.
    expect(await checkRepository(dst, { readData: true })).toMatchObject({ ok: true, problems: [] });
    const first = join(tempDir('format2-restore'), 't');
    // Copied oldest first: the fixture's snapshot, then the one added here.
    const [older, newer] = copied.copied.map((c) => c.newId);
    await restoreFiles(await dst.openSnapshot(older!), first, { workers: 2 });
    expect(restored(first).log.equals(segment())).toBe(true);
    const second = join(tempDir('format2-restore'), 't');
    await restoreFiles(await dst.openSnapshot(newer!), second, { workers: 2 });
    expect(readFileSync(join(second, 'logdirs/kafka-logs/orders-1/00000000000000000000.log')).equals(added)).toBe(true);
    // The fixture's own files are untouched by the test's reads (a copy was used): still five.
    expect(readdirSync(FIXTURE).sort()).toEqual(['config', 'data', 'index', 'keys', 'snapshots']);
    await Promise.all([repo.close(), dst.close()]);
    rmSync(path, { recursive: true, force: true });
  });
});
