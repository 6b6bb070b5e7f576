import { crc32c } from '@node-rs/crc32';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { BatchChunkBuilder, readBatchChunk } from '../../../src/kafka/batchFormat';
import {
  COMPRESSION,
  type DecodedRecord,
  batchRecords,
  compressionOf,
  crcOk,
  decodeBatch,
  encodeBatch,
  encodeBatchAsync,
  encodeBody,
  isAbortMarker,
  isContiguous,
  isTransactional,
  restampForProduce,
  splitBatches,
} from '../../../src/kafka/wire/recordBatch';

const T = Date.UTC(2026, 10, 21);
const records: Omit<DecodedRecord, 'offset'>[] = [
  { timestamp: T, key: null, value: Buffer.alloc(0), headers: [] },
  { timestamp: T - 5000, key: Buffer.alloc(0), value: null, headers: [{ key: 'h', value: null }] },
  {
    timestamp: T + 1,
    key: Buffer.from('k'),
    value: Buffer.from([0, 255, 7]),
    headers: [
      { key: 'a', value: Buffer.from('1') },
      { key: 'b', value: Buffer.alloc(0) },
      { key: 'a', value: Buffer.from('2') },
      { key: 'ключ', value: null },
    ],
  },
  { timestamp: T + 2 ** 40, key: Buffer.from('big'), value: Buffer.alloc(300_000, 0xab), headers: [] },
];
const bodies = records.map((r) => ({ timestamp: r.timestamp, body: encodeBody(r) }));

