import { describe, expect, it } from 'vitest';
import type { StreamAck } from '../../src/drills/records';
import { type ReadRecord, type ZnodeAck, endsMoved, partitionEvidence, rpoSecondsOf, rtoSecondsOf, zookeeperEvidence } from '../../src/drills/rpo.pure';
import { scoreDrill } from '../../src/drills/score.pure';

const DRILL = 'drill-standby-cluster-lost-20261203T220000Z';
const TOPIC = 'lifeboat-drill-x';
const T0 = Date.parse('2026-12-03T22:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const FAULT = at(100);
/** The score wants ZooKeeper's evidence too (a ZooKeeper-mode cluster): one with nothing lost. */
const ZK_OK = { lastAcked: { zxid: '0x10', at: at(99) }, intactThrough: { zxid: '0x10', at: at(99) } };

/** Acks of a stream writing seq 0..n-1 round-robin over `partitions`, one a second, offsets counting per partition. */
function stream(n: number, partitions = 2, startAt = 0): StreamAck[] {
  const next = new Map<number, number>();
  return Array.from({ length: n }, (_, seq) => {
    const partition = seq % partitions;
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    return { partition, offset, seq, at: at(startAt + seq) };
  });
}
const readAll = (acks: StreamAck[]): ReadRecord[] => acks.map((a) => ({ partition: a.partition, offset: a.offset, drill: DRILL, seq: a.seq }));
const evidence = (acks: StreamAck[], read: ReadRecord[], partitions?: number[]) => partitionEvidence({ topic: TOPIC, drillId: DRILL, acks, faultAt: FAULT, read, partitions });

describe('partitionEvidence', () => {
  it('everything readable: the last ack before the fault is intact on every partition, acks after the fault are left out', () => {
    const acks = stream(120); // seq 0..119 at 0..119 s; the fault at 100 s
    const ev = evidence(acks, readAll(acks));
    expect(ev).toEqual([
      { topic: TOPIC, partition: 0, lastAcked: { offset: 50, at: at(100) }, intactThrough: { offset: 50, at: at(100) } },
      { topic: TOPIC, partition: 1, lastAcked: { offset: 49, at: at(99) }, intactThrough: { offset: 49, at: at(99) } },
    ]);
    expect(rpoSecondsOf(ev)).toBe(0);
    expect(scoreDrill({ drill: { id: DRILL, type: 'full', scenario: 'cluster-lost', startedAt: at(0) }, data: { partitions: ev, zookeeper: ZK_OK }, times: { rpoMinutes: 1 } }).measured.lossWindowMs).toBe(0);
  });

  it('the tail lost: the intact run ends at the last record read, and the window is their ack times apart', () => {
    const acks = stream(101);
    // Partition 0 kept offsets 0..39 (seq 0..78), partition 1 everything.
    const read = readAll(acks).filter((r) => r.partition === 1 || r.offset < 40);
    const ev = evidence(acks, read);
    expect(ev[0]).toEqual({ topic: TOPIC, partition: 0, lastAcked: { offset: 50, at: at(100) }, intactThrough: { offset: 39, at: at(78) } });
    expect(ev[1]!.intactThrough).toEqual(ev[1]!.lastAcked);
    expect(rpoSecondsOf(ev)).toBe(22);
    const score = scoreDrill({ drill: { id: DRILL, type: 'full', scenario: 'cluster-lost', startedAt: at(0) }, data: { partitions: ev, zookeeper: ZK_OK }, times: { rpoMinutes: 1 } });
    expect(score.measured.lossWindowMs).toBe(22_000);
  });

  it('nothing of the stream readable (a set older than the stream): the loss window is unknown, not 0, and scored beyond the RPO', () => {
    const acks = stream(101);
    const ev = evidence(acks, []);
    expect(ev.every((p) => p.intactThrough === null)).toBe(true);
    expect(rpoSecondsOf(ev)).toBeNull();
    const score = scoreDrill({ drill: { id: DRILL, type: 'full', scenario: 'cluster-lost', startedAt: at(0) }, data: { partitions: ev, zookeeper: ZK_OK }, times: { rpoMinutes: 1 } });
    expect(score.measured.lossWindowMs).toBeNull();
    expect(score.measured.lossWindowAtLeast).toBe(true);
    expect(score.parts.dataIntegrity.deductions.map((d) => d.finding)).toContain('loss-beyond-rpo');
  });

  it('a hole ends the intact run even when later records are readable', () => {
    const acks = stream(101);
    const read = readAll(acks).filter((r) => !(r.partition === 1 && r.offset === 10));
    const ev = evidence(acks, read);
    expect(ev[1]!.intactThrough).toEqual({ offset: 9, at: at(19) });
    expect(ev[1]!.lastAcked).toEqual({ offset: 49, at: at(99) });
    expect(ev[0]!.intactThrough).toEqual(ev[0]!.lastAcked);
    expect(rpoSecondsOf(ev)).toBe(80);
  });

  it('an offset reused by another record after an unclean election is not intact', () => {
    const acks = stream(101);
    // After the election partition 0's offsets from 30 on hold the stream's later writes (other seqs) and a stranger's.
    const read = readAll(acks).map((r) => (r.partition === 0 && r.offset >= 30 ? { ...r, seq: r.seq! + 1000 } : r));
    read.push({ partition: 0, offset: 60, drill: null, seq: null });
    const ev = evidence(acks, read);
    expect(ev[0]!.intactThrough).toEqual({ offset: 29, at: at(58) });
    // The same seq written by another drill is not ours either.
    const other = readAll(acks).map((r) => (r.partition === 1 && r.offset === 0 ? { ...r, drill: 'another-drill' } : r));
    expect(evidence(acks, other)[1]!.intactThrough).toBeNull();
  });

  it('nothing written: partitions without acks have no evidence to lose, and nothing is measured', () => {
    const ev = evidence([], [], [0, 1, 2]);
    expect(ev).toEqual([0, 1, 2].map((partition) => ({ topic: TOPIC, partition, lastAcked: null, intactThrough: null })));
    expect(rpoSecondsOf(ev)).toBeNull();
    // Only acks after the fault: nothing acknowledged before it.
    const late = stream(4, 2, 200);
    expect(evidence(late, readAll(late)).every((p) => p.lastAcked === null && p.intactThrough === null)).toBe(true);
  });

  it('nothing readable (topic recreated empty, or gone): no intact run; the window counts from the stream start when given', () => {
    const acks = stream(101, 2, 10);
    const ev = evidence(acks, []);
    expect(ev.map((p) => p.intactThrough)).toEqual([null, null]);
    expect(ev.map((p) => p.lastAcked?.offset)).toEqual([45, 44]);
    expect(rpoSecondsOf(ev)).toBeNull();
    expect(rpoSecondsOf(ev, undefined, { streamStartedAt: at(5) })).toBe(95);
    expect(scoreDrill({ drill: { id: DRILL, type: 'full', scenario: 'cluster-lost', startedAt: at(0) }, data: { partitions: ev, zookeeper: ZK_OK }, times: { rpoMinutes: 1 } }).measured.lossWindowAtLeast).toBe(true);
    // A recreated topic the stream wrote to again: the offsets hold later seqs.
    const again = stream(10).map((a) => ({ partition: a.partition, offset: a.offset, drill: DRILL, seq: a.seq + 500 }));
    expect(evidence(acks, again).map((p) => p.intactThrough)).toEqual([null, null]);
  });

  it('the order of acks and records read changes nothing', () => {
    const acks = stream(130, 3);
    const read = readAll(acks).filter((r) => !(r.partition === 2 && r.offset > 20));
    const want = evidence(acks, read);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    const shuffle = <T>(xs: T[]) => xs.map((x) => [rnd(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
    for (let i = 0; i < 20; i++) expect(evidence(shuffle(acks), shuffle(read))).toEqual(want);
  });
});

describe('zookeeperEvidence', () => {
  const zacks = (n: number, startAt = 0): ZnodeAck[] =>
    Array.from({ length: n }, (_, seq) => ({ seq, zxid: `0x${(0x100 + seq).toString(16)}`, at: at(startAt + seq), before: seq === 0 ? null : seq - 1 }));

  it('the znode holding the last write before the fault (or a later one) is intact', () => {
    const acks = zacks(110);
    const ev = zookeeperEvidence({ drillId: DRILL, acks, faultAt: FAULT, current: { drill: DRILL, seq: 109 } });
    expect(ev).toEqual({ lastAcked: { zxid: '0x164', at: at(100) }, intactThrough: { zxid: '0x164', at: at(100) } });
    expect(rpoSecondsOf([], ev)).toBe(0);
  });

  it('a restore that took writes back is seen by the first write after it, even when later writes overwrote it', () => {
    const acks = zacks(101);
    // After the fault the znode came back holding seq 80; the stream wrote 101.. on top of it.
    const after: ZnodeAck[] = [
      { seq: 101, zxid: '0x900', at: at(130), before: 80 },
      { seq: 102, zxid: '0x901', at: at(131), before: 101 },
    ];
    const ev = zookeeperEvidence({ drillId: DRILL, acks: [...after, ...acks], faultAt: FAULT, current: { drill: DRILL, seq: 102 } });
    expect(ev).toEqual({ lastAcked: { zxid: '0x164', at: at(100) }, intactThrough: { zxid: '0x150', at: at(80) } });
    expect(rpoSecondsOf([], ev)).toBe(20);
  });

  it('absent or foreign after recovery: nothing intact', () => {
    const acks = zacks(101);
    expect(zookeeperEvidence({ drillId: DRILL, acks, faultAt: FAULT, current: null }).intactThrough).toBeNull();
    expect(zookeeperEvidence({ drillId: DRILL, acks, faultAt: FAULT, current: { drill: 'other', seq: 100 } }).intactThrough).toBeNull();
    const recreated = [...acks, { seq: 101, zxid: '0x900', at: at(120), before: null }];
    expect(zookeeperEvidence({ drillId: DRILL, acks: recreated, faultAt: FAULT, current: { drill: DRILL, seq: 101 } }).intactThrough).toBeNull();
    expect(zookeeperEvidence({ drillId: DRILL, acks: [], faultAt: FAULT, current: null })).toEqual({ lastAcked: null, intactThrough: null });
  });

  it('order independent', () => {
    const acks = zacks(101);
    const ev = zookeeperEvidence({ drillId: DRILL, acks, faultAt: FAULT, current: { drill: DRILL, seq: 70 } });
    expect(zookeeperEvidence({ drillId: DRILL, acks: [...acks].reverse(), faultAt: FAULT, current: { drill: DRILL, seq: 70 } })).toEqual(ev);
    expect(ev.intactThrough).toEqual({ zxid: '0x146', at: at(70) });
  });
});

describe('rpoSecondsOf and rtoSecondsOf', () => {
  it('the largest window over partitions and ZooKeeper', () => {
    const p = [
      { topic: TOPIC, partition: 0, lastAcked: { offset: 10, at: at(50) }, intactThrough: { offset: 5, at: at(40) } },
      { topic: TOPIC, partition: 1, lastAcked: { offset: 10, at: at(50) }, intactThrough: { offset: 10, at: at(50) } },
    ];
    expect(rpoSecondsOf(p)).toBe(10);
    expect(rpoSecondsOf(p, { lastAcked: { zxid: '0x20', at: at(50) }, intactThrough: { zxid: '0x10', at: at(20) } })).toBe(30);
    expect(rpoSecondsOf(p, { lastAcked: { zxid: '0x20', at: at(50) }, intactThrough: null })).toBeNull();
    expect(rpoSecondsOf(p, { lastAcked: { zxid: '0x20', at: at(50) }, intactThrough: null }, { streamStartedAt: at(0) })).toBe(50);
  });

  it('RTO: fault to first green probe; null without either, or a green before the fault', () => {
    expect(rtoSecondsOf(at(100), at(162.5))).toBe(62.5);
    expect(rtoSecondsOf(at(100), null)).toBeNull();
    expect(rtoSecondsOf(undefined, at(100))).toBeNull();
    expect(rtoSecondsOf(at(100), at(99))).toBeNull();
    expect(rtoSecondsOf('not a time', at(99))).toBeNull();
  });
});

describe('endsMoved (the guard of the stream\'s drop)', () => {
  it('undefined when every partition ends where it was read; else each moved, come or gone partition in order', () => {
    expect(endsMoved({ 0: 5, 1: 7 }, { 1: 7, 0: 5 })).toBeUndefined();
    expect(endsMoved({}, {})).toBeUndefined();
    expect(endsMoved({ 0: 5, 1: 7, 10: 1 }, { 0: 5, 1: 9, 2: 0, 10: 1 })).toBe('partition 1: end 7 at the read-back, end 9 now; partition 2: absent at the read-back, end 0 now');
    // By partition number: 2 before 10 (not as text, nor in the order the two readings list them).
    expect(endsMoved({ 10: 1 }, { 2: 0, 10: 2 })).toBe('partition 2: absent at the read-back, end 0 now; partition 10: end 1 at the read-back, end 2 now');
    // The topic gone since the read (or made since): every partition named.
    expect(endsMoved({ 0: 5 }, {})).toBe('partition 0: end 5 at the read-back, absent now');
    expect(endsMoved({}, { 0: 0 })).toBe('partition 0: absent at the read-back, end 0 now');
  });
});
