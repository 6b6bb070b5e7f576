/**
 * The drill target's inventory on the lab's standby (the drills' staging cluster), taken through the
 * activity as a worker runs it: two inventories of a quiet cluster are identical; a topic, a group's
 * offsets and a broker's dynamic config made in between are exactly the differences found; the
 * drill's own stream topic and ZooKeeper stream node are left out; a read writes nothing.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityDeps, createActivities } from '../../activities';
import { drillStreamTopic } from '../../src/drills/ids.pure';
import { inventoryDiff, PRESENCE_ONLY } from '../../src/drills/inventory.pure';
import type { Inventory } from '../../src/drills/records';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { ACL, chrootPath, create, exists, Id, Permission, remove, withZk } from '../../src/zookeeper/client';
import { deleteTree } from '../../src/zookeeper/deleteTree';
import { standbySpec, unique } from '../support/lab';
import { createTopicsReady } from '../support/kafka';

const spec = standbySpec();
const acts = createActivities(activityDeps());
const inventory = (drillId: string, excludeTopics?: string[]): Promise<Inventory> =>
  new MockActivityEnvironment().run(() => acts.drillInventoryActivity({ spec, drillId, excludeTopics }));
const admin = <T>(fn: Parameters<typeof withAdmin<T>>[2]) => withAdmin(kafkaFor(spec, 'test-inventory'), spec.name, fn);
const zkConnect = spec.zookeeper!.connect;
const open = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

describe('drill inventory on the standby', () => {
  const drillId = unique('drill-inv');
  const topic = unique('scratch-inv');
  const other = unique('scratch-inv-excluded');
  const stream = drillStreamTopic(drillId);
  // A probe's scratch topic (the drill's probe or a recovery's verifyCluster running beside the inventory).
  const probeTopic = `lifeboat-probe-${unique('inv')}`;
  const group = unique('inv-group');
  const ownGroups = [`lifeboat-read-${unique('inv')}`, `lifeboat-probe-${unique('inv')}`];
  const streamNode = `${spec.zookeeper!.chroot}/lifeboat-drill/${drillId}`;
  const CONFIG = 'log.cleaner.backoff.ms';
  let brokerDynamic: Record<string, string> = {};

  const setBrokerConfigs = (configs: Record<string, string>) =>
    admin((a) => a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }] }));

  beforeAll(async () => {
    // Groups' offsets live in __consumer_offsets, which Kafka makes on the first commit: make it before the baseline.
    const warm = unique('scratch-inv-warm');
    await createTopicsReady(spec, [{ topic: warm, numPartitions: 1, replicationFactor: 1 }]);
    await commitGroupOffsets(kafkaFor(spec, 'test-inventory'), `${warm}-g`, [{ topic: warm, partitions: [{ partition: 0, offset: 0 }] }]);
    await admin(async (a) => {
      await a.deleteGroups([`${warm}-g`]);
      await a.deleteTopics({ topics: [warm] });
    });
    // Deletion in ZooKeeper mode finishes after the call returns (the controller removes the topic's znodes): a baseline taken before would differ from the next.
    const zk = spec.zookeeper!;
    await withZk(zkConnect, async (c) => {
      for (const end = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 100))) {
        const left = await Promise.all([`/brokers/topics/${warm}`, `/config/topics/${warm}`, `/admin/delete_topics/${warm}`].map((p) => exists(c, chrootPath(zk.chroot, p))));
        if (left.every((x) => x === null)) break;
        if (Date.now() > end) throw new Error(`topic ${warm} still in ZooKeeper 60 s after its deletion`);
      }
    });
  }, 120_000);

  afterAll(async () => {
    await admin(async (a) => {
      await a.deleteGroups([group, ...ownGroups]).catch(() => {});
      const present = new Set(await a.listTopics());
      const mine = [topic, other, stream, probeTopic].filter((t) => present.has(t));
      if (mine.length) await a.deleteTopics({ topics: mine });
    });
    await setBrokerConfigs(brokerDynamic).catch(() => {});
    await withZk(zkConnect, async (zk) => {
      await deleteTree(zk, `${spec.zookeeper!.chroot}/lifeboat-drill/${drillId}`);
      // Its parent too when nothing else is in it (later tests take an empty chroot subtree for another drill's).
      await remove(zk, `${spec.zookeeper!.chroot}/lifeboat-drill`).catch(() => undefined);
    });
  }, 120_000);

  it('is the same twice; what changed in between is exactly what it finds; the drill stream and excluded topics are left out', async () => {
    const before = await inventory(drillId);
    expect(before.cluster).toBe('standby');
    expect(before.topics.__consumer_offsets).toMatchObject({ partitions: expect.any(Number), replicationFactor: 1, configs: expect.objectContaining({ 'cleanup.policy': 'compact' }) });
    expect(before.brokerConfigs).toHaveProperty('1');
    expect(before.znodes['/standby/cluster/id']).toMatch(/^[0-9a-f]{64}$/);
    expect(before.znodes['/standby/brokers/ids']).toBe(PRESENCE_ONLY);
    // Live registrations and the controller are not inventory.
    expect(Object.keys(before.znodes).filter((k) => k.startsWith('/standby/brokers/ids/') || k === '/standby/controller')).toEqual([]);
    brokerDynamic = before.brokerConfigs['1']!;
    expect(Object.values(brokerDynamic)).not.toContain('(sensitive)');

    expect(inventoryDiff(before, await inventory(drillId))).toEqual([]);

    // In between: a topic with a config, a group's offsets, a broker's dynamic config; and the drill's own things.
    await createTopicsReady(spec, [
      { topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '123456789' }] },
      { topic: stream, numPartitions: 1, replicationFactor: 1 },
      { topic: other, numPartitions: 1, replicationFactor: 1 },
      { topic: probeTopic, numPartitions: 1, replicationFactor: 1 },
    ]);
    const kafka = kafkaFor(spec, 'test-inventory');
    await commitGroupOffsets(kafka, group, [{ topic, partitions: [{ partition: 0, offset: 5 }, { partition: 1, offset: 7 }] }]);
    // A group that only read the drill's stream is the drill's.
    await commitGroupOffsets(kafka, `${group}-stream`, [{ topic: stream, partitions: [{ partition: 0, offset: 1 }] }]);
    // Lifeboat's own readers (a read-back, a probe) beside the inventory are not the target's groups.
    for (const own of ownGroups) await commitGroupOffsets(kafka, own, [{ topic, partitions: [{ partition: 0, offset: 2 }] }]);
    await setBrokerConfigs({ ...brokerDynamic, [CONFIG]: '15001' });
    // ZooKeeper mode: the broker applies a dynamic config when its change notification arrives, after the call returned.
    for (let end = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 100))) {
      const r = await admin((a) => a.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }], includeSynonyms: false }));
      if (r.resources[0]?.configEntries.find((c) => c.configName === CONFIG)?.configValue === '15001') break;
      if (Date.now() > end) throw new Error(`broker 1 did not apply ${CONFIG}=15001 within 60 s`);
    }
    await withZk(zkConnect, async (zk) => {
      if (!(await exists(zk, `${spec.zookeeper!.chroot}/lifeboat-drill`))) await create(zk, `${spec.zookeeper!.chroot}/lifeboat-drill`, null, open).catch(() => {});
      await create(zk, streamNode, Buffer.from('seq 1'), open);
    });

    const after = await inventory(drillId, [other]);
    for (const own of ownGroups) expect(after.groups[own]).toBeUndefined();
    await admin((a) => a.deleteGroups(ownGroups));
    expect(after.topics[stream]).toBeUndefined();
    expect(after.topics[other]).toBeUndefined();
    expect(after.topics[probeTopic]).toBeUndefined();
    const diff = inventoryDiff(before, after);
    expect(diff.filter((d) => d.area !== 'znodes')).toEqual([
      { area: 'topics', key: topic, change: 'added', after: '2 partitions, replication factor 1, retention.ms=123456789' },
      { area: 'groups', key: `${group} ${topic}/0`, change: 'added', after: '5' },
      { area: 'groups', key: `${group} ${topic}/1`, change: 'added', after: '7' },
      { area: 'brokerConfigs', key: `1 ${CONFIG}`, change: 'added', after: '15001' },
      ...(Object.keys(brokerDynamic).length === 0 ? [{ area: 'brokerConfigs', key: '1', change: 'removed', before: '(none)' }] : []),
    ].sort((a, b) => ['topics', 'groups', 'znodes', 'brokerConfigs'].indexOf(a.area) - ['topics', 'groups', 'znodes', 'brokerConfigs'].indexOf(b.area) || a.key.localeCompare(b.key)));
    const zn = diff.filter((d) => d.area === 'znodes');
    // The new topic's nodes (assignment, config, partitions) and the broker's dynamic config node; nothing of the stream, the excluded topic or the probe's.
    expect(zn.map((d) => d.key)).toEqual(
      expect.arrayContaining([`/standby/brokers/topics/${topic}`, `/standby/config/topics/${topic}`, `/standby/brokers/topics/${topic}/partitions/1/state`]),
    );
    for (const d of zn) expect(d.key.includes(topic) || d.key.startsWith('/standby/config/brokers')).toBe(true);
    expect(zn.find((d) => d.key === `/standby/brokers/topics/${topic}/partitions/1/state`)).toMatchObject({ change: 'added', after: PRESENCE_ONLY });
  });
});

// The listing is checked against ZooKeeper (src/kafka/topicListing.ts, test/kafka/topicListing.int): a topic
// ZooKeeper no longer has is a difference at once, with no wait for the brokers to list it.
describe('drill inventory after a topic is deleted', () => {
  it('reports the topic removed without waiting for it', async () => {
    const gone = unique('scratch-inventory-gone');
    await createTopicsReady(spec, [{ topic: gone, numPartitions: 2, replicationFactor: 1 }]);
    const before = await inventory('test');
    expect(before.topics[gone]).toMatchObject({ partitions: 2 });
    await admin((a) => a.deleteTopics({ topics: [gone], timeout: 30_000 }));
    await withZk(zkConnect, async (zk) => {
      for (const end = Date.now() + 30_000; await exists(zk, chrootPath(spec.zookeeper!.chroot, `/brokers/topics/${gone}`)); ) {
        if (Date.now() > end) throw new Error(`${gone} still in ZooKeeper after 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    const t = Date.now();
    const after = await inventory('test');
    // Well below the listing's 10 s wait, which a topic gone from ZooKeeper does not start.
    expect(Date.now() - t).toBeLessThan(9_000);
    expect(after.topics[gone]).toBeUndefined();
    expect(inventoryDiff(before, after).filter((d) => d.area === 'topics')).toEqual([{ area: 'topics', key: gone, change: 'removed', before: '2 partitions, replication factor 1' }]);
  }, 90_000);
});
