/** The inventory's pure part: which znodes count, and the differences between two inventories. */
import { describe, expect, it } from 'vitest';
import { canonical, describeDifference, inventoryDiff, kafkaZnodeValue, PRESENCE_ONLY, registryZnodeValue } from '../../src/drills/inventory.pure';
import { drillStreamTopic, isDrillStreamTopic } from '../../src/drills/ids.pure';
import { isOwnScratchTopic } from '../../src/kafka/ownGroups';
import type { Inventory } from '../../src/drills/records';

const inv = (over: Partial<Inventory> = {}): Inventory => ({
  takenAt: '2026-12-03T10:00:00.000Z',
  cluster: 'standby',
  topics: {
    orders: { partitions: 3, replicationFactor: 1, configs: { 'retention.ms': '1000', 'cleanup.policy': 'delete' } },
    __consumer_offsets: { partitions: 50, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } },
  },
  groups: { billing: { 'orders/0': 10, 'orders/1': 12 }, idle: {} },
  znodes: { '/standby/config/topics/orders': 'a'.repeat(64), '/standby/brokers/ids': PRESENCE_ONLY },
  brokerConfigs: { '1': { 'log.cleaner.threads': '2' }, '2': {} },
  ...over,
});

describe('kafkaZnodeValue', () => {
  const h = 'f'.repeat(64);
  it.each([
    ['/config/topics/orders', false, h],
    ['/brokers/topics/orders', false, h],
    ['/cluster/id', false, h],
    ['/brokers/ids', false, PRESENCE_ONLY],
    ['/admin', false, PRESENCE_ONLY],
    ['/config/changes', false, PRESENCE_ONLY],
    ['/controller_epoch', false, PRESENCE_ONLY],
    ['/latest_producer_id_block', false, PRESENCE_ONLY],
    ['/brokers/topics/orders/partitions/0/state', false, PRESENCE_ONLY],
    ['/brokers/topics/orders/partitions/0', false, h],
    ['/brokers/ids/1', true, undefined],
    ['/controller', true, undefined],
    ['/admin/delete_topics/orders', false, undefined],
    ['/config/changes/config_change_0000000007', false, undefined],
    ['/isr_change_notification/isr_change_0000000001', false, undefined],
    // ACL change notifications (Kafka deletes them after 15 min) are left out; the ACLs themselves count (a failover's fence).
    ['/kafka-acl-changes', false, PRESENCE_ONLY],
    ['/kafka-acl-changes/acl_changes_0000000003', false, undefined],
    ['/kafka-acl-extended-changes/acl_changes_0000000001', false, undefined],
    ['/kafka-acl/Topic/orders', false, h],
    ['/lifeboat-drill', false, undefined],
    ['/lifeboat-drill/drill-x', false, undefined],
    ['/some/app/node', true, undefined],
  ] as const)('%s (ephemeral %s) → %s', (rel, eph, want) => {
    expect(kafkaZnodeValue(rel, eph, h)).toBe(want);
  });

  it('leaves out the topics its predicate names, with everything below them, and nothing else', () => {
    const leftOut = (t: string) => t === 'orders-x';
    expect(kafkaZnodeValue('/brokers/topics/orders-x', false, h, leftOut)).toBeUndefined();
    expect(kafkaZnodeValue('/brokers/topics/orders-x/partitions/0', false, h, leftOut)).toBeUndefined();
    expect(kafkaZnodeValue('/config/topics/orders-x', false, h, leftOut)).toBeUndefined();
    expect(kafkaZnodeValue('/config/topics/orders-xy', false, h, leftOut)).toBe(h);
    // Without a predicate every topic counts.
    expect(kafkaZnodeValue('/config/topics/orders-x', false, h)).toBe(h);
  });

  it("any drill's stream topic and Lifeboat's probe scratch topics are Lifeboat's own; other topics are not", () => {
    const own = (t: string) => isDrillStreamTopic(t) || isOwnScratchTopic(t);
    expect(kafkaZnodeValue('/brokers/topics/lifeboat-drill-x', false, h, own)).toBeUndefined();
    expect(kafkaZnodeValue('/config/topics/lifeboat-drill-drill-staging-other', false, h, own)).toBeUndefined();
    expect(kafkaZnodeValue('/brokers/topics/lifeboat-probe-1a2b3c4d', false, h, own)).toBeUndefined();
    expect(kafkaZnodeValue('/config/topics/lifeboat-probe-tp-1a2b3c4d', false, h, own)).toBeUndefined();
    expect(kafkaZnodeValue('/brokers/topics/lifeboat-probe-1a2b3c4d/partitions/0/state', false, h, own)).toBeUndefined();
    expect(kafkaZnodeValue('/config/topics/orders-probe', false, h, own)).toBe(h);
    expect(kafkaZnodeValue('/config/topics/orders-lifeboat-drill-x', false, h, own)).toBe(h);
    expect(isDrillStreamTopic(drillStreamTopic('drill-staging-cluster-lost-20261205T000000Z'))).toBe(true);
  });

  it('registry nodes count unless ephemeral', () => {
    expect(registryZnodeValue(false, h)).toBe(h);
    expect(registryZnodeValue(true, h)).toBeUndefined();
  });
});

