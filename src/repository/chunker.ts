/**
 * Content-defined chunking (FastCDC-style gear hash, normalized chunking). Cut points depend only
 * on the bytes around them, so appending to a file (a Kafka segment that grew) leaves every earlier
 * chunk unchanged and only the tail is new; inserting bytes shifts cut points only locally.
 *
 * The gear table is fixed (derived from SHA-256, see docs/repository-format.md) so two repositories
 * cut the same data the same way and `copy` keeps dedupe.
 */
import { createHash } from 'node:crypto';

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

/** A mask of the `bits` highest bits: in a gear hash the high bits depend on the last 32 bytes. */
const topMask = (bits: number): number => (bits >= 32 ? -1 : (0xffffffff << (32 - bits)) | 0);

export function validateChunker(p: ChunkerParams): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avg) || p.min < 64 || p.min >= p.avg || p.max <= p.avg) throw new Error(`invalid chunker parameters ${JSON.stringify(p)}`);
}

export class Chunker {
  private buf: Buffer;
  private filled = 0;
  /** Where the scan resumes, and the hash state there. */
  private pos = 0;
  private h = 0;
  private readonly maskS: number;
  private readonly maskL: number;

  constructor(private readonly p: ChunkerParams = DEFAULT_CHUNKER) {
    validateChunker(p);
    const bits = Math.log2(p.avg);
    // Normalized chunking: harder to cut before the average size, easier after.
    this.maskS = topMask(bits + 2);
    this.maskL = topMask(bits - 2);
    this.buf = Buffer.allocUnsafe(p.max);
  }

  /** Feeds data; yields every chunk completed by it. */
  *push(data: Buffer): Generator<Buffer> {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, this.buf.length - this.filled);
      data.copy(this.buf, this.filled, off, off + n);
      this.filled += n;
      off += n;
      for (let cut = this.scan(); cut > 0; cut = this.scan()) yield this.cutAt(cut);
    }
  }

  /** The last (possibly short) chunk, or null. */
  finish(): Buffer | null {
    if (this.filled === 0) return null;
    const last = Buffer.from(this.buf.subarray(0, this.filled));
    this.filled = this.pos = this.h = 0;
    return last;
  }

  /** The cut position in the buffer, or 0 when more data is needed. */
  private scan(): number {
    const { min, avg, max } = this.p;
    const buf = this.buf;
    const filled = this.filled;
    if (filled <= min) return 0;
    let i = this.pos < min ? min : this.pos;
    let h = this.h;
    const end1 = filled < avg ? filled : avg;
    const maskS = this.maskS;
    for (; i < end1; i++) {
      h = ((h << 1) + GEAR[buf[i]!]!) | 0;
      if ((h & maskS) === 0) return i + 1;
    }
    const end2 = filled < max ? filled : max;
    const maskL = this.maskL;
    for (; i < end2; i++) {
      h = ((h << 1) + GEAR[buf[i]!]!) | 0;
      if ((h & maskL) === 0) return i + 1;
    }
    if (i >= max) return max;
    this.pos = i;
    this.h = h;
    return 0;
  }

  /** Copies the chunk out (exact size) and keeps the working buffer: memory stays bounded. */
  private cutAt(cut: number): Buffer {
    const chunk = Buffer.allocUnsafeSlow(cut);
    this.buf.copy(chunk, 0, 0, cut);
    this.buf.copyWithin(0, cut, this.filled);
    this.filled -= cut;
    this.pos = this.h = 0;
    return chunk;
  }
}
