/**
 * A deleted index file: the packs are still there and describe themselves. check says which packs
 * no index names and how to re-index them (exit 3), restore reads their headers and restores
 * byte-identical files, and `repo repair index` rebuilds the index (check clean again).
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifeboatWith } from '../support/cli';
import { checkRepository, openRepository, restoreFiles } from '../../src/repository';
import { PASSWORD, kafkaLike, tempDir, tempRepo } from './helpers';

const quiet = { notice: () => undefined };
const cli = (args: string[]) => lifeboatWith({ LIFEBOAT_PASSWORD: PASSWORD }, 'repo', ...args);

describe('an index file deleted', () => {
  it('check names the unindexed packs with the fix, restore still restores them, repair index re-indexes', async () => {
    const repo = await tempRepo();
    const files = { 'logdirs/b1/orders-0/000.log': kafkaLike(900_000, 1), 'logdirs/b1/orders-1/000.log': kafkaLike(700_000, 2) };
    const w = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    for (const [p, data] of Object.entries(files)) await w.writeFile(p, data);
    const first = await w.commit();
    const firstIndex = readdirSync(join(repo.path, 'index'));
    expect(firstIndex).toHaveLength(1);
    const w2 = await repo.newSnapshot({ cluster: 'c', components: ['configs'] });
    await w2.writeFile('configs/b1/server.properties', Buffer.from('broker.id=1\n'));
    await w2.commit();
    await repo.close();
    const whole = await openRepository(repo.path, PASSWORD, quiet);
    const allPacks = whole.index.packs.keys();
    await whole.close();
    rmSync(join(repo.path, 'index', firstIndex[0]!));

    // Library: check reports, without calling the snapshot damaged; restore (both ways) still works.
    const notices: string[] = [];
    const r = await openRepository(repo.path, PASSWORD, { notice: (m) => notices.push(m) });
    const c = await checkRepository(r);
    expect(c.ok).toBe(false);
    expect(c.damagedSnapshots).toEqual([]);
    const unindexed = c.problems.filter((p) => p.kind === 'unindexed');
    expect(unindexed.length).toBeGreaterThan(0);
    expect(c.problems.every((p) => p.kind === 'unindexed')).toBe(true);
    expect(unindexed[0]!.message).toMatch(/not in any index.*repo prune.*repo repair index/);
    for (const workers of [0, 2]) {
      const out = join(tempDir('lost-index'), 'out');
      await restoreFiles(await r.openSnapshot(first.id), out, { workers });
      for (const [p, data] of Object.entries(files)) expect(readFileSync(join(out, p)).equals(data), p).toBe(true);
    }
    expect(notices.join('\n')).toMatch(/not in any index/);
    await r.close();

    // CLI: check exit 3 naming the packs and the fix; restore-files exit 0, byte-identical.
    const check = await cli(['check', '--repo', repo.path]);
    expect(check.code, check.stdout + check.stderr).toBe(3);
    expect(check.stdout).toContain('repo repair index');
    for (const p of unindexed) expect(check.stdout).toContain(p.object.replace('data/', '').slice(0, 12));
    const out = join(tempDir('lost-index-cli'), 'out');
    const restore = await cli(['restore-files', first.id, '--repo', repo.path, '--target', out]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toContain('repo repair index');
    for (const [p, data] of Object.entries(files)) expect(readFileSync(join(out, p)).equals(data), p).toBe(true);

    // repair index: under the exclusive lock (refused while another process holds a lock) ...
    const lock = join(repo.path, 'locks', 'other-host');
    writeFileSync(lock, JSON.stringify({ host: `not-${hostname()}`, pid: 1, time: new Date().toISOString(), exclusive: false, purpose: 'restore' }));
    expect((await cli(['repair', 'index', '--repo', repo.path])).code).toBe(11);
    rmSync(lock);
    expect(readdirSync(join(repo.path, 'index'))).toHaveLength(1);
    // ... then check is clean, with every pack indexed.
    const repair = await cli(['repair', 'index', '--repo', repo.path]);
    expect(repair.code, repair.stderr).toBe(0);
    const clean = await cli(['check', '--repo', repo.path, '--read-data']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain('no problems found');
    expect(clean.stdout).not.toMatch(/unindexed|not in any index/);
    const after = await openRepository(repo.path, PASSWORD, quiet);
    expect(after.index.packs.keys().sort()).toEqual(allPacks.sort());
    expect((await checkRepository(after)).unindexedPacks).toBe(0);
    await after.close();
  }, 120_000);
});
