/**
 * describeTopics confirms a topic missing before it says so: kafkajs asks one broker, and the
 * listing may go to the same one; a broker behind on a topic created a moment ago refuses it and
 * lists without it. The Admin here is a stand-in that answers as such a broker does (the real-lab
 * case is in topicsMissing.int.test.ts); only the two calls describeTopics makes exist.
 */
import type { Admin, ITopicMetadata } from 'kafkajs';
import { KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { describeTopics, retryTransient } from '../../src/kafka/admin';

const unknownTopic = () =>
  new KafkaJSProtocolError({ message: 'This server does not host this topic-partition', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true } as unknown as Error);

const meta = (name: string): ITopicMetadata => ({ name, partitions: [{ partitionId: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }] });

/** A broker that describes `topic` only from its `describedFrom`-th description on, and lists it from its `listedFrom`-th listing (Infinity: never). */
function laggingAdmin(topic: string, describedFrom: number, listedFrom = describedFrom) {
  const calls = { describe: 0, list: 0 };
  const admin = {
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
      calls.describe += 1;
      if (topics.includes(topic) && calls.describe < describedFrom) throw unknownTopic();
      return { topics: topics.map(meta) };
    },
    listTopics: async () => {
      calls.list += 1;
      return calls.list < listedFrom ? ['other'] : ['other', topic];
    },
  } as unknown as Admin;
  return { admin, calls };
}

describe('describeTopics on a broker behind on a creation', () => {
  it('a topic refused and not listed once, described a moment later: the answer, not TopicDeleted', async () => {
    const { admin, calls } = laggingAdmin('fresh', 2);
    const described = await describeTopics(admin, ['fresh', 'other'], { cluster: 'primary', listed: true });
    expect(described.map((t) => t.name)).toEqual(['fresh', 'other']);
    expect(calls).toEqual({ describe: 2, list: 1 });
  });

  it('refused twice but listed the second time: a retriable error, and retryTransient then gets the answer', async () => {
    const lagging = laggingAdmin('fresh', 3, 2);
    const e = await describeTopics(lagging.admin, ['fresh'], { listed: true }).then(() => undefined, (err: unknown) => err);
    expect(e).not.toBeInstanceOf(LifeboatError);
    expect((e as { type?: string }).type).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    const { admin } = laggingAdmin('fresh', 3, 2);
    expect((await retryTransient(() => describeTopics(admin, ['fresh'], { listed: true }), { delayMs: 1 })).map((t) => t.name)).toEqual(['fresh']);
  });

  it('refused and not listed twice: TopicDeleted, which retryTransient retries until its deadline', async () => {
    const { admin, calls } = laggingAdmin('gone', Infinity);
    const e = await describeTopics(admin, ['gone', 'other'], { cluster: 'primary', listed: true }).then(() => undefined, (err: unknown) => err);
    expect((e as Error).message).toBe('topic(s) gone do not exist on cluster primary (deleted since they were listed)');
    expect(calls).toEqual({ describe: 2, list: 2 });
    const { admin: a2, calls: c2 } = laggingAdmin('gone', Infinity);
    const later = await retryTransient(() => describeTopics(a2, ['gone'], { listed: true }), { timeoutMs: 2000, delayMs: 1 }).then(() => undefined, (err: unknown) => err);
    expect((later as LifeboatError).type).toBe('TopicDeleted');
    expect(c2.describe).toBeGreaterThan(2);
  });

  it('a topic the caller named (not listed) is InvalidInput, not retried', async () => {
    const { admin, calls } = laggingAdmin('never', Infinity);
    const e = await retryTransient(() => describeTopics(admin, ['never'], { cluster: 'primary' }), { delayMs: 1 }).then(() => undefined, (err: unknown) => err);
    expect((e as LifeboatError).type).toBe('InvalidInput');
    expect(calls.describe).toBe(2);
  });

  it('the pause ends at once when the signal aborts', async () => {
    const { admin } = laggingAdmin('gone', Infinity);
    const ac = new AbortController();
    const t0 = Date.now();
    const p = describeTopics(admin, ['gone'], { listed: true, signal: ac.signal }).then(() => undefined, (err: unknown) => err);
    setTimeout(() => ac.abort(new Error('cancelled')), 20);
    expect(((await p) as Error).message).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(300);
  });
});
