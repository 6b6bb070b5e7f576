/**
 * Pack files group many sealed blobs into one object (fewer files, fewer fsyncs, S3-friendly):
 *
 *   blob_1 || ... || blob_n || seal(header JSON) || u32le(length of the sealed header)
 *
 * Each blob is seal(codec byte || payload). The header repeats the pack's index entries, so an
 * index can be rebuilt from packs alone (that is how an interrupted backup's packs are reused).
 */
import { createHash, type Hash } from 'node:crypto';
import { SEAL_OVERHEAD, blobAadIf, open, seal, sealBuffer, sha256 } from './crypto';
import { DIRECT_ALIGN, LocalBackend, type Backend } from './backend';
import type { BlobTuple, BlobType } from './format';

export interface PackInfo {
  id: string;
  size: number;
  blobs: BlobTuple[];
}

type WasmMemory = new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
/** `bytes` (rounded up to 64 KiB) of page-aligned memory: WebAssembly memory starts on a page boundary. */
export function alignedBuffer(bytes: number): Buffer {
  const pages = Math.ceil(bytes / 65536);
  const Memory = (globalThis as unknown as { WebAssembly: { Memory: WasmMemory } }).WebAssembly.Memory;
  return Buffer.from(new Memory({ initial: pages, maximum: pages }).buffer);
}

/**
 * Page-aligned buffers for O_DIRECT pack writes, reused: WebAssembly memory, because its base is
 * page-aligned by construction (a Buffer's address is whatever malloc returns). One is filled while
 * up to two are written; fresh memory per pack would cost page faults (docs/benchmarks.md, "Repository").
 */
class AlignedPool {
  private readonly free: Buffer[] = [];
  /** A buffer of at least `size` bytes rounded up to the alignment, or undefined when none can be had. */
  take(size: number): Buffer | undefined {
    const need = Math.ceil(size / DIRECT_ALIGN) * DIRECT_ALIGN;
    const i = this.free.findIndex((b) => b.length >= need);
    if (i >= 0) return this.free.splice(i, 1)[0];
    try {
      // Rounded up to whole MiB (16 wasm pages) so packs a little larger than usual reuse it too.
      const pages = Math.ceil(need / (1024 * 1024)) * 16;
      return alignedBuffer(pages * 65536);
    } catch {
      return undefined;
    }
  }
  give(b: Buffer): void {
    if (this.free.length < 1) this.free.push(b);
  }
}

/** Room for the last blob past `packSize` (a chunk is at most the chunker's max, 4 MiB by default) and the header. */
const FILL_SLACK = 4 * 1024 * 1024 + 64 * 1024;
/**
 * While a local pack is written, its buffer is out: the next pack's first blobs are copied here and
 * moved into the buffer once it is back. The backup waited ~15-20 ms per 16 MiB pack for each write
 * before (~10 % of a full backup's wall time); a second pack buffer would cost 20 MiB of RSS. 3 MiB
 * was as fast as 6 MiB on the bench, for ~10 MB less peak RSS.
 */
const STAGING = 3 * 1024 * 1024;

export class PackWriter {
  private readonly aligned = new AlignedPool();
  /** The pack's blobs when they are not copied into `fill` (object storage, or a blob too big for it). */
  private parts: Buffer[] = [];
  /**
   * Local packs: the page-aligned buffer the pack's blobs are copied into as they come, so each
   * sealed blob dies young (a minor GC frees it) instead of living, promoted, until the pack is cut.
   */
  private fill: Buffer | undefined;
  /**
   * The pack id's SHA-256 over what went into `fill`, updated as each blob is copied in: hashing the
   * cut pack in libuv's pool (WebCrypto) copied all of it first, 16 MiB more at a backup's peak RSS.
   */
  private hash: Hash | undefined;
  private size = 0;
  private blobs: BlobTuple[] = [];
  /** Adds run one after another; while a local pack's write holds `fill`, the next blobs are staged. */
  private queue: Promise<void> = Promise.resolve();
  private flushing: Promise<void>[] = [];
  /** The local pack write in progress (its buffer is out until it ends), and where blobs wait meanwhile. */
  private writing: Promise<void> | undefined;
  private staging: Buffer | undefined;
  /** Whether the pack's bytes so far (`size`) are in `staging`. */
  private staged = false;
  /** The first pack write that failed. */
  private failed: unknown;
  readonly written: PackInfo[] = [];
  bytesWritten = 0;

