/** Cluster health and leadership on the real lab: a broker leaves, comes back, and regains its preferred leadership. */
import { describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { withAdmin } from '../../src/kafka/admin';
import { clusterHealth, preferredLeaderElection, waitForBrokerInIsr } from '../../src/kafka/cluster';
import { readClusterState } from '../../src/kafka/clusterState';
import { startBroker, stopBroker } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import { createTopicsReady } from '../support/kafka';
import { primarySpec, topo, unique } from '../support/lab';

describe('cluster health and preferred leader election', () => {
  it('sees a stopped broker, waits for it to rejoin every ISR, and restores preferred leaders', async () => {
    const spec = primarySpec();
    const kafka = kafkaFor(spec);
    const topic = unique('leaders');
    // Broker 3 is the preferred leader of every partition.
    await createTopicsReady(spec, [{ topic, replicaAssignment: [0, 1].map((p) => ({ partition: p, replicas: [3, 1, 2] })) }]);
    try {
      const b3 = findBroker(topo, 'primary', 3);
      await stopBroker(topo, b3);
      const down = await clusterHealth(spec);
      expect(down.brokers).toEqual([1, 2]);
      expect(down.underReplicated.filter((p) => p.topic === topic)).toHaveLength(2);
      expect(down.notPreferred.filter((p) => p.topic === topic)).toHaveLength(2);

      await startBroker(topo, b3);
      const progress: number[] = [];
      await waitForBrokerInIsr(spec, 3, { timeoutMs: 60_000, onProgress: (missing) => progress.push(missing) });
      expect(progress.at(-1)).toBe(0);
      const back = (await readClusterState(spec, { topics: [topic] })).partitions;
      expect(back).toHaveLength(2);
      for (const p of back) expect(p.isr.sort()).toEqual([1, 2, 3]);

      await preferredLeaderElection(spec, back.map((p) => ({ topic: p.topic, partition: p.partition })));
      const after = (await readClusterState(spec, { topics: [topic] })).partitions;
      expect(after.map((p) => p.leader)).toEqual([3, 3]);
    } finally {
      await withAdmin(kafka, spec.name, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
    }
  });

  it('reads health from ZooKeeper while a partition has no leader at all (kafkajs refuses such metadata)', async () => {
    const spec = primarySpec();
    const kafka = kafkaFor(spec);
    const topic = unique('offline');
    await createTopicsReady(spec, [{ topic, replicaAssignment: [{ partition: 0, replicas: [2] }] }]);
    const b2 = findBroker(topo, 'primary', 2);
    try {
      await stopBroker(topo, b2);
      // The controller marks the partition offline in ZooKeeper a moment after the broker left.
      let down = await clusterHealth(spec);
      for (let i = 0; i < 60 && down.offline.every((p) => p.topic !== topic); i++) {
        await new Promise((r) => setTimeout(r, 500));
        down = await clusterHealth(spec);
      }
      expect(down.brokers).toEqual([1, 3]);
      expect(down.offline.filter((p) => p.topic === topic)).toEqual([{ topic, partition: 0, leader: -1, replicas: [2], isr: [2] }]);
    } finally {
      await startBroker(topo, b2);
      await withAdmin(kafka, spec.name, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
    }
  });

  it('reports an unreachable cluster as Unreachable in one line', async () => {
    const base = primarySpec();
    const kraft = { ...base, kafka: { ...base.kafka, mode: 'kraft' as const, bootstrapServers: ['127.0.0.1:1'] } };
    await expect(clusterHealth(kraft)).rejects.toMatchObject({ type: 'Unreachable' });
    const zkDown = { ...base, zookeeper: { ...base.zookeeper!, connect: '127.0.0.1:1' } };
    await expect(clusterHealth(zkDown)).rejects.toMatchObject({ type: 'Unreachable' });
  });
});
