/**
 * Kafka metadata against the lab: export from the 3-broker primary, apply to the 1-broker standby,
 * and check the standby with its own admin client. Only uniquely named topics, groups and ACLs.
 */
import { type Admin, AclOperationTypes, AclPermissionTypes, AclResourceTypes, ConfigResourceTypes, type Kafka, ResourcePatternTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { type AclExport, applyPlan, exportMetadata, type KafkaMetadataExport, planApply } from '../../src/kafka/metadata';
import { reachableKafka } from '../../src/kafka/admin';
import { offsetMapTranslator } from '../../src/kafka/offsets';
import { LifeboatError } from '../../src/errors';
import { primarySpec, standbySpec, unique } from '../support/lab';
import { createTopicsReady } from '../support/kafka';

const run = unique('md');
const topicA = `${run}-orders`;
const topicB = `${run}-audit`;
const conflictTopic = `${run}-conflict`;
const groupA = `${run}-group-a`;
const groupB = `${run}-group-b`;
const principal = `User:${run}-reader`;
const mine = (t: string) => t.startsWith(run);
const myAcl = (a: AclExport) => a.resourceName.startsWith(run);

let primary: Kafka;
let standby: Kafka;
let pAdmin: Admin;
let sAdmin: Admin;

const aclFilter = (resourceName: string, resourceType: AclResourceTypes) => ({
  resourceType,
  resourceName,
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal,
  host: '*',
  operation: AclOperationTypes.ANY,
  permissionType: AclPermissionTypes.ANY,
});

async function produce(kafka: Kafka, topic: string, perPartition: number[]) {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: perPartition.flatMap((n, partition) => Array.from({ length: n }, (_, i) => ({ partition, key: `k${i}`, value: `v${i}` }))),
  });
  await producer.disconnect();
}

async function committed(admin: Admin, groupId: string, topic: string) {
  const r = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries(r[0]!.partitions.map((p) => [p.partition, p.offset]));
}

