/**
 * Records not mirrored, group moves and the ZooKeeper fence on the lab, against ground truth:
 * a mirror primary → standby of a fresh topic (RF 3) caught up and stopped, then N records per
 * partition produced and acknowledged on the primary (plain ones and a committed transaction) and
 * an aborted transaction beside them. Live (brokers up), then with every primary broker killed:
 * ends, records not mirrored and group offsets from the log dirs on disk. While the brokers are
 * down the old primary is fenced through ZooKeeper; once they start, an application's produce is
 * refused, and after unfence accepted again.
 *
 * Groups 'all' (a failover started by an alert names none), live and from disk: exactly the groups
 * with offsets on the topic (a second one there, committed on another topic too, and a group only
 * on another topic that must not come), with the offsets the explicit list gives.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { killBroker, startBroker } from '../../../lab/lab';
import { findCluster } from '../../../lab/topology';
import { poll } from '../../../src/core/poll';
import { failoverDivergence, failoverGroupMoves } from '../../../src/failover/data/divergence';
import { partitionEndsFromDisk } from '../../../src/failover/data/disk';
import { FENCE_MARKER, fenceInZookeeper, fencePrimary, unfencePrimary } from '../../../src/failover/data/fence';
import { groupOffsetsFromDisk } from '../../../src/failover/data/groupsDisk';
import { brokersByHost } from '../../../src/failover/data/hosts.pure';
import { partitionEnds } from '../../../src/failover/data/live';
import { waitForIsr } from '../../../src/host/logdirs';
import { kafkaFor } from '../../../src/kafka/client';
import { commitGroupOffsets } from '../../../src/kafka/groupOffsets';
import { mirrorShard, planMirror } from '../../../src/kafka/mirror';
import { mirrorPair } from '../../../src/kafka/mirrorRun.pure';
import { WireClient } from '../../../src/kafka/wire/client';
import { toKafkajsAcl } from '../../../src/kafka/acls';
import { commitGroups } from '../../../src/migration/groups';
import { chrootPath, exists, getData, withZk } from '../../../src/zookeeper/client';
import { appWrite, primarySpec, standbySpec, topo, unique } from '../../support/lab';
import { createTopicsReady } from '../../support/kafka';
import { produceNumbered } from '../../kafka/mirror/mirrorSupport';

const primary = primarySpec();
const standby = standbySpec();
const pk = kafkaFor(primary, 'test-fo-div');
const sk = kafkaFor(standby, 'test-fo-div');
const topic = unique('fo-div');
const group = unique('fo-grüße-Ω');
const group2 = unique('fo-div-second');
const otherTopic = unique('fo-div-other');
const otherGroup = unique('fo-div-elsewhere');
const GROUPS = [group, group2].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const pair = mirrorPair(primary.name, standby.name);
const PARTITIONS = 3;
const MIRRORED = 100; // per partition, copied before the mirror stopped
const PLAIN = 10; // per partition, produced after it stopped
const COMMITTED_TXN = 2; // per partition, in a committed transaction after it stopped
const ABORTED_TXN = 3; // per partition, in an aborted transaction
const brokers = findCluster(topo, 'primary').brokers;

async function ends(which: 'end' | 'committed'): Promise<Map<number, number>> {
  const c = await WireClient.open(pk, [topic]);
  try {
    return await c.listOffsets(topic, which);
  } finally {
    await c.close();
  }
}

/** Every primary broker running, back in the ISR of all its partitions. */
async function primaryHealthy(): Promise<void> {
  for (const b of brokers) await startBroker(topo, b, () => {}, { settle: false });
  for (const b of brokers) await waitForIsr(primary, b.id, 240_000);
}

