/** Cluster-level activities: health, the partitions a broker carries, ISR wait, leader election. */
import { heartbeat } from '@temporalio/activity';
import { type ClusterHealth, clusterHealth, preferredLeaderElection, waitForBrokerInIsr } from '../src/kafka/cluster';
import { readClusterState } from '../src/kafka/clusterState';
import type { ClusterSpec } from '../src/config/spec';
import { checkedSpec, mapped } from './errors';

export async function clusterHealthActivity(input: { spec: ClusterSpec }): Promise<ClusterHealth> {
  return mapped(async () => clusterHealth(checkedSpec(input.spec)));
}

export interface BrokerPartitions {
  brokerId: number;
  /** Partitions whose preferred (first) replica is the broker. */
  preferredLeaderOf: { topic: string; partition: number }[];
  replicaOf: number;
  /** Partitions whose only in-sync replica was this broker (offline until it returns). */
  offlineWithoutIt: number;
}

export async function brokerPartitionsActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<BrokerPartitions> {
  return mapped(async () => {
    const parts = (await readClusterState(checkedSpec(input.spec))).partitions;
    const mine = parts.filter((p) => p.replicas.includes(input.brokerId));
    return {
      brokerId: input.brokerId,
      preferredLeaderOf: mine.filter((p) => p.replicas[0] === input.brokerId).map((p) => ({ topic: p.topic, partition: p.partition })),
      replicaOf: mine.length,
      offlineWithoutIt: mine.filter((p) => p.leader < 0).length,
    };
  });
}

export async function waitForIsrActivity(input: { spec: ClusterSpec; brokerId: number; timeoutMs?: number }): Promise<{ partitions: number }> {
  return mapped(async () => {
    let total = 0;
    await waitForBrokerInIsr(checkedSpec(input.spec), input.brokerId, {
      timeoutMs: input.timeoutMs ?? 10 * 60_000,
      onProgress: (missing, all) => {
        total = all;
        heartbeat({ missing, total: all });
      },
    });
    return { partitions: total };
  });
}

export async function preferredLeaderElectionActivity(input: { spec: ClusterSpec; partitions: { topic: string; partition: number }[] }): Promise<{ elected: number }> {
  return mapped(async () => {
    await preferredLeaderElection(checkedSpec(input.spec), input.partitions);
    return { elected: input.partitions.length };
  });
}
