/**
 * A topic deleted while the metadata is exported (between the listing and its description): the
 * export is of the topics that exist, not a failure. kafkajs's fetchTopicMetadata answers null when
 * every broker refuses a topic (UNKNOWN_TOPIC_OR_PARTITION) and then fails with a TypeError; a
 * drill's inventory after a recovery, beside the drop of the drill's stream topic, failed so and
 * waited a retry (1.2 s of a drill's ~1 s of bookkeeping, session 18's bench).
 */
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { exportMetadata } from '../../src/kafka/metadata';
import { createTopicsReady } from '../support/kafka';
import { primarySpec, unique } from '../support/lab';

const spec = primarySpec();
const kafka = kafkaFor(spec, 'test-md-deleted');
const kept = unique('mdd-kept');
const doomed = unique('mdd-doomed');

/** The same client, whose admins delete `topic` for real right after their first listing of the topics. */
function deletingAfterListing(topic: string): Kafka {
  return Object.assign(Object.create(kafka) as Kafka, {
    admin: (...args: Parameters<Kafka['admin']>) => {
      const admin = kafka.admin(...args);
      const list = admin.listTopics.bind(admin);
      let first = true;
      admin.listTopics = async () => {
        const names = await list();
        if (first && names.includes(topic)) {
          first = false;
          await withAdmin(kafka, spec.name, (a) => a.deleteTopics({ topics: [topic], timeout: 30_000 }));
        }
        return names;
      };
      return admin;
    },
  });
}

beforeAll(async () => {
  await createTopicsReady(spec, [kept, doomed].map((topic) => ({ topic, numPartitions: 2, replicationFactor: 3 })), { kafka });
});

afterAll(async () => {
  await withAdmin(kafka, spec.name, (a) => a.deleteTopics({ topics: [kept, doomed] }).catch(() => undefined));
});

describe('metadata export while a topic is deleted', () => {
  it('exports the topics that exist, without the one deleted after it was listed', async () => {
    const md = await exportMetadata(deletingAfterListing(doomed), { name: spec.name });
    const names = md.topics.map((t) => t.name);
    expect(names).toContain(kept);
    expect(names).not.toContain(doomed);
    expect(md.topics.find((t) => t.name === kept)?.partitions).toBe(2);
    const left = await withAdmin(kafka, spec.name, (a) => a.listTopics());
    expect(left).not.toContain(doomed);
  });

  it('leaves out the topics it is told to, without asking the cluster about them', async () => {
    const md = await exportMetadata(kafka, { name: spec.name, excludeTopics: [kept] });
    expect(md.topics.map((t) => t.name)).not.toContain(kept);
  });
});