describe('inventoryDiff', () => {
  it('is empty for identical inventories whatever their times and key order', () => {
    const a = inv();
    const b = inv({ takenAt: '2026-12-03T11:00:00.000Z', topics: { orders: { partitions: 3, replicationFactor: 1, configs: { 'cleanup.policy': 'delete', 'retention.ms': '1000' } }, __consumer_offsets: a.topics.__consumer_offsets! } });
    expect(inventoryDiff(a, b)).toEqual([]);
    expect(inventoryDiff(a, a)).toEqual([]);
  });

  it('names every difference, by area then key', () => {
    const before = inv();
    const after = inv({
      topics: { orders: { partitions: 3, replicationFactor: 1, configs: { 'cleanup.policy': 'delete' } }, payments: { partitions: 1, replicationFactor: 1, configs: {} } },
      groups: { billing: { 'orders/0': 10, 'orders/1': 11 } },
      znodes: { '/standby/config/topics/orders': 'b'.repeat(64) },
      brokerConfigs: { '1': { 'log.cleaner.threads': '2' }, '2': { '(broker)': 'not live' } },
    });
    expect(inventoryDiff(before, after)).toEqual([
      { area: 'topics', key: '__consumer_offsets', change: 'removed', before: '50 partitions, replication factor 1, cleanup.policy=compact' },
      { area: 'topics', key: 'orders', change: 'changed', before: '3 partitions, replication factor 1, cleanup.policy=delete, retention.ms=1000', after: '3 partitions, replication factor 1, cleanup.policy=delete' },
      { area: 'topics', key: 'payments', change: 'added', after: '1 partition, replication factor 1' },
      { area: 'groups', key: 'billing orders/1', change: 'changed', before: '12', after: '11' },
      { area: 'groups', key: 'idle', change: 'removed', before: '(none)' },
      { area: 'znodes', key: '/standby/brokers/ids', change: 'removed', before: PRESENCE_ONLY },
      { area: 'znodes', key: '/standby/config/topics/orders', change: 'changed', before: 'aaaaaaaaaaaa', after: 'bbbbbbbbbbbb' },
      { area: 'brokerConfigs', key: '2', change: 'removed', before: '(none)' },
      { area: 'brokerConfigs', key: '2 (broker)', change: 'added', after: 'not live' },
    ]);
  });

  it('is symmetric: before and after swapped give the opposite changes', () => {
    const a = inv();
    const b = inv({ groups: { billing: { 'orders/0': 10 } }, znodes: {} });
    const ab = inventoryDiff(a, b);
    const ba = inventoryDiff(b, a);
    expect(ab).toHaveLength(ba.length);
    const flip = { added: 'removed', removed: 'added', changed: 'changed' } as const;
    for (const d of ab) expect(ba).toContainEqual({ area: d.area, key: d.key, change: flip[d.change], ...(d.after !== undefined ? { before: d.after } : {}), ...(d.before !== undefined ? { after: d.before } : {}) });
  });

  it("does not count Kafka creating its internal topics on first use (a drill's reader on a fresh cluster), but counts losing them", () => {
    const offsets = { partitions: 10, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } };
    const born = {
      '/standby/brokers/topics/__consumer_offsets': 'a1',
      '/standby/brokers/topics/__consumer_offsets/partitions/0/state': 'present',
      '/standby/config/topics/__consumer_offsets': 'b2',
    };
    const { __consumer_offsets: _existing, ...own } = inv().topics;
    const before = inv({ topics: own });
    const after = inv({ topics: { ...before.topics, __consumer_offsets: offsets }, znodes: { ...before.znodes, ...born } });
    expect(inventoryDiff(before, after)).toEqual([]);
    const lost = inventoryDiff(after, before);
    expect(lost.map((d) => `${d.area} ${d.key} ${d.change}`)).toEqual([
      'topics __consumer_offsets removed',
      'znodes /standby/brokers/topics/__consumer_offsets removed',
      'znodes /standby/brokers/topics/__consumer_offsets/partitions/0/state removed',
      'znodes /standby/config/topics/__consumer_offsets removed',
    ]);
    // A topic of the target's own is still a difference when it appears.
    expect(inventoryDiff(before, inv({ topics: { ...before.topics, __mine: offsets } })).map((d) => d.key)).toEqual(['__mine']);
  });

  it('describes a difference in one line', () => {
    expect(describeDifference({ area: 'znodes', key: '/standby/x', change: 'changed', before: 'aaa', after: 'bbb' })).toBe('znodes /standby/x changed (aaa → bbb)');
    expect(describeDifference({ area: 'topics', key: 'orders', change: 'removed', before: '3 partitions' })).toBe('topics orders removed (was 3 partitions)');
  });

  it('canonical JSON sorts keys at every depth', () => {
    expect(canonical({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  });
});
