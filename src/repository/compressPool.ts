/**
 * A backup's zstd compression in worker threads, each with one zstd-napi compression context it
 * reuses for every chunk (ZSTD_compressCCtx into a buffer it is handed). @mongodb-js/zstd 1.2, run
 * in libuv's pool otherwise, builds a context and a fresh output buffer for every chunk: on the
 * benchmark's Kafka-like 1 MiB chunks it spends ~25 % more CPU per byte at the same level
 * (docs/benchmarks.md, "Repository"). Same codec byte and level: either decoder reads either's output.
 *
 * A chunk is copied into an input buffer that is moved (transferred, not copied) to a worker with
 * an output buffer; both come back with the result and carry the next chunk. Only `slots` such pairs
 * exist, each grown to the largest chunk it has carried: no buffer per chunk, and the chunker's
 * window is free for reuse as soon as the copy is made.
 *
 * A chunk zstd-napi refuses (or a worker where it did not load) is compressed in libuv's pool as
 * before. A worker that is lost fails the chunks it held (their copies went with it, and the chunker
 * may have reused their memory): the backup fails with that error, and its re-run reuses the packs
 * already written. A writer starts a pool only where @mongodb-js/zstd loads, so what it writes can be read here.
 *
 * The worker's code is `workerMain` below, started from its source text like the restore's workers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type * as WorkerThreadsModule from 'node:worker_threads';
import { CODEC, WORTH_IT, ZSTD_LEVEL, compress } from './compress';
import { resolvePath } from './resolvePath';

interface Pair {
  input: ArrayBuffer;
  output: ArrayBuffer;
}
type Reply = { id: number; n: number; input: ArrayBuffer; output: ArrayBuffer } | { id: number; error: string; unusable?: boolean; input: ArrayBuffer; output: ArrayBuffer };

/** A compressed chunk: `payload` is valid until `done()`, which hands its buffers on. */
export interface Compressed {
  codec: number;
  payload: Buffer;
  done(): void;
}

const napiPath = () => resolvePath('zstd-napi/binding.js');
const round = (n: number) => Math.ceil(n / 65536) * 65536;

/**
 * Workers for a machine with `cores` cores: one fewer than the cores (the main thread reads, cuts,
 * hashes and seals), at least one, at most four. On two cores, two workers were slower than one.
 */
export const compressWorkers = (cores = availableParallelism()) => Math.max(1, Math.min(4, cores - 1));

export class CompressPool {
  /** Whether writers use a pool when zstd-napi is installed (tests turn it off to cover libuv's path). */
  static enabled = true;
  /**
   * A writer starts its pool once it has compressed this much in libuv's pool: a thread takes ~40 ms
   * to start, more than the whole of a small snapshot (a ZooKeeper export, a drill's record) takes.
   */
  static startAfterBytes = 16 * 1024 * 1024;
  /** Chunks any pool's workers compressed (how a test tells which path ran). */
  static chunksDone = 0;

