/**
 * A mirror shard aborted while its target is unreachable ends at once (the activity can be
 * cancelled, `lifeboat mirror stop` does not hang): every wait of the shard, of its lost-answer
 * search and of its state writes honours the signal. Nothing is lost or written twice: the next
 * run, with the target back, finds the batches whose answers were lost and copies the rest.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AbortError, isAbort } from '../../../src/core/poll';
import { kafkaFor } from '../../../src/kafka/client';
import { mirrorShard, planMirror } from '../../../src/kafka/mirror';
import { brokerControlFor } from '../../../src/host/brokerControl';
import { nextSpec, primarySpec, unique } from '../../support/lab';
import { createTopicsReady, topicsReady } from '../../support/kafka';
import { produceNumbered, readTopic, seqs } from './mirrorSupport';

const PER_PARTITION = 5000;
const primary = kafkaFor(primarySpec(), 'test-mabort-src');
const next = kafkaFor(nextSpec(), 'test-mabort-dst');
const topic = unique('mir-abort');
const pair = unique('abort');

afterAll(async () => {
  for (const k of [primary, next]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});

describe('mirror shard aborted while the target is unreachable', () => {
  it('rejects with the abort within seconds; the next run copies every record exactly once', async () => {
    await createTopicsReady(primarySpec(), [{ topic, numPartitions: 3, replicationFactor: 3 }], { kafka: primary });
    await produceNumbered(primary, topic, PER_PARTITION * 3, 3, 1000);
    await planMirror(primarySpec(), nextSpec(), { topics: [topic] });
    const control = brokerControlFor(nextSpec(), 1);
    const abort = new AbortController();
    let stopping: Promise<void> | undefined;
    let abortedAt = 0;
    try {
      const run = mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0, 1, 2] }, {
        until: 'caught-up',
        signal: abort.signal,
        maxBatchBytes: 4 * 1024,
        settleMs: 1000,
        onProgress: (ps) => {
          if (stopping || ps.reduce((n, p) => n + p.records, 0) < 300) return;
          // The target goes away mid-copy; a second later (the shard now retrying against it) the caller aborts.
          stopping = control.stop().then(async () => {
            await new Promise((r) => setTimeout(r, 1000));
            abortedAt = Date.now();
            abort.abort(new AbortError('mirror stopped by the test'));
          });
        },
      });
      run.catch(() => {});
      // A hung shard must fail the test, not time it out: wait at most a minute for the abort, then 10 s.
      const ended = await Promise.race([
        run.then(
          () => 'resolved',
          (e: unknown) => e,
        ),
        (async () => {
          for (let i = 0; i < 600 && !abortedAt; i++) await new Promise((r) => setTimeout(r, 100));
          await new Promise((r) => setTimeout(r, 10_000));
          return 'still running 10 s after the abort';
        })(),
      ]);
      expect(stopping).toBeDefined();
      expect(abortedAt).toBeGreaterThan(0);
      expect(isAbort(ended), `mirrorShard ended with: ${String(ended)}`).toBe(true);
      expect(Date.now() - abortedAt).toBeLessThan(5000);
    } finally {
      await stopping?.catch(() => {});
      await control.start();
      await topicsReady(nextSpec(), [topic]);
    }

    const r = await mirrorShard(primarySpec(), nextSpec(), pair, { topic, partitions: [0, 1, 2] }, { until: 'caught-up', settleMs: 1000 });
    expect(r.caughtUp).toBe(true);
    expect(r.positions.map((p) => p.next)).toEqual([PER_PARTITION, PER_PARTITION, PER_PARTITION]);
    const src = await readTopic(primary, topic);
    const dst = await readTopic(next, topic);
    for (const [p, recs] of src) {
      expect(seqs(dst.get(p)!)).toEqual(seqs(recs));
      expect(dst.get(p)!.map((x) => x.offset)).toEqual(recs.map((x) => x.offset));
    }
  }, 240_000);
});
