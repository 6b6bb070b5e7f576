/**
 * The compact binary format of logical topic backups ("lifeboat-records/1").
 *
 * A partition's records are stored in chunk files `topics/<topic>/<partition>/<first offset, 20 digits>.lbr`.
 * Every multi-byte integer is big-endian. A chunk file is the 4-byte magic "LBR1" followed by records:
 *
 *   u32  length of the rest of this record
 *   u8   flags   bit0 key present · bit1 value present · bit2 LogAppendTime · bit3 transactional batch
 *   i64  original offset
 *   i64  timestamp (ms since the epoch)
 *   [u32 key length, key bytes]          only if bit0 (absent = null key; length 0 = empty key)
 *   [u32 value length, value bytes]      only if bit1 (absent = null value, a tombstone)
 *   u32  header count, then per header in wire order:
 *        u32 key length, key (UTF-8) · i32 value length (-1 = null), value bytes
 *
 * Offsets inside a chunk increase strictly; gaps (compaction, transaction markers, aborted records)
 * are simply offsets that do not appear. `sha256sum` plus this description is enough to audit it.
 */
import { LifeboatError } from '../errors';

export const CHUNK_MAGIC = Buffer.from('LBR1');
export const RECORD_FORMAT = 'lifeboat-records/1';

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface Header {
  key: string;
  value: Buffer | null;
}

export interface StoredRecord {
  offset: number;
  timestamp: number;
  timestampType: TimestampType;
  /** The record came from a transactional batch (committed: read_committed never returns aborted ones). */
  transactional: boolean;
  key: Buffer | null;
  value: Buffer | null;
  /** In wire order; repeated keys appear repeatedly. */
  headers: Header[];
}

const F_KEY = 1;
const F_VALUE = 2;
const F_LOG_APPEND = 4;
const F_TXN = 8;

export function encodedSize(r: StoredRecord): number {
  let n = 4 + 1 + 8 + 8 + 4;
  if (r.key) n += 4 + r.key.length;
  if (r.value) n += 4 + r.value.length;
  for (const h of r.headers) n += 4 + Buffer.byteLength(h.key) + 4 + (h.value?.length ?? 0);
  return n;
}

const TWO_32 = 2 ** 32;

/** Writes a safe integer as a big-endian i64 (no BigInt: this runs once per record). */
function writeI64(b: Buffer, v: number, p: number): number {
  const hi = Math.floor(v / TWO_32);
  b.writeInt32BE(hi, p);
  return b.writeUInt32BE(v - hi * TWO_32, p + 4);
}

/** Writes one record (with its length prefix, `size` = encodedSize(r)) at `p`; returns the end. */
function writeRecord(b: Buffer, p: number, r: StoredRecord, size: number): number {
  p = b.writeUInt32BE(size - 4, p);
  const flags = (r.key ? F_KEY : 0) | (r.value ? F_VALUE : 0) | (r.timestampType === 'LogAppendTime' ? F_LOG_APPEND : 0) | (r.transactional ? F_TXN : 0);
  p = b.writeUInt8(flags, p);
  p = writeI64(b, r.offset, p);
  p = writeI64(b, r.timestamp, p);
  if (r.key) {
    p = b.writeUInt32BE(r.key.length, p);
    p += r.key.copy(b, p);
  }
  if (r.value) {
    p = b.writeUInt32BE(r.value.length, p);
    p += r.value.copy(b, p);
  }
  p = b.writeUInt32BE(r.headers.length, p);
  for (const h of r.headers) {
    const kl = b.write(h.key, p + 4, 'utf8');
    p = b.writeUInt32BE(kl, p) + kl;
    if (h.value === null) p = b.writeInt32BE(-1, p);
    else {
      p = b.writeInt32BE(h.value.length, p);
      p += h.value.copy(b, p);
    }
  }
  return p;
}

/** Encodes one record (with its length prefix). */
export function encodeRecord(r: StoredRecord): Buffer {
  const size = encodedSize(r);
  const b = Buffer.allocUnsafe(size);
  writeRecord(b, 0, r, size);
  return b;
}

function corrupt(where: string, why: string): never {
  throw new LifeboatError('CorruptBackup', `topic chunk ${where} is corrupt: ${why}`);
}

