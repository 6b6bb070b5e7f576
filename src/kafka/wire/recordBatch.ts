/**
 * Kafka record batches (message format v2, KIP-98) at the byte level: what the broker stores and
 * what Fetch returns and Produce takes. Working on batches instead of decoded records is what lets
 * a logical backup store exactly what the log holds (header order, null header values, timestamp
 * type, compression) and a restore send it back without re-encoding every record.
 *
 *   baseOffset i64 · batchLength i32 · partitionLeaderEpoch i32 · magic i8 (2) · crc u32 (CRC-32C of
 *   everything after it) · attributes i16 · lastOffsetDelta i32 · baseTimestamp i64 · maxTimestamp i64
 *   · producerId i64 · producerEpoch i16 · baseSequence i32 · recordCount i32 · records
 *
 * A record: length varint · attributes i8 · timestampDelta varlong · offsetDelta varint · key
 * (varint length, -1 = null) · value (same) · header count varint · headers (key varint length +
 * UTF-8, value varint length, -1 = null). Everything after offsetDelta is the record's `body` here:
 * it is copied untouched when records are re-batched.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import { LifeboatError } from '../../errors';
import { ZSTD_LEVEL, loadZstd } from '../../repository/compress';
import { updateCrc32c } from './crc32cUpdate';

export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the part of the header batchLength does not count. */
const LOG_OVERHEAD = 12;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;

export const COMPRESSION = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const TIMESTAMP_LOG_APPEND = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
/** Kafka 3.1+: the cleaner's delete horizon is in baseTimestamp; meaningless on another cluster. */
const DELETE_HORIZON = 0x40;

export interface BatchHeader {
  baseOffset: number;
  /** Whole batch, header included. */
  size: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  count: number;
}

export interface Batch extends BatchHeader {
  /** The whole batch (a view into the buffer it came from). */
  bytes: Buffer;
}

export const compressionOf = (b: BatchHeader): number => b.attributes & 0x07;
export const isControl = (b: BatchHeader): boolean => (b.attributes & CONTROL) !== 0;
export const isTransactional = (b: BatchHeader): boolean => (b.attributes & TRANSACTIONAL) !== 0;
export const isLogAppendTime = (b: BatchHeader): boolean => (b.attributes & TIMESTAMP_LOG_APPEND) !== 0;
export const lastOffsetOf = (b: BatchHeader): number => b.baseOffset + b.lastOffsetDelta;
/** No offset inside the batch is missing (compaction removes records but keeps batch bounds). */
export const isContiguous = (b: BatchHeader): boolean => b.lastOffsetDelta + 1 === b.count;
/** Lifeboat can decode (and so re-batch) uncompressed, gzip and zstd batches. */
export const canDecode = (b: BatchHeader): boolean => [COMPRESSION.none, COMPRESSION.gzip, COMPRESSION.zstd].includes(compressionOf(b) as 0 | 1 | 4);

const TWO_32 = 2 ** 32;
const readI64 = (b: Buffer, p: number): number => b.readInt32BE(p) * TWO_32 + b.readUInt32BE(p + 4);
function writeI64(b: Buffer, v: number, p: number): void {
  const hi = Math.floor(v / TWO_32);
  b.writeInt32BE(hi, p);
  b.writeUInt32BE(v - hi * TWO_32, p + 4);
}

function corrupt(where: string, why: string): never {
  throw new LifeboatError('CorruptBackup', `record batch ${where} is corrupt: ${why}`);
}

export function readHeader(buf: Buffer, p = 0): BatchHeader {
  return {
    baseOffset: readI64(buf, p),
    size: LOG_OVERHEAD + buf.readInt32BE(p + 8),
    magic: buf.readInt8(p + 16),
    crc: buf.readUInt32BE(p + CRC_AT),
    attributes: buf.readInt16BE(p + ATTRIBUTES_AT),
    lastOffsetDelta: buf.readInt32BE(p + 23),
    baseTimestamp: readI64(buf, p + 27),
    maxTimestamp: readI64(buf, p + 35),
    producerId: readI64(buf, p + 43),
    producerEpoch: buf.readInt16BE(p + 51),
    baseSequence: buf.readInt32BE(p + 53),
    count: buf.readInt32BE(p + 57),
  };
}

