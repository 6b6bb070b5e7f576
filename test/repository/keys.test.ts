import { describe, expect, it } from 'vitest';
import { addKey, forget, listKeys, openRepository, pruneRepository, removeKey } from '../../src/repository';
import { PASSWORD, kafkaLike, tempRepo } from './helpers';

const quiet = { notice: () => undefined };

describe('keys, forget and prune', () => {
  it('several passwords open one repository; a key can be removed but not the one in use', async () => {
    const repo = await tempRepo();
    const id = await addKey(repo, 'second password', { N: 2 ** 12, r: 8, p: 1 });
    expect((await listKeys(repo)).map((k) => k.current).sort()).toEqual([false, true]);
    const second = await openRepository(repo.path, 'second password', quiet);
    expect(second.keyName).toBe(id);
    await expect(removeKey(second, id.slice(0, 8))).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('refusing') });
    await removeKey(repo, id.slice(0, 8));
    await expect(openRepository(repo.path, 'second password', quiet)).rejects.toMatchObject({ type: 'WrongPassword' });
    await second.close();
    await repo.close();
  });

  it('forget removes what the policy drops; prune reclaims its space and keeps the rest intact', async () => {
    const repo = await tempRepo();
    const shared = kafkaLike(200_000, 9);
    const metas = [];
    for (let i = 0; i < 4; i++) {
      const w = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'], time: new Date(Date.UTC(2024, 0, 1 + i)) });
      await w.writeFile('logdirs/shared.log', shared);
      await w.writeFile('logdirs/own.log', kafkaLike(300_000, i));
      metas.push(await w.commit());
    }
    await repo.close(); // release the shared lock: forget/prune need the exclusive one
    const r = await openRepository(repo.path, PASSWORD, quiet);
    const dry = await forget(r, await r.snapshots(), { keepLast: 2 }, { dryRun: true });
    expect(dry.remove.map((s) => s.id).sort()).toEqual([metas[0]!.id, metas[1]!.id].sort());
    expect(await r.snapshotIds()).toHaveLength(4);
    await forget(r, await r.snapshots(), { keepLast: 2 });
    expect((await r.snapshots()).map((s) => s.id)).toEqual([metas[2]!.id, metas[3]!.id]);
    const before = await r.storedBytes();
    const dryPrune = await pruneRepository(r, { dryRun: true });
    expect(await r.storedBytes()).toBe(before);
    const res = await pruneRepository(r);
    expect(res.blobsRemoved).toBeGreaterThan(0);
    expect(res.bytesAfter).toBeLessThan(before * 0.75);
    expect(dryPrune.bytesAfter).toBeLessThanOrEqual(res.bytesAfter);
    await r.close();
    const again = await openRepository(repo.path, PASSWORD, quiet);
    for (const m of metas.slice(2)) {
      const s = await again.openSnapshot(m.id);
      expect((await s.readBuffer('logdirs/shared.log')).equals(shared)).toBe(true);
      expect((await s.readBuffer('logdirs/own.log')).equals(kafkaLike(300_000, metas.indexOf(m)))).toBe(true);
    }
    await again.close();
  });
});

describe('openRepositoryForSpec', () => {
  it('creates the spec repository when asked (a backup; password from the secret reference) and opens it after', async () => {
    const { parseSpec } = await import('../../src/config/spec');
    const { openRepositoryForSpec } = await import('../../src/repository');
    const { tempDir } = await import('./helpers');
    const path = `${tempDir('spec')}/repo`;
    const spec = parseSpec({
      name: 'prod',
      kafka: { bootstrapServers: ['127.0.0.1:9092'] },
      repository: { path, password: { env: 'LIFEBOAT_TEST_REPO_PW' }, compression: 'max' },
    });
    process.env.LIFEBOAT_TEST_REPO_PW = 'spec-secret';
    try {
      await expect(openRepositoryForSpec(spec, 'primary', quiet)).rejects.toMatchObject({ type: 'RepositoryNotFound' });
      const a = await openRepositoryForSpec(spec, 'primary', { ...quiet, create: true });
      expect(a.config.compression).toBe('max');
      const w = await a.newSnapshot({ cluster: 'prod', components: ['zookeeper'] });
      await w.writeJson('zookeeper/tree.json', { nodes: 1 });
      await w.commit();
      await a.close();
      const b = await openRepositoryForSpec(spec, 'primary', quiet);
      expect(await (await b.openSnapshot('latest', { cluster: 'prod' })).readJson('zookeeper/tree.json')).toEqual({ nodes: 1 });
      await b.close();
      await expect(openRepositoryForSpec(spec, 'offsite')).rejects.toMatchObject({ type: 'InvalidSpec' });
    } finally {
      delete process.env.LIFEBOAT_TEST_REPO_PW;
    }
  });
});