/** Decodes a whole chunk file. Buffers in the result are views into `chunk`. */
export function decodeChunk(chunk: Buffer, where = '(chunk)'): StoredRecord[] {
  if (chunk.length < 4 || !chunk.subarray(0, 4).equals(CHUNK_MAGIC)) corrupt(where, 'bad magic');
  const out: StoredRecord[] = [];
  let p = 4;
  while (p < chunk.length) {
    if (p + 4 > chunk.length) corrupt(where, `truncated length at byte ${p}`);
    const end = p + 4 + chunk.readUInt32BE(p);
    if (end > chunk.length) corrupt(where, `record at byte ${p} runs past the end`);
    p += 4;
    const flags = chunk.readUInt8(p++);
    const offset = Number(chunk.readBigInt64BE(p));
    const timestamp = Number(chunk.readBigInt64BE(p + 8));
    p += 16;
    let key: Buffer | null = null;
    let value: Buffer | null = null;
    if (flags & F_KEY) {
      const n = chunk.readUInt32BE(p);
      key = chunk.subarray(p + 4, p + 4 + n);
      p += 4 + n;
    }
    if (flags & F_VALUE) {
      const n = chunk.readUInt32BE(p);
      value = chunk.subarray(p + 4, p + 4 + n);
      p += 4 + n;
    }
    const count = chunk.readUInt32BE(p);
    p += 4;
    const headers: Header[] = [];
    for (let i = 0; i < count; i++) {
      const kl = chunk.readUInt32BE(p);
      const hk = chunk.toString('utf8', p + 4, p + 4 + kl);
      p += 4 + kl;
      const vl = chunk.readInt32BE(p);
      p += 4;
      if (vl < 0) headers.push({ key: hk, value: null });
      else {
        headers.push({ key: hk, value: chunk.subarray(p, p + vl) });
        p += vl;
      }
    }
    if (p !== end) corrupt(where, `record at offset ${offset} has ${end - p} unexpected bytes`);
    out.push({ offset, timestamp, timestampType: flags & F_LOG_APPEND ? 'LogAppendTime' : 'CreateTime', transactional: (flags & F_TXN) !== 0, key, value, headers });
  }
  return out;
}

/**
 * Collects encoded records into chunk-sized buffers. Records are written straight into one buffer
 * per chunk, so a chunk costs no per-record allocation and no final concatenation. The buffer
 * starts small (many partitions may hold little) and doubles up to `capacity`; after a chunk it
 * starts at the size the previous chunk reached, so a busy partition allocates once per chunk.
 */
export class ChunkBuilder {
  private buf: Buffer | undefined;
  private size = CHUNK_MAGIC.length;
  private hint = 16 * 1024;
  first = -1;
  last = -1;
  count = 0;

  /** @param capacity the size a chunk buffer grows to (the caller's flush threshold plus a record is ideal). */
  constructor(private readonly capacity = 64 * 1024) {}

  add(r: StoredRecord): void {
    const n = encodedSize(r);
    this.reserve(n);
    this.size = writeRecord(this.buf!, this.size, r, n);
    if (this.count === 0) this.first = r.offset;
    this.last = r.offset;
    this.count++;
  }

  private reserve(n: number): void {
    const need = this.size + n;
    if (this.buf && need <= this.buf.length) return;
    const grown = this.buf ? this.buf.length * 2 : this.hint;
    const next = Buffer.allocUnsafe(Math.max(need, Math.min(grown, this.capacity)));
    if (this.buf) this.buf.copy(next, 0, 0, this.size);
    else CHUNK_MAGIC.copy(next, 0);
    this.buf = next;
  }

  get bytes(): number {
    return this.size;
  }

  /** The chunk so far; the builder starts over. */
  take(): { data: Buffer; first: number; last: number; records: number } {
    const data = this.buf ? this.buf.subarray(0, this.size) : Buffer.from(CHUNK_MAGIC);
    const r = { data, first: this.first, last: this.last, records: this.count };
    this.hint = Math.min(this.capacity, Math.max(16 * 1024, this.size));
    this.buf = undefined;
    this.size = CHUNK_MAGIC.length;
    this.first = this.last = -1;
    this.count = 0;
    return r;
  }
}

export const chunkFileName = (firstOffset: number): string => `${String(firstOffset).padStart(20, '0')}.lbr`;

/** Kafka headers in wire order from kafkajs's object form (repeated keys arrive as arrays). */
export function headersFromKafkajs(h: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Header[] {
  const out: Header[] = [];
  for (const [key, v] of Object.entries(h ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) {
      out.push({ key, value: one === undefined || one === null ? null : Buffer.isBuffer(one) ? one : Buffer.from(one) });
    }
  }
  return out;
}