/**
 * The complete batches of a record set, in order. A Fetch answer may end with a partial batch
 * (the broker cuts at the byte limit): it is left out, and `end` says where the complete ones stop.
 */
export function splitBatches(records: Buffer, where = 'record set'): { batches: Batch[]; end: number } {
  const batches: Batch[] = [];
  let p = 0;
  while (p + LOG_OVERHEAD <= records.length) {
    const size = LOG_OVERHEAD + records.readInt32BE(p + 8);
    if (p + size > records.length) break;
    if (size < BATCH_HEADER_BYTES) {
      // Message format v0/v1 entries are shorter than a v2 header; Kafka 3 writes v2 only.
      if (size >= LOG_OVERHEAD + 5 && records.readInt8(p + 16) < 2) unsupportedMagic(records.readInt8(p + 16), where);
      corrupt(where, `batch at byte ${p} is ${size} bytes`);
    }
    const h = readHeader(records, p);
    if (h.magic !== 2) unsupportedMagic(h.magic, where);
    batches.push({ ...h, bytes: records.subarray(p, p + size) });
    p += size;
  }
  return { batches, end: p };
}

function unsupportedMagic(magic: number, where: string): never {
  throw new LifeboatError('InvalidInput', `${where} holds message format v${magic}; Lifeboat reads format v2 (Kafka 0.11+ producers) only`);
}

export const crcOk = (b: Batch): boolean => crc32c(b.bytes.subarray(ATTRIBUTES_AT)) === b.crc;

export function verifyCrc(b: Batch, where: string): void {
  if (!crcOk(b)) corrupt(where, `CRC mismatch in the batch at offset ${b.baseOffset}`);
}

/** The header fields restampForProduce may change: attributes up to baseSequence. */
const RESTAMPED_END = 57;

/**
 * Makes a batch (stored, or made by encodeBatch) ready to produce, in place: the producer's id,
 * epoch and sequence, not transactional (a stored transaction committed long ago), no delete
 * horizon (the source cleaner's). The broker assigns the offsets. The CRC is updated for the
 * changed fields only (crc32cUpdate.ts): a batch whose bytes do not match their CRC still does not,
 * and the broker refuses it (CORRUPT_MESSAGE) instead of storing damaged records.
 */
export function restampForProduce(buf: Buffer, producerId: number, producerEpoch: number, baseSequence: number): Buffer {
  const before = Buffer.from(buf.subarray(ATTRIBUTES_AT, RESTAMPED_END));
  writeI64(buf, 0, 0);
  buf.writeInt32BE(-1, 12);
  buf.writeInt16BE(buf.readInt16BE(ATTRIBUTES_AT) & ~(TRANSACTIONAL | DELETE_HORIZON), ATTRIBUTES_AT);
  writeI64(buf, producerId, 43);
  buf.writeInt16BE(producerEpoch, 51);
  buf.writeInt32BE(baseSequence, 53);
  buf.writeUInt32BE(updateCrc32c(buf.readUInt32BE(CRC_AT), before, buf.subarray(ATTRIBUTES_AT, RESTAMPED_END), buf.length - ATTRIBUTES_AT), CRC_AT);
  return buf;
}

// ---- varints (zigzag, as Kafka writes them) ----

function readVarint(b: Buffer, p: number): [value: number, next: number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const byte = b[p++];
    if (byte === undefined) throw new RangeError('varint runs past the end');
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) break;
    mul *= 128;
    if (mul > 2 ** 63) throw new RangeError('varint too long');
  }
  return [v % 2 === 1 ? -(v + 1) / 2 : v / 2, p];
}

