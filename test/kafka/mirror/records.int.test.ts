/**
 * What the mirror must keep that MirrorMaker 2 does not, primary (3.9) → next (4.1): record headers
 * byte for byte (null values, duplicate and empty keys, binary values), through both the batch
 * pass-through and the re-batching path; a compacted topic written by plain and transactional
 * producers (commits and aborts) mirrored in one run, every source group position translated
 * exactly (a consumer on the target started at the translated offset reads the same next record as
 * one on the source, by sequence number); the topic configs MM2 drops equal on the target.
 */
import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../../src/kafka/client';
import { commitGroupOffsets } from '../../../src/kafka/groupOffsets';
import { applyDeferredConfigs, mirroredOffsets, mirrorShard, planMirror, translateMirroredOffset } from '../../../src/kafka/mirror';
import { WireClient } from '../../../src/kafka/wire/client';
import { type Batch, type Header, batchRecords, COMPRESSION, encodeBatch, encodeBody, isControl, lastOffsetOf, splitBatches } from '../../../src/kafka/wire/recordBatch';
import { nextSpec, primarySpec, standbySpec, unique } from '../../support/lab';
import { createTopicsReady } from '../../support/kafka';
import { readTopic, seqs } from './mirrorSupport';

const primary = kafkaFor(primarySpec(), 'test-mrec-src');
const next = kafkaFor(nextSpec(), 'test-mrec-dst');
const standby = kafkaFor(standbySpec(), 'test-mrec-dst2');
const pair = unique('rec-pair');
const created: [Kafka, string[]][] = [];
const groups: [Kafka, string][] = [];

afterAll(async () => {
  for (const [k, topics] of created) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect();
  }
  for (const [k, g] of groups) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteGroups([g]).catch(() => {});
    await admin.disconnect();
  }
});

async function sourceTopic(topic: string, partitions: number, configEntries: { name: string; value: string }[] = []) {
  created.push([primary, [topic]], [next, [topic]]);
  await createTopicsReady(primarySpec(), [{ topic, numPartitions: partitions, replicationFactor: 3, configEntries }], { kafka: primary });
}

/** Every batch of a partition as stored, transaction markers included (readBatches drops those). */
async function rawBatches(kafka: Kafka, topic: string, partition: number): Promise<Batch[]> {
  const client = await WireClient.open(kafka, [topic]);
  try {
    const high = (await client.listOffsets(topic, 'end')).get(partition)!;
    const out: Batch[] = [];
    for (let at = (await client.listOffsets(topic, 'earliest')).get(partition)!; at < high; ) {
      const [fp] = await client.fetch(client.leaders(topic).get(partition)!, topic, [{ partition, offset: at, maxBytes: 4 << 20 }], { maxWaitMs: 100, maxBytes: 4 << 20 });
      const { batches } = splitBatches(fp!.records, topic);
      const fresh = batches.filter((b) => lastOffsetOf(b) >= at);
      if (!fresh.length) throw new Error(`${topic}-${partition}: nothing fetched at ${at} (high ${high}, error ${fp!.errorCode})`);
      out.push(...fresh);
      at = lastOffsetOf(fresh[fresh.length - 1]!) + 1;
    }
    return out;
  } finally {
    await client.close();
  }
}

/** Record bodies (key, value, headers: the bytes a consumer gets), by offset, of the committed records. */
async function bodies(kafka: Kafka, topic: string, partition: number): Promise<string[]> {
  const committed = new Set((await readTopic(kafka, topic)).get(partition)!.map((r) => r.offset));
  const out: string[] = [];
  for (const b of await rawBatches(kafka, topic, partition)) {
    if (isControl(b)) continue;
    for (const r of await batchRecords(b)) if (committed.has(r.offset)) out.push(`${r.offset}:${r.body.toString('hex')}`);
  }
  return out;
}

