/**
 * `restore-files`: a snapshot's files into a target directory. Refuses entries that would land
 * outside the target ("..", absolute paths, symlinks pointing out, or an existing symlinked
 * directory inside the target), refuses to overwrite unless told, and writes each file to a
 * temporary name, verified chunk by chunk and by size, before renaming it into place.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LifeboatError } from '../errors';
import { checkEntryPath } from './repo';
import type { FileEntry, ParallelFileRestore, SnapshotReader } from './types';
import { forEachLimited } from '../concurrency';

/** Restores of at least this many bytes use worker threads (their start-up costs ~40 ms). */
const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
/**
 * Worker threads for a large restore: two (one where there is a single core). Each worker's V8 heap
 * lets ~64 MB of dead chunk buffers pile up between its GCs, so more workers cost RSS (2: ~225 MB
 * peak for a 1.2 GB restore, 3: ~285 MB) for little on two cores; libuv's pool decompresses besides.
 */
export const defaultRestoreWorkers = () => Math.min(2, availableParallelism());

export interface RestoreResult {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
}

const inside = (root: string, p: string) => {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

const exists = (p: string) => fs.lstat(p).then(
  () => true,
  () => false,
);

/** The real path `p` will have: its nearest existing ancestor resolved, the rest as written. */
async function realPathToBe(p: string): Promise<string> {
  const rest: string[] = [];
  for (let cur = p; ; cur = dirname(cur)) {
    try {
      return join(await fs.realpath(cur), ...rest.reverse());
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(cur) === cur) throw e;
      rest.push(basename(cur));
    }
  }
}

/**
 * Checks every directory the plan writes into, component by component below the target, before
 * anything is created: an existing symlink must lead to a directory inside the target, and an
 * existing file cannot take a directory's place (mkdir would follow a symlink out of the target).
 */
async function checkDestinations(root: string, plan: { e: FileEntry; dest: string }[]): Promise<void> {
  const realRoot = await realPathToBe(root);
  const dirs = new Set(plan.map(({ e, dest }) => (e.type === 'dir' ? dest : dirname(dest))));
  const checked = new Set<string>();
  for (const dir of [...dirs].sort()) {
    let cur = root;
    for (const seg of relative(root, dir).split(sep).filter(Boolean)) {
      cur = join(cur, seg);
      if (checked.has(cur)) continue;
      const st = await fs.lstat(cur).catch(() => null);
      if (!st) break; // created by the restore: nothing below it exists yet
      checked.add(cur);
      if (st.isDirectory()) continue;
      if (!st.isSymbolicLink()) throw new LifeboatError('UnsafeTarget', `refusing to restore into ${cur}: it is a ${st.isFile() ? 'file' : 'special file'}, the snapshot has a directory there`);
      const real = await fs.realpath(cur).catch(() => null);
      if (!real) throw new LifeboatError('UnsafeTarget', `refusing to restore into ${cur}: it is a symlink to a missing path`);
      if (!inside(realRoot, real)) throw new LifeboatError('UnsafeTarget', `refusing to restore into ${cur}: it is a symlink to ${real}, outside ${realRoot}`);
      if (!(await fs.stat(real)).isDirectory()) throw new LifeboatError('UnsafeTarget', `refusing to restore into ${cur}: it is a symlink to ${real}, not a directory`);
    }
  }
}

/** Strips `stripPrefix` (e.g. "configs/b1") from entry paths so its content lands at the target's root. */
function destPath(e: FileEntry, stripPrefix?: string): string {
  if (!stripPrefix) return e.path;
  const p = stripPrefix.replace(/\/+$/, '');
  return e.path === p ? '' : e.path.slice(p.length + 1);
}

