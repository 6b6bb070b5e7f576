/**
 * Migration pre-checks, primary → next: what they find, what they refuse (same cluster, a missing
 * topic, a target topic with data the mirror did not write, a group active on the target), and that
 * they change nothing anywhere.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, type Kafka, ResourcePatternTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { migrationPrechecks } from '../../src/migration';
import { createTopicsReady } from '../support/kafka';
import { nextSpec, primarySpec, unique } from '../support/lab';
import { produceNumbered } from '../kafka/mirror/mirrorSupport';

const primary = kafkaFor(primarySpec(), 'test-mchecks-src');
const next = kafkaFor(nextSpec(), 'test-mchecks-dst');
const topic = unique('mc-orders');
const clash = unique('mc-clash');
const group = unique('mc-group');

async function snapshot(kafka: Kafka): Promise<{ topics: string[]; groups: string[]; acls: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const acls = await admin.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
    return {
      topics: (await admin.listTopics()).filter((t) => t.startsWith('mc-') || t.startsWith('__lifeboat')).sort(),
      groups: (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith('mc-')).sort(),
      acls: acls.resources.reduce((n, r) => n + r.acls.length, 0),
    };
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  await createTopicsReady(primarySpec(), [topic, clash].map((t) => ({ topic: t, numPartitions: 3, replicationFactor: 3 })), { kafka: primary });
  await produceNumbered(primary, topic, 3000, 3, 200);
  await commitGroupOffsets(primary, group, [{ topic, partitions: [0, 1, 2].map((partition) => ({ partition, offset: 100 })) }]);
}, 120_000);

afterAll(async () => {
  for (const k of [primary, next]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteGroups([group]).catch(() => {});
    await admin.deleteTopics({ topics: [topic, clash] }).catch(() => {});
    await admin.disconnect();
  }
});

describe('migration pre-checks', () => {
  it('counts topics, records, bytes and groups, checks the target, and changes nothing', async () => {
    const before = [await snapshot(primary), await snapshot(next)];
    const r = await migrationPrechecks(primarySpec(), nextSpec(), { topics: [topic] });
    expect(r.problems).toEqual([]);
    expect(r.sourceClusterId).not.toBe(r.targetClusterId);
    expect(r.topics).toEqual([{ topic, partitions: 3, records: 3000, bytes: expect.any(Number) }]);
    expect(r.topics[0]!.bytes).toBeGreaterThan(3000 * 200);
    expect(r.groups).toEqual([group]);
    expect(r.checks.map((c) => c.name)).toEqual(['two clusters', 'topics and groups', 'target capacity', 'target disk', 'target topics', 'groups idle on target', 'source authorizer']);
    const byName = Object.fromEntries(r.checks.map((c) => [c.name, c]));
    expect(byName['topics and groups']!.detail).toMatch(/^1 topic, 3 partitions, 3000 offsets .*; 1 consumer group with offsets on them$/);
    // The lab's next has one node: topics of 3 replicas get 1 there, a warning, not a refusal.
    expect(byName['target capacity']).toMatchObject({ ok: false, detail: 'target next has 1 broker; the source\'s topics have up to 3 replicas' });
    expect(r.warnings).toEqual([expect.stringMatching(/^target next has 1 broker but source topics have 3 replicas/)]);
    expect(byName['target disk']!.ok).toBe(true);
    expect(byName['target disk']!.detail).toMatch(/free on the target's log dirs here \(1\); the selection needs about/);
    expect(byName['target topics']).toEqual({ name: 'target topics', ok: true, detail: '1 to create, 0 already there (written by this mirror)' });
    expect(byName['source authorizer']).toMatchObject({ ok: true, detail: expect.stringMatching(/^present .*allow.everyone.if.no.acl.found true/) });
    // Read only: no topic (not even the mirror's state topic), group or ACL appeared.
    expect([await snapshot(primary), await snapshot(next)]).toEqual(before);
  }, 120_000);

  it('refuses the same cluster, a missing topic, foreign data on the target and a group active there', async () => {
    const same = await migrationPrechecks(primarySpec(), { ...primarySpec(), name: 'primary-again' }, { topics: [topic] });
    expect(same.problems).toEqual([expect.stringMatching(/^source "primary" and target "primary-again" are the same Kafka cluster \(cluster id /)]);

    const missing = await migrationPrechecks(primarySpec(), nextSpec(), { topics: [unique('mc-none')] });
    expect(missing.problems).toEqual([expect.stringMatching(/^the source has no topic "mc-none-/)]);

    // A topic on next with a record the mirror did not write, and a consumer of the group running on next.
    await createTopicsReady(nextSpec(), [{ topic: clash, numPartitions: 3, replicationFactor: 1 }], { kafka: next });
    const producer = next.producer();
    await producer.connect();
    await producer.send({ topic: clash, messages: [{ partition: 1, value: 'foreign' }] });
    await producer.disconnect();
    await createTopicsReady(nextSpec(), [{ topic, numPartitions: 3, replicationFactor: 1 }], { kafka: next });
    const consumer = next.consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic });
    let joined!: () => void;
    const isIn = new Promise<void>((res) => (joined = res));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    void consumer.run({ autoCommit: false, eachMessage: async () => {} });
    try {
      await isIn;
      const r = await migrationPrechecks(primarySpec(), nextSpec(), { pattern: `${topic}|${clash}` });
      expect(r.problems).toEqual([
        `target topic ${clash} partition 1 holds offsets 0..0 this mirror did not write: delete the topic (or its records) on the target first`,
        `consumer group ${group} is active on next: stop its consumers there (they would commit over the migrated offsets)`,
      ]);
    } finally {
      await consumer.disconnect();
    }
  }, 120_000);
});