  constructor(
    private readonly backend: Backend,
    private readonly key: Buffer,
    private readonly packSize: number,
    /** Whether blobs are sealed with their ids (the repository's format: `bindsBlobIds`). */
    private readonly boundIds: boolean,
    /** Called before each pack is written (e.g. a rate limiter). */
    private readonly beforeWrite?: (bytes: number) => Promise<void>,
  ) {}

  /**
   * Adds an already sealed blob; starts the pack's write when it is full (the add may resolve before
   * that write ends: `finish` waits for every write). After a failed write every add and `finish` fail with it.
   */
  add(type: BlobType, id: string, sealed: Buffer[], rawLength: number): Promise<void> {
    const p = this.queue.then(() => {
      if (this.failed) throw this.failed;
      return this.addNow(type, id, sealed, rawLength);
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async addNow(type: BlobType, id: string, sealed: Buffer[], rawLength: number): Promise<void> {
    const length = sealed.reduce((n, b) => n + b.length, 0);
    if (this.writing && !this.fill && this.parts.length === 0) {
      this.staging ??= Buffer.allocUnsafeSlow(STAGING);
      // Not past the pack's size either: the blob that ends a pack goes into the buffer, and the cut follows.
      if ((this.staged || this.size === 0) && this.size + length < Math.min(this.staging.length, this.packSize)) {
        this.staged = true;
        this.blobs.push([type, id, this.size, length, rawLength]);
        this.copyIn(this.staging, sealed);
        this.size += length;
        return;
      }
      await this.writing;
    }
    this.blobs.push([type, id, this.size, length, rawLength]);
    const into = this.fillFor(length);
    if (into) this.copyIn(into, sealed);
    else this.parts.push(...sealed);
    this.size += length;
    if (this.size >= this.packSize) await this.cut();
  }

  /** Copies a blob's parts to `size` in `into`, and into the pack's running hash. */
  private copyIn(into: Buffer, sealed: Buffer[]): void {
    let off = this.size;
    this.hash ??= createHash('sha256');
    for (const b of sealed) {
      off += b.copy(into, off);
      this.hash.update(b);
    }
  }

  /** The aligned buffer the next `length` bytes go into, or undefined (then they go to `parts`). */
  private fillFor(length: number): Buffer | undefined {
    if (this.parts.length > 0 || !(this.backend instanceof LocalBackend)) return undefined;
    if (!this.fill) {
      this.fill = this.aligned.take(this.packSize + Math.max(length, FILL_SLACK));
      if (this.staged) {
        // The staged start of the pack (already hashed), into the buffer now that it is back.
        if (this.fill) this.staging!.copy(this.fill, 0, 0, this.size);
        else this.parts.push(Buffer.from(this.staging!.subarray(0, this.size)));
        this.staged = false;
        if (!this.fill) this.hash = undefined;
      }
    }
    if (this.fill && this.size + length > this.fill.length) {
      // Does not fit (a blob larger than the chunker's max): the rest of this pack collects in parts.
      this.parts.push(Buffer.from(this.fill.subarray(0, this.size)));
      this.aligned.give(this.fill);
      this.fill = undefined;
      this.hash = undefined;
    }
    return this.fill;
  }

  /** Plaintext blob convenience: seals `codec || payload`. */
  async addPlain(type: BlobType, id: string, codec: number, payload: Buffer, rawLength: number): Promise<void> {
    await this.add(type, id, seal(this.key, [Buffer.from([codec]), payload], blobAadIf(this.boundIds, id)), rawLength);
  }

  private async cut(): Promise<void> {
    if (this.blobs.length === 0) return;
    if (this.staged) {
      // A pack that fits in the staging buffer (the last one): wait for the buffer, then move it in.
      await this.writing;
      this.fillFor(0);
    }
    const header = sealBuffer(this.key, Buffer.from(JSON.stringify({ blobs: this.blobs })));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    const blobs = this.blobs;
    const size = this.size + header.length + 4;
    let direct = this.fill;
    let parts = this.parts;
    // The running hash covers the pack's blobs only when every one of them went into `fill`.
    const hash = direct && parts.length === 0 ? this.hash : undefined;
    this.hash = undefined;
    if (direct && size > direct.length) {
      // A header larger than the slack (thousands of small blobs): a bigger buffer, or parts.
      const bigger = this.aligned.take(size);
      if (bigger) direct.copy(bigger, 0, 0, this.size);
      else parts = [Buffer.from(direct.subarray(0, this.size))];
      this.aligned.give(direct);
      direct = bigger;
    } else if (!direct && this.backend instanceof LocalBackend) {
      direct = this.aligned.take(size);
      if (direct) {
        let off = 0;
        for (const b of parts) off += b.copy(direct, off);
      }
    }
    if (direct) {
      header.copy(direct, this.size);
      len.copy(direct, this.size + header.length);
      parts = [direct.subarray(0, size)];
    } else parts = [...parts, header, len];
    const id = hash ? hash.update(header).update(len).digest('hex') : sha256(parts);
    this.fill = undefined;
    this.parts = [];
    this.blobs = [];
    this.size = 0;
    // Local packs go past the page cache from the page-aligned buffer (see LocalBackend.writeDirect).
    const write = (async () => {
      if (this.beforeWrite) await this.beforeWrite(size);
      try {
        if (!direct || !(await (this.backend as LocalBackend).writeDirect('data', id, direct, size))) await this.backend.write('data', id, parts);
      } finally {
        if (direct) this.aligned.give(direct);
      }
      this.written.push({ id, size, blobs });
      this.bytesWritten += size;
    })();
    const p = write
      .catch((e: unknown) => {
        this.failed ??= e;
        throw e;
      })
      .finally(() => {
        if (this.writing === p) this.writing = undefined;
      });
    p.catch(() => undefined); // awaited below, in addNow or in finish(); avoid an unhandled-rejection crash meanwhile
    this.flushing.push(p);
    if (direct) this.writing = p;
    // A local pack's buffer is the next pack's: the next blobs are staged while it is written (addNow).
    // Uploads overlap the next pack (two in flight).
    while (this.flushing.length >= 2) await this.flushing.shift();
  }

  /** Writes the last partial pack (after every add queued before). */
  async finish(): Promise<PackInfo[]> {
    await this.queue;
    if (this.failed) {
      await Promise.allSettled(this.flushing);
      throw this.failed;
    }
    await this.cut();
    while (this.flushing.length) await this.flushing.shift();
    return this.written;
  }
}

/** Reads and opens a pack's header (its self-description). */
export async function readPackHeader(backend: Backend, key: Buffer, id: string, size: number): Promise<BlobTuple[]> {
  if (size < 4 + SEAL_OVERHEAD) throw new Error(`pack ${id} is too short (${size} bytes)`);
  const lenBuf = await backend.readRange('data', id, size - 4, 4);
  if (lenBuf.length !== 4) throw new Error(`pack ${id} is truncated`);
  const hlen = lenBuf.readUInt32LE(0);
  if (hlen + 4 > size) throw new Error(`pack ${id} has an impossible header length`);
  const sealed = await backend.readRange('data', id, size - 4 - hlen, hlen);
  return parseHeader(key, sealed);
}

export function parseHeader(key: Buffer, sealed: Buffer): BlobTuple[] {
  const h = JSON.parse(open(key, sealed).toString('utf8')) as { blobs: BlobTuple[] };
  return h.blobs;
}

/** Splits a whole pack into its header entries (throws if the header is damaged). */
export function parsePack(key: Buffer, data: Buffer): BlobTuple[] {
  if (data.length < 4 + SEAL_OVERHEAD) throw new Error('pack too short');
  const hlen = data.readUInt32LE(data.length - 4);
  if (hlen + 4 > data.length) throw new Error('impossible header length');
  return parseHeader(key, data.subarray(data.length - 4 - hlen, data.length - 4));
}
