/**
 * Parallel restore into local files: worker threads that each read, open (authenticate),
 * decompress, verify (length against the index; SHA-256 against the blob id in format 1: in format 2
 * the tag proves a holder of the key sealed the bytes as that blob, see docs/repository-format.md)
 * and write chunks at
 * their offsets into files the caller opened (positional writes: file descriptors are
 * process-wide, so nothing is copied between threads), or copy them into a SharedArrayBuffer the
 * caller allocated (a file read into memory: one copy, no message carries data). Every chunk is opened and its length
 * checked, and in format 1 re-hashed (`LocalRepository.loadBlob` re-hashes in any format); a failure names the chunk and its pack (`BlobError`).
 *
 * Why: restoring on one JavaScript thread leaves SHA-256 and AES-GCM on that thread, and every chunk
 * allocates fresh buffers whose external memory makes V8 run a major GC every few dozen MB; a worker's
 * heap is tiny, adjacent blobs of a pack are read with one pread into a reused buffer, and the
 * main thread only creates and finishes files (docs/benchmarks.md, "Repository").
 *
 * The worker's code is `workerMain` below, started from its source text (`eval`), so it runs the same
 * from TypeScript (tsx, vitest) and from a bundled build; it may use only `require` and its arguments.
 */
import type * as CryptoModule from 'node:crypto';
import type * as FsModule from 'node:fs';
import type * as ZlibModule from 'node:zlib';
import type * as WorkerThreadsModule from 'node:worker_threads';
import { Worker } from 'node:worker_threads';
import { resolvePath } from './resolvePath';

/** One chunk to write: where it is stored and where it goes in the file. */
export interface Placement {
  id: string;
  /** Absolute path of its pack file. */
  pack: string;
  offset: number;
  length: number;
  raw: number;
  /** Offset in the target file. */
  pos: number;
}

/** A chunk that failed (read, authentication, decompression or hash), as the worker reports it. */
export interface PlacementFailure {
  blob: string;
  pack: string;
  reason: string;
}

type Item = [pack: string, offset: number, length: number, id: string, raw: number, pos: number];
interface TaskMessage {
  type: 'task';
  id: number;
  /** Where the chunks go: a file descriptor (positional writes) or a shared buffer (copies at their offsets). */
  fd?: number;
  sab?: SharedArrayBuffer;
  /** The chunks' sealed bytes already in memory (a ranged GET's body): item offsets are within its first `srcLen` bytes. */
  src?: SharedArrayBuffer;
  srcLen?: number;
  items: Item[];
}
type Reply = { id: number; ok: true; native: number } | { id: number; ok: false; blob?: string; pack?: string; reason: string; code?: string };

/**
 * Raw bytes per task: big enough to amortize messages, small enough to balance workers on one file.
 * A worker runs a minor GC after each task, when none of its chunks is in flight, so this also
 * bounds the dead chunk buffers it holds (8 MiB: restore peak RSS ~165 MB, 2 MiB: ~138 MB, same speed).
 */
export const TASK_BYTES = 2 * 1024 * 1024;
/** Tasks handed to a worker before it finishes one (so it never waits for the next). */
const PER_WORKER = 2;

/**
 * zstd-napi (an optional dependency, built from its bundled zstd sources at install) decodes a
 * chunk into a buffer the worker reuses, its plain length being known from the index: about twice
 * the speed of @mongodb-js/zstd 1.2, whose binding decodes through a growing buffer into a fresh
 * one per chunk (docs/benchmarks.md, "Repository"). Where it is not installed, the workers use
 * @mongodb-js/zstd alone; any chunk it cannot decode goes through @mongodb-js/zstd as before.
 */
const zstdBindingPath = () => resolvePath('@mongodb-js/zstd/bindings.js');
const zstdNapiPath = () => resolvePath('zstd-napi/binding.js');

