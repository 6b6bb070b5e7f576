/**
 * Where repository files live. Deliberately small (whole-object writes, ranged reads, list, delete)
 * so an S3-compatible backend can implement it; the local one serves plain directories and NAS mounts.
 * Writes are atomic: a temp file, fsync, rename, so a crash never leaves a half object under its name.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { join } from 'node:path';

export type FileKind = 'config' | 'keys' | 'data' | 'index' | 'snapshots' | 'locks';
export const DIRS: Exclude<FileKind, 'config'>[] = ['keys', 'data', 'index', 'snapshots', 'locks'];

export interface Backend {
  readonly location: string;
  /** Names of the files of a kind with their sizes. */
  list(kind: FileKind): Promise<{ name: string; size: number }[]>;
  /** Null when absent. */
  stat(kind: FileKind, name: string): Promise<{ size: number } | null>;
  read(kind: FileKind, name: string): Promise<Buffer>;
  /** Reads exactly `length` bytes or returns fewer if the file is shorter (a truncated object). */
  readRange(kind: FileKind, name: string, offset: number, length: number): Promise<Buffer>;
  /** readRange into the caller's memory (bytes received: fewer if the file is shorter), where the backend can. */
  readRangeInto?(kind: FileKind, name: string, offset: number, length: number, into: Uint8Array): Promise<number>;
  write(kind: FileKind, name: string, data: Buffer | Buffer[], opts?: { sync?: boolean }): Promise<void>;
  remove(kind: FileKind, name: string): Promise<void>;
  /** Removes leftovers of interrupted writes (only under an exclusive lock). */
  removeTemporaries(): Promise<number>;
  /** Releases resources (open files, connections). */
  close(): Promise<void>;
  /**
   * The storage server's clock minus this machine's, in ms, when the backend has a server that says
   * (S3's Date header); locks are then dated and judged by the server's clock. Undefined for a disk.
   */
  clockSkewMs?(): number | undefined;
}

const isTemp = (n: string) => n.startsWith('.tmp-');
/** O_DIRECT writes: offsets, lengths and memory aligned to this (the largest common logical block size). */
export const DIRECT_ALIGN = 4096;
/** Buffers per writev call (Linux's IOV_MAX is 1024). */
const WRITEV_MAX = 1024;

interface CachedHandle {
  fh: Promise<fs.FileHandle>;
  users: number;
  evicted: boolean;
}
const closeHandle = (h: CachedHandle) => void h.fh.then((fh) => fh.close()).catch(() => undefined);

export class LocalBackend implements Backend {
  constructor(readonly location: string) {}

