/**
 * A scripted two-broker cluster for the group listing's own logic (unit tests): its
 * __consumer_offsets leaders move, unload or stay offline as the script says. The real moves
 * are in the drill and mirror integration tests.
 */
import type { Admin } from 'kafkajs';
import { offsetsPartitionOf } from '../../src/kafka/groupCoordinators';

export const PARTITIONS = 4;

/** A coordinator that has not loaded its partition (kafkajs marks NOT_COORDINATOR retriable). */
const notCoordinator = () => Object.assign(new Error('This is not the correct coordinator for this group'), { type: 'NOT_COORDINATOR', retriable: true });

interface Script {
  /** On the n-th ListGroups: the partition whose leader moves (its new leader not loaded yet). */
  moveOnList?: (call: number) => number | undefined;
  /** The partition whose coordinator stays unloaded for this many probes after a move (the move shows only to the probe). */
  unloadedProbes?: number;
  /** Partitions that never load (offline). */
  offline?: number[];
  /** Groups reported by two brokers at once. */
  twice?: string[];
}

/** A two-broker cluster whose __consumer_offsets partition leaders move as the script says. */
export function scriptedCluster(groupIds: string[], script: Script) {
  const leaders = Array.from({ length: PARTITIONS }, () => 1);
  const unloaded = new Map<number, number>(); // partition → probes left that answer NOT_COORDINATOR
  let lists = 0;
  const admin = {
    describeCluster: async () => ({ clusterId: 'c', controller: 1, brokers: [1, 2].map((nodeId) => ({ nodeId, host: 'localhost', port: 9092 })) }),
    fetchTopicMetadata: async () => ({
      topics: [{ name: '__consumer_offsets', partitions: leaders.map((leader, partitionId) => ({ partitionId, leader, replicas: [1, 2], isr: [1, 2], offlineReplicas: [], partitionErrorCode: 0 })) }],
    }),
    listGroups: async () => {
      lists++;
      const moved = script.moveOnList?.(lists);
      const listed = (ids: string[]) => ({ groups: [...ids, ...(script.twice ?? [])].map((groupId) => ({ groupId, protocolType: 'consumer' })) });
      if (moved === undefined) return listed(groupIds);
      // The new leader of `moved` answers before it has loaded that partition's groups.
      if (script.unloadedProbes) unloaded.set(moved, script.unloadedProbes);
      else leaders[moved] = leaders[moved] === 1 ? 2 : 1;
      return listed(groupIds.filter((g) => offsetsPartitionOf(g, PARTITIONS) !== moved));
    },
    describeGroups: async (ids: string[]) => ({ groups: ids.map((groupId) => ({ groupId, state: 'Empty', protocolType: 'consumer', members: [] })) }),
    fetchOffsets: async ({ groupId }: { groupId: string }) => {
      if (groupIds.includes(groupId)) return [{ topic: 'orders', partitions: [{ partition: 0, offset: String(groupIds.indexOf(groupId) + 10), metadata: null }] }];
      // A probe's group: its partition's coordinator answers once loaded.
      const p = offsetsPartitionOf(groupId, PARTITIONS);
      if (script.offline?.includes(p)) throw notCoordinator();
      const n = unloaded.get(p) ?? 0;
      if (n > 0) {
        unloaded.set(p, n - 1);
        throw notCoordinator();
      }
      return [];
    },
  };
  return { admin: admin as unknown as Admin, lists: () => lists };
}

/** Two groups in different partitions of __consumer_offsets. */
export function twoGroups(): string[] {
  const ids: string[] = [];
  const used = new Set<number>();
  for (let n = 0; ids.length < 2; n++) {
    const p = offsetsPartitionOf(`g-${n}`, PARTITIONS);
    if (used.has(p)) continue;
    used.add(p);
    ids.push(`g-${n}`);
  }
  return ids;
}
