/**
 * The repository: opening (password → master key), the snapshot writer (chunk → dedupe → compress
 * → seal → pack) and reader (every chunk verified), snapshot listing, and locking.
 *
 * Commit order is data → index → snapshot: a crash at any point leaves no visible snapshot, and the
 * packs already written are found again by the next backup (their headers describe them), so a
 * re-run stores only what is missing.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { LifeboatError } from '../errors';
import { LocalBackend, type Backend } from './backend';
import { openBackend, type RepositoryLocation } from './location';
import { BlobIndex, type BlobLocation } from './blobIndex';
import { Chunker, DEFAULT_CHUNKER, FixedCutter, validateChunker, type ChunkerParams } from './chunker';
import { compress, decompress, zstdReadable, type CompressionMode } from './compress';
import { CompressPool } from './compressPool';
import { DEFAULT_SCRYPT, blobAadIf, deriveKey, open, seal, sealBuffer, sha256, type ScryptParams } from './crypto';
import {
  DEFAULT_PACK_SIZE,
  FORMAT_VERSION,
  bindsBlobIds,
  isHexId,
  type IndexFile,
  type KeyFile,
  type RepoConfig,
  type SnapshotFile,
  type TreeBlob,
  type TreeEntry,
} from './format';
import { Lock } from './lock';
import { minorGcEvery } from './minorGc';
import { PackWriter, readPackHeader, type PackInfo } from './pack';
import { rangedRestore } from './rangedRestore';
import { RestorePool, type Placement, type PlacementFailure } from './restorePool';
import type {
  ComponentName,
  FileEntry,
  FileSource,
  FileStat,
  ReuseIgnore,
  NewSnapshotOptions,
  ParallelFileRestore,
  Repository,
  SnapshotFilter,
  SnapshotMeta,
  SnapshotReader,
  SnapshotWriter,
  WriteFileOptions,
  WriteResult,
} from './types';

export interface OpenOptions {
  /** Where notices go (stale lock broken, unreadable snapshot skipped). Default: stderr. */
  notice?: (message: string) => void;
}
export interface InitOptions extends OpenOptions {
  compression?: CompressionMode;
  chunker?: ChunkerParams;
  packSize?: number;
  scrypt?: ScryptParams;
}

export const defaultNotice = (m: string) => process.stderr.write(`lifeboat: notice: ${m}\n`);
const noop = () => undefined;
/** Shared-lock purposes that write (a lock's label names these over reads). */
const WRITES = new Set(['backup', 'copy']);
/** Chunks compressed concurrently (libuv's pool has 4 threads). */
const PARALLEL = 4;
/** Chunks read ahead while restoring a file (reads and decompression overlap the consumer's writes). */
const READ_AHEAD = 8;
/** Bytes of buffers the restore workers fill at once for `ParallelFileRestore.readBuffer` (further calls wait). */
const BUFFER_BYTES = 64 * 1024 * 1024;

/** Bytes read from a file at once into the chunker's window (at most half of it). */
const READ_BYTES = 4 * 1024 * 1024;
/** Bytes of chunks stored between two minor GCs of a backup (src/repository/minorGc.ts). */
const GC_BYTES = 16 * 1024 * 1024;
const isFileSource = (c: unknown): c is FileSource => typeof c === 'object' && c !== null && 'file' in c && !(c instanceof Readable);

/** A blob that cannot be read back intact. */
export class BlobError extends Error {
  constructor(
    readonly blob: string,
    readonly pack: string | undefined,
    reason: string,
  ) {
    super(`chunk ${blob.slice(0, 12)}${pack ? ` in pack ${pack.slice(0, 12)}` : ''} ${reason}`);
  }
}

export async function readConfig(backend: Backend): Promise<RepoConfig> {
  let raw: Buffer;
  try {
    raw = await backend.read('config', 'config');
  } catch (e) {
    // ENOTDIR: a component of the path is a file. Either way nothing is there (and nothing is written).
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new LifeboatError('RepositoryNotFound', `no repository at ${backend.location} (run 'lifeboat repo init' first)`);
    throw e;
  }
  let cfg: RepoConfig;
  try {
    cfg = JSON.parse(raw.toString('utf8')) as RepoConfig;
  } catch {
    throw new LifeboatError('RepositoryFormat', `${backend.location}/config is not a Lifeboat repository config (not JSON)`);
  }
  if (typeof cfg.version !== 'number') throw new LifeboatError('RepositoryFormat', `${backend.location}/config has no format version`);
  if (cfg.version > FORMAT_VERSION) {
    throw new LifeboatError(
      'RepositoryFormat',
      `repository ${backend.location} has format version ${cfg.version}, but this Lifeboat reads only up to version ${FORMAT_VERSION}: upgrade Lifeboat`,
    );
  }
  return cfg;
}

