/**
 * Repository sessions: a worker opens each repository once (scrypt once, index files read once) and
 * every activity gets a handle of its own from it, in milliseconds. A handle is what
 * `openRepository` returns (its own lock, taken on first use and released by `close`), built from
 * what the session keeps: the master key, the index as the index files say, the snapshot files read.
 *
 * Nothing cached may outlive what it describes, because a stale index makes a backup skip a chunk
 * that is no longer there. So every open first looks again, cheaply:
 * - the config (a repository re-created at the path has another id: everything is dropped);
 * - the key file that was unlocked (a removed key, e.g. after a password change, is unlocked anew,
 *   and a password no key matches any more is WrongPassword as it would be without the session);
 * - the index files listing: new files are read; if a file the index was built from is gone (a prune
 *   or repair rewrote the index and may have deleted packs), the index is read again from scratch;
 * - the snapshot files listing: forgotten snapshots leave the cache.
 * Packs known only from their headers (an interrupted backup) stay in the handle that read them,
 * never in the session: a prune may delete such a pack without touching any index file. And a handle
 * checks the index again once it holds its lock (LocalRepository.refreshIndex), when nothing can delete.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { BlobIndex } from './blobIndex';
import { describeLocation, locationKey, normalize, openBackend, type RepositoryLocation } from './location';
import type { RepoConfig, SnapshotFile } from './format';
import { defaultNotice, indexFilesGone, LocalRepository, type OpenOptions, readConfig, readIndexFiles, unlock } from './repo';

/** Counters a test or a measurement reads: how often the expensive parts ran. */
export interface SessionStats {
  /** Password → master key (scrypt). */
  unlocks: number;
  /** Index files read and decrypted. */
  indexFilesRead: number;
  /** Times the index was read again from scratch (a file it was built from disappeared). */
  indexRebuilds: number;
  opens: number;
}

interface Unlocked {
  config: RepoConfig;
  master: Buffer;
  keyName: string;
}

/** One repository opened with one password. */
export class RepositorySession {
  readonly stats: SessionStats = { unlocks: 0, indexFilesRead: 0, indexRebuilds: 0, opens: 0 };
  private unlocked?: Unlocked;
  private index = new BlobIndex();
  private damaged = new Set<string>();
  private snapshotCache = new Map<string, SnapshotFile>();
  private saidUnreadable = new Set<string>();
  /** Opens run one at a time: the index is refreshed once, not by every caller at once. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Where the repository is (a path, or an S3 location with its credentials). */
  readonly where: RepositoryLocation;
  /** The absolute path or s3:// URL (for messages). */
  readonly path: string;

  constructor(
    where: RepositoryLocation,
    private readonly password: string,
  ) {
    this.where = normalize(where);
    this.path = describeLocation(this.where);
  }

  /** A new handle; close it when done (it releases its lock). A missing repository is RepositoryNotFound. */
  open(opts: OpenOptions = {}): Promise<LocalRepository> {
    const next = this.queue.then(() => this.openNow(opts));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private forget(): void {
    this.unlocked = undefined;
    this.index = new BlobIndex();
    this.damaged = new Set();
    this.snapshotCache = new Map();
    this.saidUnreadable = new Set();
  }

  private async openNow(opts: OpenOptions): Promise<LocalRepository> {
    const notice = opts.notice ?? defaultNotice;
    const backend = openBackend(this.where);
    try {
      const config = await readConfig(backend);
      if (this.unlocked && (this.unlocked.config.id !== config.id || !(await backend.stat('keys', this.unlocked.keyName)))) this.forget();
      if (!this.unlocked) {
        const { master, keyName } = await unlock(backend, this.password);
        this.stats.unlocks++;
        this.unlocked = { config, master, keyName };
      }
      const { master, keyName } = this.unlocked;
      const names = (await backend.list('index')).map((f) => f.name);
      if (indexFilesGone(this.index, this.damaged, names)) {
        // Built afresh and swapped in whole: a handle cloned meanwhile never sees half of it.
        this.index = new BlobIndex();
        this.damaged = new Set();
        this.stats.indexRebuilds++;
      }
      const before = this.index.files.size + this.damaged.size;
      await readIndexFiles(backend, master, this.index, this.damaged, names, notice);
      this.stats.indexFilesRead += this.index.files.size + this.damaged.size - before;
      const snapshots = new Set((await backend.list('snapshots')).map((f) => f.name));
      for (const id of this.snapshotCache.keys()) if (!snapshots.has(id)) this.snapshotCache.delete(id);
      this.stats.opens++;
      const repo = new LocalRepository(backend, config, master, keyName, notice, {
        index: this.index.clone(),
        damagedIndexes: new Set(this.damaged),
        snapshotCache: this.snapshotCache,
        saidUnreadable: this.saidUnreadable,
      });
      // As openRepository does: packs of damaged index files are found from their headers.
      if (this.damaged.size) await repo.readUnindexedPacks();
      return repo;
    } catch (e) {
      await backend.close();
      throw e;
    }
  }
}

/** The sessions of one process (a worker), by repository location and password. */
export class RepositorySessions {
  private readonly sessions = new Map<string, RepositorySession>();

  session(where: RepositoryLocation, password: string): RepositorySession {
    // The password (and an S3 location's secret key) picks the session (a changed secret unlocks
    // anew); only a hash of them is part of the map key.
    const w = normalize(where);
    const secret = typeof w === 'string' ? '' : w.secretAccessKey;
    const key = `${locationKey(w)}\0${createHash('sha256').update(password).update('\0').update(secret).digest('hex')}`;
    let s = this.sessions.get(key);
    if (!s) this.sessions.set(key, (s = new RepositorySession(w, password)));
    return s;
  }

  open(where: RepositoryLocation, password: string, opts: OpenOptions = {}): Promise<LocalRepository> {
    return this.session(where, password).open(opts);
  }

  /** Every session, for measurements and tests. */
  all(): RepositorySession[] {
    return [...this.sessions.values()];
  }
}

const current = new AsyncLocalStorage<RepositorySessions>();

/**
 * Runs `fn` with `sessions` as the way every `openRepositoryForSpec` inside it opens repositories
 * (the worker wraps each activity in it), so src/ code that opens a repository by spec uses the
 * worker's sessions without taking them as a parameter through every layer.
 */
export function withRepositorySessions<T>(sessions: RepositorySessions, fn: () => T): T {
  return current.run(sessions, fn);
}

/** The sessions of the activity running now, if any. */
export const currentRepositorySessions = (): RepositorySessions | undefined => current.getStore();
