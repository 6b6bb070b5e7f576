/**
 * What a returning broker waits for in a brokerRecovery (src/kafka/cluster.ts isrWaitedFor): every
 * partition it replicates, except one without a leader that has a replica on a broker still down
 * that a later recovery brings back. On the lab, brokers-lost (2 and 3 killed, broker 2 recovered
 * first) waited 4+ minutes on a drill probe's scratch topic deleted while broker 3 was down: leader
 * -1, replicas [1,3,2], ISR [1], its deletion held until broker 3 returns.
 */
import { describe, expect, it } from 'vitest';
import { isrWaitedFor } from '../../src/kafka/cluster';

const p = (topic: string, leader: number, replicas: number[], isr: number[]) => ({ topic, partition: 0, leader, replicas, isr });

describe('isrWaitedFor', () => {
  const parts = [
    p('orders', 1, [2, 1, 3], [1]),
    p('deleted-probe', -1, [1, 3, 2], [1]),
    p('only-on-3', -1, [3, 2], [3]),
    p('offline-without-pending', -1, [2, 1], [2]),
    p('elsewhere', 1, [1, 3], [1]),
  ];

  it('leaves out leaderless partitions that wait for a broker still down (brokers-lost: 3 comes back after 2)', () => {
    expect(isrWaitedFor(parts, 2, [3]).map((x) => x.topic)).toEqual(['orders', 'offline-without-pending']);
  });

  it('without brokers pending, every partition the broker replicates (a single broker recovery)', () => {
    expect(isrWaitedFor(parts, 2).map((x) => x.topic)).toEqual(['orders', 'deleted-probe', 'only-on-3', 'offline-without-pending']);
  });

  it('a partition with a leader is waited for whoever else is down', () => {
    expect(isrWaitedFor([p('led', 1, [1, 2, 3], [1])], 2, [3])).toHaveLength(1);
  });
});
