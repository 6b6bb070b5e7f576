/** Stored record batches made for the tests: plain, transactional, transaction markers, with offset gaps. */
import { crc32c } from '@node-rs/crc32';
import { type Batch, encodeBatch, encodeBody, splitBatches } from '../../../src/kafka/wire/recordBatch';

const body = (v: string) => encodeBody({ key: null, value: Buffer.from(v), headers: [] });

/** A stored batch at `base`: `n` records, optionally transactional for a producer, with a different lastOffsetDelta (gaps), written by the leader of `epoch` (default 0). */
export function batch(base: number, n: number, opts: { pid?: number; txn?: boolean; control?: 'commit' | 'abort'; lastOffsetDelta?: number; epoch?: number } = {}): Batch {
  const records = opts.control
    ? [{ timestamp: 1, body: encodeBody({ key: Buffer.from([0, 0, 0, opts.control === 'commit' ? 1 : 0]), value: Buffer.alloc(6), headers: [] }) }]
    : Array.from({ length: n }, (_, i) => ({ timestamp: 1, body: body(`r${base + i}`) }));
  const buf = encodeBatch(records, { producerId: opts.pid ?? -1, producerEpoch: opts.pid === undefined ? -1 : 0, baseSequence: opts.pid === undefined ? -1 : 0, transactional: opts.txn || opts.control !== undefined });
  buf.writeInt32BE(0, 0);
  buf.writeInt32BE(base, 4);
  if (opts.control) buf.writeInt16BE(buf.readInt16BE(21) | 0x20, 21);
  if (opts.lastOffsetDelta !== undefined) buf.writeInt32BE(opts.lastOffsetDelta, 23);
  buf.writeInt32BE(opts.epoch ?? 0, 12); // the partition leader epoch (outside the CRC)
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return splitBatches(buf).batches[0]!;
}