export async function makeKeyFile(master: Buffer, password: string, params: ScryptParams): Promise<{ name: string; body: Buffer }> {
  const salt = randomBytes(32);
  const derived = await deriveKey(password, salt, params);
  const kf: KeyFile = {
    version: 1,
    created: new Date().toISOString(),
    hostname: hostname(),
    username: safeUser(),
    kdf: { name: 'scrypt', ...params, salt: salt.toString('base64') },
    sealed: sealBuffer(derived, master).toString('base64'),
  };
  const body = Buffer.from(JSON.stringify(kf, null, 2));
  return { name: sha256(body), body };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Creates a repository at a local path or an S3 location (`where`; an s3:// string takes its credentials from the environment). */
export async function initRepository(where: RepositoryLocation, password: string, opts: InitOptions = {}): Promise<LocalRepository> {
  if (!password) throw new LifeboatError('InvalidInput', 'an empty password is not allowed');
  const backend = openBackend(where);
  try {
    if (await backend.stat('config', 'config')) throw new LifeboatError('InvalidInput', `a repository already exists at ${backend.location}`);
  } catch (e) {
    await backend.close();
    throw e;
  }
  const chunker = opts.chunker ?? DEFAULT_CHUNKER;
  validateChunker(chunker);
  await backend.init();
  const master = randomBytes(32);
  const kf = await makeKeyFile(master, password, opts.scrypt ?? DEFAULT_SCRYPT);
  await backend.write('keys', kf.name, kf.body);
  const cfg: RepoConfig = {
    version: FORMAT_VERSION,
    id: randomBytes(16).toString('hex'),
    created: new Date().toISOString(),
    chunker,
    compression: opts.compression ?? 'auto',
    packSize: opts.packSize ?? DEFAULT_PACK_SIZE,
  };
  // config last: a repository is there once its config is.
  // On S3 a conditional PUT: of two racing inits one fails with "already exists", and its key
  // file (sealing another master key) goes, or the same password would unlock the wrong key.
  try {
    await backend.write('config', 'config', Buffer.from(JSON.stringify(cfg, null, 2)));
  } catch (e) {
    await backend.remove('keys', kf.name).catch(noop);
    await backend.close();
    throw e;
  }
  await backend.close();
  return openRepository(where, password, opts);
}

/** Opens the repository at a local path or an S3 location (`where`). */
export async function openRepository(where: RepositoryLocation, password: string, opts: OpenOptions = {}): Promise<LocalRepository> {
  const backend = openBackend(where);
  try {
    const config = await readConfig(backend);
    const { master, keyName } = await unlock(backend, password);
    const repo = new LocalRepository(backend, config, master, keyName, opts.notice ?? defaultNotice);
    await repo.loadIndex();
    return repo;
  } catch (e) {
    await backend.close();
    throw e;
  }
}

/** What a repository session (session.ts) hands a new handle: its index and caches, already loaded. */
export interface HandleState {
  /** The handle's own index (a copy: the packs it adds from headers stay its own). */
  index: BlobIndex;
  damagedIndexes: Set<string>;
  /** Snapshot files by id, shared by the session's handles (content-addressed: an id's content never changes). */
  snapshotCache: Map<string, SnapshotFile>;
  /** Unreadable snapshots already named, so a recovery's many handles name each once. */
  saidUnreadable: Set<string>;
}

/**
 * Reads the index files of `names` not yet in `index` (or known damaged) into it: what a handle
 * and a session both do. Returns the names newly found damaged (their packs must be read from headers).
 */
export async function readIndexFiles(
  backend: Backend,
  key: Buffer,
  index: BlobIndex,
  damaged: Set<string>,
  names: string[],
  notice: (m: string) => void,
  onLoaded: (file: IndexFile) => void = noop,
): Promise<string[]> {
  const found: string[] = [];
  for (const name of names) {
    if (index.files.has(name) || damaged.has(name)) continue;
    try {
      const file = await readSealedJsonWith<IndexFile>(backend, key, 'index', name);
      index.addFile(name, file);
      onLoaded(file);
    } catch (e) {
      damaged.add(name);
      found.push(name);
      notice(`index file ${name.slice(0, 12)} is damaged (${(e as Error).message}); reading pack headers instead`);
    }
  }
  return found;
}

/** True when a file the index was built from is gone from `names`: a prune or repair rewrote the index. */
export const indexFilesGone = (index: BlobIndex, damaged: Set<string>, names: string[]): boolean => {
  const now = new Set(names);
  for (const f of index.files) if (!now.has(f)) return true;
  for (const f of damaged) if (!now.has(f)) return true;
  return false;
};

async function readSealedJsonWith<T>(backend: Backend, key: Buffer, kind: 'index' | 'snapshots', name: string): Promise<T> {
  const raw = await backend.read(kind, name);
  if (sha256(raw) !== name) throw new Error(`${kind}/${name} does not match its hash (altered or truncated)`);
  return JSON.parse(open(key, raw).toString('utf8')) as T;
}

export async function unlock(backend: Backend, password: string): Promise<{ master: Buffer; keyName: string }> {
  const keys = await backend.list('keys');
  if (keys.length === 0) throw new LifeboatError('RepositoryFormat', `repository ${backend.location} has no key files`);
  for (const { name } of keys) {
    let kf: KeyFile;
    try {
      kf = JSON.parse((await backend.read('keys', name)).toString('utf8')) as KeyFile;
    } catch {
      continue;
    }
    const derived = await deriveKey(password, Buffer.from(kf.kdf.salt, 'base64'), kf.kdf);
    try {
      return { master: open(derived, Buffer.from(kf.sealed, 'base64')), keyName: name };
    } catch {
      // not this key
    }
  }
  throw new LifeboatError('WrongPassword', `wrong password for repository ${backend.location} (no key file matches it)`);
}

/** Rejects paths that are absolute, contain "..", "." or empty segments, or backslashes. */
export function checkEntryPath(path: string): string {
  const segs = path.split('/');
  if (!path || path.startsWith('/') || path.includes('\\') || path.includes('\0') || segs.some((s) => s === '' || s === '.' || s === '..')) {
    throw new LifeboatError('UnsafeTarget', `unsafe path in snapshot: ${JSON.stringify(path)} (must be relative, "/"-separated, without "..")`);
  }
  return path;
}

export class LocalRepository implements Repository {
  index: BlobIndex;
  private readonly snapshotCache: Map<string, SnapshotFile>;
  private sharedLock?: Promise<Lock>;
  private readonly saidUnreadable: Set<string>;
  /** Index files that could not be read (check reports them; their packs are recovered from pack headers). */
  readonly damagedIndexes: Set<string>;

  constructor(
    readonly backend: Backend,
    readonly config: RepoConfig,
    readonly key: Buffer,
    readonly keyName: string,
    readonly notice: (m: string) => void,
    state?: HandleState,
  ) {
    this.index = state?.index ?? new BlobIndex();
    this.damagedIndexes = state?.damagedIndexes ?? new Set();
    this.snapshotCache = state?.snapshotCache ?? new Map();
    this.saidUnreadable = state?.saidUnreadable ?? new Set();
  }

  /** Whether this repository's blobs are sealed with their ids (format 2): then they open only as themselves. */
  get boundIds(): boolean {
    return bindsBlobIds(this.config);
  }

  get path(): string {
    return this.backend.location;
  }

  /** Reads the index files not loaded yet (what other writers committed meanwhile). */
  async loadIndex(names?: string[]): Promise<void> {
    const listed = names ?? (await this.backend.list('index')).map((f) => f.name);
    const damaged = await readIndexFiles(this.backend, this.key, this.index, this.damagedIndexes, listed, this.notice, (file) => {
      for (const p of file.packs) this.packsFromHeaders.delete(p.id); // indexed by another writer meanwhile
    });
    if (damaged.length) await this.scanUnindexedPacks();
  }

  /**
   * Brings the index up to what index/ holds now. New files are read; when a file it was built from
   * is gone (a prune or an index repair rewrote the index and may have deleted packs), or a pack it
   * knows from its header only is gone, it is read again from scratch: a chunk named by a stale index
   * would make a backup skip storing it. Called once the handle holds a lock, when nothing can delete.
   */
  async refreshIndex(): Promise<void> {
    const names = (await this.backend.list('index')).map((f) => f.name);
    let gone = indexFilesGone(this.index, this.damagedIndexes, names);
    if (!gone && this.packsFromHeaders.size) {
      const packs = new Set((await this.backend.list('data')).map((f) => f.name));
      gone = [...this.packsFromHeaders.keys()].some((p) => !packs.has(p));
    }
    if (gone) await this.reloadIndex();
    else await this.loadIndex(names);
  }

  async readSealedJson<T>(kind: 'index' | 'snapshots', name: string): Promise<T> {
    return readSealedJsonWith<T>(this.backend, this.key, kind, name);
  }

  async writeSealedJson(kind: 'index' | 'snapshots', value: unknown): Promise<string> {
    const body = sealBuffer(this.key, Buffer.from(JSON.stringify(value)));
    const name = sha256(body);
    await this.backend.write(kind, name, body);
    return name;
  }

  async loadSnapshotFile(id: string): Promise<SnapshotFile> {
    const cached = this.snapshotCache.get(id);
    if (cached) return cached;
    let s: SnapshotFile;
    try {
      s = await this.readSealedJson<SnapshotFile>('snapshots', id);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new LifeboatError('SnapshotNotFound', `snapshot ${id.slice(0, 12)} not found in ${this.path}`);
      throw new LifeboatError('CorruptBackup', `snapshot ${id.slice(0, 12)} in ${this.path} is damaged: ${(e as Error).message}`);
    }
    this.snapshotCache.set(id, s);
    return s;
  }

  /** Snapshot ids present (file names). */
  async snapshotIds(): Promise<string[]> {
    return (await this.backend.list('snapshots')).map((f) => f.name).filter(isHexId);
  }

  async snapshots(filter: SnapshotFilter = {}): Promise<SnapshotMeta[]> {
    const out: SnapshotMeta[] = [];
    for (const id of await this.snapshotIds()) {
      try {
        const m = toMeta(id, await this.loadSnapshotFile(id));
        if (matches(m, filter)) out.push(m);
      } catch (e) {
        // Once per snapshot and repository handle: a recovery lists the snapshots many times.
        if (!this.saidUnreadable.has(id)) this.notice(`skipping unreadable snapshot ${id.slice(0, 12)}: ${(e as Error).message}`);
        this.saidUnreadable.add(id);
      }
    }
    return out.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  async resolveRef(ref: string, filter: SnapshotFilter = {}): Promise<string> {
    if (ref === 'latest') {
      const all = await this.snapshots(filter);
      const last = all[all.length - 1];
      if (!last) throw new LifeboatError('SnapshotNotFound', `no snapshot${describeFilter(filter)} in ${this.path}`);
      return last.id;
    }
    if (!/^[0-9a-f]{4,64}$/.test(ref)) throw new LifeboatError('InvalidInput', `"${ref}" is not a snapshot id (hex, at least 4 characters) or "latest"`);
    // A whole id names its file: no listing (a LIST request per call on object storage). Loading it says if it is not there.
    if (ref.length === 64) return ref;
    const hits = (await this.snapshotIds()).filter((id) => id.startsWith(ref));
    if (hits.length === 0) throw new LifeboatError('SnapshotNotFound', `snapshot ${ref} not found in ${this.path}`);
    if (hits.length > 1) throw new LifeboatError('InvalidInput', `snapshot prefix ${ref} is ambiguous (${hits.length} snapshots); give more characters`);
    return hits[0]!;
  }

  async openSnapshot(ref: string, filter: SnapshotFilter = {}): Promise<SnapshotReader> {
    await this.ensureShared('restore');
    const id = await this.resolveRef(ref, filter);
    const file = await this.loadSnapshotFile(id);
    const meta = toMeta(id, file);
    let tree: TreeBlob;
    try {
      tree = JSON.parse((await this.loadBlob(file.tree)).toString('utf8')) as TreeBlob;
    } catch (e) {
      throw corrupt(meta, e);
    }
    return new Reader(this, meta, tree.entries);
  }

  async newSnapshot(opts: NewSnapshotOptions): Promise<SnapshotWriter> {
    await this.ensureShared('backup');
    return new Writer(this, opts, await this.recoverPacks());
  }

  async saveSnapshot<T>(opts: NewSnapshotOptions, fill: (w: SnapshotWriter) => Promise<T>): Promise<{ meta: SnapshotMeta; value: T }> {
    const w = await this.newSnapshot(opts);
    let value: T;
    try {
      value = await fill(w);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return { meta: await w.commit(), value };
  }

  /** Packs in data/ that no index names (an interrupted backup or copy): reused, indexed at the next commit. */
  async recoverPacks(): Promise<PackInfo[]> {
    await this.loadIndex(); // pick up what other writers committed meanwhile
    await this.scanUnindexedPacks();
    return [...this.packsFromHeaders.values()];
  }

  /** Names `packs` in a new index file (they are no longer known from their headers only). */
  async writeIndex(packs: PackInfo[]): Promise<void> {
    if (!packs.length) return;
    const name = await this.writeSealedJson('index', { version: 1, packs } satisfies IndexFile);
    this.index.files.add(name);
    for (const p of packs) {
      this.index.addPack(p);
      this.packsFromHeaders.delete(p.id);
    }
  }

  /**
   * Packs known from their headers only: in data/ but named by no (readable) index file (a lost or
   * damaged index file, an interrupted backup). Check reports those that hold chunks of snapshots.
   */
  readonly packsFromHeaders = new Map<string, PackInfo>();
  private headerScan?: Promise<PackInfo[]>;

  /** Reads the headers of the packs no index names, once per handle (until the index is reloaded). */
  readUnindexedPacks(): Promise<PackInfo[]> {
    this.headerScan ??= this.scanUnindexedPacks();
    return this.headerScan;
  }

  /**
   * Where a chunk is. One that no index names is looked for in the packs known from their headers
   * only (an index file was lost); reading from those is said once, with the fix, and goes on.
   */
  async locate(id: string): Promise<BlobLocation | undefined> {
    let loc = this.index.get(id);
    if (!loc) {
      await this.readUnindexedPacks();
      loc = this.index.get(id);
    }
    if (loc && !this.saidUnindexed && this.packsFromHeaders.size && this.packsFromHeaders.has(loc.pack)) {
      this.saidUnindexed = true;
      this.notice(
        `chunks are read from ${this.packsFromHeaders.size} packs not in any index (their headers describe them); ` +
          `'lifeboat repo prune' or 'lifeboat repo repair index' re-indexes them`,
      );
    }
    return loc;
  }
  private saidUnindexed = false;

  private async scanUnindexedPacks(): Promise<PackInfo[]> {
    const found: PackInfo[] = [];
    for (const { name, size } of await this.backend.list('data')) {
      if (this.index.packs.has(name) || !isHexId(name)) continue;
      try {
        const info = { id: name, size, blobs: await readPackHeader(this.backend, this.key, name, size) };
        this.index.addPack(info);
        this.packsFromHeaders.set(name, info);
        found.push(info);
      } catch {
        // unreadable: left for prune / check
      }
    }
    return found;
  }

  /** A snapshot's file list by path. */
  async loadTree(id: string): Promise<Map<string, TreeEntry>> {
    const file = await this.loadSnapshotFile(await this.resolveRef(id));
    const tree = JSON.parse((await this.loadBlob(file.tree)).toString('utf8')) as TreeBlob;
    return new Map(tree.entries.map((e) => [e.path, e]));
  }

  /** Reads, opens, decompresses and verifies one blob. */
  async loadBlob(id: string): Promise<Buffer> {
    return (await this.loadBlobStored(id)).data;
  }

  /**
   * One blob, verified as `loadBlob` verifies it, with what is stored: its codec and payload (a copy
   * into a repository with the same compression stores those again instead of compressing anew).
   */
  async loadBlobStored(id: string): Promise<{ codec: number; payload: Buffer; data: Buffer }> {
    const loc = await this.locate(id);
    if (!loc) throw new BlobError(id, undefined, 'is not in any index or pack');
    let sealed: Buffer;
    try {
      sealed = await this.backend.readRange('data', loc.pack, loc.offset, loc.length);
    } catch (e) {
      throw new BlobError(id, loc.pack, `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (sealed.length !== loc.length) throw new BlobError(id, loc.pack, `is truncated (${sealed.length} of ${loc.length} bytes)`);
    let plain: Buffer;
    try {
      plain = open(this.key, sealed, blobAadIf(this.boundIds, id));
    } catch {
      throw new BlobError(id, loc.pack, 'fails authentication (altered)');
    }
    let data: Buffer;
    try {
      data = await decompress(plain[0]!, plain.subarray(1));
    } catch (e) {
      throw new BlobError(id, loc.pack, `cannot be decompressed: ${(e as Error).message}`);
    }
    if (data.length !== loc.raw) throw new BlobError(id, loc.pack, `decodes to ${data.length} bytes, the index says ${loc.raw}`);
    if (sha256(data) !== id) throw new BlobError(id, loc.pack, 'does not match its hash');
    return { codec: plain[0]!, payload: plain.subarray(1), data };
  }

  /**
   * The shared lock of this handle, taken on first use. Its label tells other processes what holds
   * it: a write (backup, copy) relabels a lock first taken to read (a backup reads its parent first).
   */
  async ensureShared(purpose: string): Promise<Lock> {
    if (!this.sharedLock) {
      // The index was loaded before the lock: a prune may have run in between.
      this.sharedLock = Lock.acquire(this.backend, false, purpose, this.notice).then(async (lock) => {
        try {
          await this.refreshIndex();
          return lock;
        } catch (e) {
          await lock.release().catch(noop);
          throw e;
        }
      });
      this.sharedLock.catch(() => (this.sharedLock = undefined));
    }
    const lock = await this.sharedLock;
    if (WRITES.has(purpose) && lock.purpose !== purpose && !WRITES.has(lock.purpose)) await lock.relabel(purpose);
    return lock;
  }

  /** Runs `fn` holding the exclusive lock (forget, prune, key changes). */
  async exclusive<T>(purpose: string, fn: () => Promise<T>): Promise<T> {
    const lock = await Lock.acquire(this.backend, true, purpose, this.notice);
    try {
      await this.refreshIndex(); // another process may have pruned since this handle loaded its index
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /** Drops the in-memory index and reads index/ again (after prune rewrote it). */
  async reloadIndex(): Promise<void> {
    this.index = new BlobIndex();
    this.damagedIndexes.clear();
    this.packsFromHeaders.clear();
    this.headerScan = undefined;
    await this.loadIndex();
  }

  /** Bytes of all pack files (what the data costs on disk). */
  async storedBytes(): Promise<number> {
    return (await this.backend.list('data')).reduce((n, f) => n + f.size, 0);
  }

  /** Forgets cached snapshot files (after forget). */
  dropCached(id: string): void {
    this.snapshotCache.delete(id);
  }

  async close(): Promise<void> {
    // The lock first: releasing it is a write through the backend (an S3 client's last request).
    const l = this.sharedLock;
    this.sharedLock = undefined;
    try {
      if (l) await (await l.catch(() => undefined))?.release();
    } finally {
      await this.backend.close();
    }
  }
}

function describeFilter(f: SnapshotFilter): string {
  const parts = [f.cluster && `cluster ${f.cluster}`, f.tags?.length && `tags ${f.tags.join(',')}`, f.component && `component ${f.component}`].filter(Boolean);
  return parts.length ? ` matching ${parts.join(', ')}` : '';
}

function matches(m: SnapshotMeta, f: SnapshotFilter): boolean {
  if (f.cluster && m.cluster !== f.cluster) return false;
  if (f.tags?.some((t) => !m.tags.includes(t))) return false;
  if (f.component && !m.components.includes(f.component)) return false;
  return true;
}

export function toMeta(id: string, s: SnapshotFile): SnapshotMeta {
  return {
    id,
    time: s.time,
    cluster: s.cluster,
    hostname: s.hostname,
    components: s.components,
    tags: s.tags,
    ...(s.parent ? { parent: s.parent } : {}),
    points: s.points,
    extra: s.extra,
    summary: s.summary,
  };
}

function corrupt(meta: SnapshotMeta, e: unknown): LifeboatError {
  if (e instanceof LifeboatError) return e;
  return new LifeboatError(
    'CorruptBackup',
    `snapshot ${meta.id.slice(0, 12)} (${meta.cluster}, ${meta.time}) is damaged: ${(e as Error).message}; run 'lifeboat repo check --read-data'`,
    { snapshot: meta.id, ...(e instanceof BlobError ? { blob: e.blob, pack: e.pack } : {}) },
  );
}

class Writer implements SnapshotWriter {
  private readonly entries = new Map<string, TreeEntry>();
  /** Blobs stored by this writer (queued or packed), for dedupe within the snapshot. */
  private readonly stored = new Set<string>();
  private jobs: Promise<void>[] = [];
  /** Chunker windows to reuse across this writer's files. */
  private readonly windows: Buffer[] = [];
  private readonly pack: PackWriter;
  private readonly points: Record<string, unknown>;
  private readonly extra: Record<string, unknown>;
  private readonly started = Date.now();
  private newBytes = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';
  /** Dead chunk buffers freed while young (peak RSS, issue 15). */
  private readonly gcTick = minorGcEvery(GC_BYTES);

  constructor(
    private readonly repo: LocalRepository,
    private readonly opts: NewSnapshotOptions,
    private readonly recovered: PackInfo[],
  ) {
    this.pack = new PackWriter(repo.backend, repo.key, repo.config.packSize, repo.boundIds);
    this.points = { ...(opts.points ?? {}) };
    this.extra = { ...(opts.extra ?? {}) };
  }

  /** zstd in worker threads (started once CompressPool.startAfterBytes went through libuv's pool), or null. */
  private pool?: CompressPool | null;
  private inLibuv = 0;
  /** The first chunk that failed to be compressed, sealed or packed: the snapshot cannot be committed. */
  private jobFailure: unknown;
  private compressPool(size: number): CompressPool | null {
    // Only where this process reads zstd back (@mongodb-js/zstd loaded): else `auto` writes brotli.
    if (this.pool === undefined && this.inLibuv >= CompressPool.startAfterBytes && zstdReadable()) this.pool = CompressPool.start();
    if (!this.pool) this.inLibuv += size;
    return this.pool ?? null;
  }

  private known(id: string): boolean {
    return this.stored.has(id) || this.repo.index.has(id);
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new Error(`snapshot writer already ${this.state}`);
  }

  /** Queues a chunk for compress → seal → pack; waits when PARALLEL chunks are in flight. `done`: the chunk is no longer needed. */
  private async store(type: 'd' | 't', id: string, chunk: Buffer, done?: (chunk: Buffer) => void): Promise<void> {
    this.stored.add(id);
    const mode = this.repo.config.compression;
    let freed = !done;
    const free = () => {
      if (!freed) done!(chunk);
      freed = true;
    };
    const pool = mode === 'auto' ? this.compressPool(chunk.length) : null;
    // The pool compresses a copy: the chunk's window may be reused once it is made.
    const compressed: Promise<{ codec: number; payload: Buffer; done?: () => void }> = pool ? pool.compress(chunk, free) : compress(chunk, mode);
    const job = compressed.then((c) => {
      const { codec, payload } = c;
      // Sealing copies the payload: an uncompressed chunk (a view of the window) is not needed after it either.
      const sealed = seal(this.repo.key, [Buffer.from([codec]), payload], blobAadIf(this.repo.boundIds, id));
      c.done?.();
      free();
      this.gcTick(chunk.length);
      return this.pack.add(type, id, sealed, chunk.length);
    });
    job.catch((e: unknown) => {
      free();
      // Remembered: the caller of a later writeFile may take its error for its own file's (a segment
      // deleted meanwhile) and go on; commit must not.
      this.jobFailure ??= e;
    });
    this.jobs.push(job);
    while (this.jobs.length >= PARALLEL) await this.jobs.shift();
  }

  async writeFile(path: string, content: Readable | Buffer | FileSource, opts: WriteFileOptions = {}): Promise<WriteResult> {
    this.checkOpen();
    checkEntryPath(path);
    const chunker = opts.cut === 'fixed' && Buffer.isBuffer(content) ? new FixedCutter(this.repo.config.chunker.max) : new Chunker(this.repo.config.chunker, this.windows);
    const chunks: string[] = [];
    let size = 0;
    let newBytes = 0;
    // SHA-256 here, on the main thread (SHA-NI: ~1.7 GB/s). WebCrypto's digest in libuv's pool copied
    // each chunk, zeroed the copy and queued behind compressions: the full backup took ~0.5 s more CPU
    // and ~9 % longer that way (docs/benchmarks.md, "Repository").
    const handle = async (chunk: Buffer, done?: (chunk: Buffer) => void) => {
      const id = sha256(chunk);
      chunks.push(id);
      size += chunk.length;
      if (!this.known(id)) {
        newBytes += chunk.length;
        await this.store('d', id, chunk, done);
      } else done?.(chunk);
    };
    if (Buffer.isBuffer(content)) {
      for (const c of chunker.push(content)) await handle(c);
    } else if (isFileSource(content)) {
      // Read into the chunker's windows (reused once their chunks are sealed): no stream buffers, no copy.
      if (!(chunker instanceof Chunker)) throw new Error('fixed cuts are for buffers');
      const release = (c: Buffer) => chunker.release(c);
      const limit = content.length ?? Infinity;
      try {
        for (let pos = 0; ; ) {
          const room = chunker.room(Math.min(READ_BYTES, limit - pos));
          if (room.length === 0) break;
          const { bytesRead } = await content.file.read(room, 0, room.length, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          for (const c of chunker.fill(bytesRead)) await handle(c, release);
        }
        const tail = chunker.finishHeld();
        if (tail) await handle(tail, release);
      } finally {
        chunker.done();
      }
    } else {
      for await (const data of content) {
        const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as string);
        for (const c of chunker.push(buf)) await handle(c);
      }
    }
    if (!isFileSource(content)) {
      const last = chunker.finish();
      if (last) await handle(last);
    }
    this.entries.set(path, {
      path,
      type: 'file',
      size,
      mode: opts.mode ?? 0o644,
      mtime: (opts.mtime ?? new Date()).toISOString(),
      ...(opts.inode !== undefined ? { inode: opts.inode } : {}),
      ...(opts.ctime ? { ctime: opts.ctime.toISOString() } : {}),
      chunks,
    });
    this.newBytes += newBytes;
    return { size, newBytes };
  }

  private parentTree?: Promise<Map<string, TreeEntry>>;

  async reuseUnchanged(path: string, stat: FileStat, ignore: ReuseIgnore = {}): Promise<boolean> {
    this.checkOpen();
    checkEntryPath(path);
    const from = this.opts.reuseFrom ?? this.opts.parent;
    if (!from) return false;
    this.parentTree ??= this.repo.loadTree(from).catch(() => new Map<string, TreeEntry>());
    const e = (await this.parentTree).get(path);
    if (!e || e.type !== 'file' || e.size !== stat.size || e.mtime !== stat.mtime.toISOString()) return false;
    // Replaced (renamed over: another inode) or rewritten with its mtime set back (a new ctime).
    // An entry recorded without them is read again once.
    if (stat.inode !== undefined && !ignore.inode && e.inode !== stat.inode) return false;
    if (stat.ctime && !ignore.ctime && e.ctime !== stat.ctime.toISOString()) return false;
    // Only if every chunk is still in the repository (the parent may have been pruned meanwhile).
    if (!(e.chunks ?? []).every((c) => this.known(c))) return false;
    // The file as it is now: a later copy that compares inode and ctime again starts from these.
    this.entries.set(path, {
      ...e,
      mode: stat.mode ?? e.mode,
      ...(stat.inode !== undefined ? { inode: stat.inode } : {}),
      ...(stat.ctime ? { ctime: stat.ctime.toISOString() } : {}),
    });
    return true;
  }

  writeJson(path: string, value: unknown): Promise<WriteResult> {
    return this.writeFile(path, Buffer.from(JSON.stringify(value, null, 2) + '\n'));
  }

  /** Records a symbolic link (restored only if it stays inside the target). */
  writeSymlink(path: string, target: string, opts: { mtime?: Date } = {}): void {
    this.checkOpen();
    checkEntryPath(path);
    this.entries.set(path, { path, type: 'symlink', size: 0, mode: 0o777, mtime: (opts.mtime ?? new Date()).toISOString(), linkTarget: target });
  }

  /** Records an (empty) directory. */
  writeDir(path: string, opts: { mode?: number; mtime?: Date } = {}): void {
    this.checkOpen();
    checkEntryPath(path);
    this.entries.set(path, { path, type: 'dir', size: 0, mode: opts.mode ?? 0o755, mtime: (opts.mtime ?? new Date()).toISOString() });
  }

  setPoints(component: ComponentName, points: unknown): void {
    this.points[component] = points;
  }

  setExtra(key: string, value: unknown): void {
    this.extra[key] = value;
  }

  async commit(): Promise<SnapshotMeta> {
    try {
      return await this.commitNow();
    } finally {
      await this.pool?.close();
    }
  }

  private async commitNow(): Promise<SnapshotMeta> {
    this.checkOpen();
    while (this.jobs.length) await this.jobs.shift();
    const entries = [...this.entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const treeBuf = Buffer.from(JSON.stringify({ version: 1, entries } satisfies TreeBlob));
    const treeId = sha256(treeBuf);
    if (!this.known(treeId)) await this.store('t', treeId, treeBuf);
    while (this.jobs.length) await this.jobs.shift();
    if (this.jobFailure) throw this.jobFailure;
    const packs = [...this.recovered, ...(await this.pack.finish())];
    await this.repo.writeIndex(packs);
    const files = entries.filter((e) => e.type === 'file');
    const snap: SnapshotFile = {
      version: 1,
      time: (this.opts.time ?? new Date(this.started)).toISOString(),
      cluster: this.opts.cluster,
      hostname: hostname(),
      components: this.opts.components,
      tags: this.opts.tags ?? [],
      ...(this.opts.parent ? { parent: this.opts.parent } : {}),
      points: this.points,
      extra: this.extra,
      summary: { files: files.length, bytes: files.reduce((n, e) => n + e.size, 0), newBytes: this.newBytes, durationMs: Date.now() - this.started },
      tree: treeId,
    };
    const id = await this.repo.writeSealedJson('snapshots', snap);
    this.state = 'committed';
    return toMeta(id, snap);
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await Promise.allSettled(this.jobs);
    this.jobs = [];
    // Packs already written stay: unindexed, they are picked up by the next backup or removed by prune.
    await this.pack.finish().catch(noop);
    await this.pool?.close();
  }
}

class Reader implements SnapshotReader {
  private readonly byPath: Map<string, TreeEntry>;
  constructor(
    private readonly repo: LocalRepository,
    readonly meta: SnapshotMeta,
    private readonly entries: TreeEntry[],
  ) {
    this.byPath = new Map(entries.map((e) => [e.path, e]));
  }

  list(prefix?: string): FileEntry[] {
    const p = prefix?.replace(/\/+$/, '');
    return this.entries
      .filter((e) => !p || e.path === p || e.path.startsWith(`${p}/`))
      .map(({ chunks: _chunks, ...rest }) => rest);
  }

  exists(path: string): boolean {
    return this.byPath.has(path);
  }

  /** The chunk ids of a file (for check and copy). */
  chunksOf(path: string): string[] {
    return this.entry(path).chunks ?? [];
  }

  private entry(path: string): TreeEntry {
    const e = this.byPath.get(path);
    if (!e) throw new LifeboatError('SnapshotNotFound', `snapshot ${this.meta.id.slice(0, 12)} has no file ${path}`);
    return e;
  }

  readFile(path: string): Readable {
    const e = this.entry(path);
    if (e.type !== 'file') throw new LifeboatError('InvalidInput', `${path} in snapshot ${this.meta.id.slice(0, 12)} is a ${e.type}, not a file`);
    return Readable.from(this.chunks(e.chunks ?? []), { objectMode: false });
  }

  private async *chunks(ids: string[]): AsyncGenerator<Buffer> {
    // Read ahead a few chunks so decompression overlaps with the consumer's writes.
    const queue: Promise<Buffer>[] = [];
    let next = 0;
    try {
      while (next < ids.length || queue.length) {
        while (queue.length < READ_AHEAD && next < ids.length) {
          const p = this.repo.loadBlob(ids[next++]!);
          p.catch(noop);
          queue.push(p);
        }
        yield await queue.shift()!;
      }
    } catch (e) {
      throw corrupt(this.meta, e);
    }
  }

  async parallelRestore(workers: number): Promise<ParallelFileRestore | null> {
    const backend = this.repo.backend;
    if (!(backend instanceof LocalBackend)) {
      // Packs on object storage: coalesced ranged reads, several in flight, every chunk verified.
      const repo = this.repo;
      // Restore workers verify and write what this thread fetches, where the backend reads into shared memory.
      const pool = backend.readRangeInto ? RestorePool.start(repo.key, workers, repo.boundIds) : null;
      return rangedRestore({ backend, key: repo.key, boundIds: repo.boundIds, meta: this.meta, locate: (id) => repo.locate(id), entry: (p) => this.entry(p) }, 2 * workers + 2, pool);
    }
    const pool = RestorePool.start(this.repo.key, workers, this.repo.boundIds);
    if (!pool) return null;
    /** Where each chunk of a file is stored and goes; its total length. */
    const placements = async (path: string): Promise<{ chunks: Placement[]; size: number }> => {
      const e = this.entry(path);
      if (e.type !== 'file') throw new LifeboatError('InvalidInput', `${path} in snapshot ${this.meta.id.slice(0, 12)} is a ${e.type}, not a file`);
      const chunks: Placement[] = [];
      let pos = 0;
      for (const id of e.chunks ?? []) {
        const loc = await this.repo.locate(id);
        if (!loc) throw corrupt(this.meta, new BlobError(id, undefined, 'is not in any index or pack'));
        chunks.push({ id, pack: backend.localPath('data', loc.pack), offset: loc.offset, length: loc.length, raw: loc.raw, pos });
        pos += loc.raw;
      }
      return { chunks, size: pos };
    };
    const run = async (target: number | SharedArrayBuffer, chunks: Placement[]) => {
      try {
        await pool.write(target, chunks);
      } catch (err) {
        const f = (err as { failure?: PlacementFailure }).failure;
        // A chunk that fails verification is a damaged backup; anything else (a full disk) is not.
        throw f ? corrupt(this.meta, new BlobError(f.blob, basename(f.pack), f.reason)) : err;
      }
    };
    // Buffers being filled, in bytes: calls beyond BUFFER_BYTES wait (one call always runs, whatever its size).
    let filling = 0;
    const waiting: (() => void)[] = [];
    const admit = async (size: number) => {
      while (filling > 0 && filling + size > BUFFER_BYTES) await new Promise<void>((resolve) => waiting.push(resolve));
      filling += size;
    };
    const release = (size: number) => {
      filling -= size;
      for (const wake of waiting.splice(0)) wake();
    };
    // Buffers handed back (`recycle`), reused for the next reads: a fresh SharedArrayBuffer is
    // zero-filled and page-faulted in, which cost as much as decrypting into it.
    const spare: SharedArrayBuffer[] = [];
    let spareBytes = 0;
    const take = (size: number): SharedArrayBuffer => {
      const i = spare.findIndex((b) => b.byteLength >= size && b.byteLength <= size * 2);
      if (i < 0) return new SharedArrayBuffer(size);
      const [b] = spare.splice(i, 1);
      spareBytes -= b!.byteLength;
      return b!;
    };
    return {
      writeFile: async (path: string, fd: number) => run(fd, (await placements(path)).chunks),
      readBuffer: async (path: string) => {
        const { chunks, size } = await placements(path);
        const e = this.entry(path);
        if (size !== e.size) throw corrupt(this.meta, new Error(`${path} has chunks of ${size} bytes but is listed with ${e.size}`));
        if (size === 0) return Buffer.alloc(0);
        await admit(size);
        try {
          // Filled by the workers in place; once they are done the buffer is the caller's alone.
          const sab = take(size);
          await run(sab, chunks);
          return Buffer.from(sab, 0, size);
        } finally {
          release(size);
        }
      },
      recycle: (buf: Buffer) => {
        const b = buf.buffer;
        if (!(b instanceof SharedArrayBuffer) || spare.includes(b) || spareBytes + b.byteLength > BUFFER_BYTES) return;
        spare.push(b);
        spareBytes += b.byteLength;
      },
      close: () => pool.close(),
    };
  }

  async readBuffer(path: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this.readFile(path)) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  async readJson<T = unknown>(path: string): Promise<T> {
    return JSON.parse((await this.readBuffer(path)).toString('utf8')) as T;
  }
}
