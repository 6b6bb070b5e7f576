/**
 * Content-defined chunking (FastCDC-style gear hash, normalized chunking). Cut points depend only
 * on the bytes around them, so appending to a file (a Kafka segment that grew) leaves every earlier
 * chunk unchanged and only the tail is new; inserting bytes shifts cut points only locally.
 *
 * The gear table is fixed (derived from SHA-256, see docs/repository-format.md) so two repositories
 * cut the same data the same way and `copy` keeps dedupe.
 */
import { createHash } from 'node:crypto';
import { gearWindow, type GearWindow } from './gearScan';

export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}
export const DEFAULT_CHUNKER: ChunkerParams = { min: 512 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

const GEAR = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) t[i] = createHash('sha256').update(`lifeboat-gear-${i}`).digest().readInt32BE(0);
  return t;
})();

/**
 * Spare windows kept for reuse (each 2 * max bytes). A backup holds the current window and up to
 * three whose chunks are still being hashed, compressed or sealed; with two spares a released
 * window often found no room and was dropped, and a fresh one allocated soon after (34 windows in
 * a 1.1 GiB backup, the dropped ones old-generation garbage until a major GC: ~20 MB of peak RSS).
 */
export const SPARE_WINDOWS = 4;

/** The WebAssembly scan of each window allocated as WebAssembly memory (src/repository/gearScan.ts). */
const scanners = new WeakMap<ArrayBufferLike, GearWindow>();

/** A mask of the `bits` highest bits: in a gear hash the high bits depend on the last 32 bytes. */
const topMask = (bits: number): number => (bits >= 32 ? -1 : (0xffffffff << (32 - bits)) | 0);

export function validateChunker(p: ChunkerParams): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avg) || p.min < 64 || p.min >= p.avg || p.max <= p.avg) throw new Error(`invalid chunker parameters ${JSON.stringify(p)}`);
}

export class Chunker {
  /**
   * Incoming data is copied once, into a window of 2 * max bytes; chunks are views of it (no copy
   * out, nothing moved after a cut). A full window is never written to again: the next one starts
   * with the pending (< max) tail, so chunks handed out stay valid while the caller holds them, and
   * a window is freed once no chunk of it is in use. Memory stays bounded by the chunks in flight.
   */
  private buf: Buffer;
  /** Start of the pending chunk and end of the data in `buf`. */
  private start = 0;
  private filled = 0;
  /** Where the scan resumes (relative to `start`), and the hash state there. */
  private pos = 0;
  private h = 0;
  private readonly maskS: number;
  private readonly maskL: number;
  /**
   * Chunks handed out and not yet released, per window (`fill`/`release` callers only; `push`
   * callers never release, so their windows are left to the GC as before). A full window none of
   * whose chunks is held goes back to `spare`: fresh 8 MiB windows cost page faults and external
   * memory that makes V8 collect often (docs/benchmarks.md, "Repository").
   */
  private readonly held = new Map<ArrayBuffer, number>();
  private readonly retired = new Set<ArrayBuffer>();
  private tracked = false;

  /** `spare`: windows to reuse, shared by the chunkers of one writer (at most `SPARE_WINDOWS` kept). */
  constructor(
    private readonly p: ChunkerParams = DEFAULT_CHUNKER,
    private readonly spare: Buffer[] = [],
  ) {
    validateChunker(p);
    const bits = Math.log2(p.avg);
    // Normalized chunking: harder to cut before the average size, easier after.
    this.maskS = topMask(bits + 2);
    this.maskL = topMask(bits - 2);
    this.buf = this.takeWindow();
  }

  private takeWindow(): Buffer {
    const size = 2 * this.p.max;
    for (let w = this.spare.pop(); w; w = this.spare.pop()) if (w.length === size) return w;
    const g = gearWindow(size, GEAR);
    if (!g) return Buffer.allocUnsafeSlow(size);
    scanners.set(g.buf.buffer, g);
    return g.buf;
  }

  private keep(w: Buffer): void {
    if (this.spare.length < SPARE_WINDOWS) this.spare.push(w);
  }

  /** After the last chunk (`fill` callers): the window is reused once its chunks are released. */
  done(): void {
    if (!this.tracked) return;
    const ab = this.buf.buffer as ArrayBuffer;
    if (this.held.has(ab)) this.retired.add(ab);
    else this.keep(this.buf);
    this.tracked = false;
  }

  /** Feeds data; yields every chunk completed by it (views that later pushes never overwrite). */
  *push(data: Buffer): Generator<Buffer> {
    let off = 0;
    while (off < data.length) {
      if (this.filled === this.buf.length) this.nextWindow();
      const n = Math.min(data.length - off, this.buf.length - this.filled);
      data.copy(this.buf, this.filled, off, off + n);
      this.filled += n;
      off += n;
      for (let cut = this.scan(); cut > 0; cut = this.scan()) {
        const chunk = this.buf.subarray(this.start, this.start + cut);
        this.start += cut;
        this.pos = this.h = 0;
        yield chunk;
      }
    }
  }