export class RestorePool {
  /** Tasks worker threads of any pool in this process completed: how a test tells the threads did the reading (restore falls back silently). */
  static tasksDone = 0;
  /** Whether pools started from now on decode with zstd-napi when it is installed (tests turn it off to cover the other path). */
  static nativeDecoder = true;
  /** Chunks the workers of any pool decoded with zstd-napi (how a test tells which decoder ran). */
  static nativeChunks = 0;
  /** Whether zstd-napi is installed here (an optional dependency: its build may fail on a platform). */
  static nativeDecoderInstalled(): boolean {
    return zstdNapiPath() !== null;
  }
  private readonly workers: { w: Worker; busy: number; gone: boolean }[] = [];
  private readonly queue: TaskMessage[] = [];
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void; worker?: number }>();
  private nextId = 1;
  private closed = false;
  /** The first failure; later writes fail with it at once. */
  private stopped?: Error;

  /** Workers started before the key is known (`prestart`), taken by the next `start` of as many. */
  private static warm?: { workers: number; pool: RestorePool };

  private constructor(key: Buffer | null, boundIds: boolean, workers: number, zstdPath: string | null) {
    const source = `const __name = (f) => f;\n(${workerMain.toString()})();`;
    const napiPath = RestorePool.nativeDecoder ? zstdNapiPath() : null;
    for (let i = 0; i < workers; i++) {
      const w = new Worker(source, { eval: true, workerData: { key, boundIds, zstdPath, napiPath } });
      const slot = { w, busy: 0, gone: false };
      w.on('message', (m: Reply) => this.reply(i, m));
      w.on('error', (e) => this.lost(i, e));
      w.on('exit', (code) => this.lost(i, new Error(`restore worker exited (code ${code})`)));
      this.workers.push(slot);
    }
  }

  /**
   * A pool of `workers` threads, or null if the zstd binding cannot be found for them. `boundIds`:
   * the repository seals blobs with their ids (`bindsBlobIds`), so a chunk that opens is itself.
   */
  static start(key: Buffer, workers: number, boundIds: boolean): RestorePool | null {
    const warm = RestorePool.warm;
    if (warm && warm.workers === workers) {
      RestorePool.warm = undefined;
      for (const s of warm.pool.workers) s.w.postMessage({ type: 'key', key, boundIds });
      return warm.pool;
    }
    const zstdPath = zstdBindingPath();
    if (!zstdPath) return null;
    return new RestorePool(key, boundIds, workers, zstdPath);
  }

  /**
   * Starts `workers` threads before the repository's key is known, for a restore about to open it:
   * a thread takes ~40 ms to start (its isolate, the zstd bindings), which then overlaps the key's
   * derivation (scrypt, ~90 ms) instead of following the snapshot's loading. The next `start` of as
   * many workers takes them; `discardWarm` ends them if none did (a restore too small for workers).
   */
  static prestart(workers: number): void {
    if (RestorePool.warm || workers < 1) return;
    const zstdPath = zstdBindingPath();
    if (zstdPath) RestorePool.warm = { workers, pool: new RestorePool(null, false, workers, zstdPath) };
  }

  /** Threads started by `prestart` and not taken yet. */
  static warmWorkers(): number {
    return RestorePool.warm?.workers ?? 0;
  }

  /** Ends the workers `prestart` started if no `start` took them. */
  static async discardWarm(): Promise<void> {
    const warm = RestorePool.warm;
    RestorePool.warm = undefined;
    await warm?.pool.close();
  }

  /**
   * Writes `chunks` into `target`: a file descriptor (opened for writing by the caller) or a
   * SharedArrayBuffer big enough for every chunk at its `pos`; resolves when all are written.
   */
  async write(target: number | SharedArrayBuffer, chunks: Placement[]): Promise<void> {
    if (this.closed) throw new Error('restore pool is closed');
    if (this.stopped) throw this.stopped;
    const tasks: Promise<void>[] = [];
    let items: Item[] = [];
    let bytes = 0;
    const flush = () => {
      if (!items.length) return;
      const msg: TaskMessage = { type: 'task', id: this.nextId++, ...(typeof target === 'number' ? { fd: target } : { sab: target }), items };
      items = [];
      bytes = 0;
      const p = new Promise<void>((resolve, reject) => this.pending.set(msg.id, { resolve, reject }));
      p.catch(() => undefined);
      tasks.push(p);
      this.queue.push(msg);
    };
    for (const c of chunks) {
      items.push([c.pack, c.offset, c.length, c.id, c.raw, c.pos]);
      bytes += c.raw;
      if (bytes >= TASK_BYTES) flush();
    }
    flush();
    this.dispatch();
    // Wait for every task (the caller closes fd, or hands the buffer on, after this), then report the first failure.
    const results = await Promise.allSettled(tasks);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * Verifies and writes chunks whose sealed bytes the caller already holds (a ranged GET of a pack
   * read into `src`; each chunk's `offset` is within its first `srcLen` bytes, `pack` names the
   * pack for errors): one task, run by a worker; `src` is the caller's again once this resolves.
   */
  async writeFrom(target: number | SharedArrayBuffer, src: SharedArrayBuffer, srcLen: number, chunks: Placement[]): Promise<void> {
    if (this.closed) throw new Error('restore pool is closed');
    if (this.stopped) throw this.stopped;
    const msg: TaskMessage = {
      type: 'task',
      id: this.nextId++,
      ...(typeof target === 'number' ? { fd: target } : { sab: target }),
      src,
      srcLen,
      items: chunks.map((c) => [c.pack, c.offset, c.length, c.id, c.raw, c.pos]),
    };
    const p = new Promise<void>((resolve, reject) => this.pending.set(msg.id, { resolve, reject }));
    this.queue.push(msg);
    this.dispatch();
    await p;
  }

  private dispatch(): void {
    for (;;) {
      const live = this.workers.filter((s) => !s.gone);
      if (!live.length) {
        for (const t of this.queue.splice(0)) this.fail(t.id, new Error('no restore worker left'));
        return;
      }
      if (!this.queue.length) return;
      const slot = live.reduce((a, b) => (b.busy < a.busy ? b : a));
      if (slot.busy >= PER_WORKER) return;
      const t = this.queue.shift()!;
      slot.busy++;
      this.pending.get(t.id)!.worker = this.workers.indexOf(slot);
      slot.w.postMessage(t);
    }
  }

  private reply(i: number, m: Reply): void {
    const slot = this.workers[i]!;
    slot.busy--;
    const p = this.pending.get(m.id);
    this.pending.delete(m.id);
    if (p) {
      if (m.ok) {
        RestorePool.tasksDone++;
        RestorePool.nativeChunks += m.native;
        p.resolve();
      }
      else {
        const err = failure(m);
        // The restore fails with the first failure: tasks not yet handed out fail with it too, unrun.
        this.stopped ??= err;
        p.reject(err);
        for (const t of this.queue.splice(0)) this.fail(t.id, this.stopped);
      }
    }
    this.dispatch();
  }

  private fail(id: number, e: Error): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    p?.reject(e);
  }

  private lost(i: number, e: Error): void {
    const slot = this.workers[i]!;
    if (slot.gone) return;
    slot.gone = true;
    for (const [id, p] of [...this.pending]) if (p.worker === i) this.fail(id, e);
    this.dispatch();
  }

  /** Lets the workers close their pack files and exit. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.workers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.gone) return resolve();
            s.w.once('exit', () => resolve());
            s.w.postMessage({ type: 'close' });
          }),
      ),
    );
  }
}

function failure(m: Extract<Reply, { ok: false }>): Error {
  if (m.blob) {
    const e = new Error(`chunk ${m.blob.slice(0, 12)} in pack ${m.pack ?? '?'} ${m.reason}`) as Error & { failure?: PlacementFailure };
    e.failure = { blob: m.blob, pack: m.pack ?? '', reason: m.reason };
    return e;
  }
  const e = new Error(m.reason) as NodeJS.ErrnoException;
  if (m.code) e.code = m.code;
  return e;
}

/* ------------------------------------------------------------------------------------------------
 * The worker. Runs from its source text: only `require` and what it defines itself.
 * --------------------------------------------------------------------------------------------- */
function workerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreadsModule;
  const fs = require('node:fs') as typeof FsModule;
  const crypto = require('node:crypto') as typeof CryptoModule;
  const zlib = require('node:zlib') as typeof ZlibModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  type WItem = [string, number, number, string, number, number];
  type WTask = { type: 'task'; id: number; fd?: number; sab?: SharedArrayBuffer; src?: SharedArrayBuffer; srcLen?: number; items: WItem[] };
  type Zstd = { decompress(data: Buffer): Promise<Buffer> };
  type DCtx = { decompress(dst: Uint8Array, src: Uint8Array): number };
  const { zstdPath, napiPath } = workerData as { key: Buffer | null; zstdPath: string | null; napiPath: string | null };
  // A prestarted worker gets the key in a message before its first task.
  let key = (workerData as { key: Buffer | null }).key ?? Buffer.alloc(0);
  let boundIds = (workerData as { boundIds: boolean }).boundIds;
  // @mongodb-js/zstd only when zstd-napi cannot decode a chunk: loading it (its libc check alone,
  // process.report.getReport, ~11 ms) competed with the key's derivation while the thread started.
  let zstd: Zstd | null | undefined;
  const fallbackZstd = (): Zstd | null => {
    if (zstd === undefined) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        zstd = zstdPath ? (require(zstdPath) as Zstd) : null;
      } catch {
        zstd = null;
      }
    }
    return zstd;
  };
  // zstd-napi's decompression context: a chunk decodes synchronously on this thread into `plainBuf`
  // (reused; the chunk's length is known), then is hashed and written before the next one decodes.
  let dctx: DCtx | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (napiPath) dctx = new (require(napiPath) as { DCtx: new () => DCtx }).DCtx();
  } catch {
    dctx = null;
  }
  let plainBuf = Buffer.alloc(0);
  let nativeDecoded = 0;
  /** The chunk decoded into `plainBuf` (valid until the next call), or null: then @mongodb-js/zstd decodes it as before. */
  const decodeInto = (payload: Buffer, raw: number): Buffer | null => {
    if (!dctx) return null;
    if (plainBuf.length < raw) plainBuf = Buffer.allocUnsafeSlow(Math.max(raw, 4 * 1024 * 1024));
    try {
      const n = dctx.decompress(plainBuf.subarray(0, raw), payload);
      if (n !== raw) return null;
      nativeDecoded++;
      return plainBuf.subarray(0, n);
    } catch {
      return null;
    }
  };
  const port = parentPort!;
  // Every chunk leaves two dead buffers (the decipher's and zstd's output) whose memory lives outside
  // V8's heap; V8 collects them only when ~64 MB of such memory has piled up, per worker: most of a
  // restore's peak RSS. A minor GC (a scavenge of a tiny heap: well under a millisecond) after each
  // task, when no chunk of it is in flight any more, frees them all; within a task (a ranged GET's
  // span may be large) one every GC_BYTES of output. Not more often: a scavenge while chunks are in
  // flight ages them, and a buffer that lives through two is promoted and freed only by a major GC
  // (a GC every 2-4 MiB of output mid-task raised the peak from ~200 to 260-320 MB). `gc` is
  // reached as V8's own extension; without it, no change.
  const GC_BYTES = 16 * 1024 * 1024;
  let minorGc: (() => void) | null = null;
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    (require('node:v8') as { setFlagsFromString(f: string): void }).setFlagsFromString('--expose-gc');
    const g = (require('node:vm') as { runInNewContext(code: string): unknown }).runInNewContext('gc') as (o: { type: string }) => void;
    /* eslint-enable @typescript-eslint/no-require-imports */
    if (typeof g === 'function') minorGc = () => g({ type: 'minor' });
  } catch {
    minorGc = null;
  }
  let sinceGc = 0;
  const NONCE = 12;
  const TAG = 16;
  /** One pread covers adjacent blobs up to this many bytes. */
  const MAX_READ = 8 * 1024 * 1024;
  /** Chunks decompressing at once per worker (libuv's pool), while this thread hashes and writes. */
  const WINDOW = 3;
  const MAX_FILES = 16;

  class Fail extends Error {
    blob: string;
    pack: string;
    reason: string;
    constructor(blob: string, pack: string, reason: string) {
      super(reason);
      this.blob = blob;
      this.pack = pack;
      this.reason = reason;
    }
  }

  const files = new Map<string, number>();
  const packFd = (path: string): number => {
    let fd = files.get(path);
    if (fd !== undefined) {
      files.delete(path);
      files.set(path, fd);
      return fd;
    }
    fd = fs.openSync(path, 'r');
    files.set(path, fd);
    if (files.size > MAX_FILES) {
      const [oldPath, oldFd] = files.entries().next().value as [string, number];
      files.delete(oldPath);
      fs.closeSync(oldFd);
    }
    return fd;
  };

  let buf = Buffer.allocUnsafe(1024 * 1024);
  const readSpan = (path: string, offset: number, length: number): number => {
    if (buf.length < length) buf = Buffer.allocUnsafe(Math.max(length, buf.length * 2));
    const fd = packFd(path);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  };

  const openSealed = (sealed: Buffer, id: string): Buffer => {
    if (sealed.length < NONCE + TAG + 1) throw new Error('too short');
    const d = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
    if (boundIds) d.setAAD(Buffer.from(id, 'hex'));
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    const plain = d.update(sealed.subarray(NONCE, sealed.length - TAG));
    const rest = d.final();
    return rest.length ? Buffer.concat([plain, rest]) : plain;
  };

  const decompress = (codec: number, payload: Buffer, raw: number): Buffer | Promise<Buffer> => {
    if (codec === 0) return payload;
    if (codec === 1) return zlib.brotliDecompressSync(payload);
    if (codec === 2) {
      const plain = decodeInto(payload, raw);
      if (plain) return plain;
      const fallback = fallbackZstd();
      if (!fallback) throw new Error('this chunk is zstd-compressed but the @mongodb-js/zstd binding is not installed for this platform');
      return fallback.decompress(payload);
    }
    throw new Error(`unknown compression codec ${codec}`);
  };

  const writeAt = (fd: number, data: Buffer, pos: number): void => {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, pos + done);
  };

  /** Where a task's verified chunks go: the caller's file, or its shared buffer. */
  type Sink = (data: Buffer, pos: number) => void;
  const sinkOf = (t: WTask): Sink => {
    if (t.sab) {
      const view = new Uint8Array(t.sab);
      return (data, pos) => view.set(data, pos);
    }
    const fd = t.fd!;
    return (data, pos) => writeAt(fd, data, pos);
  };

  const finishChunk = (sink: Sink, it: WItem, data: Buffer): void => {
    const [pack, , , id, raw, pos] = it;
    if (data.length !== raw) throw new Fail(id, pack, `decodes to ${data.length} bytes, the index says ${raw}`);
    // Bound ids: the tag proved the key's holder sealed these bytes as this blob; format 1 must hash to know.
    if (!boundIds && crypto.createHash('sha256').update(data).digest('hex') !== id) throw new Fail(id, pack, 'does not match its hash');
    sink(data, pos);
    sinceGc += data.length;
    if (minorGc && sinceGc >= GC_BYTES) {
      sinceGc = 0;
      minorGc();
    }
  };

  const run = async (t: WTask): Promise<void> => {
    nativeDecoded = 0;
    const sink = sinkOf(t);
    const inflight: { it: WItem; data: Promise<Buffer> }[] = [];
    const drain = async (limit: number) => {
      while (inflight.length > limit) {
        const { it, data } = inflight.shift()!;
        let out: Buffer;
        try {
          out = await data;
        } catch (e) {
          throw new Fail(it[3], it[0], `cannot be decompressed: ${(e as Error).message}`);
        }
        finishChunk(sink, it, out);
      }
    };
    try {
      let i = 0;
      while (i < t.items.length) {
        // Adjacent blobs of one pack: one read.
        const first = t.items[i]!;
        let j = i + 1;
        let end = first[1] + first[2];
        while (j < t.items.length) {
          const n = t.items[j]!;
          if (n[0] !== first[0] || n[1] !== end || n[1] + n[2] - first[1] > MAX_READ) break;
          end = n[1] + n[2];
          j++;
        }
        // The span's bytes: read from the pack file into `buf`, or a view of what the caller fetched.
        let span: Buffer;
        let got: number;
        if (t.src) {
          got = Math.max(0, Math.min(end, t.srcLen ?? 0) - first[1]);
          span = Buffer.from(t.src, Math.min(first[1], t.srcLen ?? 0), got);
        } else {
          try {
            got = readSpan(first[0], first[1], end - first[1]);
          } catch (e) {
            throw new Fail(first[3], first[0], `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
          }
          span = buf;
        }
        for (let k = i; k < j; k++) {
          const it = t.items[k]!;
          const [pack, offset, length, id, raw] = it;
          const at = offset - first[1];
          if (at + length > got) throw new Fail(id, pack, `is truncated (${Math.max(0, got - at)} of ${length} bytes)`);
          let plain: Buffer;
          try {
            plain = openSealed(span.subarray(at, at + length), id);
          } catch {
            throw new Fail(id, pack, 'fails authentication (altered)');
          }
          let out: Buffer | Promise<Buffer>;
          try {
            out = decompress(plain[0]!, plain.subarray(1), raw);
          } catch (e) {
            throw new Fail(id, pack, `cannot be decompressed: ${(e as Error).message}`);
          }
          if (Buffer.isBuffer(out)) finishChunk(sink, it, out);
          else {
            out.catch(() => undefined);
            inflight.push({ it, data: out });
            await drain(WINDOW - 1);
          }
        }
        i = j;
      }
      await drain(0);
      if (minorGc && sinceGc > 0) {
        sinceGc = 0;
        minorGc();
      }
      port.postMessage({ id: t.id, ok: true, native: nativeDecoded });
    } catch (e) {
      await Promise.allSettled(inflight.map((x) => x.data));
      if (e instanceof Fail) port.postMessage({ id: t.id, ok: false, blob: e.blob, pack: e.pack, reason: e.reason });
      else port.postMessage({ id: t.id, ok: false, reason: (e as Error).message, code: (e as NodeJS.ErrnoException).code });
    }
  };

  const tasks: WTask[] = [];
  let running = false;
  let closing = false;
  const shutdown = () => {
    for (const fd of files.values()) fs.closeSync(fd);
    files.clear();
    port.close();
  };
  const pump = async () => {
    if (running) return;
    running = true;
    while (tasks.length) await run(tasks.shift()!);
    running = false;
    if (closing) shutdown();
  };
  port.on('message', (m: WTask | { type: 'close' } | { type: 'key'; key: Uint8Array; boundIds: boolean }) => {
    if (m.type === 'key') {
      key = Buffer.from(m.key);
      boundIds = m.boundIds;
    } else if (m.type === 'task') {
      tasks.push(m);
      void pump();
    } else {
      closing = true;
      if (!running) shutdown();
    }
  });
}
