/**
 * The cluster's topics as a backup must see them. A broker answers ListTopics (a Metadata request)
 * from its cache, which the controller fills once the broker has registered: a broker that has just
 * started may already serve requests and list no topic at all. In ZooKeeper mode ZooKeeper holds the
 * truth (`<chroot>/brokers/topics`); a topic it has that the listing lacks (and that is not being
 * deleted) is listed again until the brokers list it.
 */
import type { Admin } from 'kafkajs';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { chrootPath, getChildren, ZkError } from '../zookeeper/client';
import { withZkSession } from '../zookeeper/errors';
import { sleep } from '../core/poll';
import { topicErrorsOf } from './ready';

/** How long the brokers get to list topics ZooKeeper has and a listing lacked. */
const LIST_MS = 30_000;
/** How long the check waits for ZooKeeper: an outage must not hold up a backup of what Kafka still serves. */
const ZK_MS = 10_000;

const noNode = (e: unknown) => e instanceof ZkError && e.code === 'NO_NODE';

/**
 * The topics ZooKeeper holds and is not deleting; undefined for a cluster without ZooKeeper
 * metadata (KRaft), and when ZooKeeper cannot be read (the listing then stands alone, as before:
 * the backup's ZooKeeper part reports the outage).
 */
export async function topicsInZookeeper(spec: ClusterSpec, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string[] | undefined> {
  const zkc = spec.zookeeper;
  if (!zkc || spec.kafka.mode === 'kraft') return undefined;
  opts.signal?.throwIfAborted();
  try {
    return await withZkSession(zkc.connect, { auth: zkAuthOf(spec), timeoutMs: opts.timeoutMs ?? ZK_MS, signal: opts.signal }, async (zk) => {
      const children = (path: string): Promise<string[]> => getChildren(zk, chrootPath(zkc.chroot, path)).catch((e: unknown) => (noNode(e) ? [] : Promise.reject(e)));
      // The deletions first: Kafka removes a topic's node before its deletion's, so a deletion that
      // ends between the two reads leaves the topic in neither, never in the first alone.
      const deleting = await children('/admin/delete_topics');
      const topics = await children('/brokers/topics');
      return topics.filter((t) => !deleting.includes(t)).sort();
    });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    return undefined;
  }
}

export interface CheckedListingOptions {
  /** The topics the caller uses (a backup leaves internal and disposable ones out): only those are checked. */
  relevant?: (topic: string) => boolean;
  signal?: AbortSignal;
  /** How long the brokers get to list what ZooKeeper has (default 30 s). */
  timeoutMs?: number;
  /** How long ZooKeeper gets to answer (default 10 s). */
  zkTimeoutMs?: number;
  /** false: the last listing even when it still lacks topics (an inventory reports them as differences). */
  strict?: boolean;
}

/**
 * Lists the topics (as `admin.listTopics()`), checked against ZooKeeper where the cluster keeps its
 * metadata there: relevant topics it has and the listing lacks, and that the principal may describe,
 * are listed again (every 200 ms, within 30 s) until they are there. Still missing and still in
 * ZooKeeper: Unreachable, naming them (a backup's retry comes back later), never a listing that
 * silently lacks them; `strict: false` returns the last listing instead.
 */
export async function listTopicsChecked(spec: ClusterSpec, admin: Admin, opts: CheckedListingOptions = {}): Promise<string[]> {
  const zk = { signal: opts.signal, timeoutMs: opts.zkTimeoutMs };
  const [listed, truth] = await Promise.all([admin.listTopics(), topicsInZookeeper(spec, zk)]);
  const relevant = opts.relevant ?? (() => true);
  let missing = (truth ?? []).filter((t) => relevant(t) && !listed.includes(t));
  if (!missing.length) return listed;
  // A principal without Describe on a topic never sees it listed: as before, the backup is of what it may read.
  const errors = await topicErrorsOf(spec, missing).catch(() => new Map<string, string>());
  missing = missing.filter((t) => errors.get(t) !== 'TOPIC_AUTHORIZATION_FAILED');
  if (!missing.length) return listed;
  const timeoutMs = opts.timeoutMs ?? LIST_MS;
  let last = listed;
  for (const until = Date.now() + timeoutMs; ; ) {
    await sleep(200, opts.signal);
    last = await admin.listTopics();
    if (missing.every((t) => last.includes(t)) || Date.now() > until) break;
  }
  const absent = missing.filter((t) => !last.includes(t));
  if (!absent.length || opts.strict === false) return last;
  // A topic deleted meanwhile is not missing.
  const now = await topicsInZookeeper(spec, zk);
  const still = absent.filter((t) => now === undefined || now.includes(t));
  if (!still.length) return last;
  const some = still.slice(0, 5).join(', ') + (still.length > 5 ? ` and ${still.length - 5} more` : '');
  throw new LifeboatError('Unreachable', `the brokers of ${spec.name} do not list ${still.length} topic(s) ZooKeeper has (${some}) after ${timeoutMs / 1000} s: a broker that has just started may not know them yet (retry once every broker serves)`);
}