  /**
   * Room for at least `min(want, window/2)` more bytes, to read into directly (no copy): pass the
   * number of bytes read to `fill`, which yields the chunks they complete. Chunks yielded this
   * way must each be `release`d once nothing uses them, so their window can be reused.
   */
  room(want: number): Buffer {
    this.tracked = true;
    if (this.buf.length - this.filled < Math.min(want, this.buf.length / 2)) this.nextWindow();
    return this.buf.subarray(this.filled, Math.min(this.buf.length, this.filled + want));
  }

  /** `n` bytes were written into the last `room`: yields every chunk completed by them. */
  *fill(n: number): Generator<Buffer> {
    this.filled += n;
    for (let cut = this.scan(); cut > 0; cut = this.scan()) {
      const chunk = this.buf.subarray(this.start, this.start + cut);
      this.start += cut;
      this.pos = this.h = 0;
      this.hold(chunk);
      yield chunk;
    }
  }

  /** The last chunk of a `fill` sequence (held like the others), or null. */
  finishHeld(): Buffer | null {
    const last = this.finish();
    if (last) this.hold(last);
    return last;
  }

  /** A chunk from `fill`/`finishHeld` is no longer used: its window may be reused once all of its chunks are. */
  release(chunk: Buffer): void {
    const ab = chunk.buffer as ArrayBuffer;
    const n = (this.held.get(ab) ?? 1) - 1;
    if (n > 0) return void this.held.set(ab, n);
    this.held.delete(ab);
    // The window's bytes (a WebAssembly window's memory has the gear values after them).
    if (this.retired.delete(ab)) this.keep(Buffer.from(ab, 0, 2 * this.p.max));
  }

  private hold(chunk: Buffer): void {
    const ab = chunk.buffer as ArrayBuffer;
    this.held.set(ab, (this.held.get(ab) ?? 0) + 1);
  }

  /** The last (possibly short) chunk, or null. */
  finish(): Buffer | null {
    if (this.filled === this.start) return null;
    const last = this.buf.subarray(this.start, this.filled);
    this.start = this.filled;
    this.pos = this.h = 0;
    return last;
  }

  /** A fresh window holding the pending tail (shorter than max, so at least half the window is free). */
  private nextWindow(): void {
    const old = this.buf.buffer as ArrayBuffer;
    // A window with chunks still held is reused once the last is released; one with none, at once.
    if (this.tracked && this.held.has(old)) this.retired.add(old);
    const next = this.takeWindow();
    this.buf.copy(next, 0, this.start, this.filled);
    this.filled -= this.start;
    this.start = 0;
    if (this.tracked && !this.held.has(old)) this.keep(this.buf);
    this.buf = next;
  }

  /** The length of the chunk starting at `start`, or 0 when more data is needed. */
  private scan(): number {
    const { min, avg, max } = this.p;
    const buf = this.buf;
    const base = this.start;
    const filled = this.filled - base;
    if (filled <= min) return 0;
    // Absolute positions in `buf` in the loops (one add less per byte).
    let i = base + (this.pos < min ? min : this.pos);
    let h = this.h;
    const end1 = base + (filled < avg ? filled : avg);
    const wasm = scanners.get(buf.buffer);
    if (wasm) {
      // The same loops in WebAssembly (src/repository/gearScan.ts).
      const end = base + (filled < max ? filled : max);
      const cut = wasm.scan(i, end1, end, h, this.maskS, this.maskL);
      if (cut > 0) return cut - base;
      if (end > i) i = end;
      if (i - base >= max) return max;
      this.pos = i - base;
      this.h = wasm.lastHash();
      return 0;
    }
    const maskS = this.maskS;
    for (; i < end1; i++) {
      h = ((h << 1) + GEAR[buf[i]!]!) | 0;
      if ((h & maskS) === 0) return i + 1 - base;
    }
    const end2 = base + (filled < max ? filled : max);
    const maskL = this.maskL;
    for (; i < end2; i++) {
      h = ((h << 1) + GEAR[buf[i]!]!) | 0;
      if ((h & maskL) === 0) return i + 1 - base;
    }
    if (i - base >= max) return max;
    this.pos = i - base;
    this.h = h;
    return 0;
  }
}

/** Cuts a buffer into `size`-byte views (the last one shorter): the chunker for `cut: 'fixed'`. */
export class FixedCutter {
  constructor(private readonly size: number) {}

  *push(data: Buffer): Generator<Buffer> {
    for (let p = 0; p < data.length; p += this.size) yield data.subarray(p, Math.min(p + this.size, data.length));
  }

  finish(): Buffer | undefined {
    return undefined;
  }
}
