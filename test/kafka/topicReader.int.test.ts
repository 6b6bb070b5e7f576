/**
 * readRanges hands each offset over once, even when its consumer group rebalances mid-read (a
 * coordinator that moved, a member that came and went): the group never commits, so kafkajs reads
 * a partition it gets back from the start again. Here another member joins the reader's group and
 * leaves while the reader is part way through.
 */
import { AssignerProtocol, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdmin } from '../../src/kafka/admin';
import { READER_GROUP_PREFIX } from '../../src/kafka/ownGroups';
import { readRanges } from '../../src/kafka/topicReader';
import { createTopicsReady, liveKafka, liveSpec } from '../support/kafka';
import { primarySpec, unique } from '../support/lab';

const spec = liveSpec(primarySpec());
const kafka = liveKafka(spec);
const topic = unique('reader-rebalance');
const PER_PARTITION = 250;

async function readerGroup(): Promise<string> {
  for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
    const { groups } = await withAdmin(kafka, spec.name, (a) => a.listGroups());
    const ours = groups.filter((g) => g.groupId.startsWith(READER_GROUP_PREFIX));
    const described = await withAdmin(kafka, spec.name, (a) => a.describeGroups(ours.map((g) => g.groupId)));
    // The reader reading this test's topic (other tests may be reading theirs).
    const reading = described.groups.find((g) => g.members.some((m) => m.memberAssignment.length > 0 && topic in (AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {})));
    if (reading) return reading.groupId;
  }
  throw new Error('the reader group did not show up');
}

describe('readRanges', () => {
  beforeAll(async () => {
    await createTopicsReady(spec, [{ topic, numPartitions: 3, replicationFactor: 3 }], { kafka });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    // One record per send: one batch per record, so a small fetch returns one record at a time.
    for (let i = 0; i < PER_PARTITION * 3; i++) await producer.send({ topic, acks: -1, messages: [{ partition: i % 3, key: `k${i}`, value: `v${i}` }] });
    await producer.disconnect();
  });

  afterAll(async () => {
    await withAdmin(kafka, spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
  });

  it('hands each offset over once when its group rebalances mid-read', { timeout: 180_000 }, async () => {
    const handed = new Map<number, number[]>([0, 1, 2].map((p) => [p, []]));
    const ranges = new Map([0, 1, 2].map((p) => [p, { from: 10, to: PER_PARTITION }]));
    let visitor: Promise<{ assigned: number }> | undefined;
    let other: Consumer | undefined;
    let readDone = false;

    const visit = async (): Promise<{ assigned: number }> => {
      const groupId = await readerGroup();
      const member = kafka.consumer({ groupId, maxBytesPerPartition: 1 });
      other = member;
      let assigned = 0;
      const joined = new Promise<void>((resolve) =>
        member.on(member.events.GROUP_JOIN, (e) => {
          const mine = (e.payload as { memberAssignment: Record<string, number[]> }).memberAssignment[topic] ?? [];
          assigned = mine.length;
          resolve();
        }),
      );
      await member.connect();
      await member.subscribe({ topic, fromBeginning: true });
      // It takes partitions from the reader and reads nothing of them; it never commits.
      await member.run({ autoCommit: false, eachBatch: async () => new Promise<void>((r) => setTimeout(r, 50)) });
      await joined;
      await new Promise((r) => setTimeout(r, 500));
      await member.disconnect();
      other = undefined;
      expect(readDone, 'the reader was still reading when the other member left').toBe(false);
      return { assigned };
    };

    try {
      await readRanges(
        kafka,
        topic,
        ranges,
        async (partition, records) => {
          visitor ??= visit();
          for (const m of records) handed.get(partition)!.push(Number(m.offset));
          // Slow enough that the rebalances happen while most of the range is still to read.
          await new Promise((r) => setTimeout(r, 80));
        },
        { maxBytesPerPartition: 1, concurrency: 3 },
      );
    } finally {
      readDone = true;
      // A visit that failed or never finished must not leave its member in the group (nor reject unawaited).
      await Promise.race([visitor?.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      await other?.disconnect().catch(() => undefined);
    }
    const { assigned } = await visitor!;
    expect(assigned, 'partitions the other member took from the reader').toBeGreaterThan(0);
    const expected = Array.from({ length: PER_PARTITION - 10 }, (_, i) => 10 + i);
    for (const [partition, offsets] of handed) expect(offsets, `offsets handed over for partition ${partition}`).toEqual(expected);
  });
});