export async function restoreFiles(
  reader: SnapshotReader,
  target: string,
  opts: {
    include?: string;
    stripPrefix?: string;
    overwrite?: boolean;
    progress?: (m: string) => void;
    /** Worker threads (0: restore on this thread). Default: defaultRestoreWorkers() for restores of 16 MiB or more. */
    workers?: number;
  } = {},
): Promise<RestoreResult> {
  const root = resolve(target);
  const entries = reader.list(opts.include);
  const plan: { e: FileEntry; dest: string }[] = [];
  for (const e of entries) {
    checkEntryPath(e.path);
    const rel = destPath(e, opts.stripPrefix);
    if (!rel) continue;
    const dest = join(root, ...rel.split('/'));
    if (!inside(root, dest)) throw new LifeboatError('UnsafeTarget', `refusing ${e.path}: it would be written outside ${root}`);
    if (e.type === 'symlink') {
      const t = e.linkTarget ?? '';
      if (!t || isAbsolute(t) || !inside(root, resolve(dirname(dest), t)))
        throw new LifeboatError('UnsafeTarget', `refusing symlink ${e.path} -> ${t}: it points outside ${root}`);
    }
    plan.push({ e, dest });
  }
  // Refuse before writing anything: first where each entry would land, then what it would replace.
  await checkDestinations(root, plan);
  if (!opts.overwrite) {
    for (const { e, dest } of plan) {
      if (e.type !== 'dir' && (await exists(dest))) throw new LifeboatError('UnsafeTarget', `refusing to overwrite ${dest} (pass --overwrite to replace existing files)`);
    }
  }
  await fs.mkdir(root, { recursive: true });
  const realRoot = await fs.realpath(root);
  // Checked once per directory: nothing this restore writes before its symlinks (last) can redirect one.
  const checked = new Map<string, Promise<void>>();
  const safeDir = (dir: string): Promise<void> => {
    let p = checked.get(dir);
    if (!p) {
      p = (async () => {
        await fs.mkdir(dir, { recursive: true });
        const real = await fs.realpath(dir);
        if (!inside(realRoot, real)) throw new LifeboatError('UnsafeTarget', `refusing to write into ${dir}: it resolves to ${real}, outside ${realRoot}`);
      })();
      checked.set(dir, p);
    }
    return p;
  };

  const result: RestoreResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  let session: ParallelFileRestore | null = null;
  // Symlinks last, so none can redirect a later write.
  const ordered = [...plan.filter((p) => p.e.type !== 'symlink'), ...plan.filter((p) => p.e.type === 'symlink')];
  const one = async ({ e, dest }: { e: FileEntry; dest: string }) => {
    if (e.type === 'dir') {
      await safeDir(dest);
      await fs.chmod(dest, e.mode & 0o7777);
      result.dirs++;
      return;
    }
    await safeDir(dirname(dest));
    const st = await fs.lstat(dest).catch(() => null);
    if (st?.isDirectory()) throw new LifeboatError('UnsafeTarget', `refusing to replace directory ${dest} with a ${e.type}`);
    if (e.type === 'symlink') {
      if (st) await fs.rm(dest);
      await fs.symlink(e.linkTarget!, dest);
      result.symlinks++;
      return;
    }
    await restoreFileEntry(reader, session, e, dest);
    result.files++;
    result.bytes += e.size;
    if (result.files % 100 === 0) opts.progress?.(`restored ${result.files} files (${(result.bytes / 1e6).toFixed(0)} MB)`);
  };
  // Directories first, then files a few at a time (overlaps one file's tail with the next's head), symlinks last.
  const dirs = ordered.filter((p) => p.e.type === 'dir');
  const files = ordered.filter((p) => p.e.type === 'file');
  const total = files.reduce((n, f) => n + f.e.size, 0);
  const workers = opts.workers ?? (total >= PARALLEL_MIN_BYTES ? defaultRestoreWorkers() : 0);
  // Threads that cannot start (a platform without the zstd binding, a thread limit) leave the restore on this thread.
  session = workers > 0 && reader.parallelRestore ? await reader.parallelRestore(workers).catch(() => null) : null;
  try {
    for (const d of dirs) await one(d);
    // With workers, enough files in flight to keep each busy (a small file is one task).
    await forEachLimited(files, session ? 2 * workers + 2 : 2, one);
  } finally {
    await session?.close();
  }
  for (const s of plan.filter((p) => p.e.type === 'symlink')) await one(s);
  return result;
}


/** Creates `tmp` (never an existing file) and lets the workers write the entry's chunks into it. */
/**
 * Restores one file entry to `dest` through a temporary file beside it (by the worker threads of
 * `session`, else on this thread), checks its size, sets its mode and time and only then renames
 * it into place: a file at its own name is whole. On failure the temporary file is removed; one
 * left by a killed attempt is replaced by the next.
 */
export async function restoreFileEntry(reader: SnapshotReader, session: ParallelFileRestore | null, e: FileEntry, dest: string): Promise<void> {
  const tmp = join(dirname(dest), `.${basename(dest)}.lifeboat-restore`);
  await fs.rm(tmp, { force: true });
  try {
    if (session) {
      const fh = await fs.open(tmp, 'wx', 0o600);
      try {
        await session.writeFile(e.path, fh.fd);
      } finally {
        await fh.close();
      }
    } else await pipeline(reader.readFile(e.path), createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 }));
    const size = (await fs.stat(tmp)).size;
    if (size !== e.size) throw new LifeboatError('CorruptBackup', `snapshot ${reader.meta.id.slice(0, 12)}: ${e.path} restored ${size} bytes, expected ${e.size}`, { snapshot: reader.meta.id });
    await fs.chmod(tmp, (e.mode || 0o644) & 0o7777);
    const mtime = new Date(e.mtime);
    await fs.utimes(tmp, mtime, mtime);
    await fs.rename(tmp, dest);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
