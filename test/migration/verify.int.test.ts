/**
 * Migration verification, primary → next through the real mirror (a plain topic at identical
 * offsets, a transactional one with aborted transactions at mapped offsets) and the group
 * cut-over: a clean migration verifies; a target tampered with (a record produced there, records
 * deleted there, a group offset moved back) is reported as a problem, naming the partition or group.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { mirrorShard, planMirror } from '../../src/kafka/mirror';
import { commitGroups, type GroupMove, translateGroups, verifyMigration } from '../../src/migration';
import { createTopicsReady } from '../support/kafka';
import { nextSpec, primarySpec, unique } from '../support/lab';
import { produceNumbered } from '../kafka/mirror/mirrorSupport';

const primary = kafkaFor(primarySpec(), 'test-mverify-src');
const next = kafkaFor(nextSpec(), 'test-mverify-dst');
const pair = unique('mverify');
const plain = unique('mv-plain');
const tx = unique('mv-tx');
const group = unique('mv-group');
let moves: GroupMove[];

async function withAdminOf<T>(kafka: Kafka, fn: (a: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  await createTopicsReady(primarySpec(), [plain, tx].map((topic) => ({ topic, numPartitions: 2, replicationFactor: 3 })), { kafka: primary });
  await produceNumbered(primary, plain, 2000, 2, 100);
  const producer = primary.producer({ transactionalId: unique('mv-txid'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let r = 0; r < 6; r++) {
    const t = await producer.transaction();
    await t.send({ topic: tx, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, key: `k${r}-${i}`, value: `v${r}-${i}`, headers: { round: String(r) } })) });
    if (r % 2 === 1) await t.abort();
    else await t.commit();
  }
  await producer.disconnect();
  await commitGroupOffsets(primary, group, [
    { topic: plain, partitions: [{ partition: 0, offset: 300 }, { partition: 1, offset: 1000 }] },
    { topic: tx, partitions: [{ partition: 0, offset: 11 }, { partition: 1, offset: 0 }] },
  ]);
  await planMirror(primarySpec(), nextSpec(), { topics: [plain, tx] });
  for (const topic of [plain, tx]) await mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0, 1] }, { until: 'caught-up' });
  moves = await translateGroups(primarySpec(), nextSpec(), pair, [group], [plain, tx]);
  await commitGroups(nextSpec(), moves);
}, 180_000);

afterAll(async () => {
  for (const k of [primary, next]) {
    await withAdminOf(k, async (a) => {
      await a.deleteGroups([group]).catch(() => {});
      await a.deleteTopics({ topics: [plain, tx] }).catch(() => {});
    });
  }
});

describe('migration verify', () => {
  it('verifies a faithful migration: records, group positions, probe', async () => {
    const seen: string[] = [];
    const r = await verifyMigration(primarySpec(), nextSpec(), pair, [plain, tx], moves, { onProgress: (t) => seen.push(t) });
    expect(r.problems).toEqual([]);
    expect(seen).toEqual([plain, tx].sort());
    const byName = Object.fromEntries(r.checks.map((c) => [c.name, c]));
    expect(byName[`records ${plain}`]).toEqual({ name: `records ${plain}`, ok: true, detail: '2 partitions, 2000 records: counts and SHA-256 equal' });
    // 3 committed transactions of 20 records: 60; the aborted ones never count.
    expect(byName[`records ${tx}`]).toEqual({ name: `records ${tx}`, ok: true, detail: '2 partitions, 60 records: counts and SHA-256 equal' });
    expect(byName['group positions']).toEqual({ name: 'group positions', ok: true, detail: '1 group, 4 partition positions as committed' });
    expect(byName.probe!.ok).toBe(true);
  }, 120_000);

  it('reports a target tampered with: a record produced there, records deleted there, a group moved back', async () => {
    const producer = next.producer();
    await producer.connect();
    await producer.send({ topic: plain, messages: [{ partition: 0, value: 'not from the mirror' }] });
    await producer.disconnect();
    await withAdminOf(next, async (a) => {
      await a.fetchTopicMetadata({ topics: [tx] }); // kafkajs deletes only from topics whose metadata it loaded
      await a.deleteTopicRecords({ topic: tx, partitions: [{ partition: 1, offset: '3' }] });
    });
    await commitGroupOffsets(next, group, [{ topic: plain, partitions: [{ partition: 1, offset: 990 }] }]);
    const r = await verifyMigration(primarySpec(), nextSpec(), pair, [plain, tx], moves, { probe: false });
    expect(r.problems).toEqual([
      `${plain}-0: 1 record(s) on next after the mirrored ones (offsets 1000..1000), written there by something else than the mirror`,
      `${tx}-1: offsets 0..2 the mirror wrote are deleted on next (its log starts at 3)`,
      `group ${group} ${plain}-1: at 990 on next, the cut-over committed 1000 (it would re-read 10 offsets)`,
    ]);
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
      [`records ${plain}`, false],
      [`records ${tx}`, false],
      ['group positions', false],
    ]);
    // After the switch, clients' own records and positions ahead are theirs; a position behind is still a problem.
    const after = await verifyMigration(primarySpec(), nextSpec(), pair, [plain], moves.map((m) => ({ ...m, partitions: m.partitions.filter((p) => p.topic === plain) })), {
      probe: false,
      clientsMayRun: true,
    });
    expect(after.problems).toEqual([`group ${group} ${plain}-1: at 990 on next, the cut-over committed 1000 (it would re-read 10 offsets)`]);
    expect(after.checks[0]).toMatchObject({ ok: true, detail: expect.stringContaining('1 record(s) on next after the mirrored ones') });
  }, 120_000);

  it('reports records whose content differs at the same count (the SHA-256, not only the counts)', async () => {
    const topic = unique('mv-content');
    try {
      await createTopicsReady(primarySpec(), [{ topic, numPartitions: 1, replicationFactor: 3 }], { kafka: primary });
      await produceNumbered(primary, topic, 5, 1, 20);
      await planMirror(primarySpec(), nextSpec(), { topics: [topic] });
      await mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0] }, { until: 'caught-up' });
      expect((await verifyMigration(primarySpec(), nextSpec(), pair, [topic], [], { probe: false })).problems).toEqual([]);
      // The target topic replaced by five other records at the same offsets (one value differs by a byte).
      await withAdminOf(next, (a) => a.deleteTopics({ topics: [topic] }));
      await new Promise((r) => setTimeout(r, 2000));
      await createTopicsReady(nextSpec(), [{ topic, numPartitions: 1, replicationFactor: 1 }], { kafka: next });
      const source = await withAdminOf(primary, (a) => a.fetchTopicOffsets(topic));
      expect(source[0]!.high).toBe('5');
      const producer = next.producer({ idempotent: true });
      await producer.connect();
      await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `${i}:`.padEnd(i === 3 ? 19 : 20, '.'), headers: { seq: String(i) } })) });
      await producer.disconnect();
      const r = await verifyMigration(primarySpec(), nextSpec(), pair, [topic], [], { probe: false });
      expect(r.problems).toEqual([`${topic}-0: records differ (SHA-256 of timestamps, keys, values and headers, source [0, 5) vs target [0, 5))`]);
    } finally {
      for (const k of [primary, next]) await withAdminOf(k, (a) => a.deleteTopics({ topics: [topic] }).catch(() => {}));
    }
  }, 120_000);
});