/** The topic's configs once they equal `want` (a KRaft broker applies an AlterConfigs when it replays the record: moments later), else the last read. */
async function configsSettled(kafka: Kafka, topic: string, want: Record<string, string>): Promise<Record<string, string>> {
  let got = await configsOf(kafka, topic);
  for (let i = 0; i < 40 && JSON.stringify(Object.entries(got).sort()) !== JSON.stringify(Object.entries(want).sort()); i++) {
    await new Promise((r) => setTimeout(r, 250));
    got = await configsOf(kafka, topic);
  }
  return got;
}

async function configsOf(kafka: Kafka, topic: string): Promise<Record<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  const r = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
  await admin.disconnect();
  return Object.fromEntries(r.resources[0]!.configEntries.filter((e) => (e as { configSource?: number }).configSource === 1).map((e) => [e.configName, e.configValue]));
}

/**
 * The first record (its seq) each partition's consumer in `groupId` reads from the group's committed
 * offsets (read_committed); undefined where nothing comes within a few seconds (the group at the end).
 */
async function nextSeqs(kafka: Kafka, topic: string, groupId: string, partitions: number[]): Promise<Map<number, number | undefined>> {
  const got = new Map<number, number | undefined>();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, retry: { retries: 3 } });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (!got.has(partition)) got.set(partition, Number(message.headers?.seq?.toString()));
      },
    });
    for (let i = 0; i < 60 && partitions.some((p) => !got.has(p)); i++) await new Promise((r) => setTimeout(r, 250));
  } finally {
    await consumer.disconnect();
  }
  return new Map(partitions.map((p) => [p, got.get(p)]));
}

async function setGroup(kafka: Kafka, groupId: string, topic: string, offsets: Map<number, number>): Promise<void> {
  groups.push([kafka, groupId]);
  await commitGroupOffsets(kafka, groupId, [{ topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset })) }]);
}

