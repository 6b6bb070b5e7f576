import { describe, expect, it } from 'vitest';
import { bytesToRestore, copySource, parseBrokerMap, placePartitions, resolveBrokerMap, rfChanges } from '../../src/migration/offline/plan.pure';

describe('offline migration placement', () => {
  it('parses a broker map and says which item is wrong', () => {
    expect(parseBrokerMap('1=1, 2=1,3=2')).toEqual({ 1: 1, 2: 1, 3: 2 });
    expect(() => parseBrokerMap('1=1,2')).toThrow('item "2" is not <source id>=<target id>');
    expect(() => parseBrokerMap('1=1,1=2')).toThrow('names source broker 1 twice');
  });

  it('defaults to round robin and refuses a map that does not cover the source', () => {
    expect(resolveBrokerMap([3, 1, 2], [7], undefined)).toEqual({ map: { 1: 7, 2: 7, 3: 7 }, problems: [] });
    expect(resolveBrokerMap([1, 2, 3], [4, 5], undefined).map).toEqual({ 1: 4, 2: 5, 3: 4 });
    const r = resolveBrokerMap([1, 2, 3], [1], { 1: 1, 2: 1 });
    expect(r.problems).toEqual(['the broker map does not cover source broker 3: give every source broker a target (e.g. --broker-map 1=1,2=1,3=1)']);
    expect(resolveBrokerMap([1], [1], { 1: 9 }).problems[0]).toContain('target broker 9 that the target spec does not have');
  });

  it('places replicas on distinct target brokers with RF min(RF, target brokers)', () => {
    const parts = [
      { topic: 'a', partition: 0, replicas: [1, 2, 3] },
      { topic: 'a', partition: 1, replicas: [2, 3, 1] },
      { topic: 'b', partition: 0, replicas: [3] },
    ];
    const one = placePartitions(parts, { 1: 1, 2: 1, 3: 1 }, [1]);
    expect(one.map((p) => p.targetReplicas)).toEqual([[1], [1], [1]]);
    expect(rfChanges(one)).toEqual([{ topic: 'a', from: 3, to: 1 }]);
    // Two source brokers onto one target: the partition is topped up with the other target broker.
    const two = placePartitions(parts, { 1: 10, 2: 10, 3: 20 }, [10, 20]);
    expect(two.map((p) => p.targetReplicas)).toEqual([[10, 20], [10, 20], [20]]);
    const same = placePartitions(parts, { 1: 1, 2: 2, 3: 3 }, [1, 2, 3]);
    expect(same.map((p) => p.targetReplicas)).toEqual([[1, 2, 3], [2, 3, 1], [3]]);
    expect(rfChanges(same)).toEqual([]);
    expect(bytesToRestore([{ name: 'a', partitions: two.slice(0, 1) }], [{ partitions: { 'a-0': 5 } }, { partitions: { 'a-0': 7 } }])).toBe(14);
  });

  it('copies from the replica with the highest log end', () => {
    expect(copySource([1, 2, 3], { 1: 10, 2: 12, 3: 12 })).toBe(2);
    expect(copySource([1, 2], { 2: 3 })).toBe(2);
    expect(copySource([1], {})).toBeUndefined();
  });
});

describe('Kafka offset checkpoint files', () => {
  it('reads and writes "version, count, topic partition offset" and merges by topic-partition', async () => {
    const { formatCheckpoint, parseCheckpoint } = await import('../../src/migration/offline/restore');
    const own = parseCheckpoint('0\n2\n__consumer_offsets 0 5\nmine 0 12\n');
    expect([...own]).toEqual([['__consumer_offsets 0', '5'], ['mine 0', '12']]);
    for (const [k, v] of parseCheckpoint('0\n1\nmoved-topic 3 300\n')) own.set(k, v);
    expect(formatCheckpoint(own)).toBe('0\n3\n__consumer_offsets 0 5\nmine 0 12\nmoved-topic 3 300\n');
    expect([...parseCheckpoint('')]).toEqual([]);
    expect(formatCheckpoint(new Map())).toBe('0\n0\n');
  });
});
