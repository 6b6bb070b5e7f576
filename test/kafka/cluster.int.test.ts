/** Cluster health and leadership on the real lab: a broker leaves, comes back, and regains its preferred leadership. */
import { describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { clusterHealth, partitionStates, preferredLeaderElection, waitForBrokerInIsr, withAdmin } from '../../src/kafka/cluster';
import { startBroker, stopBroker } from '../../src/lab/lab';
import { findBroker } from '../../src/lab/topology';
import { primarySpec, topo, unique } from '../support/lab';

describe('cluster health and preferred leader election', () => {
  it('sees a stopped broker, waits for it to rejoin every ISR, and restores preferred leaders', async () => {
    const spec = primarySpec();
    const kafka = kafkaFor(spec);
    const topic = unique('leaders');
    // Broker 3 is the preferred leader of every partition.
    await withAdmin(kafka, (admin) =>
      admin.createTopics({ topics: [{ topic, replicaAssignment: [0, 1].map((p) => ({ partition: p, replicas: [3, 1, 2] })) }], waitForLeaders: true }),
    );
    try {
      const b3 = findBroker(topo, 'primary', 3);
      await stopBroker(topo, b3);
      const down = await clusterHealth(kafka);
      expect(down.brokers).toEqual([1, 2]);
      expect(down.underReplicated.filter((p) => p.topic === topic)).toHaveLength(2);
      expect(down.notPreferred.filter((p) => p.topic === topic)).toHaveLength(2);

      await startBroker(topo, b3);
      const progress: number[] = [];
      await waitForBrokerInIsr(kafka, 3, { timeoutMs: 60_000, onProgress: (missing) => progress.push(missing) });
      expect(progress.at(-1)).toBe(0);
      const back = await withAdmin(kafka, (admin) => partitionStates(admin, [topic]));
      for (const p of back) expect(p.isr.sort()).toEqual([1, 2, 3]);

      await preferredLeaderElection(spec, back.map((p) => ({ topic: p.topic, partition: p.partition })));
      const after = await withAdmin(kafka, (admin) => partitionStates(admin, [topic]));
      expect(after.map((p) => p.leader)).toEqual([3, 3]);
    } finally {
      await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
    }
  });

  it('reports an unreachable cluster as Unreachable in one line', async () => {
    const spec = { ...primarySpec(), kafka: { ...primarySpec().kafka, bootstrapServers: ['127.0.0.1:1'] } };
    await expect(clusterHealth(kafkaFor(spec))).rejects.toMatchObject({ type: 'Unreachable' });
  });
});
