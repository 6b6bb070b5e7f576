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
import type { Admin, GroupOverview } from 'kafkajs';
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
  const probe = await probeCoordinators(admin, opts);
  return probe === 'metadata' ? probe : probe.notReady;
}

/** untilGroupCoordinatorsLoaded's look, with the partitions that were not ready at the first ask (`waited`), ready or not after. */
async function probeCoordinators(admin: Admin, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<{ notReady: number[]; waited: number[] } | 'metadata'> {
  const until = Date.now() + opts.timeoutMs;
  const left = () => ({ timeoutMs: Math.max(1, until - Date.now()), signal: opts.signal });
  const offsets = await offsetsTopicOnceKnown(admin, until, opts.signal);
  if (offsets === 'unknown') return 'metadata';
  if (offsets === 0) return { notReady: [], waited: [] }; // no group was ever stored: none to miss
  const waited = new Set<number>();
  const notReady = await Promise.all(
    probeGroupIds(offsets).map(async (groupId, partition) => {
      let asks = 0;
      try {
        // A named topic, so the answer carries an error per partition on every protocol version.
        await retryTransient(() => {
          if (asks++ > 0) waited.add(partition);
          return admin.fetchOffsets({ groupId, topics: ['__consumer_offsets'] });
        }, left());
        return null;
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        // Not allowed to describe the probe's group: nothing learnt, read as before.
        if ((e as { type?: string }).type === 'GROUP_AUTHORIZATION_FAILED') return null;
        return partition;
      }
    }),
  );
  return { notReady: notReady.filter((p): p is number => p !== null), waited: [...waited].sort((a, b) => a - b) };
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

/** How many times the groups are listed when the coordinators keep moving under the listing. */
const LISTINGS = 5;
/** How long the look after a listing waits for a coordinator that moved under it to load (it is listed again anyway). */
const AFTER_MS = 10_000;

/**
 * The cluster's groups (ListGroups), listed while the coordinators hold still. Every coordinator
 * has loaded first (see untilGroupCoordinatorsLoaded); and a leader of a __consumer_offsets
 * partition that moves during the listing (a broker restarting, the controller moving leaders back
 * to their preferred brokers 5 s after it took over) answers from a broker that has not loaded the
 * partition's groups yet: without error, without those groups. So the listing is bracketed: the
 * partitions' leaders just before it, and after it the coordinators probed again (one that moved
 * or unloaded under it is not ready, or ready at another leader) and the leaders read again. When
 * anything moved, it is listed again, a little later each time, within `timeoutMs` in all. Group
 * calls after it (OffsetFetch, DescribeGroups) answer NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS
 * instead, and are retried. What the caller should know (groups that may be missing) comes back as
 * warnings.
 */
export async function listGroupsSteadily(admin: Admin, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<{ groups: GroupOverview[]; warnings: string[] }> {
  const until = Date.now() + opts.timeoutMs;
  const left = (cap = Infinity) => ({ timeoutMs: Math.max(1, Math.min(cap, until - Date.now())), signal: opts.signal });
  const s = opts.timeoutMs / 1000;
  for (let listing = 1, pause = 200; ; listing++, pause *= 2) {
    const notLoaded = await untilGroupCoordinatorsLoaded(admin, left());
    const before = notLoaded === 'metadata' ? '' : await offsetsLeaders(admin, left());
    const listed = await retryTransient(() => admin.listGroups(), left());
    // Mid-move, the old and the new coordinator may both answer for a group: once each.
    const groups = [...new Map(listed.groups.map((g) => [g.groupId, g])).values()];
    const warnings: string[] = [];
    if (notLoaded === 'metadata') {
      warnings.push(`no broker knew the cluster's metadata within ${s} s (just started?): groups may be missing`);
      return { groups, warnings };
    }
    // A coordinator that moved or unloaded under the listing is not ready at the first ask after it
    // (or is ready at another leader): the probe waits for it, the listing is done again.
    const already = new Set(notLoaded);
    const after = await probeCoordinators(admin, left(AFTER_MS));
    const moved = after === 'metadata' || after.waited.some((p) => !already.has(p));
    const steady = !moved && (await offsetsLeaders(admin, left())) === before;
    const timeLeft = until - Date.now() > pause;
    if (!steady && listing < LISTINGS && timeLeft) {
      await sleep(pause, opts.signal);
      continue;
    }
    if (!steady) warnings.push(`the coordinators of __consumer_offsets moved during ${listing === 1 ? 'the listing' : `each of ${listing} listings`} of the groups (brokers restarting, leaders rebalancing?): groups may be missing`);
    if (notLoaded.length > 0) warnings.push(`the coordinators of __consumer_offsets partitions ${notLoaded.join(', ')} had not loaded their groups within ${s} s (offline?): groups stored there may be missing`);
    if (before === '' && groups.length > 0) warnings.push(`__consumer_offsets is not visible to this principal (no Describe on it?): whether every coordinator had loaded its groups could not be checked`);
    return { groups, warnings };
  }
}

/** The leader of each __consumer_offsets partition, as one comparable string ('' without the topic). */
async function offsetsLeaders(admin: Admin, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<string> {
  // All topics: asking for __consumer_offsets by name may make a broker create it.
  const topics = await retryTransient(() => describeTopics(admin, []), opts);
  const offsets = topics.find((t) => t.name === '__consumer_offsets');
  return (offsets?.partitions ?? []).map((p) => `${p.partitionId}:${p.leader}`).sort().join(',');
}
