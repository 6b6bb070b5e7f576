/**
 * Group offsets read from __consumer_offsets on disk, on bytes Kafka 3.9.1 wrote in the lab
 * (fixtures/consumer-offsets-3.9.1.json: the batches of three groups with non-ASCII names, captured
 * from a broker's log dir after kafkajs commits):
 *   grüße-日本-🚀-plain   committed p0=5, p1=3, then p0=7            → p0=7, p1=3
 *   Ωmega-tombstoned      committed p0=10, p1=9, group deleted (tombstones), then p1=4 → p1=4 only
 *   ñandú-transactional   TxnOffsetCommit p0=11, p1=99 aborted; then p0=12 committed → p0=12 only
 * (the capture ran twice, the second run repeating the first: the last records still decide).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../../src/config/spec';
import { groupsOnDisk, mergeGroups } from '../../../src/failover/data/divergence';
import { OffsetCommitReplay, groupOffsetsFromDisk, javaStringHashCode, offsetsPartitionFor } from '../../../src/failover/data/groupsDisk';
import type { DiskGroups } from '../../../src/failover/data/types';
import { isAbortMarker, splitBatches } from '../../../src/kafka/wire/recordBatch';
import { testDir } from '../../support/tmp';

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'consumer-offsets-3.9.1.json'), 'utf8')) as {
  partitionCount: number;
  groups: Record<string, number>;
  partitions: Record<string, string[]>;
};
const TOPIC = 'ex-fixture-topic';
const [PLAIN, TOMB, TXN] = ['grüße-日本-🚀-plain', 'Ωmega-tombstoned', 'ñandú-transactional'];

describe("Java's String.hashCode and Kafka's partitionFor", () => {
  it('matches values Java computed (UTF-16 code units, surrogate pairs, overflow)', () => {
    // From `java H.java` (OpenJDK): System.out.println(s.hashCode()).
    expect(javaStringHashCode(PLAIN)).toBe(-1076413872);
    expect(javaStringHashCode(TOMB)).toBe(1272370017);
    expect(javaStringHashCode(TXN)).toBe(1839110128);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('lifeboat-group-Ω')).toBe(-1330950838);
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
  });

  it("puts each group where Kafka put it (Utils.abs: Integer.MIN_VALUE → 0)", () => {
    for (const [g, p] of Object.entries(fixture.groups)) expect(offsetsPartitionFor(g, fixture.partitionCount)).toBe(p);
    // The batches of each group were found in that partition's log (the capture read it there).
    for (const p of Object.values(fixture.groups)) expect(fixture.partitions[String(p)]!.length).toBeGreaterThan(0);
    expect(offsetsPartitionFor('polygenelubricants', 50)).toBe(0);
    expect(offsetsPartitionFor('hello', 50)).toBe(99162322 % 50);
  });
});

const batchesOf = (p: number) => fixture.partitions[String(p)]!.map((h) => splitBatches(Buffer.from(h, 'hex')).batches[0]!);

describe('offset commits replayed from the bytes Kafka wrote', () => {
  it('last commit wins, tombstones delete, aborted transactional commits never apply', async () => {
    const replay = new OffsetCommitReplay(new Set([PLAIN, TOMB, TXN]));
    for (const p of new Set(Object.values(fixture.groups))) for (const b of batchesOf(p)) await replay.add(b);
    expect(replay.offsetsOf(PLAIN)).toEqual([
      { topic: TOPIC, partition: 0, offset: 7 },
      { topic: TOPIC, partition: 1, offset: 3 },
    ]);
    expect(replay.offsetsOf(TOMB)).toEqual([{ topic: TOPIC, partition: 1, offset: 4 }]);
    expect(replay.offsetsOf(TXN)).toEqual([{ topic: TOPIC, partition: 0, offset: 12 }]);
    expect(replay.pendingOf(TXN)).toBe(0);
    expect(replay.offsetsOf(PLAIN, new Set(['other']))).toEqual([]);
  });

  it('a transactional commit without its marker stays pending (the primary died mid-transaction)', async () => {
    const replay = new OffsetCommitReplay(new Set([TXN]));
    const batches = batchesOf(fixture.groups[TXN]!);
    // Up to the first commit marker, left out (the log: abort, abort, p0=12 then its commit marker, …).
    const markers = await Promise.all(batches.map(async (b) => ((b.attributes & 0x20) !== 0 ? !(await isAbortMarker(b)) : false)));
    for (const b of batches.slice(0, markers.indexOf(true))) await replay.add(b);
    expect(replay.offsetsOf(TXN)).toEqual([]);
    expect(replay.pendingOf(TXN)).toBe(1);
  });
});

/** A broker's log dir holding the fixture's partitions of __consumer_offsets (all of them, or `only`). */
function logDir(only?: number[]): ClusterSpec {
  const dir = testDir('ex-groups-');
  for (let p = 0; p < fixture.partitionCount; p++) {
    if (only && !only.includes(p)) continue;
    mkdirSync(join(dir, `__consumer_offsets-${p}`));
    const bytes = Buffer.concat((fixture.partitions[String(p)] ?? []).map((h) => Buffer.from(h, 'hex')));
    writeFileSync(join(dir, `__consumer_offsets-${p}`, '00000000000000000000.log'), bytes);
  }
  return { name: 'fixture', kafka: { bootstrapServers: ['127.0.0.1:1'], mode: 'zookeeper' }, brokers: [{ id: 1, host: 'h1', logDirs: [dir] }] } as unknown as ClusterSpec;
}

