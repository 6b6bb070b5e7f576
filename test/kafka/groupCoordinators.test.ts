import { describe, expect, it } from 'vitest';
import { javaStringHash, offsetsPartitionOf, probeGroupIds } from '../../src/kafka/groupCoordinators';

// Values from java.lang.String.hashCode and Kafka's Utils.abs(hash) % 50, computed with a JDK.
describe('where Kafka stores a group', () => {
  it('hashes like Java, including overflow, non-ASCII and Integer.MIN_VALUE', () => {
    expect(javaStringHash('')).toBe(0);
    expect(javaStringHash('hello')).toBe(99162322);
    expect(javaStringHash('demo-orders-consumers')).toBe(-1758211841);
    expect(javaStringHash('héllo✓')).toBe(-1099020539);
    expect(javaStringHash('polygenelubricants')).toBe(-2147483648);
  });

  it('places a group in the partition Kafka does', () => {
    expect(offsetsPartitionOf('hello', 50)).toBe(22);
    expect(offsetsPartitionOf('demo-orders-consumers', 50)).toBe(41);
    expect(offsetsPartitionOf('verify-d3b52854', 50)).toBe(31);
    expect(offsetsPartitionOf('polygenelubricants', 50)).toBe(0);
    expect(offsetsPartitionOf('__lifeboat-coordinator-probe-0', 50)).toBe(45);
  });

  it('finds one probe group per partition, each hashing to its own', () => {
    for (const n of [1, 3, 50, 200]) {
      const ids = probeGroupIds(n);
      expect(ids).toHaveLength(n);
      expect(new Set(ids).size).toBe(n);
      ids.forEach((id, p) => expect(offsetsPartitionOf(id, n)).toBe(p));
    }
  });
});