function varintSize(n: number): number {
  let z = n < 0 ? -2 * n - 1 : 2 * n;
  let size = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

function writeVarint(b: Buffer, n: number, p: number): number {
  let z = n < 0 ? -2 * n - 1 : 2 * n;
  while (z >= 128) {
    b[p++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  b[p++] = z;
  return p;
}

// ---- records ----

/** A record as re-batching needs it: its place, its time and its untouched body bytes. */
export interface RawRecord {
  offset: number;
  timestamp: number;
  body: Buffer;
}

export interface Header {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Header[];
}

/** The repository's zstd (the level-aware binding); a clear error where it cannot load. */
async function zstd(where: string) {
  const z = await loadZstd();
  if (!z) throw new LifeboatError('InvalidInput', `${where}: zstd batches need the @mongodb-js/zstd binding, which does not load on this platform`);
  return z;
}

async function decompress(codec: number, data: Buffer, where: string): Promise<Buffer> {
  switch (codec) {
    case COMPRESSION.none:
      return data;
    case COMPRESSION.gzip:
      return gunzipSync(data);
    case COMPRESSION.zstd:
      return (await zstd(where)).decompress(data);
    default:
      throw new LifeboatError(
        'InvalidInput',
        `${where}: a ${CODEC_NAMES[codec] ?? `codec ${codec}`}-compressed batch must be re-batched (a cut, compaction gaps or small batches), and Lifeboat decodes only gzip and zstd batches`,
      );
  }
}

/**
 * The records of a batch with their absolute offsets and the timestamps a consumer sees
 * (LogAppendTime: the batch's max timestamp for every record). Bodies are views into the batch
 * (or into its decompressed records).
 */
export async function batchRecords(b: Batch, where = 'batch'): Promise<RawRecord[]> {
  const data = await decompress(compressionOf(b), b.bytes.subarray(BATCH_HEADER_BYTES), where);
  const out: RawRecord[] = [];
  const appendTime = isLogAppendTime(b);
  let p = 0;
  try {
    for (let i = 0; i < b.count; i++) {
      let len: number;
      [len, p] = readVarint(data, p);
      const end = p + len;
      if (end > data.length) corrupt(where, `record ${i} of the batch at ${b.baseOffset} runs past its end`);
      p++; // record attributes: unused in v2
      let tsDelta: number;
      let offDelta: number;
      [tsDelta, p] = readVarint(data, p);
      [offDelta, p] = readVarint(data, p);
      out.push({ offset: b.baseOffset + offDelta, timestamp: appendTime ? b.maxTimestamp : b.baseTimestamp + tsDelta, body: data.subarray(p, end) });
      p = end;
    }
  } catch (e) {
    if (e instanceof RangeError) corrupt(where, `${e.message} in the batch at ${b.baseOffset}`);
    throw e;
  }
  return out;
}

/** Key, value and headers of a record body. */
export function decodeBody(body: Buffer): Pick<DecodedRecord, 'key' | 'value' | 'headers'> {
  let p = 0;
  const bytes = (): Buffer | null => {
    let n: number;
    [n, p] = readVarint(body, p);
    if (n < 0) return null;
    const v = body.subarray(p, p + n);
    p += n;
    return v;
  };
  const key = bytes();
  const value = bytes();
  const [count, afterCount] = readVarint(body, p);
  p = afterCount;
  const headers: Header[] = [];
  for (let i = 0; i < count; i++) {
    const k = bytes();
    headers.push({ key: (k ?? Buffer.alloc(0)).toString('utf8'), value: bytes() });
  }
  return { key, value, headers };
}

/** The body bytes of a record (what follows offsetDelta). */
export function encodeBody(r: Pick<DecodedRecord, 'key' | 'value' | 'headers'>): Buffer {
  const keys = r.headers.map((h) => Buffer.from(h.key, 'utf8'));
  const sized = (b: Buffer | null) => (b === null ? varintSize(-1) : varintSize(b.length) + b.length);
  let n = sized(r.key) + sized(r.value) + varintSize(r.headers.length);
  r.headers.forEach((h, i) => (n += sized(keys[i]!) + sized(h.value)));
  const out = Buffer.allocUnsafe(n);
  let p = 0;
  const put = (b: Buffer | null) => {
    if (b === null) p = writeVarint(out, -1, p);
    else {
      p = writeVarint(out, b.length, p);
      p += b.copy(out, p);
    }
  };
  put(r.key);
  put(r.value);
  p = writeVarint(out, r.headers.length, p);
  r.headers.forEach((h, i) => {
    put(keys[i]!);
    put(h.value);
  });
  return out;
}

export async function decodeBatch(b: Batch, where?: string): Promise<DecodedRecord[]> {
  return (await batchRecords(b, where)).map((r) => ({ offset: r.offset, timestamp: r.timestamp, ...decodeBody(r.body) }));
}

export interface EncodeOptions {
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  /** gzip or zstd (zstd needs the async path: use encodeBatchAsync). */
  compression?: number;
}

/**
 * One CreateTime batch of these records with consecutive offsets from 0 (the broker assigns the
 * real ones): record i gets offsetDelta i. Bodies are copied as they are.
 */
export function encodeBatch(records: readonly Pick<RawRecord, 'timestamp' | 'body'>[], opts: EncodeOptions = {}): Buffer {
  const payload = encodeRecords(records);
  if (opts.compression === COMPRESSION.gzip) return frame(records, gzipSync(payload, { level: 1 }), COMPRESSION.gzip, opts);
  return frame(records, payload, COMPRESSION.none, opts);
}

export async function encodeBatchAsync(records: readonly Pick<RawRecord, 'timestamp' | 'body'>[], opts: EncodeOptions = {}): Promise<Buffer> {
  if (opts.compression !== COMPRESSION.zstd) return encodeBatch(records, opts);
  const payload = encodeRecords(records);
  return frame(records, await (await zstd('a new batch')).compress(payload, ZSTD_LEVEL), COMPRESSION.zstd, opts);
}

function encodeRecords(records: readonly Pick<RawRecord, 'timestamp' | 'body'>[]): Buffer {
  if (records.length === 0) throw new Error('a record batch needs at least one record');
  const base = records[0]!.timestamp;
  let total = 0;
  const lens: number[] = new Array<number>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const len = 1 + varintSize(r.timestamp - base) + varintSize(i) + r.body.length;
    lens[i] = len;
    total += varintSize(len) + len;
  }
  const out = Buffer.allocUnsafe(total);
  let p = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    p = writeVarint(out, lens[i]!, p);
    out[p++] = 0;
    p = writeVarint(out, r.timestamp - base, p);
    p = writeVarint(out, i, p);
    p += r.body.copy(out, p);
  }
  return out;
}

function frame(records: readonly Pick<RawRecord, 'timestamp'>[], stored: Buffer, compression: number, opts: EncodeOptions): Buffer {
  let max = records[0]!.timestamp;
  for (const r of records) if (r.timestamp > max) max = r.timestamp;
  const buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + stored.length);
  writeI64(buf, 0, 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, 8);
  buf.writeInt32BE(-1, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(compression | (opts.transactional ? TRANSACTIONAL : 0), ATTRIBUTES_AT);
  buf.writeInt32BE(records.length - 1, 23);
  writeI64(buf, records[0]!.timestamp, 27);
  writeI64(buf, max, 35);
  writeI64(buf, opts.producerId ?? -1, 43);
  buf.writeInt16BE(opts.producerEpoch ?? -1, 51);
  buf.writeInt32BE(opts.baseSequence ?? -1, 53);
  buf.writeInt32BE(records.length, 57);
  stored.copy(buf, BATCH_HEADER_BYTES);
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_AT)), CRC_AT);
  return buf;
}

/** Control batches (transaction markers): whether this one aborts its producer's transaction. */
export async function isAbortMarker(b: Batch): Promise<boolean> {
  const [r] = await batchRecords(b, 'control batch');
  if (!r) return false;
  const { key } = decodeBody(r.body);
  // Control record key: version i16, type i16 (0 = abort, 1 = commit).
  return key !== null && key.length >= 4 && key.readInt16BE(2) === 0;
}
