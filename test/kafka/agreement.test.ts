/**
 * The brokers' answers compared (src/kafka/ready.ts `disagreements`). A KRaft broker names a random
 * live broker as the controller of each Metadata answer, so in KRaft no controller is compared: a
 * 3-broker KRaft cluster agreed only by chance (1 look in 9), a 6-broker one practically never.
 */
import { describe, expect, it } from 'vitest';
import { type BrokerView, disagreements } from '../../src/kafka/ready';

const view = (controller: number, leaders: number[] = [1, 2, 3]): BrokerView => ({
  controller,
  brokers: [1, 2, 3].map((nodeId) => ({ nodeId, address: `127.0.0.1:${9090 + nodeId}` })),
  leaders: new Map([['orders', leaders]]),
  topicErrors: new Map(),
});
// As KRaft brokers answer: each a different "controller".
const kraftAnswers = [
  { id: 1, v: view(3) },
  { id: 2, v: view(1) },
  { id: 3, v: view(2) },
];

describe('disagreements', () => {
  it('in KRaft, brokers naming different controllers agree (the answer is a random live broker)', () => {
    expect(disagreements({ live: [1, 2, 3], controller: 2, kraft: true }, kraftAnswers, { topics: ['orders'] })).toEqual([]);
  });

  it('in ZooKeeper mode, a broker naming another controller than ZooKeeper does is a disagreement', () => {
    expect(disagreements({ live: [1, 2, 3], controller: 2, kraft: false }, kraftAnswers, { topics: ['orders'] })).toEqual([
      'broker 1 names controller 3, not 2',
      'broker 2 names controller 1, not 2',
    ]);
  });

  it('in KRaft, a broker still registered is one; "still the controller" is not asked', () => {
    expect(disagreements({ live: [1, 2, 3], controller: 3, kraft: true }, kraftAnswers, { absent: [3] })).toEqual(['broker 3 is still registered']);
  });

  it('in either mode: leaders that are not live, unknown topics and silent brokers are named', () => {
    const views = [
      { id: 1, v: view(1, [1, 4, 3]) },
      { id: 2, v: { ...view(1), leaders: new Map() } },
      { id: 3, error: 'ECONNREFUSED' },
    ];
    for (const kraft of [true, false]) {
      expect(disagreements({ live: [1, 2, 3], controller: 1, kraft }, views, { topics: ['orders'] })).toEqual([
        'broker 1 knows no live leader for orders partition(s) 1',
        'broker 2 does not know topic orders',
        'broker 3 does not answer (ECONNREFUSED)',
      ]);
    }
  });
});
