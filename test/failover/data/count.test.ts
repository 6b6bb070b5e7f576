/** Counting the records of an offset range from stored batches: transactions decided by their markers, gaps and markers not records. */
import { describe, expect, it } from 'vitest';
import { RangeCounter } from '../../../src/failover/data/count';
import type { Batch } from '../../../src/kafka/wire/recordBatch';
import { batch } from './batches';

async function count(batches: Batch[], from: number, to: number, cuts: number[] = []) {
  const c = new RangeCounter(from, to, cuts);
  for (const b of batches) await c.add(b);
  return c.finish();
}

describe('RangeCounter', () => {
  // 0-9 plain · 10-14 txn A · 15-17 txn B · 18 A commits · 19-20 plain · 21 B aborts · 22-24 txn A again (open)
  const log = [
    batch(0, 10),
    batch(10, 5, { pid: 7, txn: true }),
    batch(15, 3, { pid: 8, txn: true }),
    batch(18, 1, { pid: 7, control: 'commit' }),
    batch(19, 2),
    batch(21, 1, { pid: 8, control: 'abort' }),
    batch(22, 3, { pid: 7, txn: true }),
  ];

  it('counts committed and plain records; aborted, open and markers apart', async () => {
    expect((await count(log, 0, 25)).total).toEqual({ records: 10 + 5 + 2, aborted: 3, open: 3, markers: 2 });
  });

  it('starts mid-batch and cuts where asked (a cut counts [from, cut))', async () => {
    const r = await count(log, 4, 25, [12, 19, 22]);
    expect(r.total).toEqual({ records: 6 + 5 + 2, aborted: 3, open: 3, markers: 2 });
    expect(r.atCuts).toEqual([
      { records: 6 + 2, aborted: 0, open: 0, markers: 0 }, // 4-9 plain, 10-11 of A (committed later)
      { records: 6 + 5, aborted: 3, open: 0, markers: 1 }, // B's 15-17 are aborted by a marker past the cut
      { records: 6 + 5 + 2, aborted: 3, open: 0, markers: 2 },
    ]);
  });

  it('a range that ends before a marker leaves its transaction open', async () => {
    expect((await count(log.slice(0, 3), 0, 18)).total).toEqual({ records: 10, aborted: 0, open: 8, markers: 0 });
  });

  it('a compacted batch (offset gaps) counts its records, decoded where a bound falls inside it', async () => {
    const gaps = batch(100, 3, { lastOffsetDelta: 9 }); // records at 100, 101, 102 in a batch spanning 100-109
    expect((await count([gaps], 0, 200)).total.records).toBe(3);
    expect((await count([gaps], 101, 200)).total.records).toBe(2);
    const r = await count([gaps], 100, 200, [101, 150]);
    expect(r.atCuts.map((c) => c.records)).toEqual([1, 3]);
  });
});
