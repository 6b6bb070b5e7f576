/**
 * ZooKeeper restored from a set while the brokers keep their (newer) disks: which of the disks'
 * topics are registered again, with which id, replicas and leader epoch (src/recovery/adopt.pure.ts),
 * and when a full-cluster recovery does it at all (adoptWork).
 */
import { describe, expect, it } from 'vitest';
import type { BackupSet } from '../../src/backup/parts';
import { parseSpec } from '../../src/config/spec';
import { adoptionPlan, type BrokerDisk, INTERNAL_TOPIC_CONFIGS, lastLeaderEpoch, parsePartitionMetadata } from '../../src/recovery/adopt.pure';
import { adoptWork } from '../../src/recovery/plan.pure';

const disk = (brokerId: number, ...ps: [topic: string, partition: number, topicId: string | undefined, lastEpoch: number][]): BrokerDisk => ({
  brokerId,
  partitions: ps.map(([topic, partition, topicId, lastEpoch]) => ({ topic, partition, topicId, lastEpoch })),
});

describe('adoptionPlan', () => {
  it('registers __consumer_offsets that the set predates, with its id, the brokers holding it and Kafka’s own config (the fresh-lab zookeeper-data-lost drill)', () => {
    const zk = { orders: { topicId: 'ORD', partitions: { '0': [1], '1': [1] } } };
    const plan = adoptionPlan(zk, [disk(1, ['orders', 0, 'ORD', 0], ['orders', 1, 'ORD', 0], ['__consumer_offsets', 0, 'CO', 0], ['__consumer_offsets', 1, 'CO', -1])]);
    expect(plan.problems).toEqual([]);
    expect(plan.topics).toEqual([
      {
        name: '__consumer_offsets',
        topicId: 'CO',
        kind: 'missing',
        assignment: { '0': [1], '1': [1] },
        partitions: [
          { partition: 0, replicas: [1], leaderEpoch: 1 },
          { partition: 1, replicas: [1], leaderEpoch: 0 },
        ],
        config: INTERNAL_TOPIC_CONFIGS.__consumer_offsets,
      },
    ]);
  });

  it('a user topic created after the set: every replica where its directories are, leadership spread, the epoch past the newest on any replica; its lost overrides said', () => {
    const plan = adoptionPlan({}, [disk(1, ['late', 0, 'L', 3], ['late', 1, 'L', 2]), disk(2, ['late', 0, 'L', 4], ['late', 1, 'L', 2]), disk(3, ['late', 1, 'L', 5])]);
    expect(plan.topics).toHaveLength(1);
    const t = plan.topics[0]!;
    expect(t.kind).toBe('missing');
    expect(t.config).toEqual({});
    expect(t.assignment).toEqual({ '0': [1, 2], '1': [2, 3, 1] });
    expect(t.partitions.map((p) => p.leaderEpoch)).toEqual([5, 6]);
    expect(plan.problems).toEqual([expect.stringContaining('topic late was created after the set')]);
  });

  it('a topic deleted and created again after the set: the disks’ id wins, config left to the set', () => {
    const plan = adoptionPlan({ t: { topicId: 'OLD', partitions: { '0': [1], '1': [1], '2': [1] } } }, [disk(1, ['t', 0, 'NEW', 0])]);
    expect(plan.topics).toEqual([{ name: 't', topicId: 'NEW', kind: 'other-id', assignment: { '0': [1] }, partitions: [{ partition: 0, replicas: [1], leaderEpoch: 1 }], config: undefined }]);
    expect(plan.problems).toEqual([expect.stringContaining('deleted and created again after the set (id NEW on the disks, OLD in the set)')]);
  });

  it('partitions added after the set join the assignment ZooKeeper has; the others stay as restored', () => {
    const plan = adoptionPlan({ t: { topicId: 'T', partitions: { '0': [1, 2], '1': [2, 1] } } }, [disk(1, ['t', 0, 'T', 0], ['t', 1, 'T', 0], ['t', 2, 'T', 1]), disk(2, ['t', 0, 'T', 0], ['t', 1, 'T', 0], ['t', 2, 'T', 1])]);
    expect(plan.topics).toEqual([{ name: 't', topicId: 'T', kind: 'more-partitions', assignment: { '0': [1, 2], '1': [2, 1], '2': [1, 2] }, partitions: [{ partition: 2, replicas: [1, 2], leaderEpoch: 2 }] }]);
    expect(plan.problems).toEqual([]);
  });

  it('nothing to do when ZooKeeper knows every topic on the disks as they are', () => {
    expect(adoptionPlan({ a: { topicId: 'A', partitions: { '0': [1] } } }, [disk(1, ['a', 0, 'A', 7])])).toEqual({ topics: [], problems: [] });
    // ZooKeeper without ids (written before Kafka 2.8) is the same topic.
    expect(adoptionPlan({ a: { partitions: { '0': [1] } } }, [disk(1, ['a', 0, 'A', 7])])).toEqual({ topics: [], problems: [] });
    // No id on the disk, ZooKeeper knows the topic: left as it is.
    expect(adoptionPlan({ a: { topicId: 'A', partitions: { '0': [1] } } }, [disk(1, ['a', 0, undefined, 0])])).toEqual({ topics: [], problems: [] });
  });

  it('refuses what it cannot tell: disks disagreeing on the id, no id at all, partitions that are not 0..n-1', () => {
    const plan = adoptionPlan({}, [disk(1, ['two', 0, 'X', 0], ['noid', 0, undefined, 0], ['gap', 0, 'G', 0], ['gap', 2, 'G', 0]), disk(2, ['two', 0, 'Y', 0])]);
    expect(plan.topics).toEqual([]);
    expect(plan.problems).toEqual([
      expect.stringMatching(/^topic gap .*partitions 0, 2, not 0\.\.1/),
      expect.stringMatching(/^topic noid .*no topic id/),
      expect.stringMatching(/^topic two .*several topic ids \(X, Y\)/),
    ]);
  });
});

