/** The mirror workflow's pure arithmetic: shard split, lag in records and seconds, totals, refusals, DataLost ranges. */
import { describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import type { PartitionPosition } from '../../src/kafka/mirror';
import {
  dataLostOf,
  heartbeatPositions,
  lagOf,
  lagTable,
  mergePositions,
  mirrorTotals,
  mirrorWorkflowId,
  planPartitions,
  renderLagTable,
  sameCluster,
  selectionProblem,
  splitShards,
  withLivePositions,
} from '../../src/kafka/mirrorRun.pure';

const pos = (topic: string, partition: number, next: number, sourceEnd: number, extra: Partial<PartitionPosition> = {}): PartitionPosition => ({
  topic,
  partition,
  next,
  sourceEnd,
  mode: 'identical',
  records: next,
  bytes: next * 10,
  ...extra,
});

describe('splitShards', () => {
  const parts = (topic: string, n: number) => Array.from({ length: n }, (_, partition) => ({ topic, partition }));

  it('spreads partitions evenly over the shards, each partition exactly once, grouped per topic in order', () => {
    const all = [...parts('a', 6), ...parts('b', 3)];
    const shards = splitShards(all, 4);
    expect(shards).toHaveLength(4);
    const flat = shards.flatMap((s) => s.flatMap((w) => w.partitions.map((p) => `${w.topic}/${p}`)));
    expect(flat.sort()).toEqual(all.map((p) => `${p.topic}/${p.partition}`).sort());
    const sizes = shards.map((s) => s.reduce((n, w) => n + w.partitions.length, 0));
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (const s of shards) {
      expect(s.map((w) => w.topic)).toEqual([...new Set(s.map((w) => w.topic))].sort());
      for (const w of s) expect(w.partitions).toEqual([...w.partitions].sort((x, y) => x - y));
    }
  });

  it('never makes more shards than partitions, and none for no partitions', () => {
    expect(splitShards(parts('a', 2), 8)).toEqual([[{ topic: 'a', partitions: [0] }], [{ topic: 'a', partitions: [1] }]]);
    expect(splitShards([], 4)).toEqual([]);
    expect(splitShards(parts('a', 3), 0)).toEqual([[{ topic: 'a', partitions: [0, 1, 2] }]]);
  });

  it('balances by weight: the partitions far behind do not share a shard', () => {
    const lag: Record<string, number> = { 'a/0': 1000, 'a/1': 1000, 'a/2': 1, 'a/3': 1 };
    const shards = splitShards(parts('a', 4), 2, (t, p) => lag[`${t}/${p}`]!);
    expect(shards).toEqual([[{ topic: 'a', partitions: [0, 2] }], [{ topic: 'a', partitions: [1, 3] }]]);
  });

  it('is deterministic (workflow code): the same input gives the same split', () => {
    const all = [...parts('x', 5), ...parts('y', 7)];
    expect(splitShards(all, 3)).toEqual(splitShards([...all].reverse(), 3));
  });
});

describe('lag', () => {
  it('is the records between next and the source end, and the age of the newest copied record while behind', () => {
    expect(lagOf(pos('a', 0, 90, 100, { lastTimestamp: 10_000 }), 25_000)).toEqual({ lagRecords: 10, lagSeconds: 15 });
    // Caught up: no lag in seconds, however old the last record is.
    expect(lagOf(pos('a', 0, 100, 100, { lastTimestamp: 1 }), 25_000)).toEqual({ lagRecords: 0, lagSeconds: 0 });
    // Behind with nothing copied yet: the age is unknown, not 0.
    expect(lagOf(pos('a', 0, 0, 5), 25_000)).toEqual({ lagRecords: 5 });
    // A source end seen before the last copy never gives negative lag.
    expect(lagOf(pos('a', 0, 110, 100), 0)).toEqual({ lagRecords: 0, lagSeconds: 0 });
  });

  it('totals: records, bytes, lag, the worst lag in seconds, caught up only without lag and lost data', () => {
    const rows = lagTable([pos('a', 0, 100, 100), pos('a', 1, 40, 50, { lastTimestamp: 1_000 })], 4_000);
    expect(mirrorTotals(rows)).toEqual({ partitions: 2, records: 140, bytes: 1400, lagRecords: 10, maxLagSeconds: 3, caughtUp: false, dataLost: 0 });
    const done = lagTable([pos('a', 0, 100, 100)], 0);
    expect(mirrorTotals(done).caughtUp).toBe(true);
    const lost = lagTable([pos('a', 0, 100, 100)], 0, [{ topic: 'a', partition: 0, from: 100, to: 150, message: 'gone' }]);
    expect(mirrorTotals(lost)).toMatchObject({ caughtUp: false, dataLost: 1 });
    expect(lost[0]!.dataLost).toEqual({ topic: 'a', partition: 0, from: 100, to: 150, message: 'gone' });
  });

  it('a partition lost before any position shows in the table with its range', () => {
    const rows = lagTable([], 0, [{ topic: 'b', partition: 2, from: 0, to: 70, message: 'retention' }]);
    expect(rows).toHaveLength(1);
    expect(renderLagTable(rows, mirrorTotals(rows))).toContain('DATA LOST 0..69 (70 records)');
  });

  it('newer positions replace older ones, sorted by topic and partition', () => {
    const merged = mergePositions([pos('b', 0, 1, 1), pos('a', 1, 5, 9)], [pos('a', 1, 9, 9), pos('a', 0, 3, 3)]);
    expect(merged.map((p) => [p.topic, p.partition, p.next])).toEqual([
      ['a', 0, 3],
      ['a', 1, 9],
      ['b', 0, 1],
    ]);
  });
});

describe('refusals and plans', () => {
  const spec = (name: string, servers: string[]) => ({ name, kafka: { bootstrapServers: servers } }) as unknown as ClusterSpec;

  it('the same cluster as source and target is refused by name or by a shared bootstrap server', () => {
    expect(sameCluster(spec('p', ['h:1']), spec('p', ['h:2']))).toMatch(/same cluster \(p\)/);
    expect(sameCluster(spec('p', ['h:1', 'h:2']), spec('q', ['h:2']))).toMatch(/share the bootstrap server h:2/);
    expect(sameCluster(spec('p', ['h:1']), spec('q', ['h:2']))).toBeUndefined();
    expect(mirrorWorkflowId('primary', 'next')).toBe('mirror-primary-to-next');
  });

  it('a selection needs names or a pattern that compiles', () => {
    expect(selectionProblem({})).toMatch(/selects no topics/);
    expect(selectionProblem({ topics: [] })).toMatch(/selects no topics/);
    expect(selectionProblem({ pattern: '(' })).toMatch(/not a regular expression/);
    expect(selectionProblem({ pattern: '^orders\\.' })).toBeUndefined();
  });

  it('plan partitions leave out the stopped ones', () => {
    const plan = [
      { topic: 'b', partitions: 2, configs: {}, action: 'create' as const },
      { topic: 'a', partitions: 1, configs: {}, action: 'exists' as const },
    ];
    expect(planPartitions(plan, new Set(['b/1']))).toEqual([
      { topic: 'a', partition: 0 },
      { topic: 'b', partition: 0 },
    ]);
  });

  it('a DataLost failure names its partition and range; without a partition the whole shard work stops', () => {
    expect(dataLostOf('lost', [{ topic: 't', partition: 3, from: 10, to: 20 }], [])).toEqual([{ topic: 't', partition: 3, from: 10, to: 20, message: 'lost' }]);
    expect(dataLostOf('lost', { topic: 't', partition: 1, next: 5, logStartOffset: 9 }, [])).toEqual([{ topic: 't', partition: 1, from: 5, to: 9, message: 'lost' }]);
    expect(dataLostOf('lost', undefined, [{ topic: 't', partition: 0 }, { topic: 't', partition: 2 }])).toEqual([
      { topic: 't', partition: 0, message: 'lost' },
      { topic: 't', partition: 2, message: 'lost' },
    ]);
  });
});

describe('live positions from the running shards', () => {
  it('reads only well-formed positions from heartbeat details', () => {
    const good = pos('a', 0, 5, 9);
    expect(heartbeatPositions({ phase: 'mirror', positions: [good, { topic: 'a', partition: 1, next: -1 }, { topic: 'a' }, null, 'x'] })).toEqual([good]);
    expect(heartbeatPositions({ phase: 'mirror' })).toEqual([]);
    expect(heartbeatPositions(undefined)).toEqual([]);
  });

  it('takes a running shard\'s position only when it is newer than the recorded one', () => {
    const recorded = [pos('a', 0, 50, 60), pos('a', 1, 30, 30)];
    const r = withLivePositions(recorded, [pos('a', 0, 55, 70), pos('a', 1, 20, 30), pos('b', 0, 1, 2)]);
    expect(r.live).toBe(2);
    expect(r.positions.map((p) => [p.topic, p.partition, p.next, p.sourceEnd])).toEqual([
      ['a', 0, 55, 70],
      ['a', 1, 30, 30],
      ['b', 0, 1, 2],
    ]);
    expect(withLivePositions(recorded, [pos('a', 1, 30, 31)]).positions[1]!.sourceEnd).toBe(31);
    expect(withLivePositions(recorded, []).live).toBe(0);
  });
});