const FIXTURE_OFFSETS = {
  [PLAIN]: [{ topic: TOPIC, partition: 0, offset: 7 }, { topic: TOPIC, partition: 1, offset: 3 }],
  [TOMB]: [{ topic: TOPIC, partition: 1, offset: 4 }],
  [TXN]: [{ topic: TOPIC, partition: 0, offset: 12 }],
};

describe("every group ('all'), for a failover that names none", () => {
  it('the replay accepts any group and lists those holding offsets (on the topics asked)', async () => {
    const replay = new OffsetCommitReplay('all');
    for (let p = 0; p < fixture.partitionCount; p++) for (const b of fixture.partitions[String(p)] ? batchesOf(p) : []) await replay.add(b);
    expect(replay.groupsHeld()).toEqual([PLAIN, TOMB, TXN].sort());
    expect(replay.groupsHeld(new Set([TOPIC]))).toEqual([PLAIN, TOMB, TXN].sort());
    expect(replay.groupsHeld(new Set(['other']))).toEqual([]);
    for (const [g, offsets] of Object.entries(FIXTURE_OFFSETS)) expect(replay.offsetsOf(g)).toEqual(offsets);
  });

  it('groupOffsetsFromDisk replays every partition here: the same offsets as the explicit list', async () => {
    const spec = logDir();
    const all = await groupOffsetsFromDisk(spec, [1], 'all', { topics: [TOPIC], offsetsPartitions: fixture.partitionCount });
    const named = await groupOffsetsFromDisk(spec, [1], [PLAIN, TOMB, TXN], { topics: [TOPIC] });
    expect(all.problems).toEqual([]);
    expect(all.groups.map((g) => g.group)).toEqual([PLAIN, TOMB, TXN].sort());
    const byName = new Map(named.groups.map((g) => [g.group, g]));
    for (const g of all.groups) expect(g).toEqual(byName.get(g.group));
    expect(all.read!.map((r) => r.partition)).toEqual([...Array(fixture.partitionCount).keys()]);
    // Not on the topics asked: not returned (they are not on those topics).
    expect((await groupOffsetsFromDisk(spec, [1], 'all', { topics: ['other'] })).groups).toEqual([]);
  });

  it('partitions this host does not hold are named, their groups left to the hosts that hold them', async () => {
    const spec = logDir([fixture.groups[PLAIN]!, fixture.groups[TXN]!]);
    const r = await groupOffsetsFromDisk(spec, [1], 'all', { topics: [TOPIC], offsetsPartitions: fixture.partitionCount });
    expect(r.groups.map((g) => [g.group, g.offsets])).toEqual([[PLAIN, FIXTURE_OFFSETS[PLAIN]], [TXN, FIXTURE_OFFSETS[TXN]]].sort());
    expect(r.problems).toEqual([expect.stringMatching(/^8 of 10 partitions of __consumer_offsets have no replica in the log dirs of broker 1/)]);
  });

  it("merged over hosts: each group from its newest replica; one missing from a newer replica is left out", () => {
    const o = (offset: number) => [{ topic: TOPIC, partition: 0, offset }];
    const hostA: DiskGroups = {
      host: 'a', brokerIds: [1], offsetsPartitions: 10, problems: [],
      groups: [{ group: 'g1', offsetsPartition: 3, brokerId: 1, end: 100, offsets: o(5), pending: 0 }, { group: 'g2', offsetsPartition: 4, brokerId: 1, end: 50, offsets: o(9), pending: 0 }],
      read: [{ partition: 3, brokerId: 1, end: 100 }, { partition: 4, brokerId: 1, end: 50 }],
    };
    // Host b's replica of partition 4 is newer and no longer holds g2 (its offsets were deleted);
    // its replica of partition 3 is older than a's.
    const hostB: DiskGroups = {
      host: 'b', brokerIds: [2], offsetsPartitions: 10, problems: [],
      groups: [{ group: 'g1', offsetsPartition: 3, brokerId: 2, end: 90, offsets: o(4), pending: 0 }, { group: 'g3', offsetsPartition: 5, brokerId: 2, end: 10, offsets: [{ topic: 'other', partition: 0, offset: 1 }], pending: 0 }],
      read: [{ partition: 3, brokerId: 2, end: 90 }, { partition: 4, brokerId: 2, end: 60 }, { partition: 5, brokerId: 2, end: 10 }],
    };
    expect([...groupsOnDisk([hostA, hostB], [TOPIC])]).toEqual([['g1', o(5)]]);
    expect([...groupsOnDisk([hostA], [TOPIC])]).toEqual([['g1', o(5)], ['g2', o(9)]]);
    expect([...groupsOnDisk([hostB], [TOPIC, 'other'])]).toEqual([['g1', o(4)], ['g3', [{ topic: 'other', partition: 0, offset: 1 }]]]);
  });

  it('merged over hosts by leader epoch first: a longer log an older leader left behind loses to the newest epoch', () => {
    const o = (offset: number) => [{ topic: TOPIC, partition: 0, offset }];
    // Broker 1 led epoch 5 and had records past what broker 2 copied; broker 2 then led epoch 6 and
    // took the group's last commits (acknowledged) at a lower end: Kafka keeps broker 2's log.
    const old: DiskGroups = { host: 'a', brokerIds: [1], offsetsPartitions: 10, problems: [], groups: [{ group: 'g', offsetsPartition: 3, brokerId: 1, end: 120, epoch: 5, offsets: o(506), pending: 0 }], read: [{ partition: 3, brokerId: 1, end: 120, epoch: 5 }] };
    const newest: DiskGroups = { host: 'b', brokerIds: [2], offsetsPartitions: 10, problems: [], groups: [{ group: 'g', offsetsPartition: 3, brokerId: 2, end: 118, epoch: 6, offsets: o(508), pending: 0 }], read: [{ partition: 3, brokerId: 2, end: 118, epoch: 6 }] };
    expect(mergeGroups([old, newest]).get('g')?.offsets).toEqual(o(508));
    expect(mergeGroups([newest, old]).get('g')?.offsets).toEqual(o(508));
    expect([...groupsOnDisk([old, newest], [TOPIC])]).toEqual([['g', o(508)]]);
  });
});

describe('groupOffsetsFromDisk', () => {
  it("reads the groups' partitions from a broker's log dir (the segment as Kafka lays it out)", async () => {
    const spec = logDir();
    const r = await groupOffsetsFromDisk(spec, [1], [PLAIN, TOMB, TXN, 'never-committed']);
    expect(r.offsetsPartitions).toBe(fixture.partitionCount);
    expect(r.groups.map((g) => [g.group, g.offsetsPartition, g.offsets])).toEqual([
      [PLAIN, fixture.groups[PLAIN], [{ topic: TOPIC, partition: 0, offset: 7 }, { topic: TOPIC, partition: 1, offset: 3 }]],
      [TOMB, fixture.groups[TOMB], [{ topic: TOPIC, partition: 1, offset: 4 }]],
      [TXN, fixture.groups[TXN], [{ topic: TOPIC, partition: 0, offset: 12 }]],
      ['never-committed', offsetsPartitionFor('never-committed', fixture.partitionCount), []],
    ]);
    expect(r.groups[0]!.brokerId).toBe(1);
  });
});
