/**
 * The batches a topic restore sends for a partition, and when the chunk buffers they are cut from
 * go back for reuse: a buffer handed back is poisoned at once here, so a batch still to be sent, or
 * a record still waiting to be re-batched, that pointed into it would come out damaged.
 */
import { describe, expect, it } from 'vitest';
import { BATCH_FORMAT, BatchChunkBuilder } from '../../src/kafka/batchFormat';
import { type Captured, partitionFeed, readAhead } from '../../src/kafka/partitionFeed';
import { TOPIC_MANIFEST_FORMAT } from '../../src/kafka/topicBackup';
import { crcOk, decodeBatch, encodeBatch, encodeBody, splitBatches } from '../../src/kafka/wire/recordBatch';

const T = Date.UTC(2024, 5, 1);
const valueOf = (offset: number) => Buffer.alloc(offset % 3 === 0 ? 2000 : 100, offset % 251);

/** A stored batch of records base..base+n-1 (keys "k<offset>"). */
function stored(base: number, n: number) {
  const buf = encodeBatch(Array.from({ length: n }, (_, i) => ({ timestamp: T + base + i, body: encodeBody({ key: Buffer.from(`k${base + i}`), value: valueOf(base + i), headers: [] }) })));
  buf.writeBigInt64BE(BigInt(base), 0); // the offset the broker gave it (outside the CRC)
  return splitBatches(buf).batches[0]!;
}

/** Two chunks: small batches (re-batched, records spanning the chunk boundary) around big ones (sent as they are). */
function chain() {
  const layout = [
    [[0, 10], [10, 50], [60, 5]],
    [[65, 5], [70, 50], [120, 3]],
  ] as const;
  const files = new Map<string, Buffer>();
  const chunks = layout.map((batches, i) => {
    const b = new BatchChunkBuilder();
    for (const [base, n] of batches) b.add(stored(base, n));
    const c = b.take();
    const file = `topics/t/0/${i}.lbb`;
    files.set(file, Buffer.from(c.data));
    return { file, first: c.first, last: c.last, records: c.records };
  });
  const recycled: Buffer[] = [];
  const m: Captured = {
    format: TOPIC_MANIFEST_FORMAT,
    recordFormat: BATCH_FORMAT,
    topic: 't',
    partitions: 1,
    replicationFactor: 1,
    configs: {},
    timestampType: 'CreateTime',
    compacted: false,
    parts: { '0': { start: 0, end: 123, records: 123, bytes: 0, gaps: 0, transactional: 0, chunks } },
    reader: { meta: { id: 'f'.repeat(64) } as Captured['reader']['meta'] },
    // A new buffer per read, as the repository's readBuffer gives.
    read: async (file) => Buffer.from(files.get(file)!),
    recycle: (chunk) => {
      chunk.fill(0xee);
      recycled.push(chunk);
    },
  };
  return { m, recycled };
}

/** Sends the feed the way restorePartition does (read ahead, done() after the send), checking each batch at send time and after the feed moved on. */
async function send(m: Captured, opts: { after?: number; cutOffset?: number } = {}) {
  const got: { offset: number; key: string; value: Buffer }[] = [];
  let direct = 0;
  for await (const out of readAhead(partitionFeed([m], 0, { after: opts.after ?? -1, cutOffset: opts.cutOffset, maxBatchBytes: 64 * 1024, minDirectBytes: 16 * 1024 }))) {
    const before = Buffer.from(out.batch);
    // The feed reads and cuts the next chunk meanwhile (a send takes a while).
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(out.batch.equals(before), `batch ${out.runs[0]![0]} changed while it was being sent`).toBe(true);
    const [b] = splitBatches(out.batch).batches;
    expect(crcOk(b!)).toBe(true);
    const records = await decodeBatch(b!);
    let i = 0;
    for (const [original, , count] of out.runs) for (let k = 0; k < count; k++, i++) got.push({ offset: original + k, key: records[i]!.key!.toString(), value: Buffer.from(records[i]!.value!) });
    if (out.done) direct++;
    out.done?.();
  }
  return { got, direct };
}

describe('partitionFeed', () => {
  it('sends big stored batches as they are and re-batches the rest; every chunk goes back only once nothing points into it', async () => {
    const { m, recycled } = chain();
    const { got, direct } = await send(m);
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 123 }, (_, i) => i));
    for (const r of got) {
      expect(r.key).toBe(`k${r.offset}`);
      expect(r.value.equals(valueOf(r.offset))).toBe(true);
    }
    expect(direct).toBe(2); // the two 50-record batches
    expect(recycled).toHaveLength(2);
  });

  it('resumes after an offset and stops at a point-in-time cut, with intact content', async () => {
    const { m } = chain();
    const { got } = await send(m, { after: 12, cutOffset: 100 });
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 100 - 13 }, (_, i) => 13 + i));
    for (const r of got) expect(r.value.equals(valueOf(r.offset)), `offset ${r.offset}`).toBe(true);
  });
});