  private readonly workers: { w: Worker; busy: number; gone: boolean; usable: boolean }[] = [];
  private readonly free: Pair[] = [];
  private readonly waiting: ((p: Pair) => void)[] = [];
  private pairs = 0;
  private readonly pending = new Map<number, { worker: number; resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed?: Promise<void>;

  private constructor(
    workers: number,
    path: string,
    private readonly slots: number,
  ) {
    const source = `const __name = (f) => f;\n(${workerMain.toString()})();`;
    try {
      for (let i = 0; i < workers; i++) this.startWorker(i, source, path);
    } catch (e) {
      // A thread that cannot start (a limit): none of the pool's stay.
      for (const s of this.workers) void s.w.terminate();
      throw e;
    }
  }

  private startWorker(i: number, source: string, path: string): void {
    const w = new Worker(source, { eval: true, workerData: { napiPath: path, level: ZSTD_LEVEL } });
    const slot = { w, busy: 0, gone: false, usable: true };
    w.on('message', (m: Reply) => {
      // An idle worker does not hold the process open (a writer never committed or aborted).
      if (--slot.busy === 0) w.unref();
      // zstd-napi did not load in it (another Node ABI): no new chunks for it; those it has come back the same way.
      if ('error' in m && m.unusable) slot.usable = false;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m);
    });
    const lost = (e: Error) => {
      if (slot.gone) return;
      slot.gone = true;
      for (const [id, p] of [...this.pending]) {
        if (p.worker !== i) continue;
        this.pending.delete(id);
        p.reject(e);
      }
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`compression worker exited (code ${code})`)));
    w.unref();
    this.workers.push(slot);
  }

  /**
   * A pool, or null where zstd-napi is not installed, pools are off, or a thread cannot be started
   * (compression then stays in libuv's pool).
   */
  static start(workers = compressWorkers()): CompressPool | null {
    if (!CompressPool.enabled || workers < 1) return null;
    const path = napiPath();
    if (!path) return null;
    try {
      // A pair being filled, one in each worker, one being sealed.
      return new CompressPool(workers, path, workers + 2);
    } catch {
      return null;
    }
  }

  /** A pair with room for `size` bytes, once one is free. */
  private async take(size: number): Promise<Pair> {
    let p = this.free.pop();
    if (!p && this.pairs < this.slots) {
      this.pairs++;
      p = { input: new ArrayBuffer(0), output: new ArrayBuffer(0) };
    }
    p ??= await new Promise<Pair>((resolve) => this.waiting.push(resolve));
    const bound = size + (size >> 7) + 1024; // ≥ ZSTD_compressBound
    if (p.input.byteLength < size) p.input = new ArrayBuffer(round(size));
    if (p.output.byteLength < bound) p.output = new ArrayBuffer(round(bound));
    return p;
  }

  private give(p: Pair): void {
    const w = this.waiting.shift();
    if (w) w(p);
    else this.free.push(p);
  }

  /** Compresses `chunk` (codec `auto`); `copied` is called once the chunk's memory may be reused. */
  async compress(chunk: Buffer, copied?: () => void): Promise<Compressed> {
    if (chunk.length < 64) return { codec: CODEC.none, payload: chunk, done: () => undefined };
    const pair = await this.take(chunk.length);
    const input = Buffer.from(pair.input, 0, chunk.length);
    chunk.copy(input);
    copied?.();
    const live = this.workers.filter((s) => !s.gone && s.usable);
    if (live.length === 0) return this.inProcess(input, pair);
    const slot = live.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => this.pending.set(id, { worker: this.workers.indexOf(slot), resolve, reject }));
    if (slot.busy++ === 0) slot.w.ref();
    slot.w.postMessage({ id, input: pair.input, output: pair.output, length: chunk.length }, [pair.input, pair.output]);
    let r: Reply;
    try {
      r = await reply;
    } catch (e) {
      // The pair went with the worker: one in its place.
      this.give({ input: new ArrayBuffer(0), output: new ArrayBuffer(0) });
      throw e;
    }
    const back: Pair = { input: r.input, output: r.output };
    if ('error' in r) return this.inProcess(Buffer.from(back.input, 0, chunk.length), back);
    CompressPool.chunksDone++;
    // Not worth it: the chunk as it is, from the copy (the chunk's own memory may be reused by now).
    const stored = r.n > chunk.length * WORTH_IT;
    return this.result(stored ? CODEC.none : CODEC.zstd, stored ? Buffer.from(back.input, 0, chunk.length) : Buffer.from(back.output, 0, r.n), back);
  }

  /** libuv's pool (@mongodb-js/zstd) for a chunk no worker can take; the pair is handed on when done. */
  private async inProcess(data: Buffer, pair: Pair): Promise<Compressed> {
    try {
      const { codec, payload } = await compress(data, 'auto');
      return this.result(codec, payload, pair);
    } catch (e) {
      this.give(pair);
      throw e;
    }
  }

  private result(codec: number, payload: Buffer, pair: Pair): Compressed {
    let given = false;
    return {
      codec,
      payload,
      done: () => {
        if (!given) this.give(pair);
        given = true;
      },
    };
  }

  /** Ends the workers (once; a second call waits for the first). */
  close(): Promise<void> {
    this.closed ??= Promise.all(this.workers.map((s) => s.w.terminate())).then(() => undefined);
    return this.closed;
  }

  /** Ends one worker abruptly, as a crash would (tests). */
  async crashWorker(i = 0): Promise<void> {
    await this.workers[i]?.w.terminate();
  }
}

/* ------------------------------------------------------------------------------------------------
 * The worker. Runs from its source text: only `require` and what it defines itself.
 * --------------------------------------------------------------------------------------------- */
function workerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreadsModule;
  const { napiPath: path, level } = workerData as { napiPath: string; level: number };
  type CCtx = { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  let cctx: CCtx | null = null;
  let loadError = '';
  try {
    cctx = new (require(path) as { CCtx: new () => CCtx }).CCtx();
  } catch (e) {
    loadError = (e as Error).message;
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  const port = parentPort!;
  port.on('message', (m: { id: number; input: ArrayBuffer; output: ArrayBuffer; length: number }) => {
    const back = [m.input, m.output];
    if (!cctx) return port.postMessage({ id: m.id, error: loadError, unusable: true, input: m.input, output: m.output }, back);
    try {
      const n = cctx.compress(new Uint8Array(m.output), new Uint8Array(m.input, 0, m.length), level);
      port.postMessage({ id: m.id, n, input: m.input, output: m.output }, back);
    } catch (e) {
      port.postMessage({ id: m.id, error: (e as Error).message, input: m.input, output: m.output }, back);
    }
  });
}
