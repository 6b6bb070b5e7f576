/**
 * Repository sessions (src/repository/session.ts): keys unlocked once, the index read once and
 * refreshed when index/ changed. Every test asserts the outcome that matters: a backup through the
 * session stores what the repository lacks (check finds nothing missing) and reads back bit for bit.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository, forget, openRepository, pruneRepository, repairIndex, RepositorySessions, withRepositorySessions } from '../../src/repository';
import { addKey, removeKey } from '../../src/repository/keys';
import type { LocalRepository } from '../../src/repository/repo';
import { initRepository } from '../../src/repository/repo';
import { openRepositoryForSpec } from '../../src/repository';
import { LifeboatError } from '../../src/errors';
import { PASSWORD, SMALL, tempDir, tempRepo } from './helpers';

const quiet = { notice: () => undefined };

async function backup(repo: LocalRepository, files: Record<string, Buffer>, tags: string[] = []): Promise<{ id: string; newBytes: number }> {
  const { meta } = await repo.saveSnapshot({ cluster: 'c', components: ['configs'], tags }, async (w) => {
    for (const [p, b] of Object.entries(files)) await w.writeFile(p, b);
  });
  return { id: meta.id, newBytes: meta.summary.newBytes };
}

async function expectReadsBack(repo: LocalRepository, id: string, files: Record<string, Buffer>): Promise<void> {
  const r = await repo.openSnapshot(id);
  for (const [p, b] of Object.entries(files)) expect((await r.readBuffer(p)).equals(b), p).toBe(true);
}

async function expectClean(path: string): Promise<void> {
  const repo = await openRepository(path, PASSWORD, quiet);
  try {
    const c = await checkRepository(repo, { readData: true });
    expect(c.problems).toEqual([]);
    expect(c.ok).toBe(true);
  } finally {
    await repo.close();
  }
}

/** Opens through the session, runs fn, closes (as an activity does). */
async function using<T>(sessions: RepositorySessions, path: string, fn: (r: LocalRepository) => Promise<T>, password = PASSWORD): Promise<T> {
  const repo = await sessions.open(path, password, quiet);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

const data = (n = 3, size = 200 * 1024): Record<string, Buffer> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, randomBytes(size)]));

