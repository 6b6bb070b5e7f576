/**
 * Topics asked for by name that do not exist (never did, or were just deleted): one clear line
 * naming them. kafkajs fails with UNKNOWN_TOPIC_OR_PARTITION, which it calls retriable (so
 * partitionStates waited 30 s for nothing), or, when every broker refuses a topic its cached
 * metadata still holds (a deletion spreading over the brokers), with "Cannot read properties of
 * null (reading 'topicMetadata')".
 * A topic created a moment ago is not missing: a broker behind on it refuses it for a moment.
 */
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { describeTopics, partitionStates, withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { createTopicsReady } from '../support/kafka';
import { primarySpec, unique } from '../support/lab';

const spec = primarySpec();
const kafka = kafkaFor(spec, 'test-topics-missing');
const kept = unique('tm-kept');
const doomed = unique('tm-doomed');
const never = unique('tm-never');
const cluster = spec.name;
let admin: Admin;

const caught = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

beforeAll(async () => {
  await createTopicsReady(spec, [kept, doomed].map((topic) => ({ topic, numPartitions: 2, replicationFactor: 3 })), { kafka });
  admin = kafka.admin();
  await admin.connect();
}, 90_000);

afterAll(async () => {
  await admin?.disconnect();
  await withAdmin(kafka, spec.name, (a) => a.deleteTopics({ topics: [kept, doomed] }).catch(() => undefined));
});

describe('topics asked for by name that do not exist', () => {
  it('partitionStates while a topic is deleted: it answers, until it names the topic (non-retryable)', async () => {
    // Read over and over while the topic is deleted: the reads in the deletion's spread are the
    // ones kafkajs answered with its TypeError.
    let failure: unknown;
    // One answer before the deletion starts, whatever the machine's load: the loop below then reads through it.
    expect(await partitionStates(admin, [kept, doomed], { cluster })).toHaveLength(4);
    const reads = (async () => {
      for (const until = Date.now() + 60_000; Date.now() < until && failure === undefined; ) {
        failure = await caught(partitionStates(admin, [kept, doomed], { cluster }));
      }
    })();
    await withAdmin(kafka, spec.name, (a) => a.deleteTopics({ topics: [doomed], timeout: 30_000 }));
    await reads;
    expect((failure as Error | undefined)?.message).toBe(`topic(s) ${doomed} do not exist on cluster ${cluster}`);
    expect(failure).toBeInstanceOf(LifeboatError);
    expect((failure as LifeboatError).type).toBe('InvalidInput');
    expect((failure as LifeboatError).retryable).toBe(false);
  }, 90_000);

  it('partitionStates of a topic that never existed names it at once (no 30 s of retries)', async () => {
    const t0 = Date.now();
    const e = await caught(partitionStates(admin, [never, kept], { cluster }));
    expect((e as Error).message).toBe(`topic(s) ${never} do not exist on cluster ${cluster}`);
    expect((e as LifeboatError).type).toBe('InvalidInput');
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 60_000);

  it('names read from a listing just before: deleted since, a retry (which lists again) may succeed', async () => {
    const e = await caught(describeTopics(admin, [kept, never], { cluster, listed: true }));
    expect((e as Error).message).toBe(`topic(s) ${never} do not exist on cluster ${cluster} (deleted since they were listed)`);
    expect((e as LifeboatError).type).toBe('TopicDeleted');
    expect((e as LifeboatError).retryable).toBe(true);
  });

  it('a topic created a moment ago, read from a listing at once by many clients: never reported missing', async () => {
    // The brokers learn of a creation one after another: a describe sent to one still behind
    // is refused, and the listing that confirms may go to the same broker. Several clients (each
    // picks its own broker) read each topic the moment it is created.
    const readers = await Promise.all([1, 2, 3, 4].map(async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    }));
    const fresh = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => unique(`tm-fresh${i}`));
    try {
      for (const topic of fresh) {
        await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: false });
        const read = (a: Admin) => partitionStates(a, [topic, kept], { cluster, listed: true }).then((p) => p.length, (e: unknown) => (e as Error).message);
        const reads = await Promise.all(readers.flatMap((a) => [read(a), read(a), read(a)]));
        expect(reads).toEqual(reads.map(() => 5));
      }
    } finally {
      await Promise.all(readers.map((a) => a.disconnect()));
      await admin.deleteTopics({ topics: fresh }).catch(() => undefined);
    }
  }, 120_000);

  it('describes the topics that exist as kafkajs does', async () => {
    const [t] = await describeTopics(admin, [kept], { cluster });
    expect(t?.name).toBe(kept);
    expect(t?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1]);
    expect(await partitionStates(admin, [kept], { cluster })).toHaveLength(2);
    expect((await describeTopics(admin, [])).map((d) => d.name)).toContain(kept);
  });
});
