/**
 * What a topic restore sends for one partition: the snapshot chain's stored batches, as they are
 * where they can go so (whole, gap-free, CreateTime, not too small), else re-batched from their
 * records' untouched bytes (a point-in-time cut, compaction gaps, LogAppendTime, small batches, the
 * older record format). Batches sent as they are are views of the chunk buffers the repository
 * filled: a chunk goes back for reuse (`recycle`) only once every batch cut from it was sent and
 * no record waiting to be re-batched points into it.
 */
import type { SnapshotReader } from '../repository/types';
import { readBatchChunk } from './batchFormat';
import { type Run, runsFor } from './offsetMap';
import { RECORD_FORMAT, decodeChunk } from './recordFormat';
import type { TopicManifest } from './topicBackup';
import { type Batch, type RawRecord, batchRecords, canDecode, encodeBatch, encodeBody, isContiguous, isLogAppendTime, lastOffsetOf } from './wire/recordBatch';

/** A topic's manifest in one snapshot of the chain, and how to read (and hand back) its chunks. */
export type Captured = TopicManifest & { reader: Pick<SnapshotReader, 'meta'>; read: (path: string) => Promise<Buffer>; recycle: (chunk: Buffer) => void };

/** A batch ready to send and where its records came from. */
export interface Outgoing {
  batch: Buffer;
  /** [original offset, index in the batch, count]. */
  runs: Run[];
  records: number;
  /** Call once the batch is written: it is a view of a chunk buffer that can then be reused. */
  done?: () => void;
  /** A stored batch sent as it is: the chunk file and snapshot it comes from (for errors). */
  from?: string;
}

/** A chunk buffer shared by the generator and the batches it yields; handed back when all let go. */
export class ChunkLease {
  private holds = 1;
  constructor(private readonly giveBack: () => void) {}
  hold(): () => void {
    this.holds++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.drop();
    };
  }
  drop(): void {
    if (--this.holds === 0) this.giveBack();
  }
}

export interface PartitionFeedOptions {
  after: number;
  cutOffset?: number;
  cutTime?: number;
  maxBatchBytes: number;
  /** Stored batches at least this big are sent as they are. */
  minDirectBytes: number;
}

/**
 * The outgoing batches of one partition across the snapshot chain, in order: records after
 * `after` within each snapshot's [start, end), up to the point-in-time cut (a prefix).
 */
export async function* partitionFeed(ms: Captured[], partition: number, o: PartitionFeedOptions): AsyncGenerator<Outgoing> {
  let pending: RawRecord[] = [];
  let pendingBytes = 0;
  // Chunks that pending records (views) may still point into: let go once the records are copied.
  const held: ChunkLease[] = [];
  const rebuilt = (): Outgoing => {
    const out = { batch: encodeBatch(pending), runs: runsFor(pending.map((r) => r.offset), 0), records: pending.length };
    pending = [];
    pendingBytes = 0;
    for (const l of held.splice(0)) l.drop();
    return out;
  };
  const pastCut = (offset: number, timestamp: number) => (o.cutOffset !== undefined && offset >= o.cutOffset) || (o.cutTime !== undefined && timestamp > o.cutTime);

  for (const m of ms) {
    const pm = m.parts[String(partition)];
    if (!pm) continue;
    const wanted = (offset: number) => offset > o.after && offset >= pm.start && offset < pm.end;
    for (const c of pm.chunks) {
      if (c.last <= o.after) continue;
      const data = await m.read(c.file);
      const lease = new ChunkLease(() => m.recycle(data));
      const where = `${c.file} of snapshot ${m.reader.meta.id.slice(0, 8)}`;
      // Records to re-batch, in order; or a stored batch that can go as it is.
      const units: (RawRecord[] | Batch)[] = [];
      if (m.recordFormat === RECORD_FORMAT) units.push(decodeChunk(data, c.file).map((r) => ({ offset: r.offset, timestamp: r.timestamp, body: encodeBody(r) })));
      else {
        for (const b of readBatchChunk(data, c.file)) {
          const last = lastOffsetOf(b);
          if (last <= o.after || last < pm.start || b.baseOffset >= pm.end) continue;
          // Whole, gap-free CreateTime batches go as they are if big enough, or if Lifeboat cannot
          // decode their codec (lz4, snappy) whatever their size.
          const asItIs =
            wanted(b.baseOffset) &&
            wanted(last) &&
            !pastCut(last, b.maxTimestamp) &&
            isContiguous(b) &&
            !isLogAppendTime(b) &&
            ((b.bytes.length >= o.minDirectBytes && b.bytes.length <= o.maxBatchBytes) || !canDecode(b));
          // Not re-checked here: restamping keeps a wrong CRC wrong and the broker refuses the batch.
          units.push(asItIs ? b : await batchRecords(b, where));
        }
      }
      for (const u of units) {
        if (!Array.isArray(u)) {
          if (pending.length) yield rebuilt();
          // Producer fields are rewritten in place: the chunk buffer is ours (readBuffer).
          yield { batch: u.bytes, runs: [[u.baseOffset, 0, u.count]], records: u.count, done: lease.hold(), from: where };
          continue;
        }
        for (const r of u) {
          if (!wanted(r.offset)) continue;
          if (pastCut(r.offset, r.timestamp)) {
            if (pending.length) yield rebuilt();
            return;
          }
          const size = r.body.length + 24;
          if (pending.length && pendingBytes + size > o.maxBatchBytes) yield rebuilt();
          pending.push(r);
          pendingBytes += size;
        }
      }
      if (pending.length) held.push(lease);
      else lease.drop();
    }
  }
  if (pending.length) yield rebuilt();
}

/** Starts computing the next item while the caller works on the current one. */
export async function* readAhead<T>(it: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = it.next();
  let done = false;
  try {
    for (;;) {
      const r = await next;
      if (r.done) {
        done = true;
        return;
      }
      next = it.next();
      yield r.value;
    }
  } finally {
    // Left early (the caller stopped or failed): settle the item being read before the readers
    // close under it, so its failure is not an unhandled rejection.
    if (!done) {
      await next.catch(() => undefined);
      await it.return(undefined).catch(() => undefined);
    }
  }
}
