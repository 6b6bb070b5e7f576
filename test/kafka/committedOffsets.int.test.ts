/**
 * A group's committed offsets read on several topics (fetchCommittedOffsets): every topic with a
 * commit is in the answer, whatever else the admin client is doing. kafkajs's fetchOffsets with
 * topics looks each topic's partitions up in its shared metadata, which a concurrent refresh for
 * fewer topics can replace: the topic was then asked for with no partitions and came back without
 * offsets (the stop-16 CI: a mirror plan left out the ACLs of a group with offsets on its topics).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCommittedOffsets, withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { createTopicsReady } from '../support/kafka';
import { primarySpec, unique } from '../support/lab';

const spec = primarySpec();
const kafka = kafkaFor(spec, 'test-committed');
const topics = [unique('co-a'), unique('co-b'), unique('co-c'), unique('co-d')];
const groups = Array.from({ length: 8 }, (_, i) => unique(`co-g${i}`));

beforeAll(async () => {
  await createTopicsReady(spec, topics.map((topic) => ({ topic, numPartitions: 2, replicationFactor: 3 })), { kafka });
  // Group i: offset i + 1 on partition 0 of every topic; nothing on partition 1.
  for (const [i, g] of groups.entries()) await commitGroupOffsets(kafka, g, topics.map((topic) => ({ topic, partitions: [{ partition: 0, offset: i + 1 }] })));
});

afterAll(async () => {
  await withAdmin(kafka, spec.name, async (a) => {
    await a.deleteGroups(groups).catch(() => undefined);
    await a.deleteTopics({ topics }).catch(() => undefined);
  });
});

describe('committed offsets of a group on several topics', () => {
  it('every topic with a commit is answered, groups read at once on a fresh client, again and again', async () => {
    for (let round = 0; round < 15; round++) {
      const answers = await withAdmin(kafkaFor(spec, 'test-committed-read'), spec.name, (a) => Promise.all(groups.map((g) => fetchCommittedOffsets(a, g, topics))));
      for (const [i, r] of answers.entries()) {
        const committed = r.flatMap((t) => t.partitions.filter((p) => Number(p.offset) >= 0).map((p) => `${t.topic}/${p.partition}=${p.offset}`)).sort();
        expect(committed, `round ${round}, group ${i}`).toEqual(topics.map((t) => `${t}/0=${i + 1}`).sort());
      }
    }
  });

  it('a topic the group never committed on, or one that does not exist, is no offset and no error', async () => {
    const r = await withAdmin(kafka, spec.name, (a) => fetchCommittedOffsets(a, groups[0]!, [topics[0]!, unique('co-absent')]));
    expect(r.flatMap((t) => t.partitions.filter((p) => Number(p.offset) >= 0).map((p) => `${t.topic}/${p.partition}`))).toEqual([`${topics[0]}/0`]);
  });
});
