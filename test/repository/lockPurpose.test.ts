/**
 * `check` holds a shared lock (a prune cannot delete packs under it, and it does not read while a
 * prune holds the exclusive one), and a shared lock is labelled by what its holder does: a backup
 * that first read its parent says "backup", not "restore".
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifeboatWith } from '../support/cli';
import { checkRepository, forget, openRepository, pruneRepository } from '../../src/repository';
import { PASSWORD, kafkaLike, tempDir, tempRepo } from './helpers';

const ROOT = resolve(__dirname, '../..');
const quiet = { notice: () => undefined };
const cli = (args: string[], password = PASSWORD) => lifeboatWith({ LIFEBOAT_PASSWORD: password }, 'repo', ...args);

describe('check takes a shared lock', () => {
  it('answers Locked (exit 11) while another holder has the exclusive lock; runs beside a backup', async () => {
    const repo = await tempRepo();
    const w = await repo.newSnapshot({ cluster: 'c', components: ['configs'] });
    await w.writeFile('configs/a', kafkaLike(50_000));
    await w.commit();
    await repo.close();

    const pruner = await openRepository(repo.path, PASSWORD, quiet);
    const checker = await openRepository(repo.path, PASSWORD, quiet);
    await pruner.exclusive('prune', async () => {
      await expect(checkRepository(checker, { readData: true })).rejects.toMatchObject({ type: 'Locked', exitCode: 11, message: expect.stringContaining('exclusively by prune') });
      const c = await cli(['check', '--repo', repo.path, '--read-data']);
      expect(c.code, c.stdout + c.stderr).toBe(11);
      expect(c.stderr).toContain('exclusively by prune');
    });
    await pruner.close();

    // Shared with a backup in progress: both proceed; and a prune meanwhile is refused, naming check.
    const backup = await openRepository(repo.path, PASSWORD, quiet);
    const w2 = await backup.newSnapshot({ cluster: 'c', components: ['configs'] });
    const r = await checkRepository(checker, { readData: true });
    expect(r.ok).toBe(true);
    await w2.abort();
    await backup.close();
    const late = await openRepository(repo.path, PASSWORD, quiet);
    await expect(pruneRepository(late)).rejects.toMatchObject({ type: 'Locked', message: expect.stringContaining('shared by check') });
    await checker.close();
    expect((await pruneRepository(late)).dryRun).toBe(false);
    await late.close();
  });

  it('a check --read-data concurrent with a prune that deletes packs never meets a vanished pack', async () => {
    for (let round = 0; round < 4; round++) {
      const repo = await tempRepo();
      for (let i = 0; i < 4; i++) {
        const w = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
        await w.writeFile(`logdirs/p${i}.log`, kafkaLike(1_500_000, round * 10 + i));
        await w.commit();
      }
      await repo.close(); // its shared lock would block forget's exclusive one
      await forget(repo, await repo.snapshots(), { keepLast: 1 });
      const a = await openRepository(repo.path, PASSWORD, quiet);
      const b = await openRepository(repo.path, PASSWORD, quiet);
      // Either may start first, by a little or not at all.
      const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const lead = [0, 5, 30, 0][round]!;
      const checking = (round === 3 ? delay(5) : Promise.resolve()).then(() => checkRepository(a, { readData: true }));
      const pruning = delay(round === 3 ? 0 : lead).then(() => pruneRepository(b));
      const [check, prune] = await Promise.allSettled([checking, pruning]);
      await a.close();
      await b.close();
      for (const r of [check, prune]) if (r.status === 'rejected') expect(r.reason, String(r.reason)).toMatchObject({ type: 'Locked' });
      if (check.status === 'fulfilled') expect(check.value.problems).toEqual([]);
      // (Both may be Locked: two lockers that start together both back off.)
      const after = await openRepository(repo.path, PASSWORD, quiet);
      expect((await checkRepository(after, { readData: true })).ok).toBe(true);
      await after.close();
    }
  }, 120_000);
});

describe('the shared lock says what its holder does', () => {
  it('a backup that read its parent first is "backup" to other processes', async () => {
    const first = await tempRepo();
    const w = await first.newSnapshot({ cluster: 'c', components: ['configs'] });
    await w.writeFile('configs/a', kafkaLike(10_000));
    const parent = await w.commit();
    await first.close();
    // The order of `repo backup` and of backup parts: read the parent, then write.
    const repo = await openRepository(first.path, PASSWORD, quiet);
    await repo.openSnapshot(parent.id);
    const w2 = await repo.newSnapshot({ cluster: 'c', components: ['configs'], parent: parent.id });
    const other = await openRepository(repo.path, PASSWORD, quiet);
    await expect(pruneRepository(other)).rejects.toMatchObject({ type: 'Locked', message: expect.stringMatching(/locked shared by backup \(pid/) });
    await w2.abort();
    await repo.close();
    await other.close();
  });

  it('lifeboat repo backup (with a parent) is seen as "backup" in the Locked message of another process', async () => {
    const base = tempDir('lock-label');
    const repo = join(base, 'repo');
    const src = join(base, 'src');
    mkdirSync(src);
    expect((await cli(['init', '--repo', repo])).code).toBe(0);
    writeFileSync(join(src, 'small.log'), kafkaLike(10_000));
    expect((await cli(['backup', src, '--repo', repo, '--cluster', 'c', '--as', 'logdirs/b1'])).code).toBe(0);
    // Big enough that the second backup (which reads its parent first) runs for a while.
    for (let i = 0; i < 6; i++) writeFileSync(join(src, `big-${i}.log`), randomBytes(16 * 1024 * 1024));
    const child = spawn(join(ROOT, 'bin/lifeboat'), ['repo', 'backup', src, '--repo', repo, '--cluster', 'c', '--as', 'logdirs/b1'], {
      env: { ...process.env, LIFEBOAT_PASSWORD: PASSWORD },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let done = false;
    void exited.then(() => (done = true));
    const other = await openRepository(repo, PASSWORD, quiet);
    // Probe only once the child holds its lock: a probe's lock file met by the child's own
    // acquisition would make the child back off.
    while (!done && readdirSync(join(repo, 'locks')).length === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300));
    const seen: string[] = [];
    while (!done) {
      await other.exclusive('prune', async () => undefined).catch((e: Error) => seen.push(e.message));
      await new Promise((r) => setTimeout(r, 20));
    }
    await other.close();
    expect(await exited).toBe(0);
    expect(seen.length).toBeGreaterThan(0);
    for (const m of seen) expect(m, m).toMatch(/locked shared by backup \(pid/);
  }, 120_000);
});
