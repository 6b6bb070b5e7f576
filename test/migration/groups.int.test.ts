/**
 * Group cut-over, primary (3.9, ZooKeeper) → next (4.1, KRaft), through the real mirror: a plain
 * topic (identical offsets) and a transactional one with aborted transactions (markers and aborted
 * records never copied: mapped offsets). Groups at the tip, 10,000 records behind, idle at 0, and at
 * offsets that fall on an aborted record or a marker are translated and committed; a consumer of
 * each group on next then reads exactly the source's records after the group's position, by
 * sequence number: zero re-read, zero skipped.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { mirrorPositions, mirrorShard, planMirror } from '../../src/kafka/mirror';
import { commitGroups, groupStates, type GroupMove, translateGroups } from '../../src/migration';
import { createTopicsReady } from '../support/kafka';
import { nextSpec, primarySpec, unique } from '../support/lab';
import { produceNumbered, readTopic, seqs } from '../kafka/mirror/mirrorSupport';

const primary = kafkaFor(primarySpec(), 'test-mgroups-src');
const next = kafkaFor(nextSpec(), 'test-mgroups-dst');
const pair = unique('mgroups');
const plain = unique('mg-plain');
const tx = unique('mg-tx');
const G = { tip: unique('g-tip'), behind: unique('g-behind'), idle: unique('g-idle'), gaps: unique('g-gaps'), late: unique('g-late'), busy: unique('g-busy') };
const PLAIN_RECORDS = 24_000; // 12,000 per partition

type Positions = Record<string, Record<number, number>>; // topic → partition → committed offset

async function setSourceOffsets(group: string, positions: Positions): Promise<void> {
  await commitGroupOffsets(
    primary,
    group,
    Object.entries(positions).map(([topic, parts]) => ({ topic, partitions: Object.entries(parts).map(([p, o]) => ({ partition: Number(p), offset: o })) })),
  );
}

async function targetOffsets(group: string, topics: string[]): Promise<string[]> {
  const admin = next.admin();
  await admin.connect();
  const r = await admin.fetchOffsets({ groupId: group, topics });
  await admin.disconnect();
  return r.flatMap((t) => t.partitions.map((p) => `${t.topic}/${p.partition}@${p.offset}`)).sort();
}

/** Transactions of 50 records per partition; every third one aborted (its records carry seq -1). */
async function produceTransactions(rounds: number): Promise<void> {
  const producer = primary.producer({ transactionalId: unique('mg-txid'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let seq = 0;
  for (let r = 0; r < rounds; r++) {
    const aborted = r % 3 === 1;
    const t = await producer.transaction();
    const messages = Array.from({ length: 100 }, (_, i) => {
      const s = aborted ? -1 : seq++;
      return { partition: i % 2, key: `k${r}-${i}`, value: `tx ${r} ${i}`, headers: { seq: String(s) } };
    });
    await t.send({ topic: tx, acks: -1, messages });
    if (aborted) await t.abort();
    else await t.commit();
  }
  await producer.disconnect();
}

/** Every record a consumer of `group` on next gets until each partition's end: its seqs per topic/partition. */
async function consumeAsGroup(kafka: Kafka, group: string, topics: string[]): Promise<Map<string, number[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  const start = new Map<string, number>();
  for (const t of topics) {
    for (const o of await admin.fetchTopicOffsets(t)) ends.set(`${t}/${o.partition}`, Number(o.high));
    for (const o of (await admin.fetchOffsets({ groupId: group, topics: [t] }))[0]!.partitions) start.set(`${t}/${o.partition}`, Number(o.offset));
  }
  await admin.disconnect();
  const out = new Map<string, number[]>([...ends.keys()].map((k) => [k, []]));
  // Partitions with nothing left past the committed position are done before the consumer starts.
  const pending = new Set([...ends].filter(([k, end]) => (start.get(k) ?? 0) < end).map(([k]) => k));
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({ groupId: group, readUncommitted: false });
  await consumer.connect();
  try {
    for (const t of topics) await consumer.subscribe({ topic: t });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`group ${group}: partitions not read to the end: ${[...pending].join(', ')}`)), 60_000);
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const k = `${batch.topic}/${batch.partition}`;
          for (const m of batch.messages) out.get(k)!.push(Number(m.headers?.seq?.toString()));
          // Transaction markers at the end: the batch's last offset reaches them even when no record does.
          if (Number(batch.lastOffset()) + 1 >= ends.get(k)! && pending.delete(k) && pending.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

afterAll(async () => {
  for (const k of [primary, next]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteGroups(Object.values(G)).catch(() => {});
    await admin.deleteTopics({ topics: [plain, tx] }).catch(() => {});
    await admin.disconnect();
  }
});

let source: [Awaited<ReturnType<typeof readTopic>>, Awaited<ReturnType<typeof readTopic>>];
const positions: Record<string, Positions> = {};

beforeAll(async () => {
  await createTopicsReady(primarySpec(), [plain, tx].map((topic) => ({ topic, numPartitions: 2, replicationFactor: 3 })), { kafka: primary });
  await produceNumbered(primary, plain, PLAIN_RECORDS, 2, 50);
  await produceTransactions(12);
  source = [await readTopic(primary, plain), await readTopic(primary, tx)];
  const [p, t] = source;
  const end = (m: typeof p, part: number) => Number(m.get(part)!.at(-1)!.offset) + 1;
  // The first record of the first aborted transaction's partition-0 run, and a commit marker's offset.
  const t0 = t.get(0)!.map((r) => Number(r.offset));
  const aborted = t0.findIndex((o, i) => i > 0 && o !== t0[i - 1]! + 1); // the first gap: marker (+ aborted records)
  const gapStart = t0[aborted - 1]! + 1;
  positions[G.tip] = { [plain]: { 0: end(p, 0), 1: end(p, 1) }, [tx]: { 0: end(t, 0) + 1, 1: end(t, 1) + 1 } }; // past the last commit marker
  positions[G.behind] = { [plain]: { 0: end(p, 0) - 10_000, 1: end(p, 1) - 10_000 } };
  positions[G.idle] = { [plain]: { 0: 0, 1: 0 }, [tx]: { 0: 0, 1: 0 } };
  positions[G.gaps] = { [tx]: { 0: gapStart, 1: gapStart + 1 } };
  for (const g of [G.tip, G.behind, G.idle, G.gaps]) await setSourceOffsets(g, positions[g]!);
}, 240_000);

describe('group cut-over', () => {
  it('translates and commits every group exactly: a consumer on next reads the next record, nothing twice, nothing skipped', async () => {
    await planMirror(primarySpec(), nextSpec(), { topics: [plain, tx] });
    for (const topic of [plain, tx]) {
      const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0, 1] }, { until: 'caught-up' });
      expect(r.caughtUp).toBe(true);
    }
    const modes = (await mirrorPositions(primarySpec(), nextSpec(), pair)).map((p) => `${p.topic === plain ? 'plain' : 'tx'}/${p.partition} ${p.mode}`);
    expect(modes).toEqual(expect.arrayContaining(['plain/0 identical', 'plain/1 identical', 'tx/0 mapped', 'tx/1 mapped']));

    const groups = [G.tip, G.behind, G.idle, G.gaps];
    expect((await groupStates(primarySpec(), groups)).map((s) => s.state)).toEqual(['Empty', 'Empty', 'Empty', 'Empty']);
    const moves = await translateGroups(primarySpec(), nextSpec(), pair, groups, [plain, tx]);
    expect(moves.map((m) => m.untranslated)).toEqual([[], [], [], []]);
    expect(moves.map((m) => m.partitions.length)).toEqual([4, 2, 4, 2]);
    // Identical mode: the same offsets; mapped: offsets shrink by the markers and aborted records before them.
    for (const p of moves.flatMap((m) => m.partitions)) {
      if (p.topic === plain) expect(p.targetOffset).toBe(p.sourceOffset);
      else expect(p.targetOffset).toBeLessThanOrEqual(p.sourceOffset);
    }

    // Dry run: the same moves, nothing committed.
    const dry = await commitGroups(nextSpec(), moves, { dryRun: true });
    expect(dry).toEqual(moves);
    expect(await targetOffsets(G.behind, [plain])).toEqual([`${plain}/0@-1`, `${plain}/1@-1`]);

    const committed = await commitGroups(nextSpec(), moves);
    expect(committed).toEqual(moves);
    expect(await commitGroups(nextSpec(), moves)).toEqual(moves); // idempotent

    const [srcPlain, srcTx] = source;
    const srcOf = (topic: string) => (topic === plain ? srcPlain : srcTx);
    for (const g of groups) {
      const topics = Object.keys(positions[g]!);
      const got = await consumeAsGroup(next, g, topics);
      for (const topic of topics) {
        for (const [part, at] of Object.entries(positions[g]![topic]!)) {
          const expected = seqs(srcOf(topic).get(Number(part))!.filter((r) => Number(r.offset) >= at));
          const actual = got.get(`${topic}/${part}`)!;
          expect(actual, `${g} ${topic}-${part} from source offset ${at}`).toEqual(expected);
          expect(actual.includes(-1), 'no aborted record').toBe(false);
        }
      }
      const read = [...got.values()].reduce((n, s) => n + s.length, 0);
      if (g === G.tip) expect(read).toBe(0);
      if (g === G.behind) expect(read).toBe(20_000);
      if (g === G.idle) expect(read).toBe(PLAIN_RECORDS + srcTx.get(0)!.length + srcTx.get(1)!.length);
    }
  }, 240_000);

  it('names what the mirror has not reached yet, and refuses a group active on the target', async () => {
    // Records the mirror has not copied: a group past them does not translate.
    await produceNumbered(primary, plain, 10, 2, 50, PLAIN_RECORDS);
    const admin = primary.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(plain);
    await admin.disconnect();
    await setSourceOffsets(G.late, { [plain]: Object.fromEntries(ends.map((o) => [o.partition, Number(o.high)])) });
    const [late] = await translateGroups(primarySpec(), nextSpec(), pair, [G.late], [plain]);
    expect(late!.partitions).toEqual([]);
    expect(late!.untranslated.map((u) => u.reason)).toEqual([
      expect.stringMatching(new RegExp(`has copied ${plain}-0 up to source offset 12000, the group is at 12005`)),
      expect.stringMatching(new RegExp(`has copied ${plain}-1 up to source offset 12000, the group is at 12005`)),
    ]);
    await expect(commitGroups(nextSpec(), [late!])).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining(G.late) });

    // A consumer of the group runs on next: the commit is refused, naming it.
    const consumer = next.consumer({ groupId: G.busy });
    await consumer.connect();
    await consumer.subscribe({ topic: plain });
    let joined!: () => void;
    const isIn = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    void consumer.run({ autoCommit: false, eachMessage: async () => {} });
    try {
      await isIn;
      const move: GroupMove = { group: G.busy, partitions: [{ topic: plain, partition: 0, sourceOffset: 5, targetOffset: 5 }], untranslated: [] };
      await expect(commitGroups(nextSpec(), [move])).rejects.toMatchObject({ type: 'UnsafeTarget', message: expect.stringMatching(new RegExp(`${G.busy} \\(Stable, 1 member\\) is active on next`)) });
    } finally {
      await consumer.disconnect();
    }
  }, 120_000);
});
