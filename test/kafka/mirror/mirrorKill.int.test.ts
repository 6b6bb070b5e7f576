/**
 * A mirror shard SIGKILLed mid-copy (in a child process), twice, then run again to the end leaves
 * every source record exactly once on the target (sequence numbers in headers), at its source
 * offset: the killed runs' last batches, named in the state on the target before they were sent,
 * are found there by producer id and sequence, also when the next run cuts its batches differently.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../../src/kafka/client';
import { mirrorShard, planMirror } from '../../../src/kafka/mirror';
import { readState } from '../../../src/kafka/mirror/state';
import { findCluster } from '../../../lab/topology';
import { brokerControlFor } from '../../../src/host/brokerControl';
import { nextSpec, primarySpec, topo, unique } from '../../support/lab';
import { createTopicsReady, topicsReady } from '../../support/kafka';
import { content, mirrorUntilKilled, produceNumbered, readTopic, seqs } from './mirrorSupport';

// Enough that both kills land mid-copy (with 2,000 the faster engine had copied all 6,000 before the second kill).
const PER_PARTITION = 10_000;
const primary = kafkaFor(primarySpec(), 'test-mkill-src');
const next = kafkaFor(nextSpec(), 'test-mkill-dst');
const topic = unique('mir-kill');
const pair = unique('kill');
const restarted = unique('mir-restart');

afterAll(async () => {
  for (const k of [primary, next]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, restarted] }).catch(() => {});
    await admin.disconnect();
  }
});

const killRun = (killAt: number) => mirrorUntilKilled({ source: findCluster(topo, 'primary').specFile, target: topo.kraft.specFile, pair, topic, partitions: [0, 1, 2], maxBatchBytes: 16 * 1024 }, killAt);

describe('mirror shard killed with SIGKILL', () => {
  it('killed twice mid-copy and run again: every record exactly once, at its source offset', async () => {
    await createTopicsReady(primarySpec(), [{ topic, numPartitions: 3, replicationFactor: 3 }], { kafka: primary });
    await produceNumbered(primary, topic, PER_PARTITION * 3, 3, 1000);
    await planMirror(primarySpec(), nextSpec(), { topics: [topic] });

    expect(await killRun(1500)).toBeGreaterThanOrEqual(1500);
    expect(await killRun(3500)).toBeGreaterThanOrEqual(3500);
    const partial = [...(await readTopic(next, topic)).values()].reduce((n, r) => n + r.length, 0);
    expect(partial).toBeGreaterThanOrEqual(3500);
    expect(partial).toBeLessThan(PER_PARTITION * 3);
    // The killed run named a batch it was sending (or had sent) in the state on the target.
    const state = await readState(next, pair);
    expect([...state.positions.values()].filter((s) => s.sent).length).toBeGreaterThan(0);

    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0, 1, 2] }, { until: 'caught-up', settleMs: 1000 });
    expect(r.caughtUp).toBe(true);
    expect(r.positions.map((p) => [p.next, p.mode, p.records])).toEqual([0, 1, 2].map(() => [PER_PARTITION, 'identical', PER_PARTITION]));
    const src = await readTopic(primary, topic);
    const dst = await readTopic(next, topic);
    for (const [p, recs] of src) {
      const got = dst.get(p)!;
      expect(seqs(got)).toEqual(seqs(recs));
      expect(got.map((x) => x.offset)).toEqual(recs.map((x) => x.offset));
      expect(got.map(content)).toEqual(recs.map(content));
    }
  });

  it('the target broker stopped and started mid-copy: every record exactly once', async () => {
    await createTopicsReady(primarySpec(), [{ topic: restarted, numPartitions: 3, replicationFactor: 3 }], { kafka: primary });
    await produceNumbered(primary, restarted, 15_000, 3, 1000);
    await planMirror(primarySpec(), nextSpec(), { topics: [restarted] });
    const control = brokerControlFor(nextSpec(), 1);
    let bounce: Promise<void> | undefined;
    let finished = false;
    let stoppedMidCopy = false;
    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic: restarted, partitions: [0, 1, 2] }, {
      until: 'caught-up',
      maxBatchBytes: 4 * 1024,
      settleMs: 1000,
      onProgress: (ps) => {
        if (bounce || ps.reduce((n, p) => n + p.records, 0) < 300) return;
        bounce = control.stop().then(() => {
          stoppedMidCopy = !finished;
          return control.start();
        });
      },
    }).finally(() => (finished = true));
    await bounce;
    expect(stoppedMidCopy).toBe(true);
    await topicsReady(nextSpec(), [restarted]);
    expect(r.positions.map((p) => p.next)).toEqual([5000, 5000, 5000]);
    const src = await readTopic(primary, restarted);
    const dst = await readTopic(next, restarted);
    for (const [p, recs] of src) {
      expect(seqs(dst.get(p)!)).toEqual(seqs(recs));
      expect(dst.get(p)!.map((x) => x.offset)).toEqual(recs.map((x) => x.offset));
    }
  }, 300_000);
});