describe('log-dir files', () => {
  it('partition.metadata gives the topic id; leader-epoch-checkpoint the newest epoch', () => {
    expect(parsePartitionMetadata('version: 0\ntopic_id: Wj8qvDxbQU2O4Ia4fN0GBg\n')).toBe('Wj8qvDxbQU2O4Ia4fN0GBg');
    expect(parsePartitionMetadata('')).toBeUndefined();
    expect(lastLeaderEpoch('0\n3\n0 0\n4 120\n7 300\n')).toBe(7);
    expect(lastLeaderEpoch('0\n0\n')).toBe(-1);
    expect(lastLeaderEpoch('')).toBe(-1);
  });
});

describe('adoptWork: when a full-cluster recovery registers the disks’ topics', () => {
  const spec = (mode: 'zookeeper' | 'kraft' = 'zookeeper') =>
    parseSpec({
      name: 'adopt',
      kafka: { bootstrapServers: ['127.0.0.1:1'], mode },
      ...(mode === 'zookeeper' ? { zookeeper: { connect: '127.0.0.1:2', chroot: '/adopt' } } : {}),
      brokers: [1, 2].map((id) => ({ id, host: `h${id}`, logDirs: [`/d/${id}`], configDir: `/c/${id}`, control: { type: 'systemd', unit: `kafka-${id}` } })),
      repository: { path: '/r', password: { env: 'UNUSED' } },
    });
  const set = (parts: string[]): BackupSet =>
    ({ setId: 's', tier: 'manual', time: 't', parts, complete: true, snapshots: Object.fromEntries(parts.map((p) => [p, { id: `id-${p}` }])) }) as unknown as BackupSet;
  const full = set(['zookeeper', 'kafka-metadata', 'configs:1', 'configs:2', 'logdirs:1', 'logdirs:2']);

  it('zookeeper-data-lost (only ZooKeeper restored): every broker keeps its disk, all are read', () => {
    expect(adoptWork(spec(), full, ['zookeeper'])).toEqual({ run: [1, 2] });
  });
  it('ZooKeeper and one broker’s log dirs restored: the other broker’s disk is read', () => {
    expect(adoptWork(spec(), full, ['zookeeper', 'logdirs:1'])).toEqual({ run: [2] });
  });
  it('cluster-lost (everything from one set): disks and ZooKeeper match, skipped', () => {
    expect(adoptWork(spec(), full).skip).toBe('every log dir is restored from the same set as ZooKeeper');
  });
  it('a logical set (topics, no log-dir copies): the brokers keep their disks, read', () => {
    expect(adoptWork(spec(), set(['zookeeper', 'kafka-metadata', 'topics']))).toEqual({ run: [1, 2] });
  });
  it('ZooKeeper not restored, or none (KRaft): skipped', () => {
    expect(adoptWork(spec(), full, ['configs:1']).skip).toBe('ZooKeeper is not restored');
    expect(adoptWork(spec('kraft'), set(['kafka-metadata', 'logdirs:1', 'logdirs:2'])).skip).toMatch(/no ZooKeeper/);
  });
});