beforeAll(async () => {
  primary = kafkaFor(primarySpec(), 'md-test');
  standby = kafkaFor(standbySpec(), 'md-test');
  pAdmin = primary.admin();
  sAdmin = standby.admin();
  await Promise.all([pAdmin.connect(), sAdmin.connect()]);
  await createTopicsReady(primarySpec(), [
    {
      topic: topicA,
      numPartitions: 3,
      replicationFactor: 3,
      configEntries: [
        { name: 'retention.ms', value: '123456789' },
        { name: 'min.insync.replicas', value: '2' },
      ],
    },
    { topic: topicB, numPartitions: 2, replicationFactor: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: conflictTopic, numPartitions: 3, replicationFactor: 1 },
  ], { kafka: primary });
  await createTopicsReady(standbySpec(), [{ topic: conflictTopic, numPartitions: 1, replicationFactor: 1 }], { kafka: standby });
  await produce(primary, topicA, [10, 7, 4]);
  await produce(primary, topicB, [5, 5]);
  // Committed offsets without a live consumer: exactly what an export must carry over.
  await commitGroupOffsets(primary, groupA, [{ topic: topicA, partitions: [{ partition: 0, offset: 6 }, { partition: 1, offset: 7 }, { partition: 2, offset: 1 }] }]);
  await commitGroupOffsets(primary, groupB, [{ topic: topicB, partitions: [{ partition: 0, offset: 3 }, { partition: 1, offset: 5 }] }]);
  await pAdmin.createAcls({
    acl: [
      { ...aclFilter(topicA, AclResourceTypes.TOPIC), operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
      { ...aclFilter(groupA, AclResourceTypes.GROUP), operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
    ],
  });
});

afterAll(async () => {
  for (const admin of [pAdmin, sAdmin]) {
    await admin.deleteAcls({ filters: [aclFilter(topicA, AclResourceTypes.TOPIC), aclFilter(groupA, AclResourceTypes.GROUP)] }).catch(() => {});
    await admin.deleteGroups([groupA, groupB]).catch(() => {});
    const existing = new Set(await admin.listTopics());
    await admin.deleteTopics({ topics: [topicA, topicB, conflictTopic].filter((t) => existing.has(t)) }).catch(() => {});
    await admin.disconnect();
  }
});

describe('metadata export', () => {
  let exp: KafkaMetadataExport;
  beforeAll(async () => {
    exp = await exportMetadata(primary, { name: 'primary' });
  });

  it('captures cluster id, brokers, topics with assignment and only topic-level configs', () => {
    expect(exp.cluster.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(exp.cluster.brokers.map((b) => b.nodeId)).toEqual([1, 2, 3]);
    expect(exp.topics.some((t) => t.name.startsWith('__'))).toBe(false);
    const a = exp.topics.find((t) => t.name === topicA)!;
    expect(a).toMatchObject({ partitions: 3, replicationFactor: 3, configs: { 'retention.ms': '123456789', 'min.insync.replicas': '2' } });
    // Broker-level settings (segment.bytes from log.segment.bytes in server.properties) are not topic configs.
    expect(Object.keys(a.configs).sort()).toEqual(['min.insync.replicas', 'retention.ms']);
    expect(a.assignment.map((p) => p.replicas.slice().sort())).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    expect(exp.topics.find((t) => t.name === topicB)).toMatchObject({ partitions: 2, replicationFactor: 2, configs: { 'cleanup.policy': 'compact' } });
  });

  it('captures committed offsets per partition and ACLs by name', () => {
    const g = exp.groups.find((x) => x.groupId === groupA)!;
    expect(g.offsets.map((o) => [o.topic, o.partition, o.offset])).toEqual([
      [topicA, 0, '6'],
      [topicA, 1, '7'],
      [topicA, 2, '1'],
    ]);
    expect(exp.aclsCaptured).toBe(true);
    expect(exp.acls.filter(myAcl)).toEqual([
      { resourceType: 'GROUP', resourceName: groupA, patternType: 'LITERAL', principal, host: '*', operation: 'READ', permission: 'ALLOW' },
      { resourceType: 'TOPIC', resourceName: topicA, patternType: 'LITERAL', principal, host: '*', operation: 'READ', permission: 'ALLOW' },
    ]);
  });
});

describe('metadata apply primary → standby', () => {
  it('plans with warnings, touches nothing in dry-run, then applies topics, configs, offsets (translated) and ACLs', async () => {
    const exp = await exportMetadata(primary, { name: 'primary' });
    // groupB's offsets go through a data restore's offset map (records re-produced with new offsets).
    const translator = offsetMapTranslator({ [topicB]: { '0': { '0': 100, '2': 101, '4': 102 }, '1': { '0': 200, '1': 201 } } });
    const opts = { name: 'standby', topics: mine, acls: myAcl, offsetTranslator: translator };
    const plan = await planApply(exp, standby, opts);

    const a = plan.topics.find((t) => t.topic === topicA)!;
    expect(a).toMatchObject({ action: 'create', partitions: 3, replicationFactor: 1, capturedReplicationFactor: 3 });
    expect(a.configs['min.insync.replicas']).toBe('1');
    expect(plan.warnings).toContain(`topic ${topicA}: replication factor 3 lowered to 1 (the target has 1 broker(s))`);
    expect(plan.warnings).toContain(`topic ${topicB}: replication factor 2 lowered to 1 (the target has 1 broker(s))`);
    expect(plan.topics.find((t) => t.topic === conflictTopic)).toMatchObject({ action: 'partition-conflict', partitions: 3, targetPartitions: 1 });
    expect(plan.warnings.some((w) => w.includes(conflictTopic) && w.includes('left untouched'))).toBe(true);
    const gb = plan.groups.find((g) => g.groupId === groupB)!;
    // Committed 3 on p0 → next unconsumed original record is 4 → new offset 102; 5 on p1 is past the end → 202.
    expect(gb.offsets.map((o) => [o.partition, o.original, o.offset])).toEqual([
      [0, '3', '102'],
      [1, '5', '202'],
    ]);
    // groupA has no map entry for topicA: translation unknown, so those offsets are skipped and reported.
    expect(plan.groups.find((g) => g.groupId === groupA)).toMatchObject({ action: 'nothing-to-set' });
    expect(plan.groups.find((g) => g.groupId === groupA)!.skipped).toHaveLength(3);
    expect(plan.acls.map((x) => x.action)).toEqual(['create', 'create']);

    // The plan alone changed nothing on the standby.
    const before = await sAdmin.listTopics();
    expect(before).not.toContain(topicA);
    expect((await sAdmin.describeGroups([groupB])).groups[0]!.state).toBe('Dead');

    const result = await applyPlan(standby, plan, { name: 'standby' });
    expect(result.failures).toEqual([]);
    expect(result.topicsCreated.sort()).toEqual([topicB, topicA].sort());
    expect(result).toMatchObject({ groupsSet: [groupB], offsetsSet: 2, aclsCreated: 2 });

    // Check the standby with its own admin client.
    const md = await sAdmin.fetchTopicMetadata({ topics: [topicA, topicB, conflictTopic] });
    const byName = new Map(md.topics.map((t) => [t.name, t]));
    expect(byName.get(topicA)!.partitions).toHaveLength(3);
    expect(byName.get(topicA)!.partitions.every((p) => p.replicas.length === 1)).toBe(true);
    expect(byName.get(topicB)!.partitions).toHaveLength(2);
    expect(byName.get(conflictTopic)!.partitions).toHaveLength(1);
    const cfg = await sAdmin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topicA }, { type: ConfigResourceTypes.TOPIC, name: topicB }], includeSynonyms: false });
    const value = (topic: string, name: string) => cfg.resources.find((r) => r.resourceName === topic)!.configEntries.find((c) => c.configName === name)?.configValue;
    expect(value(topicA, 'retention.ms')).toBe('123456789');
    expect(value(topicA, 'min.insync.replicas')).toBe('1');
    expect(value(topicB, 'cleanup.policy')).toBe('compact');
    expect(await committed(sAdmin, groupB, topicB)).toEqual({ 0: '102', 1: '202' });
    const acls = await sAdmin.describeAcls({ ...aclFilter(topicA, AclResourceTypes.TOPIC), principal: undefined, host: undefined });
    expect(acls.resources.flatMap((r) => r.acls.map((x) => [r.resourceName, x.principal, x.operation, x.permissionType]))).toEqual([
      [topicA, principal, AclOperationTypes.READ, AclPermissionTypes.ALLOW],
    ]);

    // Without a translator, offsets go over as captured; a second plan sees everything in place.
    const again = await planApply(exp, standby, { name: 'standby', topics: mine, acls: myAcl });
    expect(again.summary).toMatchObject({ topicsToCreate: 0, topicsExisting: 2, partitionConflicts: 1, aclsToCreate: 0 });
    const ga = again.groups.find((g) => g.groupId === groupA)!;
    expect(ga.offsets.map((o) => o.offset)).toEqual(['6', '7', '1']);
    expect(ga.notes.some((n) => n.includes('past the target'))).toBe(true);
    const second = await applyPlan(standby, again);
    expect(second).toMatchObject({ topicsCreated: [], aclsCreated: 0, failures: [] });
    expect(await committed(sAdmin, groupA, topicA)).toEqual({ 0: '6', 1: '7', 2: '1' });
  });

  it('leaves the offsets of a group with live members alone and says so', async () => {
    const exp = await exportMetadata(primary, { name: 'primary' });
    const consumer = standby.consumer({ groupId: groupB, sessionTimeout: 10_000 });
    await consumer.connect();
    // A member of groupB that reads topicA: groupB's committed topicB offsets stay exactly as they are unless apply moves them.
    await consumer.subscribe({ topic: topicA });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({ eachMessage: async () => {} });
    await joined;
    try {
      const before = await committed(sAdmin, groupB, topicB);
      const plan = await planApply(exp, standby, { name: 'standby', topics: mine, acls: myAcl });
      const g = plan.groups.find((x) => x.groupId === groupB)!;
      expect(g.action).toBe('skip-active');
      expect(g.targetMembers).toBe(1);
      expect(plan.warnings.some((w) => w.startsWith(`group ${groupB}: 1 live member(s)`))).toBe(true);
      const result = await applyPlan(standby, plan);
      expect(result.groupsSet).not.toContain(groupB);
      expect(result.failures).toEqual([]);
      expect(await committed(sAdmin, groupB, topicB)).toEqual(before);
      expect(before).toEqual({ 0: '3', 1: '5' });
    } finally {
      await consumer.disconnect();
    }
  });
});

describe('metadata bad input', () => {
  it('an unreachable bootstrap server is a clear Unreachable error within seconds', async () => {
    const spec = { ...standbySpec(), kafka: { ...standbySpec().kafka, bootstrapServers: ['127.0.0.1:1'] } };
    const t0 = Date.now();
    const err = await reachableKafka(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).type).toBe('Unreachable');
    expect((err as LifeboatError).message).toMatch(/cannot reach Kafka cluster "standby" \(127\.0\.0\.1:1 ECONNREFUSED\)/);
    expect(Date.now() - t0).toBeLessThan(2_000);
    // Straight through kafkajs (no pre-check) it is the same error type, after kafkajs's retries.
    const direct = await exportMetadata(kafkaFor(spec), { name: 'standby' }).catch((e: unknown) => e);
    expect((direct as LifeboatError).type).toBe('Unreachable');
  });
});
