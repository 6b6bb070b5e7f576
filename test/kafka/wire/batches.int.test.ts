/**
 * What kafkajs's producer cannot send, through Lifeboat's batch-level path on the real lab:
 * null header values and interleaved repeated header keys, gzip and zstd batches. The backup
 * stores the brokers' batches byte for byte; the restore gives back exactly the same records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BATCH_FORMAT, BatchChunkBuilder, batchChunkFileName, readBatchChunk } from '../../../src/kafka/batchFormat';
import { loadOffsetMap, translateOffset } from '../../../src/kafka/offsetMap';
import { ChunkBuilder, type StoredRecord, chunkFileName } from '../../../src/kafka/recordFormat';
import { kafkaFor } from '../../../src/kafka/client';
import { backupTopics, type TopicManifest } from '../../../src/kafka/topicBackup';
import { restoreTopics } from '../../../src/kafka/topicRestore';
import { WireClient } from '../../../src/kafka/wire/client';
import { readBatches } from '../../../src/kafka/wire/readBatches';
import { COMPRESSION, type Batch, type DecodedRecord, decodeBatch, encodeBatch, encodeBatchAsync, encodeBody, splitBatches } from '../../../src/kafka/wire/recordBatch';
import { waitUntil } from '../../../src/host/processes';
import { initRepository } from '../../../src/repository';
import { primarySpec, standbySpec, unique } from '../../support/lab';
import { createTopicsReady } from '../../support/kafka';

const primary = kafkaFor(primarySpec(), 'test-wire-src');
const standby = kafkaFor(standbySpec(), 'test-wire-dst');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-wire-'));
const topic = unique('wire-src');
const target = unique('wire-dst');
const legacyTarget = unique('wire-legacy');
const damagedTarget = unique('wire-damaged');
const txnTopic = unique('wire-txn');

afterAll(async () => {
  for (const [k, t] of [[primary, topic], [primary, txnTopic], [standby, target], [standby, legacyTarget], [standby, damagedTarget]] as const) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [t] }).catch(() => {});
    await admin.disconnect();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function readTopic(kafka: typeof primary, name: string): Promise<Map<number, Batch[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(name);
  await admin.disconnect();
  const out = new Map<number, Batch[]>();
  const ranges = new Map(offsets.map((o) => [o.partition, { from: Number(o.low), to: Number(o.high) }]));
  await readBatches(kafka, name, ranges, async (p, batches) => {
    out.set(p, [...(out.get(p) ?? []), ...batches.map((b) => ({ ...b, bytes: Buffer.from(b.bytes) }))]);
  });
  return out;
}

async function countRecords(kafka: typeof primary, name: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(name);
  await admin.disconnect();
  return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
}

const recordsOf = async (batches: Batch[]) => (await Promise.all(batches.map((b) => decodeBatch(b)))).flat().map(({ offset: _o, ...r }) => r);

describe('batch-level backup and restore', () => {
  it('keeps null header values, interleaved header keys and compressed batches exactly', async () => {
    await createTopicsReady(primarySpec(), [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka: primary });

    const T = Date.UTC(2024, 1, 29, 12);
    const exotic: Omit<DecodedRecord, 'offset'>[] = [
      { timestamp: T, key: Buffer.from('a'), value: Buffer.from('1'), headers: [{ key: 'x', value: null }, { key: 'y', value: Buffer.alloc(0) }, { key: 'x', value: Buffer.from('2') }] },
      { timestamp: T - 1000, key: null, value: null, headers: [] },
    ];
    const small = Array.from({ length: 50 }, (_, i) => ({ timestamp: T + i, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`.repeat(i)), headers: [{ key: 'i', value: Buffer.from(String(i)) }] }));
    const big = Array.from({ length: 200 }, (_, i) => ({ timestamp: T + i, key: null, value: Buffer.alloc(2000, i), headers: [] }));
    const body = (rs: Omit<DecodedRecord, 'offset'>[]) => rs.map((r) => ({ timestamp: r.timestamp, body: encodeBody(r) }));

    const client = await WireClient.open(primary, [topic]);
    try {
      const leaders = client.leaders(topic);
      const send = async (partition: number, batch: Buffer) => {
        const [r] = await client.produce(leaders.get(partition)!, topic, [{ partition, batch }]);
        expect(r!.errorCode).toBe(0);
      };
      await send(0, await encodeBatchAsync(body(exotic)));
      await send(0, await encodeBatchAsync(body(small), { compression: COMPRESSION.gzip }));
      await send(1, await encodeBatchAsync(body(big), { compression: COMPRESSION.zstd }));
    } finally {
      await client.close();
    }

    const source = await readTopic(primary, topic);
    expect(await recordsOf(source.get(0)!)).toEqual([...exotic, ...small]);
    expect(await recordsOf(source.get(1)!)).toEqual(big);

    const repo = await initRepository(join(dir, 'repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
    const writer = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
    const b = await backupTopics(primary, writer, { topics: [topic] });
    const snap = await repo.openSnapshot((await writer.commit()).id);
    expect(b.records).toBe(exotic.length + small.length + big.length);

    // The snapshot holds the brokers' batches byte for byte.
    const manifest = await snap.readJson<TopicManifest>(`topics/${topic}/topic.json`);
    expect(manifest.recordFormat).toBe('lifeboat-batches/1');
    for (const [p, batches] of source) {
      const stored = (await Promise.all(manifest.parts[String(p)]!.chunks.map(async (c) => readBatchChunk(await snap.readBuffer(c.file), c.file)))).flat();
      expect(stored.map((s) => s.bytes.toString('hex'))).toEqual(batches.map((s) => s.bytes.toString('hex')));
    }

    const r = await restoreTopics(standby, { snapshots: [snap], topics: [topic], rename: { [topic]: target }, offsetMapFile: join(dir, 'map') });
    expect(r.records).toBe(b.records);
    const restored = await readTopic(standby, target);
    expect(await recordsOf(restored.get(0)!)).toEqual([...exotic, ...small]);
    expect(await recordsOf(restored.get(1)!)).toEqual(big);
    await repo.close();
  });

  it('still restores snapshots in the record format of Lifeboat 0.1 (lifeboat-records/1)', async () => {
    const T = Date.UTC(2023, 0, 1);
    const records: StoredRecord[] = Array.from({ length: 40 }, (_, i) => ({
      offset: 100 + i * 2, // a compacted look: every other offset
      timestamp: T + i,
      timestampType: 'CreateTime',
      transactional: false,
      key: i % 5 === 0 ? null : Buffer.from(`k${i}`),
      value: i % 7 === 0 ? null : Buffer.from(`v${i}`),
      headers: i % 3 === 0 ? [{ key: 'h', value: null }, { key: 'h', value: Buffer.from('x') }] : [],
    }));
    const chunk = new ChunkBuilder();
    for (const r of records) chunk.add(r);
    const c = chunk.take();
    const repo = await initRepository(join(dir, 'legacy'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
    const w = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
    const file = `topics/legacy/0/${chunkFileName(c.first)}`;
    await w.writeFile(file, c.data);
    const manifest = {
      format: 'lifeboat-topic/1',
      recordFormat: 'lifeboat-records/1',
      topic: 'legacy',
      partitions: 1,
      replicationFactor: 1,
      configs: {},
      timestampType: 'CreateTime',
      compacted: true,
      parts: { '0': { start: 100, end: 180, records: 40, bytes: 0, gaps: 40, transactional: 0, maxRecordBytes: 10, chunks: [{ file, first: c.first, last: c.last, records: c.records }] } },
    };
    await w.writeJson('topics/legacy/topic.json', manifest);
    await w.writeJson('topics/index.json', { format: 'lifeboat-topic/1', recordFormat: 'lifeboat-records/1', topics: ['legacy'] });
    const snap = await repo.openSnapshot((await w.commit()).id);
    const mapFile = join(dir, 'legacy.map');
    const r = await restoreTopics(standby, { snapshots: [snap], rename: { legacy: legacyTarget }, offsetMapFile: mapFile });
    expect(r.records).toBe(40);
    const back = await recordsOf((await readTopic(standby, legacyTarget)).get(0)!);
    expect(back).toEqual(records.map((x) => ({ timestamp: x.timestamp, key: x.key, value: x.value, headers: x.headers })));
    // A group that had read up to offset 101 (a gap) resumes at the record that was at 102.
    expect(translateOffset(await loadOffsetMap(mapFile), 'legacy', 0, 101)).toBe(1);
    await repo.close();
  });

  it('a stored batch whose records do not match its CRC is refused by the broker and reported as a damaged backup naming its chunk', async () => {
    // Damage the repository cannot see (the chunk's SHA-256 is of the damaged bytes): only the batch CRC tells.
    const good = encodeBatch(Array.from({ length: 100 }, (_, i) => ({ timestamp: Date.UTC(2024, 0, 1) + i, body: encodeBody({ key: Buffer.from(`k${i}`), value: Buffer.alloc(1000, i), headers: [] }) })));
    good[good.length - 500]! ^= 0x20;
    const [bad] = splitBatches(good).batches;
    const chunk = new BatchChunkBuilder();
    chunk.add(bad!);
    const c = chunk.take();
    const repo = await initRepository(join(dir, 'damaged'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
    const w = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
    const file = `topics/damaged/0/${batchChunkFileName(0)}`;
    await w.writeFile(file, c.data, { cut: 'fixed' });
    await w.writeJson('topics/damaged/topic.json', {
      format: 'lifeboat-topic/1',
      recordFormat: BATCH_FORMAT,
      topic: 'damaged',
      partitions: 1,
      replicationFactor: 1,
      configs: {},
      timestampType: 'CreateTime',
      compacted: false,
      parts: { '0': { start: 0, end: 100, records: 100, bytes: c.data.length, gaps: 0, transactional: 0, maxRecordBytes: 1010, maxBatchBytes: bad!.bytes.length, chunks: [{ file, first: 0, last: 99, records: 100 }] } },
    });
    await w.writeJson('topics/index.json', { topics: ['damaged'] });
    const snap = await repo.openSnapshot((await w.commit()).id);
    const err = await restoreTopics(standby, { snapshots: [snap], rename: { damaged: damagedTarget }, offsetMapFile: join(dir, 'damaged.map') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'CorruptBackup', message: expect.stringContaining(`${file} of snapshot ${snap.meta.id.slice(0, 8)}`) });
    expect(await countRecords(standby, damagedTarget)).toBe(0);
    await repo.close();
  });

  it('backs up to the last stable offset while a transaction is open; the next incremental takes it whole once committed', async () => {
    await createTopicsReady(primarySpec(), [{ topic: txnTopic, numPartitions: 1, replicationFactor: 3 }], { kafka: primary });
    const plain = primary.producer({ idempotent: true, maxInFlightRequests: 1 });
    await plain.connect();
    await plain.send({ topic: txnTopic, acks: -1, messages: [{ key: 'before', value: '1' }] });
    const tp = primary.producer({ transactionalId: unique('open-txn'), idempotent: true, maxInFlightRequests: 1 });
    await tp.connect();
    const txn = await tp.transaction();
    await txn.send({ topic: txnTopic, acks: -1, messages: [{ key: 'in-txn', value: '2' }] });
    await plain.send({ topic: txnTopic, acks: -1, messages: [{ key: 'after', value: '3' }] });

    const repo = await initRepository(join(dir, 'txn'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
    const w1 = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
    const t0 = Date.now();
    const first = await backupTopics(primary, w1, { topics: [txnTopic] });
    await w1.commit();
    expect(Date.now() - t0).toBeLessThan(30_000); // not waiting for the transaction to end
    expect(first.records).toBe(1); // 'before' only: the open transaction's record and what follows wait
    expect(first.points[txnTopic]!['0']).toBe(1);

    await txn.commit();
    await tp.disconnect();
    await plain.disconnect();
    // The coordinator writes the commit marker after commit() returns; until then the last stable
    // offset stays before the transaction (a backup then rightly leaves it for the next one).
    const wire = await WireClient.open(primary, [txnTopic]);
    try {
      await waitUntil('the commit marker (last stable offset 4)', async () => (await wire.listOffsets(txnTopic, 'committed')).get(0) === 4, { timeoutMs: 30_000 });
    } finally {
      await wire.close();
    }
    const w2 = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
    const second = await backupTopics(primary, w2, { topics: [txnTopic], from: first.points });
    await w2.commit();
    expect(second.records).toBe(2); // 'in-txn' and 'after' (the commit marker is a gap)
    await repo.close();
  });
});
