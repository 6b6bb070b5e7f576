import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRepository, pruneRepository } from '../../src/repository';
import { PASSWORD, kafkaLike, tempRepo } from './helpers';

/** A pid that certainly belonged to a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('repository locks', () => {
  it('blocks prune while a backup holds the shared lock, and a backup while prune holds the exclusive one', async () => {
    const repo = await tempRepo();
    const other = await openRepository(repo.path, PASSWORD, { notice: () => undefined });
    const w = await repo.newSnapshot({ cluster: 'c', components: ['configs'] });
    await w.writeFile('configs/a', kafkaLike(10_000));
    await expect(pruneRepository(other)).rejects.toMatchObject({ type: 'Locked', message: expect.stringContaining(`pid ${process.pid}`) });
    await w.commit();
    await repo.close(); // releases the shared lock
    const pruned = await pruneRepository(other);
    expect(pruned.snapshots).toBe(1);

    // the other way round: prune in progress, a backup is refused
    const third = await openRepository(repo.path, PASSWORD, { notice: () => undefined });
    await other.exclusive('prune', async () => {
      await expect(third.newSnapshot({ cluster: 'c', components: ['configs'] })).rejects.toMatchObject({ type: 'Locked', message: expect.stringContaining('exclusively') });
    });
    // and once it is done the backup proceeds
    const w3 = await third.newSnapshot({ cluster: 'c', components: ['configs'] });
    await w3.abort();
    await third.close();
    await other.close();
  });

  it('breaks a stale lock (dead pid on this host, or not refreshed) with a notice', async () => {
    const repo = await tempRepo();
    await repo.close();
    writeFileSync(join(repo.path, 'locks', 'dead'), JSON.stringify({ host: hostname(), pid: deadPid(), time: new Date().toISOString(), exclusive: true, purpose: 'prune' }));
    writeFileSync(
      join(repo.path, 'locks', 'old'),
      JSON.stringify({ host: 'elsewhere', pid: 1, time: new Date(Date.now() - 3600_000).toISOString(), exclusive: true, purpose: 'prune' }),
    );
    const notices: string[] = [];
    const r = await openRepository(repo.path, PASSWORD, { notice: (m) => notices.push(m) });
    const w = await r.newSnapshot({ cluster: 'c', components: ['configs'] });
    await w.abort();
    expect(notices).toHaveLength(2);
    expect(notices.join('\n')).toMatch(/broke a stale exclusive lock of prune .* is gone/);
    expect(notices.join('\n')).toMatch(/not refreshed for 60 min/);
    await r.close();

    // a live lock of another host is respected
    writeFileSync(join(repo.path, 'locks', 'live'), JSON.stringify({ host: 'elsewhere', pid: 1, time: new Date().toISOString(), exclusive: true, purpose: 'prune' }));
    const r2 = await openRepository(repo.path, PASSWORD, { notice: () => undefined });
    await expect(r2.newSnapshot({ cluster: 'c', components: ['configs'] })).rejects.toMatchObject({ type: 'Locked', exitCode: 11 });
    await r2.close();
  });
});
