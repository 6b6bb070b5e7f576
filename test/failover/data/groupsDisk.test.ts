/**
 * Group offsets read from __consumer_offsets on disk, on bytes Kafka 3.9.1 wrote in the lab
 * (fixtures/consumer-offsets-3.9.1.json: the batches of three groups with non-ASCII names, captured
 * from a broker's log dir after kafkajs commits):
 *   grüße-日本-🚀-plain   committed p0=5, p1=3, then p0=7            → p0=7, p1=3
 *   Ωmega-tombstoned      committed p0=10, p1=9, group deleted (tombstones), then p1=4 → p1=4 only
 *   ñandú-transactional   TxnOffsetCommit p0=11, p1=99 aborted; then p0=12 committed → p0=12 only
 * (the capture ran twice, the second run repeating the first: the last records still decide).
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../../src/config/spec';
import { OffsetCommitReplay, groupOffsetsFromDisk, javaStringHashCode, offsetsPartitionFor } from '../../../src/failover/data/groupsDisk';
import { isAbortMarker, splitBatches } from '../../../src/kafka/wire/recordBatch';

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

describe('groupOffsetsFromDisk', () => {
  it("reads the groups' partitions from a broker's log dir (the segment as Kafka lays it out)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ex-groups-'));
    for (let p = 0; p < fixture.partitionCount; p++) {
      mkdirSync(join(dir, `__consumer_offsets-${p}`));
      const bytes = Buffer.concat((fixture.partitions[String(p)] ?? []).map((h) => Buffer.from(h, 'hex')));
      writeFileSync(join(dir, `__consumer_offsets-${p}`, '00000000000000000000.log'), bytes);
    }
    const spec = { name: 'fixture', kafka: { bootstrapServers: ['127.0.0.1:1'], mode: 'zookeeper' }, brokers: [{ id: 1, host: 'h1', logDirs: [dir] }] } as unknown as ClusterSpec;
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