afterAll(async () => {
  await primaryHealthy();
  for (const k of [pk, sk]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, otherTopic] }).catch(() => {});
    for (const g of [group, group2, otherGroup]) await admin.deleteGroups([g]).catch(() => {});
    if (k === pk) await admin.deleteAcls({ filters: [toKafkajsAcl({ resourceType: 'TOPIC', resourceName: topic, patternType: 'LITERAL', principal: 'User:app', host: '*', operation: 'ALL', permission: 'ALLOW' })] }).catch(() => {});
    await admin.disconnect();
  }
}, 300_000);

async function transaction(records: number, outcome: 'commit' | 'abort'): Promise<void> {
  const producer = pk.producer({ transactionalId: unique('fo-div-tx'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const tx = await producer.transaction();
    for (let p = 0; p < PARTITIONS; p++) await tx.send({ topic, acks: -1, messages: Array.from({ length: records }, (_, i) => ({ partition: p, value: `${outcome}-${i}` })) });
    await (outcome === 'commit' ? tx.commit() : tx.abort());
  } finally {
    await producer.disconnect();
  }
}

describe('records not mirrored and group moves at a failover', () => {
  it('live, then from the log dirs with every primary broker killed; the ZooKeeper fence holds when they come back', async () => {
    await createTopicsReady(primary, [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }], { kafka: pk });
    await produceNumbered(pk, topic, MIRRORED * PARTITIONS, PARTITIONS);
    await planMirror(primary, standby, { topics: [topic] });
    const run = await mirrorShard(primary, standby, pair, { topic, partitions: [0, 1, 2] }, { until: 'caught-up', settleMs: 1000 });
    expect(run.positions.map((p) => p.next)).toEqual([MIRRORED, MIRRORED, MIRRORED]);

    // The mirror is stopped: what follows never reaches the standby.
    await produceNumbered(pk, topic, PLAIN * PARTITIONS, PARTITIONS, 100, MIRRORED * PARTITIONS);
    const afterPlain = await ends('end');
    // The group read p0 halfway, p1 to the mirrored end, p2 past it (the plain records after it).
    const committed = { 0: 50, 1: MIRRORED, 2: afterPlain.get(2)! };
    await commitGroupOffsets(pk, group, [{ topic, partitions: [0, 1, 2].map((p) => ({ partition: p, offset: committed[p as 0 | 1 | 2] })) }]);
    // A second group on the topic (and on another one), and a group only on the other topic.
    await createTopicsReady(primary, [{ topic: otherTopic, numPartitions: 1, replicationFactor: 3 }], { kafka: pk });
    await produceNumbered(pk, otherTopic, 5, 1);
    await commitGroupOffsets(pk, group2, [{ topic, partitions: [{ partition: 0, offset: 20 }, { partition: 1, offset: 30 }] }, { topic: otherTopic, partitions: [{ partition: 0, offset: 2 }] }]);
    await commitGroupOffsets(pk, otherGroup, [{ topic: otherTopic, partitions: [{ partition: 0, offset: 4 }] }]);
    await transaction(COMMITTED_TXN, 'commit');
    await transaction(ABORTED_TXN, 'abort');
    // The markers are written after EndTxn answers: wait until no transaction is open.
    await poll(async () => {
      const [c, e] = [await ends('committed'), await ends('end')];
      return [...e].every(([p, o]) => c.get(p) === o);
    }, { what: 'the transaction markers', timeoutMs: 60_000, intervalMs: 200 });
    const end = await ends('end');
    const expected = { records: PLAIN + COMMITTED_TXN, aborted: ABORTED_TXN, open: 0, markers: 2 };
    expect(await partitionEnds(primary, [topic])).toEqual([0, 1, 2].map((p) => ({ topic, partition: p, offset: end.get(p) })));

    // Live.
    const live = await failoverDivergence(primary, standby, { topics: [topic] });
    expect(live.from).toBe('live');
    expect(live.problems).toBeUndefined(); // the mirror stopped cleanly: no batch left without an answer
    expect(live.partitions.map((p) => [p.partition, p.mirrored, p.primaryEnd, p.notMirrored, p.count])).toEqual(
      [0, 1, 2].map((p) => [p, MIRRORED, end.get(p), PLAIN + COMMITTED_TXN, expected]),
    );
    expect(live.totals).toMatchObject({ notMirrored: (PLAIN + COMMITTED_TXN) * PARTITIONS, aborted: ABORTED_TXN * PARTITIONS, unknown: 0 });
    const liveMoves = await failoverGroupMoves(primary, standby, [group], { topics: [topic] });
    expect(liveMoves).toEqual([
      {
        group,
        from: 'live',
        untranslated: [],
        partitions: [0, 1, 2].map((p) => ({ topic, partition: p, sourceOffset: committed[p as 0 | 1 | 2], targetOffset: Math.min(committed[p as 0 | 1 | 2], MIRRORED) })),
        consumedNotMirrored: [{ topic, partition: 2, sourceOffset: committed[2], mirrored: MIRRORED, records: PLAIN }],
      },
    ]);

    // Every group on the topic, found by itself: the explicit list's moves, nothing else.
    const namedLive = await failoverGroupMoves(primary, standby, GROUPS, { topics: [topic] });
    const listingWarnings: string[] = [];
    const allLive = await failoverGroupMoves(primary, standby, 'all', { topics: [topic], warnings: listingWarnings });
    expect(listingWarnings, 'a steady listing of the primary warns of nothing').toEqual([]);
    expect(allLive.map((m) => m.group)).toEqual(GROUPS);
    expect(allLive).toEqual(namedLive);
    expect(allLive.find((m) => m.group === group2)).toEqual({
      group: group2,
      from: 'live',
      untranslated: [],
      partitions: [{ topic, partition: 0, sourceOffset: 20, targetOffset: 20 }, { topic, partition: 1, sourceOffset: 30, targetOffset: 30 }],
      consumedNotMirrored: [],
    });

    // An ACL of the topic's own, there before the fence (the fence merges with it and leaves it).
    const appAcl = { resourceType: 'TOPIC', resourceName: topic, patternType: 'LITERAL', principal: 'User:app', host: '*', operation: 'ALL', permission: 'ALLOW' } as const;
    const admin = pk.admin();
    await admin.connect();
    await admin.createAcls({ acl: [toKafkajsAcl(appAcl)] });
    await admin.disconnect();
    const aclNode = chrootPath(primary.zookeeper!.chroot, `/kafka-acl/Topic/${topic}`);
    const zkAcls = () => withZk(primary.zookeeper!.connect, async (zk) => JSON.parse((await getData(zk, aclNode)).data!.toString()) as { acls: object[] });
    const before = await zkAcls();
    const markerExists = () => withZk(primary.zookeeper!.connect, async (zk) => (await exists(zk, chrootPath(primary.zookeeper!.chroot, FENCE_MARKER))) !== null);
    expect(before.acls).toEqual([{ principal: 'User:app', permissionType: 'Allow', operation: 'All', host: '*' }]);

    // Every primary broker killed: disks intact, ZooKeeper up.
    try {
      for (const b of brokers) await killBroker(topo, b, { settle: false });
      const hosts = brokersByHost(primary);
      expect(hosts).toHaveLength(3);
      const diskGroups = await Promise.all(hosts.map((h) => groupOffsetsFromDisk(primary, h.brokerIds, [group, group2], { topics: [topic] })));
      for (const g of diskGroups) {
        expect(g.offsetsPartitions).toBe(10); // the lab's offsets.topic.num.partitions, from ZooKeeper
        expect(g.groups[0]!.offsets).toEqual([0, 1, 2].map((p) => ({ topic, partition: p, offset: committed[p as 0 | 1 | 2] })));
      }
      // Every replica of __consumer_offsets replayed for any group: on every host exactly the
      // groups on the topic, read as the explicit list reads them.
      const diskAll = await Promise.all(hosts.map((h) => groupOffsetsFromDisk(primary, h.brokerIds, 'all', { topics: [topic] })));
      for (const [i, g] of diskAll.entries()) {
        expect(g.problems).toEqual([]);
        expect(g.read!.map((r) => r.partition)).toEqual([...Array(10).keys()]);
        expect(g.groups.map((x) => x.group)).toEqual(GROUPS);
        expect(g.groups).toEqual([...diskGroups[i]!.groups].sort((a, b) => GROUPS.indexOf(a.group) - GROUPS.indexOf(b.group)));
      }

      const planned = await failoverDivergence(primary, standby, { topics: [topic], diskGroups });
      expect(planned.from).toBe('unknown');
      expect(planned.diskReads!.map((r) => r.host).sort()).toEqual(hosts.map((h) => h.host).sort());
      const disk = await Promise.all(planned.diskReads!.map((r) => partitionEndsFromDisk(primary, r.brokerIds, r.topics, r)));
      for (const d of disk) expect(d.problems).toEqual([]);
      const fromDisk = await failoverDivergence(primary, standby, { topics: [topic], disk });
      expect(fromDisk.from).toBe('disk');
      expect(fromDisk.partitions.map((p) => [p.partition, p.mirrored, p.primaryEnd, p.notMirrored, p.count])).toEqual(
        [0, 1, 2].map((p) => [p, MIRRORED, end.get(p), PLAIN + COMMITTED_TXN, expected]),
      );
      const diskMoves = await failoverGroupMoves(primary, standby, [group], { topics: [topic], diskGroups, disk });
      expect(diskMoves).toEqual(liveMoves.map((m) => ({ ...m, from: 'disk' })));
      const diskMovesAll = await failoverGroupMoves(primary, standby, 'all', { topics: [topic], diskGroups: diskAll, disk });
      expect(diskMovesAll).toEqual(allLive.map((m) => ({ ...m, from: 'disk' })));
      // The moves are GroupMoves: the migration's commit takes them as they are.
      const held = await commitGroups(standby, diskMoves);
      expect(held[0]!.partitions.map((p) => p.targetOffset)).toEqual([50, MIRRORED, MIRRORED]);

      // The fence, written into ZooKeeper while the brokers are down.
      const fence = await fencePrimary(primary, [topic]);
      expect(fence.via).toBe('zookeeper');
      // The topic has an ACL of its own: the DENY WRITE alone, merged into the node beside it.
      // (The marker is the cluster's: a fence of other topics still in place stays in the record.)
      expect(fence.acls.filter((a) => a.resourceName === topic).map((a) => `${a.permission} ${a.operation} ${a.principal}`)).toEqual(['DENY WRITE User:*']);
      expect((await zkAcls()).acls).toEqual([...before.acls, { principal: 'User:*', permissionType: 'Deny', operation: 'Write', host: '*' }]);
      expect(await fencePrimary(primary, [topic])).toMatchObject({ acls: fence.acls, at: fence.at }); // a retry returns the same record
      await primaryHealthy();
      const tryProduce = () => appWrite('primary', topic);
      expect(await tryProduce()).toMatch(/TOPIC_AUTHORIZATION_FAILED|not authorized/i);
      await unfencePrimary(primary, fence);
      await poll(async () => (await tryProduce()) === 'accepted', { what: 'the app producer accepted after unfence', timeoutMs: 60_000, intervalMs: 500 });
      await unfencePrimary(primary, fence); // idempotent
      expect(await zkAcls()).toEqual(before); // exactly what was added is gone

      // A failback fences the repaired primary through its brokers over the failover's ZooKeeper
      // fence, and lifts both with its own record: the marker goes too.
      await fenceInZookeeper(primary, [topic]);
      const again = await fencePrimary(primary, [topic]);
      expect(again.via).toBe('admin');
      expect(await markerExists()).toBe(true);
      await unfencePrimary(primary, again);
      expect(await markerExists()).toBe(false);
      expect(await zkAcls()).toEqual(before);
    } finally {
      await primaryHealthy();
    }
  }, 600_000);
});