  private dirOf(kind: FileKind, name: string): string {
    if (kind === 'config') return this.location;
    if (kind === 'data') return join(this.location, 'data', name.slice(0, 2));
    return join(this.location, kind);
  }
  /** The file's path on this machine (for readers that open files themselves, e.g. restore workers). */
  localPath(kind: FileKind, name: string): string {
    return this.pathOf(kind, name);
  }
  private pathOf(kind: FileKind, name: string): string {
    return kind === 'config' ? join(this.location, 'config') : join(this.dirOf(kind, name), name);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.location, { recursive: true });
    for (const d of DIRS) await fs.mkdir(join(this.location, d), { recursive: true });
  }

  async list(kind: FileKind): Promise<{ name: string; size: number }[]> {
    const dirs = kind === 'data' ? await this.dataDirs() : [join(this.location, kind)];
    const out: { name: string; size: number }[] = [];
    for (const dir of dirs) {
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      for (const name of names) {
        if (isTemp(name)) continue;
        const st = await fs.stat(join(dir, name)).catch(() => null);
        if (st?.isFile()) out.push({ name, size: st.size });
      }
    }
    return out;
  }

  private async dataDirs(): Promise<string[]> {
    const root = join(this.location, 'data');
    const subs = await fs.readdir(root).catch(() => [] as string[]);
    return subs.filter((s) => /^[0-9a-f]{2}$/.test(s)).map((s) => join(root, s));
  }

  async stat(kind: FileKind, name: string): Promise<{ size: number } | null> {
    const st = await fs.stat(this.pathOf(kind, name)).catch(() => null);
    return st ? { size: st.size } : null;
  }

  read(kind: FileKind, name: string): Promise<Buffer> {
    return fs.readFile(this.pathOf(kind, name));
  }

  /** Open pack files, most recently used last: a restore reads many chunks from each pack in turn. */
  private readonly handles = new Map<string, CachedHandle>();
  private static readonly MAX_HANDLES = 16;

  private acquire(kind: FileKind, name: string): CachedHandle {
    const key = `${kind}/${name}`;
    let h = this.handles.get(key);
    if (h) this.handles.delete(key);
    else {
      h = { fh: fs.open(this.pathOf(kind, name), 'r'), users: 0, evicted: false };
      h.fh.catch(() => undefined);
    }
    this.handles.set(key, h);
    h.users++;
    if (this.handles.size > LocalBackend.MAX_HANDLES) {
      const [oldest, old] = this.handles.entries().next().value as [string, CachedHandle];
      this.handles.delete(oldest);
      old.evicted = true;
      if (old.users === 0) closeHandle(old);
    }
    return h;
  }

  private release(h: CachedHandle): void {
    h.users--;
    if (h.evicted && h.users === 0) closeHandle(h);
  }

  async readRange(kind: FileKind, name: string, offset: number, length: number): Promise<Buffer> {
    const h = this.acquire(kind, name);
    try {
      const fh = await h.fh.catch((e: unknown) => {
        this.handles.delete(`${kind}/${name}`); // do not cache a failed open
        throw e;
      });
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === length ? buf : buf.subarray(0, got);
    } finally {
      this.release(h);
    }
  }

  /** Closes cached file handles. */
  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    for (const h of all) {
      h.evicted = true;
      if (h.users === 0) closeHandle(h);
    }
  }

  async write(kind: FileKind, name: string, data: Buffer | Buffer[], opts: { sync?: boolean } = {}): Promise<void> {
    const dir = this.dirOf(kind, name);
    await fs.mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      // One writev per batch of parts (a pack is hundreds of small parts: nonces, tags, blobs).
      let parts = (Array.isArray(data) ? data : [data]).filter((p) => p.length > 0);
      while (parts.length) {
        let n = (await fh.writev(parts.slice(0, WRITEV_MAX))).bytesWritten;
        const rest: Buffer[] = [];
        for (const p of parts) {
          if (n >= p.length) n -= p.length;
          else {
            rest.push(n ? p.subarray(n) : p);
            n = 0;
          }
        }
        parts = rest;
      }
      if (opts.sync !== false) await fh.sync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    await fs.rename(tmp, this.pathOf(kind, name));
  }

  /** Set once the file system refused O_DIRECT (tmpfs, some network file systems): buffered writes from then on. */
  private noDirect = !fsConstants.O_DIRECT;

  /**
   * Writes the first `size` bytes of `data` like `write`, but past the page cache (O_DIRECT), or
   * returns false (nothing written) where the file system refuses it. `data` must start on a page
   * boundary and hold `size` rounded up to 4 KiB (the padding is written, then truncated away).
   * Why: on the bench machine copying packs into fresh page-cache pages cost ~20 % of a backup's
   * CPU, and a backup of a broker's log dirs should not push the broker's pages out of the cache.
   * Packs are fsynced anyway, so going to the device directly costs nothing in latency.
   */
  async writeDirect(kind: FileKind, name: string, data: Buffer, size: number): Promise<boolean> {
    const padded = Math.ceil(size / DIRECT_ALIGN) * DIRECT_ALIGN;
    if (this.noDirect || padded > data.length) return false;
    const dir = this.dirOf(kind, name);
    await fs.mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    const refused = (e: unknown) => (e as NodeJS.ErrnoException).code === 'EINVAL';
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_DIRECT, 0o600);
    } catch (e) {
      if (!refused(e)) throw e;
      this.noDirect = true;
      return false;
    }
    try {
      for (let off = 0; off < padded; ) {
        const { bytesWritten } = await fh.write(data, off, padded - off, off);
        if (bytesWritten <= 0) throw new Error(`short write to ${tmp}`);
        off += bytesWritten;
      }
      await fh.truncate(size);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      if (!refused(e)) throw e;
      this.noDirect = true;
      return false;
    }
    await fh.close();
    await fs.rename(tmp, this.pathOf(kind, name));
    return true;
  }

  async remove(kind: FileKind, name: string): Promise<void> {
    const cached = this.handles.get(`${kind}/${name}`);
    if (cached) {
      this.handles.delete(`${kind}/${name}`);
      cached.evicted = true;
      if (cached.users === 0) closeHandle(cached);
    }
    await fs.rm(this.pathOf(kind, name), { force: true });
  }

  async removeTemporaries(): Promise<number> {
    let n = 0;
    for (const dir of [...DIRS.filter((d) => d !== 'data').map((d) => join(this.location, d)), ...(await this.dataDirs())]) {
      for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
        if (isTemp(name)) {
          await fs.rm(join(dir, name), { force: true });
          n++;
        }
      }
    }
    return n;
  }
}
