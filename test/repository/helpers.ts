import { closeSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { initRepository, openRepository, restoreFiles, type InitOptions, type LocalRepository, type RepositoryLocation, type SnapshotReader } from '../../src/repository';
import type { IndexFile } from '../../src/repository/format';

/** Small chunks and packs so tests exercise many of each on little data; cheap scrypt. */
export const SMALL: InitOptions = {
  chunker: { min: 4 * 1024, avg: 16 * 1024, max: 64 * 1024 },
  packSize: 256 * 1024,
  scrypt: { N: 2 ** 12, r: 8, p: 1 },
  notice: () => undefined,
};

export const PASSWORD = 'correct horse battery staple';

const dirs: string[] = [];
export function tempDir(label = 'repo'): string {
  const d = mkdtempSync(join(tmpdir(), `lifeboat-${label}-`));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Where tempRepo makes repositories: a fresh temp dir, or what `tempReposOn` says (the S3 suite). */
let where: (() => RepositoryLocation) | undefined;
export function tempReposOn(make: () => RepositoryLocation): void {
  where = make;
}

export async function tempRepo(opts: InitOptions = {}) {
  return initRepository(where ? where() : join(tempDir(), 'repo'), PASSWORD, { ...SMALL, ...opts });
}

export { kafkaLike } from '../../bench/repositoryData';

/** Flips one bit of a file in place (a damaged pack). */
export function flipBit(file: string, offset: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ 0x10;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

/** Every pack file of a local repository. */
export const packFiles = (repo: LocalRepository): string[] =>
  readdirSync(join(repo.path, 'data')).flatMap((d) => readdirSync(join(repo.path, 'data', d)).map((f) => join(repo.path, 'data', d, f)));

/** The reader without worker threads: parallelRestore absent, answering null, or failing. */
export function withoutWorkers(real: SnapshotReader, how: 'absent' | 'null' | 'rejects'): SnapshotReader {
  const r: SnapshotReader = {
    meta: real.meta,
    list: (p) => real.list(p),
    exists: (p) => real.exists(p),
    readFile: (p) => real.readFile(p),
    readBuffer: (p) => real.readBuffer(p),
    readJson: (p) => real.readJson(p),
  };
  if (how === 'null') r.parallelRestore = async () => null;
  if (how === 'rejects') r.parallelRestore = () => Promise.reject(new Error('no threads here'));
  return r;
}

/**
 * Damages the largest pack of a (closed) repository: a bit flipped a third of the way in, or the
 * pack cut at half. Returns the pack, the damaged offset and how to undo it.
 */
export function damageLargestPack(repo: LocalRepository, damage: 'flip' | 'truncate'): { pack: string; at: number; undo: () => void } {
  const pack = packFiles(repo).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const size = statSync(pack).size;
  const saved = readFileSync(pack);
  const at = Math.floor(size / (damage === 'flip' ? 3 : 2));
  if (damage === 'flip') flipBit(pack, at);
  else truncateSync(pack, at);
  return { pack, at, undo: () => writeFileSync(pack, saved) };
}

/**
 * Points one data blob's index entry at another blob of the same pack (of the same length where a
 * pack has two: then nothing but the seal tells them apart): intact bytes, the wrong ones.
 * `takeLength`: the entry also takes the other blob's plaintext length, so that only a hash (or the
 * seal) can tell, where no two blobs have one length.
 */
export async function misplaceOneBlob(path: string, password: string, takeLength = false): Promise<string> {
  const repo = await openRepository(path, password, { notice: () => undefined });
  const names = (await repo.backend.list('index')).map((f) => f.name);
  const files = await Promise.all(names.map((n) => repo.readSealedJson<IndexFile>('index', n)));
  const pairs = files.flatMap((file, i) =>
    file.packs.flatMap((pack) => {
      const data = pack.blobs.filter((b) => b[0] === 'd');
      return data.flatMap((a, j) => data.slice(j + 1).map((b) => ({ i, pack, a, b, same: a[3] === b[3] && a[4] === b[4] })));
    }),
  );
  const pick = pairs.find((p) => p.same) ?? pairs[0]!;
  const victim = pick.b[1];
  pick.pack.blobs = pick.pack.blobs.map((x) => (x[1] === victim ? (['d', victim, pick.a[2], pick.a[3], takeLength ? pick.a[4] : pick.b[4]] as typeof x) : x));
  await repo.writeSealedJson('index', files[pick.i]);
  await repo.backend.remove('index', names[pick.i]!);
  await repo.close();
  return victim;
}

/** What a restore of the whole snapshot into a fresh directory fails with (null: it did not fail). */
export const restoreFailure = (r: SnapshotReader, workers: number): Promise<unknown> =>
  restoreFiles(r, join(tempDir('restore-failure'), 't'), { workers }).then(
    () => null,
    (e: unknown) => e,
  );