describe('record batches (format v2)', () => {
  it('encodes records that decode to the same keys, values, headers (order, repeats, nulls) and timestamps', async () => {
    const buf = encodeBatch(bodies);
    const { batches, end } = splitBatches(buf);
    expect(end).toBe(buf.length);
    const [b] = batches;
    expect(b!.count).toBe(4);
    expect(b!.maxTimestamp).toBe(T + 2 ** 40);
    expect(b!.baseTimestamp).toBe(T);
    expect(isContiguous(b!)).toBe(true);
    expect(crcOk(b!)).toBe(true);
    const back = await decodeBatch(b!);
    expect(back).toEqual(records.map((r, i) => ({ ...r, offset: i })));
  });

  it('computes the CRC-32C that kafkajs computes', () => {
    const req = createRequire(__filename);
    const kafkajsCrc = req('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;
    const buf = encodeBatch(bodies);
    expect(buf.readUInt32BE(17)).toBe(kafkajsCrc(buf.subarray(21)) >>> 0);
  });

  it('restamps a batch for an idempotent producer: ids, sequence, not transactional, valid CRC', () => {
    const buf = encodeBatch(bodies, { transactional: true, producerId: 77, producerEpoch: 3, baseSequence: 9 });
    expect(isTransactional(splitBatches(buf).batches[0]!)).toBe(true);
    buf.writeInt16BE(buf.readInt16BE(21) | 0x40, 21); // the source cleaner's delete horizon
    buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
    restampForProduce(buf, 2 ** 40 + 5, 1, 123);
    const [b] = splitBatches(buf).batches;
    expect(b).toMatchObject({ producerId: 2 ** 40 + 5, producerEpoch: 1, baseSequence: 123, baseOffset: 0 });
    expect(isTransactional(b!)).toBe(false);
    expect(b!.attributes & 0x40).toBe(0);
    expect(crcOk(b!)).toBe(true);
    buf[buf.length - 1]! ^= 1;
    expect(crcOk(splitBatches(buf).batches[0]!)).toBe(false);
  });

  it('never gives a damaged batch a valid CRC when restamping', () => {
    const buf = encodeBatch(bodies);
    buf[buf.length - 3]! ^= 4; // a record byte damaged after the batch was written
    restampForProduce(buf, 9, 0, 0);
    expect(crcOk(splitBatches(buf).batches[0]!)).toBe(false);
  });

  it('reads gzip and zstd batches', async () => {
    for (const compression of [COMPRESSION.gzip, COMPRESSION.zstd]) {
      const buf = await encodeBatchAsync(bodies, { compression });
      expect(buf.length).toBeLessThan(encodeBatch(bodies).length / 10);
      const [b] = splitBatches(buf).batches;
      expect(compressionOf(b!)).toBe(compression);
      expect(await decodeBatch(b!)).toEqual(records.map((r, i) => ({ ...r, offset: i })));
    }
  });

  it('refuses to re-batch codecs it cannot decode, with a clear error', async () => {
    const buf = encodeBatch(bodies);
    buf.writeInt16BE(COMPRESSION.lz4, 21);
    await expect(batchRecords(splitBatches(buf).batches[0]!, 'x')).rejects.toThrow(/lz4-compressed batch/);
  });

  it('gives absolute offsets from the batch base offset, and LogAppendTime timestamps', async () => {
    const buf = encodeBatch(bodies.slice(0, 3));
    // (Batches with compaction gaps come only from brokers: topics.int.test.ts restores a compacted topic.)
    buf.writeInt32BE(0, 0);
    buf.writeInt32BE(100, 4);
    const base = splitBatches(buf).batches[0]!;
    expect(isContiguous(base)).toBe(true);
    const recs = await batchRecords(base);
    expect(recs.map((r) => r.offset)).toEqual([100, 101, 102]);
    buf.writeInt16BE(0x08, 21);
    buf.writeBigInt64BE(BigInt(T + 999), 35);
    // LogAppendTime: every record has the batch's max timestamp, as a consumer sees it.
    expect((await batchRecords(splitBatches(buf).batches[0]!)).map((r) => r.timestamp)).toEqual([T + 999, T + 999, T + 999]);
  });

  it('leaves out a partial last batch and refuses old message formats', () => {
    const one = encodeBatch(bodies.slice(0, 2));
    const two = Buffer.concat([one, one.subarray(0, one.length - 10)]);
    const { batches, end } = splitBatches(two);
    expect(batches.length).toBe(1);
    expect(end).toBe(one.length);
    const v1 = Buffer.from(one.subarray(0, 40));
    v1.writeInt32BE(28, 8);
    v1.writeInt8(1, 16);
    expect(() => splitBatches(v1, 'old-topic-0')).toThrow(/message format v1/);
  });

  it('recognises an abort marker', async () => {
    const key = Buffer.alloc(4);
    key.writeInt16BE(0, 0);
    key.writeInt16BE(0, 2); // type 0: abort
    const marker = encodeBatch([{ timestamp: T, body: encodeBody({ key, value: Buffer.alloc(6), headers: [] }) }], { producerId: 5, producerEpoch: 0 });
    marker.writeInt16BE(0x30, 21); // control + transactional
    expect(await isAbortMarker(splitBatches(marker).batches[0]!)).toBe(true);
    key.writeInt16BE(1, 2); // commit
    const commit = encodeBatch([{ timestamp: T, body: encodeBody({ key, value: Buffer.alloc(6), headers: [] }) }]);
    commit.writeInt16BE(0x30, 21);
    expect(await isAbortMarker(splitBatches(commit).batches[0]!)).toBe(false);
  });

  it('stores batches in chunk files and reads them back; damaged chunks are refused', () => {
    const builder = new BatchChunkBuilder(1024);
    const a = encodeBatch(bodies.slice(0, 2));
    const b = encodeBatch(bodies.slice(2));
    a.writeInt32BE(7, 4); // base offset 7
    b.writeInt32BE(9, 4);
    for (const x of [a, b]) builder.add(splitBatches(x).batches[0]!);
    const chunk = builder.take();
    expect(chunk).toMatchObject({ first: 7, last: 10, records: 4 });
    expect(readBatchChunk(chunk.data, 'c').map((x) => x.baseOffset)).toEqual([7, 9]);
    expect(() => readBatchChunk(chunk.data.subarray(0, chunk.data.length - 1), 'c')).toThrow(/bytes after its last whole batch/);
    expect(() => readBatchChunk(Buffer.from('LBR1'), 'c')).toThrow(/bad magic/);
  });
});
