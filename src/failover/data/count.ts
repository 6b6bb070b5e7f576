/**
 * Counting the records of an offset range from the batches a partition stores, the way a
 * read_committed consumer would get them: data records of non-transactional batches count at once;
 * those of a transaction count when its commit marker follows, are `aborted` when an abort marker
 * does, and stay `open` when the range ends before either (a primary killed mid-transaction). Markers
 * and offset gaps (compaction, aborted records) are not records.
 */
import { type Batch, batchRecords, isAbortMarker, isContiguous, isControl, isTransactional, lastOffsetOf } from '../../kafka/wire/recordBatch';
import type { RecordCount } from './types';

export const emptyCount = (): RecordCount => ({ records: 0, aborted: 0, open: 0, markers: 0 });

/** Offsets as [start, end) intervals. */
type Intervals = [number, number][];

const below = (iv: Intervals, cut: number): number => iv.reduce((n, [s, e]) => n + Math.max(0, Math.min(e, cut) - s), 0);

export class RangeCounter {
  readonly total = emptyCount();
  readonly atCuts: RecordCount[];
  /** Transactional data in range per producer, waiting for its marker. */
  private readonly pending = new Map<number, Intervals>();

  /** Counts [from, to) and, for each cut, [from, cut). */
  constructor(
    readonly from: number,
    readonly to: number,
    readonly cuts: number[] = [],
  ) {
    this.atCuts = cuts.map(emptyCount);
  }

  /** The offsets of a data batch's records within [from, to) (decoded only where gaps and the range's bounds meet). */
  private async offsetsIn(b: Batch, where: string): Promise<Intervals> {
    const lo = Math.max(b.baseOffset, this.from);
    const hi = Math.min(lastOffsetOf(b) + 1, this.to);
    if (lo >= hi) return [];
    if (isContiguous(b)) return [[lo, hi]];
    // A whole batch with gaps (compaction) and no cut inside: its record count says it, undecoded.
    if (lo === b.baseOffset && hi === lastOffsetOf(b) + 1 && this.cuts.every((c) => c <= lo || c >= hi)) return spread(lo, b.count);
    const offsets = (await batchRecords(b, where)).map((r) => r.offset).filter((o) => o >= lo && o < hi);
    return offsets.map((o): [number, number] => [o, o + 1]);
  }

  private credit(kind: keyof RecordCount, iv: Intervals): void {
    const n = below(iv, Infinity);
    if (n === 0) return;
    this.total[kind] += n;
    this.cuts.forEach((c, i) => (this.atCuts[i]![kind] += below(iv, c)));
  }

  /** Batches in offset order (ones wholly outside the range are fine: a marker before it still closes nothing counted). */
  async add(b: Batch, where = 'batch'): Promise<void> {
    if (isControl(b)) {
      const data = this.pending.get(b.producerId);
      this.pending.delete(b.producerId);
      const abort = await isAbortMarker(b);
      if (data) this.credit(abort ? 'aborted' : 'records', data);
      if (b.baseOffset >= this.from && b.baseOffset < this.to) this.credit('markers', [[b.baseOffset, lastOffsetOf(b) + 1]]);
      return;
    }
    const iv = await this.offsetsIn(b, where);
    if (isTransactional(b) && b.producerId >= 0) {
      if (iv.length) this.pending.set(b.producerId, [...(this.pending.get(b.producerId) ?? []), ...iv]);
      return;
    }
    this.credit('records', iv);
  }

  /** The counts once every batch up to `to` was added (transactions still open counted as such). */
  finish(): { total: RecordCount; atCuts: RecordCount[] } {
    for (const iv of this.pending.values()) this.credit('open', iv);
    this.pending.clear();
    return { total: this.total, atCuts: this.atCuts };
  }
}

/** `count` records somewhere in [lo, hi) (exact positions unknown and not needed): the first `count` offsets. */
function spread(lo: number, count: number): Intervals {
  return count > 0 ? [[lo, lo + count]] : [];
}