describe('repository session', () => {
  it('unlocks the key and reads each index file once over many opens', async () => {
    const path = (await tempRepo()).path;
    const sessions = new RepositorySessions();
    const files = data();
    const first = await using(sessions, path, (r) => backup(r, files));
    for (let i = 0; i < 5; i++) await using(sessions, path, (r) => expectReadsBack(r, first.id, files));
    const s = sessions.session(path, PASSWORD);
    expect(s.stats.unlocks).toBe(1);
    expect(s.stats.opens).toBe(6);
    // The one index file the backup wrote, read once (at the second open), not at every open.
    expect(readdirSync(join(path, 'index'))).toHaveLength(1);
    expect(s.stats.indexFilesRead).toBe(1);
  });

  it('sees what another process backed up meanwhile: its snapshots and its chunks (deduplicated, not stored twice)', async () => {
    const path = (await tempRepo()).path;
    const sessions = new RepositorySessions();
    await using(sessions, path, (r) => backup(r, data(1)));
    const files = data();
    const other = await openRepository(path, PASSWORD, quiet);
    const theirs = await backup(other, files);
    await other.close();
    await using(sessions, path, async (r) => {
      expect((await r.snapshots()).map((s) => s.id)).toContain(theirs.id);
      await expectReadsBack(r, theirs.id, files);
      expect((await backup(r, files)).newBytes).toBe(0);
    });
    await expectClean(path);
  });

  it('after another process forgot and pruned, a backup through the session stores the pruned chunks again', async () => {
    const path = (await tempRepo()).path;
    const sessions = new RepositorySessions();
    const files = data();
    const first = await using(sessions, path, (r) => backup(r, files));
    await using(sessions, path, (r) => expectReadsBack(r, first.id, files)); // the session's index now names the chunks
    const other = await openRepository(path, PASSWORD, quiet);
    await forget(other, [{ id: first.id, time: new Date().toISOString(), cluster: 'c', tags: [] }], { keepLast: 0, keepTags: ['none'] });
    await pruneRepository(other);
    await other.close();
    const second = await using(sessions, path, (r) => backup(r, files));
    expect(second.newBytes).toBe(Object.values(files).reduce((n, b) => n + b.length, 0));
    expect(sessions.session(path, PASSWORD).stats.indexRebuilds).toBe(1);
    await using(sessions, path, (r) => expectReadsBack(r, second.id, files));
    await expectClean(path);
  });

  it('a prune between opening a handle and its first lock does not leave the backup pointing at deleted chunks (also without a session)', async () => {
    for (const how of ['openRepository', 'session'] as const) {
      const path = (await tempRepo()).path;
      const sessions = new RepositorySessions();
      const files = data();
      const seed = await openRepository(path, PASSWORD, quiet);
      const first = await backup(seed, files);
      await seed.close();
      // Opened (index loaded), not yet locked: the way an activity holds a handle before it writes.
      const mine = how === 'session' ? await sessions.open(path, PASSWORD, quiet) : await openRepository(path, PASSWORD, quiet);
      const other = await openRepository(path, PASSWORD, quiet);
      await forget(other, [{ id: first.id, time: new Date().toISOString(), cluster: 'c', tags: [] }], { keepLast: 0, keepTags: ['none'] });
      await pruneRepository(other);
      await other.close();
      const second = await backup(mine, files);
      expect(second.newBytes, how).toBeGreaterThan(0);
      await mine.close();
      await expectClean(path);
      const check = await openRepository(path, PASSWORD, quiet);
      await expectReadsBack(check, second.id, files);
      await check.close();
    }
  });

  it('picks up an index file written later (repair index) and one replaced by another', async () => {
    const path = (await tempRepo()).path;
    const sessions = new RepositorySessions();
    const files = data();
    const first = await using(sessions, path, (r) => backup(r, files));
    await using(sessions, path, (r) => expectReadsBack(r, first.id, files)); // the session's index is read from the file
    const other = await openRepository(path, PASSWORD, quiet);
    await repairIndex(other); // rewrites index/: the file the session read is gone, another names the same packs
    await other.close();
    await using(sessions, path, async (r) => {
      await expectReadsBack(r, first.id, files);
      expect((await backup(r, files)).newBytes).toBe(0);
    });
    expect(sessions.session(path, PASSWORD).stats.indexRebuilds).toBe(1);
    await expectClean(path);
  });

  it('two backups through one session at once: both read back, nothing missing', async () => {
    const path = (await tempRepo()).path;
    const sessions = new RepositorySessions();
    const shared = data(2);
    const a = { ...shared, ...data(2) };
    const b = { ...shared, ...data(2) };
    const [ra, rb] = await Promise.all([using(sessions, path, (r) => backup(r, a, ['a'])), using(sessions, path, (r) => backup(r, b, ['b']))]);
    await using(sessions, path, async (r) => {
      await expectReadsBack(r, ra.id, a);
      await expectReadsBack(r, rb.id, b);
    });
    await expectClean(path);
  });

  it('a backup that died mid-way (packs without an index) is taken over by the next one, whose chunks are all there', async () => {
    const path = (await tempRepo()).path;
    const sessions = new RepositorySessions();
    const files = data(4);
    await using(sessions, path, async (r) => {
      const w = await r.newSnapshot({ cluster: 'c', components: ['configs'] });
      for (const [p, b] of Object.entries(files)) await w.writeFile(p, b);
      await w.abort(); // packs written, no index, no snapshot: what a killed worker leaves
    });
    expect(readdirSync(join(path, 'index'))).toHaveLength(0);
    const again = await using(sessions, path, (r) => backup(r, files));
    expect(again.newBytes).toBe(0); // the packs were reused
    // A new worker (new sessions) reads it all.
    await using(new RepositorySessions(), path, (r) => expectReadsBack(r, again.id, files));
    await expectClean(path);
  });

  it('a password change: a removed key is not kept unlocked, the new password opens', async () => {
    const repo = await tempRepo();
    const path = repo.path;
    const sessions = new RepositorySessions();
    const files = data(1);
    const first = await using(sessions, path, (r) => backup(r, files));
    const newKey = await addKey(repo, 'the new password', SMALL.scrypt);
    const other = await openRepository(path, 'the new password', quiet);
    await removeKey(other, repo.keyName.slice(0, 12));
    await other.close();
    await repo.close();
    const e = await sessions.open(path, PASSWORD, quiet).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LifeboatError);
    expect((e as LifeboatError).type).toBe('WrongPassword');
    await using(sessions, path, (r) => expectReadsBack(r, first.id, files), 'the new password');
    expect(sessions.session(path, 'the new password').stats.unlocks).toBe(1);
    expect(newKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a repository re-created at the same path is unlocked anew (no stale key or index)', async () => {
    const dir = tempDir();
    const path = join(dir, 'repo');
    const sessions = new RepositorySessions();
    const r0 = await initRepository(path, PASSWORD, SMALL);
    await r0.close();
    const files = data(1);
    await using(sessions, path, (r) => backup(r, files));
    const { rmSync } = await import('node:fs');
    rmSync(path, { recursive: true, force: true });
    (await initRepository(path, PASSWORD, SMALL)).close();
    const again = await using(sessions, path, (r) => backup(r, files));
    expect(again.newBytes).toBe(files.f0!.length);
    expect(sessions.session(path, PASSWORD).stats.unlocks).toBe(2);
    await expectClean(path);
  });

  it('a missing repository stays RepositoryNotFound; openRepositoryForSpec uses the sessions of the running activity', async () => {
    const sessions = new RepositorySessions();
    const e = await sessions.open(join(tempDir(), 'nothing'), PASSWORD, quiet).catch((x: unknown) => x);
    expect((e as LifeboatError).type).toBe('RepositoryNotFound');
    const path = (await tempRepo()).path;
    const spec = { name: 'c', repository: { path, password: { env: 'SESSION_TEST_PW' }, compression: 'auto' } } as unknown as Parameters<typeof openRepositoryForSpec>[0];
    process.env.SESSION_TEST_PW = PASSWORD;
    for (let i = 0; i < 3; i++) {
      const r = await withRepositorySessions(sessions, () => openRepositoryForSpec(spec, 'primary', quiet));
      await r.close();
    }
    expect(sessions.session(path, PASSWORD).stats.opens).toBe(3);
    expect(sessions.session(path, PASSWORD).stats.unlocks).toBe(1);
  });

  it('a forgotten snapshot leaves the shared snapshot cache', async () => {
    const path = (await tempRepo()).path;
    const sessions = new RepositorySessions();
    const first = await using(sessions, path, (r) => backup(r, data(1)));
    await using(sessions, path, (r) => r.loadSnapshotFile(first.id)); // cached
    const other = await openRepository(path, PASSWORD, quiet);
    await forget(other, [{ id: first.id, time: new Date().toISOString(), cluster: 'c', tags: [] }], { keepLast: 0, keepTags: ['none'] });
    await other.close();
    const e = await using(sessions, path, (r) => r.loadSnapshotFile(first.id)).catch((x: unknown) => x);
    expect((e as LifeboatError).type).toBe('SnapshotNotFound');
  });
});
