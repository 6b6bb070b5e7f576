import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository, openRepository, restoreFiles } from '../../src/repository';
import { RestorePool } from '../../src/repository/restorePool';
import { PASSWORD, kafkaLike, misplaceOneBlob, restoreFailure, tempDir, tempRepo, withoutWorkers } from './helpers';

/**
 * Format 2 seals every blob with its id as associated data, and a restore then checks the tag, not
 * the SHA-256 of every byte. What must hold: a blob read in place of another (an index pointing at
 * the wrong bytes, all of them intact) fails as altered, on every read path. (Repositories written
 * before, format 1: format1.test.ts.) Runs again on S3 (s3Suite.int).
 */

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
      expect(await restoreFailure(reader, workers), how).toMatchObject({
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
