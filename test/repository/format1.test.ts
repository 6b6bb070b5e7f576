import { cpSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository, copySnapshots, initRepository, openRepository, restoreFiles } from '../../src/repository';
import { SMALL, kafkaLike, misplaceOneBlob, restoreFailure, tempDir, withoutWorkers } from './helpers';

/**
 * A repository written before blobs carried their ids (format 1): fixtures/format1, made by Lifeboat
 * at 7c67730 (`repo init`, then `repo backup` of a 17 MiB segment, its index and meta.properties).
 * Every test works on a copy of it.
 */
const FIXTURE = join(__dirname, 'fixtures', 'format1');
const PASSWORD = 'fixture-password';

/** The 17 MiB segment the fixture's snapshot holds (so it restores through the workers). */
function segment(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 17 * 256; i++) {
    const line = `{"offset":${i},"key":"order-${i % 97}","value":"${'x'.repeat(40 + (i % 13))}","ts":${1700000000000 + i * 37}}\n`;
    parts.push(Buffer.from(line.repeat(Math.ceil(4096 / line.length))).subarray(0, 4096));
  }
  return Buffer.concat(parts);
}

function fixtureCopy(): string {
  const dir = join(tempDir('format1'), 'repo');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

const restored = (target: string) => ({
  log: readFileSync(join(target, 'logdirs/kafka-logs/orders-0/00000000000000000000.log')),
  index: readFileSync(join(target, 'logdirs/kafka-logs/orders-0/00000000000000000000.index')),
  meta: readFileSync(join(target, 'logdirs/kafka-logs/meta.properties'), 'utf8'),
});

describe('format 1: a repository written before blobs carried their ids', () => {
  it('restores byte-identical through the workers and on the calling thread, re-hashed; check --read-data passes', async () => {
    const repo = await openRepository(fixtureCopy(), PASSWORD, { notice: () => undefined });
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
    // With the other blob's length too: the length check passes, only the hash can tell.
    const victim = await misplaceOneBlob(path, PASSWORD, true);
    const repo = await openRepository(path, PASSWORD, { notice: () => undefined });
    const real = await repo.openSnapshot('latest');
    for (const [how, reader] of [
      ['workers', real],
      ['calling thread', withoutWorkers(real, 'absent')],
    ] as const) {
      expect(await restoreFailure(reader, 2), how).toMatchObject({ type: 'CorruptBackup', message: expect.stringContaining('does not match its hash'), details: { blob: victim } });
    }
    await repo.close();
  });

  it('stays format 1 when backed up into, and copies into a format-2 repository sealed with ids', async () => {
    const path = fixtureCopy();
    const repo = await openRepository(path, PASSWORD, { notice: () => undefined });
    const added = kafkaLike(300_000, 4);
    const w = await repo.newSnapshot({ cluster: 'fixture', components: ['logdirs'] });
    await w.writeFile('logdirs/kafka-logs/orders-1/00000000000000000000.log', added);
    await w.commit();
    expect(JSON.parse(readFileSync(join(path, 'config'), 'utf8')).version).toBe(1);
    const dst = await initRepository(join(tempDir('format2-dst'), 'repo'), PASSWORD, { ...SMALL });
    const copied = await copySnapshots(repo, dst);
    expect(copied.copied.length).toBe(2);
    // Every blob of the destination opens only as itself: check re-reads them all with their ids.
    expect(await checkRepository(dst, { readData: true })).toMatchObject({ ok: true, problems: [] });
    // Copied oldest first: the fixture's snapshot, then the one added here.
    const [older, newer] = copied.copied.map((c) => c.newId);
    const first = join(tempDir('format2-restore'), 't');
    await restoreFiles(await dst.openSnapshot(older!), first, { workers: 2 });
    expect(restored(first).log.equals(segment())).toBe(true);
    const second = join(tempDir('format2-restore'), 't');
    await restoreFiles(await dst.openSnapshot(newer!), second, { workers: 2 });
    expect(readFileSync(join(second, 'logdirs/kafka-logs/orders-1/00000000000000000000.log')).equals(added)).toBe(true);
    // The fixture itself is untouched (the tests work on copies): no lock, no new file.
    expect(readdirSync(FIXTURE).sort()).toEqual(['config', 'data', 'index', 'keys', 'snapshots']);
    await Promise.all([repo.close(), dst.close()]);
  });
});
