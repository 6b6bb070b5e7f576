/**
 * Two runs of the same mirror shard at once (a Temporal retry while the old attempt still runs):
 * the newer one takes every partition over through its producer epoch (InitProducerId of the
 * partition's transactional id, then a claim on the state partition), the brokers refuse the older
 * run's next write, and it stops with one clear line. Every source record lands exactly once, at
 * its source offset, and no transaction marker is written (the batches stay non-transactional).
 * Against next (Kafka 4.1, KRaft) and the standby (3.9, ZooKeeper mode).
 */
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../../src/config/spec';
import { LifeboatError } from '../../../src/errors';
import { kafkaFor } from '../../../src/kafka/client';
import { mirrorShard, planMirror } from '../../../src/kafka/mirror';
import { WireClient } from '../../../src/kafka/wire/client';
import { readBatches } from '../../../src/kafka/wire/readBatches';
import { isControl } from '../../../src/kafka/wire/recordBatch';
import { nextSpec, primarySpec, standbySpec, unique } from '../../support/lab';
import { createTopicsReady } from '../../support/kafka';
import { produceNumbered, readTopic, seqs } from './mirrorSupport';

const PER_PARTITION = 15_000;
const primary = kafkaFor(primarySpec(), 'test-mfence-src');
const created: [Kafka, string][] = [];

afterAll(async () => {
  for (const [k, t] of created) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [t] }).catch(() => {});
    await admin.disconnect();
  }
});

/** Control batches (transaction markers) in the target partitions, read uncommitted. */
async function controlBatches(kafka: Kafka, topic: string): Promise<number> {
  const client = await WireClient.open(kafka, [topic]);
  const ends = await client.listOffsets(topic, 'end');
  await client.close();
  let n = 0;
  await readBatches(
    kafka,
    topic,
    new Map([...ends].map(([p, to]) => [p, { from: 0, to }])),
    async (_p, batches) => {
      n += batches.filter(isControl).length;
    },
    { readCommitted: false },
  );
  return n;
}

async function twoRuns(target: ClusterSpec) {
  const kafka = kafkaFor(target, 'test-mfence-dst');
  const topic = unique('mir-fence');
  const pair = unique('fence');
  created.push([primary, topic], [kafka, topic]);
  await createTopicsReady(primarySpec(), [{ topic, numPartitions: 3, replicationFactor: 3 }], { kafka: primary });
  await produceNumbered(primary, topic, PER_PARTITION * 3, 3, 500);
  await planMirror(primarySpec(), target, { topics: [topic] });

  const work = { topic, partitions: [0, 1, 2] };
  // Small batches: the older run has many to send when the newer one starts.
  const opts = { until: 'caught-up' as const, maxBatchBytes: 8 * 1024, settleMs: 1000 };
  let olderCopied = 0;
  let newer: Promise<unknown> | undefined;
  let newerStartedAt = 0;
  const older = mirrorShard(primarySpec(), target, pair, work, {
    ...opts,
    onProgress: (ps) => {
      olderCopied = ps.reduce((n, p) => n + p.records, 0);
      if (!newer && olderCopied >= 3000) {
        newerStartedAt = olderCopied;
        newer = mirrorShard(primarySpec(), target, pair, work, opts);
        newer.catch(() => {}); // awaited below, after the older run ends
      }
    },
  });
  const olderOutcome = await older.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(newer, 'the newer run started while the older one copied').toBeDefined();
  const newerResult = (await newer) as Awaited<ReturnType<typeof mirrorShard>>;

  // The older run stopped, with one line naming the partition and why; it had not finished.
  expect(olderOutcome).toBeInstanceOf(LifeboatError);
  expect((olderOutcome as LifeboatError).type).toBe('UnsafeTarget');
  expect((olderOutcome as Error).message).toMatch(
    new RegExp(`^mirror "${pair}" ${topic}-[012]: a newer run of this partition took it over \\(producer epoch \\d+ fenced by a newer one, e\\.g\\. a retried activity while this one still ran\\): this run stops without writing more$`),
  );
  expect(newerStartedAt).toBeLessThan(PER_PARTITION * 3);
  expect(olderCopied).toBeLessThan(PER_PARTITION * 3);

  // The newer run finished the copy: every record exactly once, at its source offset, no markers.
  expect(newerResult.caughtUp).toBe(true);
  expect(newerResult.positions.map((p) => [p.next, p.mode])).toEqual([0, 1, 2].map(() => [PER_PARTITION, 'identical']));
  const src = await readTopic(primary, topic);
  const dst = await readTopic(kafka, topic);
  for (const [p, recs] of src) {
    const got = dst.get(p)!;
    expect(seqs(got)).toEqual(seqs(recs));
    expect(got.map((x) => x.offset)).toEqual(recs.map((x) => x.offset));
  }
  expect(await controlBatches(kafka, topic)).toBe(0);
}

describe('mirror shard: two runs of one shard at once', () => {
  it('next (4.1): the newer run fences the older one; every record once, identical offsets, no markers', async () => {
    await twoRuns(nextSpec());
  });

  it('standby (3.9, ZooKeeper mode): the same', async () => {
    await twoRuns(standbySpec());
  });
});
