/** The record chunk format and the offset map: pure logic, no cluster. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChunkBuilder, type StoredRecord, decodeChunk } from '../../src/kafka/recordFormat';
import { OffsetMapFile, emptyOffsetMap, addRun, loadOffsetMap, runsFor, translateOffset, unresolvedSent } from '../../src/kafka/offsetMap';
import { priorityOrder } from '../../src/kafka/topicRestore';

const rec = (offset: number, over: Partial<StoredRecord> = {}): StoredRecord => ({
  offset,
  timestamp: 1_000_000 + offset,
  timestampType: 'CreateTime',
  transactional: false,
  key: Buffer.from(`k${offset}`),
  value: Buffer.from(`v${offset}`),
  headers: [],
  ...over,
});

describe('record chunk format', () => {
  it('round-trips nulls, empties, interleaved repeated headers, null header values, timestamp types and big values', () => {
    const records = [
      rec(0, { key: null, value: Buffer.alloc(0) }),
      rec(1, { key: Buffer.alloc(0), value: null, timestampType: 'LogAppendTime', transactional: true }),
      rec(5, { headers: [{ key: 'a', value: Buffer.from('1') }, { key: 'b', value: null }, { key: 'a', value: Buffer.alloc(0) }, { key: '1', value: Buffer.from([0, 255]) }, { key: 'ü', value: Buffer.from('x') }] }),
      rec(9, { value: Buffer.alloc(3 * 1024 * 1024, 7), timestamp: -1 }),
    ];
    const b = new ChunkBuilder();
    for (const r of records) b.add(r);
    const c = b.take();
    expect(c).toMatchObject({ first: 0, last: 9, records: 4 });
    const back = decodeChunk(c.data);
    // Deep equality on a 3 MB Buffer is slow in vitest: compare the big value with Buffer.equals.
    expect(back[3]!.value!.equals(records[3]!.value!)).toBe(true);
    expect(back.map((r, i) => (i === 3 ? { ...r, value: null } : r))).toEqual(records.map((r, i) => (i === 3 ? { ...r, value: null } : r)));
    expect(b.count).toBe(0);
  });

  it('writes 64-bit offsets and timestamps exactly (negative and beyond 32 bits), across buffer growth and successive chunks', () => {
    const b = new ChunkBuilder(64); // far too small: every record makes the buffer grow
    const big = [
      rec(2 ** 40 + 5, { timestamp: -1 }),
      rec(2 ** 40 + 6, { timestamp: -(2 ** 40) - 3, value: Buffer.alloc(10_000, 1) }),
      rec(Number.MAX_SAFE_INTEGER, { timestamp: 2 ** 53 - 2, headers: [{ key: 'h', value: Buffer.from('v') }] }),
    ];
    for (const r of big) b.add(r);
    const first = b.take();
    expect(first.data.readBigInt64BE(9)).toBe(BigInt(2 ** 40 + 5)); // after magic, length and flags
    expect(decodeChunk(first.data)).toEqual(big);
    expect(b.take()).toMatchObject({ records: 0, data: Buffer.from('LBR1') });
    b.add(rec(7));
    const second = b.take();
    expect(decodeChunk(second.data)).toEqual([rec(7)]);
    expect(decodeChunk(first.data)).toEqual(big); // the first chunk is not overwritten by the next
  });

  it('rejects a damaged chunk as CorruptBackup', () => {
    const b = new ChunkBuilder();
    b.add(rec(0));
    const data = b.take().data;
    expect(() => decodeChunk(data.subarray(0, data.length - 3), 'x')).toThrow(expect.objectContaining({ type: 'CorruptBackup' }));
    expect(() => decodeChunk(Buffer.from('nope'), 'x')).toThrow(/bad magic/);
  });
});

describe('offset map', () => {
  it('translates a committed offset to the next record not yet consumed, across gaps and past the end', () => {
    const map = emptyOffsetMap();
    // originals 10,11,12 then a gap (13..19 compacted / markers), then 20,21
    for (const r of runsFor([10, 11, 12, 20, 21], 100)) addRun(map, 't', 't2', 0, r);
    expect(map.topics.t!.partitions['0']!.runs).toEqual([[10, 100, 3], [20, 103, 2]]);
    expect(translateOffset(map, 't', 0, 0)).toBe(100);
    expect(translateOffset(map, 't', 0, 11)).toBe(101);
    expect(translateOffset(map, 't', 0, 13)).toBe(103); // next unconsumed is 20, not "after 12"
    expect(translateOffset(map, 't', 0, 19)).toBe(103);
    expect(translateOffset(map, 't', 0, 21)).toBe(104);
    expect(translateOffset(map, 't', 0, 22)).toBe(105);
    expect(translateOffset(map, 't', 1, 5)).toBeUndefined();
  });

  it('is persisted as JSON lines; a torn last line from a killed run is ignored and the next run appends cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-map-'));
    try {
      const file = join(dir, 'm.map');
      const f = await OffsetMapFile.open(file);
      await f.addRuns('t', 't', 0, [[0, 0, 5]]);
      await f.close();
      writeFileSync(file, readFileSync(file, 'utf8') + '{"k":"run","t":"t","tt":"t","p":0,"o":5,');
      const g = await OffsetMapFile.open(file);
      expect(g.map.topics.t!.partitions['0']!.runs).toEqual([[0, 0, 5]]);
      await g.addRuns('t', 't', 0, [[5, 5, 2]]);
      await g.setEnd('t', 't', 0, 7);
      // Batches recorded before their send: unresolved until the map knows their records.
      await g.addSent('t', 't', 0, { producerId: 9, producerEpoch: 0, baseSequence: 7, runs: [[5, 0, 2]] });
      await g.addSent('t', 't', 0, { producerId: 9, producerEpoch: 0, baseSequence: 9, runs: [[7, 0, 3]] });
      await g.close();
      const m = await loadOffsetMap(file);
      expect(m.topics.t!.partitions['0']).toMatchObject({ runs: [[0, 0, 7]], end: 7 });
      expect(unresolvedSent(m, 't', 0)).toEqual([{ producerId: 9, producerEpoch: 0, baseSequence: 9, runs: [[7, 0, 3]] }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('orders critical topics first', () => {
    expect(priorityOrder(['b', 'orders-x', 'a', 'payments'], ['^orders', '^payments'])).toEqual(['orders-x', 'payments', 'a', 'b']);
  });
});
