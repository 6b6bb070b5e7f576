/**
 * The chunk format of logical topic backups since Lifeboat 0.2 ("lifeboat-batches/1"): a partition's
 * data is stored as the record batches the broker holds (Kafka message format v2), byte for byte,
 * in chunk files `topics/<topic>/<partition>/<base offset of the first batch, 20 digits>.lbb`:
 *
 *   "LBB1" · batch · batch · ...      each batch as on the wire: baseOffset i64, batchLength i32, ...
 *
 * Keys, values, headers (order, repeats, nulls), timestamps and their type, compression, producer
 * ids and the original offsets are all there, and every batch carries its own CRC-32C. Aborted
 * transactions and transaction markers are not stored (they are gaps, as for any read_committed
 * consumer); a batch may reach before the partition's `start` or past its `end` in the manifest,
 * which bound what a restore writes. Format "lifeboat-records/1" (recordFormat.ts) stays readable.
 */
import { LifeboatError } from '../errors';
import { type Batch, lastOffsetOf, splitBatches } from './wire/recordBatch';

export const BATCH_FORMAT = 'lifeboat-batches/1';
export const BATCH_CHUNK_MAGIC = Buffer.from('LBB1');

export const batchChunkFileName = (firstOffset: number): string => `${String(firstOffset).padStart(20, '0')}.lbb`;

/** The batches of a chunk file (views into `chunk`). */
export function readBatchChunk(chunk: Buffer, where: string): Batch[] {
  if (chunk.length < 4 || !chunk.subarray(0, 4).equals(BATCH_CHUNK_MAGIC)) throw new LifeboatError('CorruptBackup', `topic chunk ${where} is corrupt: bad magic`);
  const body = chunk.subarray(4);
  const { batches, end } = splitBatches(body, where);
  if (end !== body.length) throw new LifeboatError('CorruptBackup', `topic chunk ${where} is corrupt: ${body.length - end} bytes after its last whole batch`);
  return batches;
}

/** Copies batches into one chunk-sized buffer (so fetched answers are not kept alive). */
export class BatchChunkBuilder {
  private buf: Buffer | undefined;
  private size = BATCH_CHUNK_MAGIC.length;
  /** First allocation: small for a quiet partition, the whole capacity once one chunk filled up. */
  private hint = 256 * 1024;
  first = -1;
  last = -1;
  records = 0;
  batches = 0;

  constructor(private readonly capacity = 4 * 1024 * 1024) {}

  add(b: Batch): void {
    const need = this.size + b.bytes.length;
    if (!this.buf || need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, Math.min(this.buf ? this.buf.length * 2 : this.hint, this.capacity)));
      if (this.buf) this.buf.copy(next, 0, 0, this.size);
      else BATCH_CHUNK_MAGIC.copy(next, 0);
      this.buf = next;
    }
    this.size += b.bytes.copy(this.buf, this.size);
    if (this.batches === 0) this.first = b.baseOffset;
    this.last = lastOffsetOf(b);
    this.records += b.count;
    this.batches++;
  }

  get bytes(): number {
    return this.size;
  }

  take(): { data: Buffer; first: number; last: number; records: number } {
    const r = { data: this.buf ? this.buf.subarray(0, this.size) : Buffer.from(BATCH_CHUNK_MAGIC), first: this.first, last: this.last, records: this.records };
    this.hint = this.size * 2 > this.capacity ? this.capacity : Math.max(this.hint, this.size);
    this.buf = undefined;
    this.size = BATCH_CHUNK_MAGIC.length;
    this.first = this.last = -1;
    this.records = this.batches = 0;
    return r;
  }
}
