/**
 * Logical topic backup and restore, primary → standby, through the real repository: byte-identical
 * keys, values, headers and timestamps (nulls, empties, repeated and interleaved header keys, a 5 MB
 * record), transactions (committed and aborted), a compacted topic with real offset gaps, a
 * LogAppendTime topic, and group offsets that a real consumer resumes from exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import type { StoredRecord } from '../../src/kafka/recordFormat';
import { backupTopics } from '../../src/kafka/topicBackup';
import { restoreTopics } from '../../src/kafka/topicRestore';
import { loadOffsetMap, translateOffset } from '../../src/kafka/offsetMap';
import { initRepository, type LocalRepository } from '../../src/repository';
import { primarySpec, standbySpec, unique } from '../support/lab';
import { content, contentHash, readAll } from './topicsSupport';
import { createTopicsReady } from '../support/kafka';

const primary: Kafka = kafkaFor(primarySpec(), 'test-src');
const standby: Kafka = kafkaFor(standbySpec(), 'test-dst');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-topics-'));
let repo: LocalRepository;
const created: { kafka: Kafka; topic: string }[] = [];

async function createTopic(kafka: Kafka, topic: string, numPartitions: number, configs: Record<string, string> = {}) {
  await createTopicsReady(kafka === primary ? primarySpec() : standbySpec(), [
    { topic, numPartitions, replicationFactor: kafka === primary ? 3 : 1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) },
  ], { kafka });
  created.push({ kafka, topic });
}

beforeAll(async () => {
  repo = await initRepository(join(dir, 'repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
});

afterAll(async () => {
  for (const k of [primary, standby]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: created.filter((c) => c.kafka === k).map((c) => c.topic) }).catch(() => {});
    await admin.disconnect();
  }
  await repo?.close();
  rmSync(dir, { recursive: true, force: true });
});

const OLD = Date.UTC(2001, 8, 9, 1, 46, 40);

describe('topic backup and restore', () => {
  const src = unique('rt-main');
  const compacted = unique('rt-compacted');
  const appendTime = unique('rt-appendtime');
  let snapshotId = '';
  let sourceRecords: Map<number, StoredRecord[]>;

  it('backs up three topics (transactions, a 5 MB record, compaction gaps, LogAppendTime) into a snapshot', async () => {
    await createTopic(primary, src, 3);
    await createTopic(primary, compacted, 1, {
      'cleanup.policy': 'compact',
      'segment.ms': '100',
      'min.cleanable.dirty.ratio': '0.001',
      'min.compaction.lag.ms': '0',
      'delete.retention.ms': '86400000',
    });
    await createTopic(primary, appendTime, 1, { 'message.timestamp.type': 'LogAppendTime' });

    const producer = primary.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: src,
      acks: -1,
      messages: [
        { partition: 0, key: null, value: Buffer.alloc(0), timestamp: String(OLD) },
        { partition: 0, key: Buffer.alloc(0), value: null, timestamp: String(OLD + 1) },
        { partition: 0, key: 'k', value: 'v', headers: { a: ['1', '2', '3'], b: Buffer.alloc(0), c: Buffer.from([0, 255, 7]) }, timestamp: String(OLD + 2) },
        { partition: 1, key: Buffer.from([0xff, 0x00]), value: Buffer.alloc(5 * 1024 * 1024, 0xab), timestamp: String(OLD + 3) },
        ...Array.from({ length: 300 }, (_, i) => ({ partition: i % 3, key: `key-${i}`, value: `value-${i}-${'x'.repeat(i)}`, headers: { seq: String(i) }, timestamp: String(OLD + 1000 + i) })),
      ],
    });
    await producer.disconnect();

    // Transactions on partition 0: one committed, one aborted (its records and both markers become gaps).
    const tp = primary.producer({ transactionalId: unique('txn'), idempotent: true, maxInFlightRequests: 1 });
    await tp.connect();
    const committed = await tp.transaction();
    await committed.send({ topic: src, acks: -1, messages: [0, 1, 2].map((i) => ({ partition: 0, key: `txn-ok-${i}`, value: 'committed', timestamp: String(OLD + 5000 + i) })) });
    await committed.commit();
    const aborted = await tp.transaction();
    await aborted.send({ topic: src, acks: -1, messages: [0, 1].map((i) => ({ partition: 0, key: `txn-abort-${i}`, value: 'aborted' })) });
    await aborted.abort();
    await tp.disconnect();
    const after = primary.producer();
    await after.connect();
    await after.send({ topic: src, acks: -1, messages: [{ partition: 0, key: 'after-abort', value: 'visible', timestamp: String(OLD + 6000) }] });

    // Compacted topic: rewrite 10 keys 20 times over many segments, then wait for the cleaner.
    for (let round = 0; round < 20; round++) {
      await after.send({ topic: compacted, acks: -1, messages: Array.from({ length: 10 }, (_, k) => ({ key: `ck-${k}`, value: round === 19 && k === 0 ? null : `r${round}` })) });
      await new Promise((r) => setTimeout(r, 120));
    }
    await after.send({ topic: appendTime, acks: -1, messages: [{ key: 'la', value: 'append-time', timestamp: String(OLD) }] });
    // Wait until the cleaner has compacted all of it: each ck- key left once, its round-19 record. Only that
    // state is final: the restore test below compares against the source read again later, and a cleaner
    // still part-way (or a superseded roll record) would go on removing records after the backup.
    // The records that roll the segment (so round 19 leaves the active segment) have keys of their own,
    // so no later cleaning can remove them either.
    const ckRecords = (m: Map<number, StoredRecord[]>) => (m.get(0) ?? []).filter((r) => r.key?.toString().startsWith('ck-'));
    const deadline = Date.now() + 90_000;
    let compactedNow = await readAll(primary, compacted);
    for (let roll = 0; ckRecords(compactedNow).length > 10 && Date.now() < deadline; roll++) {
      await new Promise((r) => setTimeout(r, 2000));
      await after.send({ topic: compacted, acks: -1, messages: [{ key: `roll-${roll}`, value: String(Date.now()) }] });
      compactedNow = await readAll(primary, compacted);
    }
    await after.disconnect();
    expect(ckRecords(compactedNow).map((r) => `${r.key!.toString()}=${r.value?.toString() ?? 'null'}`).sort()).toEqual(
      Array.from({ length: 10 }, (_, k) => `ck-${k}=${k === 0 ? 'null' : 'r19'}`).sort(),
    );

    sourceRecords = await readAll(primary, src);
    const writer = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
    const progress: number[] = [];
    const r = await backupTopics(primary, writer, { topics: [src, compacted, appendTime], onProgress: (p) => progress.push(p.totalRecords) });
    const meta = await writer.commit();
    snapshotId = meta.id;
    const main = r.topics.find((t) => t.topic === src)!;
    expect(main.records).toBe([...sourceRecords.values()].reduce((n, x) => n + x.length, 0));
    // 2 aborted records + 2 transaction markers on partition 0.
    expect(main.gaps).toBe(4);
    expect(r.topics.find((t) => t.topic === compacted)!.gaps).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(r.records);
    expect((meta.points as { topics: Record<string, Record<string, number>> }).topics[src]).toBeDefined();
  });

  it('restores into the standby cluster byte for byte, per partition, and translates group offsets exactly', async () => {
    const snap = await repo.openSnapshot(snapshotId);
    const rename = { [src]: unique('rt-main-restored'), [compacted]: unique('rt-compacted-restored'), [appendTime]: unique('rt-at-restored') };
    for (const t of Object.values(rename)) created.push({ kafka: standby, topic: t });
    const mapFile = join(dir, 'roundtrip.map');
    const res = await restoreTopics(standby, { snapshots: [snap], rename, offsetMapFile: mapFile, critical: [`^${compacted}$`] });
    expect(res.topics.map((t) => t.topic)[0]).toBe(compacted); // critical first

    for (const [source, target] of Object.entries(rename)) {
      const before = source === src ? sourceRecords : await readAll(primary, source);
      const restored = await readAll(standby, target);
      expect([...restored.keys()].sort()).toEqual([...before.keys()].sort());
      for (const [p, recs] of before) {
        expect(restored.get(p)!.length).toBe(recs.length);
        expect(contentHash(restored.get(p)!)).toBe(contentHash(recs));
        expect(restored.get(p)!.map((r) => content(r))).toEqual(recs.map((r) => content(r)));
      }
    }
    // Spot checks of the things that usually get lost.
    const p0 = (await readAll(standby, rename[src]!)).get(0)!;
    expect(p0[0]!.key).toBeNull();
    expect(p0[0]!.value).toEqual(Buffer.alloc(0));
    expect(p0[1]!.key).toEqual(Buffer.alloc(0));
    expect(p0[1]!.value).toBeNull();
    expect(p0[2]!.headers.filter((h) => h.key === 'a').map((h) => h.value!.toString())).toEqual(['1', '2', '3']);
    expect(p0[0]!.timestamp).toBe(OLD);
    const big = (await readAll(standby, rename[src]!)).get(1)!.find((r) => r.value?.length === 5 * 1024 * 1024)!;
    expect(big.value!.every((b) => b === 0xab)).toBe(true);
    const la = (await readAll(standby, rename[appendTime]!)).get(0)![0]!;
    const laSource = (await readAll(primary, appendTime)).get(0)![0]!;
    expect(laSource.timestampType).toBe('LogAppendTime');
    expect(la.timestamp).toBe(laSource.timestamp);

    // Group offsets: a group that had consumed up to the first aborted record (a gap) must resume
    // at the record after the abort marker, not at the record before it.
    const map = await loadOffsetMap(mapFile);
    const src0 = sourceRecords.get(0)!;
    const lastCommitted = src0.findIndex((r) => r.key?.toString() === 'txn-ok-2');
    const committedOffset = src0[lastCommitted]!.offset + 1; // next to read: a transaction marker
    const expectedNext = src0[lastCommitted + 1]!; // "after-abort"
    expect(expectedNext.key!.toString()).toBe('after-abort');
    expect(expectedNext.offset).toBeGreaterThan(committedOffset + 2);
    const translated = translateOffset(map, src, 0, committedOffset)!;
    const group = unique('rt-group');
    await commitGroupOffsets(standby, group, [{ topic: rename[src]!, partitions: [{ partition: 0, offset: translated }] }]);
    const consumer = standby.consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic: rename[src]! });
    const first = await new Promise<string>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (partition === 0) resolve(message.key!.toString());
        },
      });
    });
    await consumer.disconnect();
    expect(first).toBe('after-abort');
  });

  it('restores a point in time: up to a timestamp, and up to per-partition offsets', async () => {
    const snap = await repo.openSnapshot(snapshotId);
    const byTime = unique('rt-pit-time');
    const byOffset = unique('rt-pit-offset');
    created.push({ kafka: standby, topic: byTime }, { kafka: standby, topic: byOffset });
    const cutTime = OLD + 1000 + 149; // records with seq <= 149
    await restoreTopics(standby, { snapshots: [snap], topics: [src], rename: { [src]: byTime }, until: { timestamp: cutTime }, offsetMapFile: join(dir, 'pit1.map') });
    const t = await readAll(standby, byTime);
    for (const [p, recs] of sourceRecords) {
      const firstLater = recs.findIndex((r) => r.timestamp > cutTime);
      const expected = firstLater < 0 ? recs : recs.slice(0, firstLater);
      expect(t.get(p)!.map((r) => content(r))).toEqual(expected.map((r) => content(r)));
    }
    const cut = { '0': sourceRecords.get(0)![10]!.offset, '1': 0, '2': sourceRecords.get(2)![50]!.offset };
    await restoreTopics(standby, { snapshots: [snap], topics: [src], rename: { [src]: byOffset }, until: { offsets: { [src]: cut } }, offsetMapFile: join(dir, 'pit2.map') });
    const o = await readAll(standby, byOffset);
    expect(o.get(0)!.length).toBe(10);
    expect(o.get(1)!.length).toBe(0);
    expect(o.get(2)!.map((r) => content(r))).toEqual(sourceRecords.get(2)!.slice(0, 50).map((r) => content(r)));
  });
});