describe('mirror: records and configs MirrorMaker 2 does not keep', () => {
  it('headers byte for byte: null values, duplicate and empty keys, binary values; passed-through, gzip and re-batched batches', async () => {
    const topic = unique('mir-headers');
    await sourceTopic(topic, 1);
    let seq = 0;
    const headers = (): Header[] => [
      { key: 'seq', value: Buffer.from(String(seq)) },
      { key: 'dup', value: Buffer.from('first') },
      { key: 'dup', value: null },
      { key: 'dup', value: Buffer.from('third') },
      { key: '', value: Buffer.alloc(0) },
      { key: 'nul', value: null },
      { key: 'bin', value: randomBytes(16) },
      { key: 'ünïcødé', value: Buffer.from([0, 255, 0, 254]) },
    ];
    const record = (valueBytes: number) => {
      const body = encodeBody({ key: seq % 5 === 0 ? null : Buffer.from(`k${seq}`), value: seq % 7 === 0 ? null : randomBytes(valueBytes), headers: headers() });
      seq++;
      return { timestamp: Date.now() - 1000 + seq, body };
    };
    const client = await WireClient.open(primary, [topic]);
    try {
      const leader = client.leaders(topic).get(0)!;
      const send = async (batch: Buffer) => {
        const [r] = await client.produce(leader, topic, [{ partition: 0, batch }]);
        expect(r!.errorCode).toBe(0);
      };
      // A batch over 64 KiB goes through whole; a gzip one too; small ones are re-batched from their records.
      await send(encodeBatch(Array.from({ length: 100 }, () => record(1000))));
      await send(encodeBatch(Array.from({ length: 50 }, () => record(2000)), { compression: COMPRESSION.gzip }));
      for (let i = 0; i < 30; i++) await send(encodeBatch([record(20)]));
      await send(encodeBatch(Array.from({ length: 10 }, () => record(50))));
    } finally {
      await client.close();
    }
    await planMirror(primarySpec(), nextSpec(), { topics: [topic] });
    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0] }, { until: 'caught-up' });
    expect(r.positions[0]).toMatchObject({ next: seq, mode: 'identical', records: seq });
    const src = await bodies(primary, topic, 0);
    expect(src).toHaveLength(seq);
    expect(await bodies(next, topic, 0)).toEqual(src);
    // And as a consumer decodes them: the duplicate keys in order, null apart from empty.
    const got = (await readTopic(next, topic)).get(0)!;
    expect(got[3]!.headers.map((h) => [h.key, h.value === null ? null : h.value.toString('hex')]).slice(1, 6)).toEqual([
      ['dup', Buffer.from('first').toString('hex')],
      ['dup', null],
      ['dup', Buffer.from('third').toString('hex')],
      ['', ''],
      ['nul', null],
    ]);
    expect(got.map((x) => x.timestamp)).toEqual((await readTopic(primary, topic)).get(0)!.map((x) => x.timestamp));
  });

  it('compacted + transactional (aborts) + plain in one topic, one run: every group position translated exactly, read by real consumers', async () => {
    const topic = unique('mir-mixed');
    const compactedConfigs = [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'segment.ms', value: '100' },
      { name: 'min.cleanable.dirty.ratio', value: '0.001' },
    ];
    await sourceTopic(topic, 2, [...compactedConfigs, { name: 'min.compaction.lag.ms', value: '0' }]);
    let seq = 0;
    const plain = primary.producer({ idempotent: true, maxInFlightRequests: 1 });
    const txp = primary.producer({ transactionalId: unique('mix-tx'), idempotent: true, maxInFlightRequests: 1 });
    await plain.connect();
    await txp.connect();
    const msg = (partition: number, key: string) => ({ partition, key, value: `v${seq}`, headers: { seq: String(seq++) } });
    const transaction = async (abort: boolean, n: number, tag: string) => {
      const t = await txp.transaction();
      await t.send({ topic, messages: Array.from({ length: n }, (_, j) => msg(j % 2, `${tag}-${seq}`)) });
      await (abort ? t.abort() : t.commit());
    };
    try {
      // Phase 1, compacted away later: ten keys rewritten every round, between transactions.
      for (let round = 0; round < 12; round++) {
        await plain.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, j) => msg(j % 2, `ck-${j}`)) });
        await transaction(round % 3 === 1, 6, 'tx');
        await new Promise((r) => setTimeout(r, 120));
      }
      // Until the cleaner ran on both partitions: each ck- key once (its last value); rolls with keys of their own.
      const deadline = Date.now() + 100_000;
      const compacted = async () => [...(await readTopic(primary, topic)).values()].every((rs) => rs.filter((x) => x.key?.toString().startsWith('ck-')).length === 10);
      for (let i = 0; !(await compacted()) && Date.now() < deadline; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        await plain.send({ topic, acks: -1, messages: [msg(0, `roll-${seq}`), msg(1, `roll-${seq}`)] });
      }
      expect(await compacted()).toBe(true);
      // Phase 2 stays as written: cleaning a segment takes an aborted transaction's records away, and with
      // segment.ms 100 the tip rolls too (a cleaner run before the mirror read left a partition without
      // an aborted position: CI had ['aborted', 1] for ['aborted', 2]). Records younger than
      // min.compaction.lag.ms are never cleaned. AlterConfigs replaces the topic's configs: all of them.
      const admin = primary.admin();
      await admin.connect();
      try {
        const configEntries = [...compactedConfigs, { name: 'min.compaction.lag.ms', value: '3600000' }];
        await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries }] });
      } finally {
        await admin.disconnect();
      }
      // The brokers apply it from ZooKeeper's change notification, in milliseconds.
      await new Promise((r) => setTimeout(r, 1_000));
      // Phase 2, at the tip: plain records and transactions with keys of their own (nothing more to compact).
      for (let round = 0; round < 4; round++) {
        await plain.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, j) => msg(j % 2, `tip-${seq}`)) });
        await transaction(round % 2 === 0, 4, 'tip-tx');
      }
    } finally {
      await plain.disconnect();
      await txp.disconnect();
    }

    await planMirror(primarySpec(), nextSpec(), { topics: [topic] });
    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0, 1] }, { until: 'caught-up' });
    expect(r.positions.map((p) => p.mode)).toEqual(['mapped', 'mapped']);
    const src = await readTopic(primary, topic);
    const dst = await readTopic(next, topic);
    const translate = await mirroredOffsets(nextSpec(), pair);
    // Source offsets of each kind, per partition, for the consumers below.
    const points = new Map<string, Map<number, number>>([['record', new Map()], ['gap', new Map()], ['aborted', new Map()], ['marker', new Map()]]);
    // What each partition held, for a failure's message.
    const held: string[] = [];
    for (const p of [0, 1]) {
      const recs = src.get(p)!;
      const got = dst.get(p)!;
      expect(seqs(got)).toEqual(seqs(recs));
      expect(got.map((x) => x.offset)).toEqual(got.map((_, i) => i));
      // Every source position from the first offset to the end: the target offset of the first record at or after it.
      const raw = await rawBatches(primary, topic, p);
      const low = raw[0]!.baseOffset;
      const end = r.positions.find((x) => x.partition === p)!.next;
      const committed = new Set(recs.map((x) => x.offset));
      const kinds = new Map<number, string>();
      for (const b of raw) {
        if (isControl(b)) kinds.set(b.baseOffset, 'marker');
        else for (const x of await batchRecords(b)) kinds.set(x.offset, committed.has(x.offset) ? 'record' : 'aborted');
      }
      const at = (k: string) => [...kinds].filter(([, x]) => x === k).map(([o]) => o).join(',');
      held.push(`partition ${p}: offsets ${low}..${end}, aborted ${at('aborted') || 'none'}, markers ${at('marker') || 'none'}`);
      for (let o = low, i = 0; o <= end; o++) {
        while (i < recs.length && recs[i]!.offset < o) i++;
        expect(translate(topic, p, o), `${topic}-${p} source offset ${o} (${kinds.get(o) ?? 'gap'})`).toBe(i < recs.length ? got[i]!.offset : got.length);
        const kind = kinds.get(o) ?? 'gap';
        // The middle occurrence of each kind (not the first: the group should have records behind it).
        if (i < recs.length && !points.get(kind)!.has(p) && o > low + (end - low) / 3) points.get(kind)!.set(p, o);
      }
      expect(await translateMirroredOffset(nextSpec(), pair, topic, p, end)).toBe(got.length);
      expect(await translateMirroredOffset(nextSpec(), pair, topic, p, end + 1)).toBeUndefined();
    }
    for (const [kind, at] of points) expect([kind, at.size], held.join('; ')).toEqual([kind, 2]);

    // A group at each kind of position on the source, the same group translated on the target: the same next record.
    const runs = [...points].map(async ([kind, at]) => {
      const g = unique(`mix-${kind}`);
      await setGroup(primary, g, topic, at);
      const translated = new Map<number, number>();
      for (const [p, o] of at) translated.set(p, (await translateMirroredOffset(nextSpec(), pair, topic, p, o))!);
      await setGroup(next, g, topic, translated);
      const [onSource, onTarget] = await Promise.all([nextSeqs(primary, topic, g, [0, 1]), nextSeqs(next, topic, g, [0, 1])]);
      return { kind, onSource: [...onSource], onTarget: [...onTarget] };
    });
    for (const { kind, onSource, onTarget } of await Promise.all(runs)) {
      expect(onSource.every(([, s]) => s !== undefined), kind).toBe(true);
      expect({ kind, seqs: onTarget }).toEqual({ kind, seqs: onSource });
    }
  }, 240_000);

  it('the topic configs MM2 drops are equal on the target: min.insync.replicas, timestamp type and limits, cleanup.policy', async () => {
    const topic = unique('mir-configs');
    created.push([standby, [topic]]);
    const set = {
      'min.insync.replicas': '1',
      'cleanup.policy': 'compact,delete',
      'message.timestamp.type': 'LogAppendTime',
      'message.timestamp.before.max.ms': '86400000',
      'message.timestamp.after.max.ms': '3600000',
    };
    await sourceTopic(topic, 2, Object.entries(set).map(([name, value]) => ({ name, value })));
    expect(await configsOf(primary, topic)).toEqual(set);
    for (const [spec, kafka] of [
      [nextSpec(), next],
      [standbySpec(), standby],
    ] as const) {
      const plan = await planMirror(primarySpec(), spec, { topics: [topic] });
      await applyDeferredConfigs(spec, plan);
      expect(await configsSettled(kafka, topic, set)).toEqual(set);
    }
  });

  it('a 3.9 topic with configs Kafka 4 removed: created on the 4.1 target, the timestamp difference kept as before/after limits, what was dropped said', async () => {
    const topic = unique('mir-oldconf');
    created.push([standby, [topic]]);
    const set = { 'message.format.version': '3.0', 'message.timestamp.difference.max.ms': '86400000', 'message.timestamp.after.max.ms': '3600000', 'retention.ms': '-1' };
    await sourceTopic(topic, 1, Object.entries(set).map(([name, value]) => ({ name, value })));
    const plan = await planMirror(primarySpec(), nextSpec(), { topics: [topic] });
    expect(plan[0]).toMatchObject({
      action: 'create',
      configs: { 'retention.ms': '-1' },
      deferred: { 'message.timestamp.before.max.ms': '86400000', 'message.timestamp.after.max.ms': '3600000' },
      dropped: { 'message.format.version': '3.0', 'message.timestamp.difference.max.ms': '86400000' },
    });
    await applyDeferredConfigs(nextSpec(), plan);
    const onNext = { 'retention.ms': '-1', 'message.timestamp.type': 'CreateTime', 'message.timestamp.before.max.ms': '86400000', 'message.timestamp.after.max.ms': '3600000' };
    expect(await configsSettled(next, topic, onNext)).toEqual(onNext);
    // A 3.9 target knows them all: nothing dropped, equal.
    const same = await planMirror(primarySpec(), standbySpec(), { topics: [topic] });
    expect(same[0]!.dropped).toBeUndefined();
    await applyDeferredConfigs(standbySpec(), same);
    expect(await configsSettled(standby, topic, { ...set, 'message.timestamp.type': 'CreateTime' })).toEqual({ ...set, 'message.timestamp.type': 'CreateTime' });
  });

  it('a config changed on the source while it is mirrored follows on the target with the next plan (held-back ones stay held back)', async () => {
    const topic = unique('mir-confchange');
    await sourceTopic(topic, 1, [{ name: 'retention.ms', value: '86400000' }]);
    expect((await planMirror(primarySpec(), nextSpec(), { topics: [topic] }))[0]!.action).toBe('create');
    const admin = primary.admin();
    await admin.connect();
    const now = { 'retention.ms': '172800000', 'cleanup.policy': 'compact,delete', 'max.message.bytes': '2000000', 'message.timestamp.type': 'LogAppendTime' };
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: Object.entries(now).map(([name, value]) => ({ name, value })) }] });
    await admin.disconnect();
    await configsSettled(primary, topic, now);
    const dry = await planMirror(primarySpec(), nextSpec(), { topics: [topic] }, { dryRun: true });
    expect(dry[0]).toMatchObject({ action: 'exists', changed: { 'retention.ms': '172800000', 'cleanup.policy': 'compact,delete', 'max.message.bytes': '2000000' }, deferred: { 'message.timestamp.type': 'LogAppendTime' } });
    expect(await configsOf(next, topic)).toEqual({ 'retention.ms': '86400000', 'message.timestamp.type': 'CreateTime' });
    await planMirror(primarySpec(), nextSpec(), { topics: [topic] });
    const want = { 'retention.ms': '172800000', 'cleanup.policy': 'compact,delete', 'max.message.bytes': '2000000', 'message.timestamp.type': 'CreateTime' };
    expect(await configsSettled(next, topic, want)).toEqual(want);
    // Followed: nothing more to change.
    expect((await planMirror(primarySpec(), nextSpec(), { topics: [topic] }))[0]!.changed).toBeUndefined();
  });
});
