/**
 * The SOURCE side of a mirror losing a broker: the leader of a partition on the primary stopped
 * mid-copy (leadership moves to a follower) and started again, with records still produced
 * meanwhile: every source record reaches the target exactly once, at its source offset.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../../src/kafka/client';
import { mirrorShard, planMirror } from '../../../src/kafka/mirror';
import { brokerControlFor } from '../../../src/host/brokerControl';
import { nextSpec, primarySpec, unique } from '../../support/lab';
import { createTopicsReady, topicsReady } from '../../support/kafka';
import { content, produceNumbered, readTopic, seqs } from './mirrorSupport';

const primary = kafkaFor(primarySpec(), 'test-msrc-src');
const next = kafkaFor(nextSpec(), 'test-msrc-dst');
const topic = unique('mir-srcbounce');
const pair = unique('srcbounce');

afterAll(async () => {
  for (const k of [primary, next]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});

describe('mirror shard, a source broker restarted', () => {
  it('the leader of a partition on the primary stopped and started mid-copy: every record exactly once at its source offset', async () => {
    await createTopicsReady(primarySpec(), [{ topic, numPartitions: 3, replicationFactor: 3 }], { kafka: primary });
    await produceNumbered(primary, topic, 12_000, 3, 1000);
    await planMirror(primarySpec(), nextSpec(), { topics: [topic] });
    const admin = primary.admin();
    await admin.connect();
    const leader = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
    await admin.disconnect();
    const control = brokerControlFor(primarySpec(), leader);

    let bounce: Promise<void> | undefined;
    let finished = false;
    let stoppedMidCopy = false;
    let copiedAtStop = 0;
    try {
      const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0, 1, 2] }, {
        until: 'caught-up',
        maxBatchBytes: 4 * 1024,
        settleMs: 1000,
        onProgress: (ps) => {
          const n = ps.reduce((s, p) => s + p.records, 0);
          if (bounce || n < 300) return;
          copiedAtStop = n;
          bounce = control.stop().then(async () => {
            stoppedMidCopy = !finished;
            // Written while the old leader is down: they land on the new leaders.
            await produceNumbered(primary, topic, 600, 3, 1000, 12_000);
            await control.start();
          });
        },
      }).finally(() => (finished = true));
      expect(r.caughtUp).toBe(true);
      expect(r.positions.map((p) => p.next)).toEqual([4000, 4000, 4000]);
    } finally {
      await bounce;
    }
    expect(stoppedMidCopy).toBe(true);
    expect(copiedAtStop).toBeLessThan(12_000);
    await topicsReady(primarySpec(), [topic]);
    // The records written during the outage: a later run copies them too.
    const r2 = await mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0, 1, 2] }, { until: 'caught-up', settleMs: 1000 });
    expect(r2.positions.map((p) => [p.next, p.mode])).toEqual([0, 1, 2].map(() => [4200, 'identical']));
    const src = await readTopic(primary, topic);
    const dst = await readTopic(next, topic);
    expect([...src.values()].flatMap(seqs).sort((a, b) => a - b)).toEqual(Array.from({ length: 12_600 }, (_, i) => i));
    for (const [p, recs] of src) {
      const got = dst.get(p)!;
      expect(seqs(got)).toEqual(seqs(recs));
      expect(got.map((x) => x.offset)).toEqual(recs.map((x) => x.offset));
      expect(got.map(content)).toEqual(recs.map(content));
    }
  }, 300_000);
});
