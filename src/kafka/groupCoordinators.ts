/**
 * Whether every group coordinator has loaded its groups. A broker that becomes leader of a
 * __consumer_offsets partition loads that partition's groups on a scheduler thread afterwards;
 * until the load has started, ListGroups answers without error and without those groups, so a
 * read right after a restart silently leaves groups out (a CI run saw twelve groups "added" by a
 * drill that had only restarted brokers, though every partition had a leader). OffsetFetch is
 * stricter: it answers NOT_COORDINATOR until the load has started and COORDINATOR_LOAD_IN_PROGRESS
 * until it is done. One OffsetFetch per partition, for a group id that hashes to it and that no
 * one uses, shows every coordinator ready; it reads nothing and creates nothing.
 */
import type { Admin } from 'kafkajs';
import { sleep } from '../core/poll';
import { describeTopics, retryTransient } from './admin';

/** Java's String.hashCode over UTF-16 code units: the hash Kafka places a group by. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The __consumer_offsets partition of a group: Kafka's Utils.abs(groupId.hashCode) % partitions. */
export function offsetsPartitionOf(groupId: string, partitions: number): number {
  const h = javaStringHash(groupId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

const PROBE_PREFIX = '__lifeboat-coordinator-probe-';

/** One unused group id per partition of __consumer_offsets, index = partition. */
export function probeGroupIds(partitions: number): string[] {
  const ids: (string | undefined)[] = new Array(partitions).fill(undefined);
  let left = partitions;
  for (let n = 0; left > 0; n++) {
    const id = `${PROBE_PREFIX}${n}`;
    const p = offsetsPartitionOf(id, partitions);
    if (ids[p] === undefined) {
      ids[p] = id;
      left--;
    }
  }
  return ids as string[];
}

/**
 * Waits (bounded) until the coordinator of every __consumer_offsets partition has loaded its
 * groups. Returns the partitions still not ready when the time ran out, or 'metadata' when no
 * broker knew the cluster in time: the caller reads anyway and says so. A principal not allowed
 * to describe the probe's groups learns nothing from it and reads as before.
 */
export async function untilGroupCoordinatorsLoaded(admin: Admin, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<number[] | 'metadata'> {
  const until = Date.now() + opts.timeoutMs;
  const left = () => ({ timeoutMs: Math.max(1, until - Date.now()), signal: opts.signal });
  const offsets = await offsetsTopicOnceKnown(admin, until, opts.signal);
  if (offsets === 'unknown') return 'metadata';
  if (offsets === 0) return []; // no group was ever stored: none to miss
  const notReady = await Promise.all(
    probeGroupIds(offsets).map(async (groupId, partition) => {
      try {
        // A named topic, so the answer carries an error per partition on every protocol version.
        await retryTransient(() => admin.fetchOffsets({ groupId, topics: ['__consumer_offsets'] }), left());
        return null;
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        // Not allowed to describe the probe's group: nothing learnt, read as before.
        if ((e as { type?: string }).type === 'GROUP_AUTHORIZATION_FAILED') return null;
        return partition;
      }
    }),
  );
  return notReady.filter((p): p is number => p !== null);
}

/** How long a cluster that knows its brokers must show no topic at all before that is believed. */
const EMPTY_STABLE_MS = 2_000;

/**
 * The partition count of __consumer_offsets (0: the topic does not exist), once the broker that
 * answers knows the cluster. A ZooKeeper-mode broker that has just started answers metadata from
 * an empty cache until the controller's first update, and a controller that has just taken over
 * first announces itself and the brokers with no partitions at all (its LeaderAndIsr and the
 * partitions follow): neither answer may read as "no group was ever stored". Partitions arrive
 * together, so a cache that holds any topic holds __consumer_offsets if it exists; one that holds
 * none is believed only when it stays so.
 */
async function offsetsTopicOnceKnown(admin: Admin, until: number, signal?: AbortSignal): Promise<number | 'unknown'> {
  let emptySince: number | undefined;
  for (;;) {
    const left = { timeoutMs: Math.max(1, until - Date.now()), signal };
    const cluster = await retryTransient(() => admin.describeCluster(), left);
    // All topics: asking for __consumer_offsets by name may make a broker create it.
    const topics = await retryTransient(() => describeTopics(admin, []), left);
    const knowsCluster = cluster.controller !== null && cluster.controller >= 0 && cluster.brokers.length > 0;
    if (knowsCluster && topics.length > 0) return topics.find((t) => t.name === '__consumer_offsets')?.partitions.length ?? 0;
    emptySince = knowsCluster ? (emptySince ?? Date.now()) : undefined;
    if (emptySince !== undefined && Date.now() - emptySince >= EMPTY_STABLE_MS) return 0;
    if (Date.now() >= until) return 'unknown';
    await sleep(250, signal);
  }
}
