/** Cluster-level activities: health, the partitions a broker carries, ISR wait, leader election. */
import { type ClusterHealth, clusterHealth, preferredLeaderElection, waitForBrokerInIsr } from '../src/kafka/cluster';
import { readClusterState } from '../src/kafka/clusterState';
import type { ClusterSpec } from '../src/config/spec';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export interface BrokerPartitions {
  brokerId: number;
  /** Partitions whose preferred (first) replica is the broker. */
  preferredLeaderOf: { topic: string; partition: number }[];
  replicaOf: number;
  /** Partitions whose only in-sync replica was this broker (offline until it returns). */
  offlineWithoutIt: number;
}

export function clusterActivities(_deps: ActivityDeps) {
  return {
    async clusterHealthActivity(input: { spec: ClusterSpec }): Promise<ClusterHealth> {
      return clusterHealth(input.spec);
    },

    async brokerPartitionsActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<BrokerPartitions> {
      const parts = (await readClusterState(input.spec)).partitions;
      const mine = parts.filter((p) => p.replicas.includes(input.brokerId));
      return {
        brokerId: input.brokerId,
        preferredLeaderOf: mine.filter((p) => p.replicas[0] === input.brokerId).map((p) => ({ topic: p.topic, partition: p.partition })),
        replicaOf: mine.length,
        offlineWithoutIt: mine.filter((p) => p.leader < 0).length,
      };
    },

    /** `alsoLost`: brokers down that later recoveries bring back (partitions offline through them are not waited for). */
    async waitForIsrActivity(input: { spec: ClusterSpec; brokerId: number; timeoutMs?: number; alsoLost?: number[] }): Promise<{ partitions: number }> {
      let total = 0;
      const phase = 'wait for ISR';
      const subject = `broker ${input.brokerId}`;
      await withHeartbeat({ phase, subject }, (beat, signal) =>
        waitForBrokerInIsr(input.spec, input.brokerId, {
          timeoutMs: input.timeoutMs ?? 10 * 60_000,
          signal,
          alsoLost: input.alsoLost,
          onProgress: (missing, all) => {
            total = all;
            beat({ phase, subject, done: all - missing, total: all, unit: 'partitions' });
          },
        }),
      );
      return { partitions: total };
    },

    async preferredLeaderElectionActivity(input: { spec: ClusterSpec; partitions: { topic: string; partition: number }[] }): Promise<{ elected: number }> {
      await withHeartbeat({ phase: 'preferred leader election', total: input.partitions.length, unit: 'partitions' }, (_beat, signal) =>
        preferredLeaderElection(input.spec, input.partitions, undefined, signal),
      );
      return { elected: input.partitions.length };
    },
  };
}
