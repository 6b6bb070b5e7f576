/**
 * Cluster health and leadership, as a recovery needs them: which brokers are alive, which
 * partitions a broker leads or is missing from, waiting for a broker to rejoin every ISR, and a
 * preferred-leader election (kafkajs has no ElectLeaders call; in ZooKeeper mode the controller
 * acts on the /admin/preferred_replica_election znode, which is what Kafka's own tool writes).
 */
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { poll } from '../core/poll';
import { chrootPath, exists, type ZkClient } from '../zookeeper/client';
import { openZk } from '../zookeeper/errors';
import type { PartitionState } from './admin';
import { readClusterState } from './clusterState';

export interface ClusterHealth {
  brokers: number[];
  controller: number | null;
  partitions: number;
  offline: PartitionState[];
  underReplicated: PartitionState[];
  /** Partitions whose leader is not their first (preferred) replica. */
  notPreferred: PartitionState[];
}

export async function clusterHealth(spec: ClusterSpec): Promise<ClusterHealth> {
  const { brokers, controller, partitions: parts } = await readClusterState(spec);
  return {
    brokers,
    controller,
    partitions: parts.length,
    offline: parts.filter((p) => p.leader < 0),
    underReplicated: parts.filter((p) => p.isr.length < p.replicas.length),
    notPreferred: parts.filter((p) => p.leader >= 0 && p.leader !== p.replicas[0]),
  };
}

/** Partitions with a replica on `brokerId` that it is not (yet) in sync for. */
export const missingFromIsr = (parts: PartitionState[], brokerId: number): PartitionState[] =>
  parts.filter((p) => p.replicas.includes(brokerId) && !p.isr.includes(brokerId));

/**
 * The partitions a returning `brokerId` waits to be in sync for: those it replicates, except the ones
 * without a leader that also have a replica on a broker still down that another recovery brings back
 * (`pendingDown`, a drill's brokers-lost): such a partition (its ISR only on that broker, or a topic
 * whose deletion waits for it) has no leader for `brokerId` to follow until that broker is back.
 */
export const isrWaitedFor = (parts: PartitionState[], brokerId: number, pendingDown: readonly number[] = []): PartitionState[] =>
  parts.filter((p) => p.replicas.includes(brokerId) && !(p.leader < 0 && p.replicas.some((r) => r !== brokerId && pendingDown.includes(r))));

/** Waits until `brokerId` is in the ISR of every partition it replicates; reports progress while waiting. */
export async function waitForBrokerInIsr(
  spec: ClusterSpec,
  brokerId: number,
  opts: { timeoutMs: number; onProgress?: (missing: number, total: number) => void; signal?: AbortSignal; alsoLost?: number[] },
): Promise<void> {
  await poll(
    async (note) => {
      const state = await readClusterState(spec);
      const pendingDown = (opts.alsoLost ?? []).filter((id) => !state.brokers.includes(id));
      const mine = isrWaitedFor(state.partitions, brokerId, pendingDown);
      const missing = missingFromIsr(mine, brokerId);
      opts.onProgress?.(missing.length, mine.length);
      // Registered, and none of its partitions without a leader: the ISR of a sole replica keeps the
      // broker even while it is down. A broker that replicates nothing is then done at once.
      if (state.brokers.includes(brokerId) && missing.length === 0 && mine.every((p) => p.leader >= 0)) return true;
      note(state.brokers.includes(brokerId) ? `missing from the ISR of ${missing.length} of ${mine.length} partitions` : 'not registered');
      return false;
    },
    {
      what: `broker ${brokerId} to rejoin every ISR`,
      timeoutMs: opts.timeoutMs,
      intervalMs: 1000,
      signal: opts.signal,
      message: (last) => `broker ${brokerId} is not back in every ISR after ${Math.round(opts.timeoutMs / 1000)}s${last ? ` (${last})` : ''}`,
    },
  );
}

/**
 * Asks the controller for a preferred-leader election of the given partitions (ZooKeeper mode).
 * Idempotent: if an election is already pending, waits for it to finish first.
 */
export async function preferredLeaderElection(
  spec: ClusterSpec,
  partitions: { topic: string; partition: number }[],
  timeoutMs = 60_000,
  signal?: AbortSignal,
): Promise<void> {
  if (partitions.length === 0) return;
  if (spec.kafka.mode !== 'zookeeper' || !spec.zookeeper) {
    throw new LifeboatError('InvalidSpec', `preferred leader election needs ZooKeeper mode and a zookeeper section in spec ${spec.name}`);
  }
  const path = chrootPath(spec.zookeeper.chroot, '/admin/preferred_replica_election');
  const zk = await openZk(spec.zookeeper.connect, { auth: zkAuthOf(spec) });
  try {
    await waitAbsent(zk, path, timeoutMs, signal);
    const body = Buffer.from(JSON.stringify({ version: 1, partitions }));
    await new Promise<void>((resolve, reject) =>
      zk.mkdirp(path, body, (err) => (err && !String(err).includes('NODE_EXISTS') ? reject(err) : resolve())),
    );
    // The controller deletes the node when the election is done.
    await waitAbsent(zk, path, timeoutMs, signal);
  } finally {
    zk.close();
  }
}

async function waitAbsent(zk: ZkClient, path: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await poll(async () => (await exists(zk, path)) === null, {
    what: `${path} to be gone`,
    timeoutMs,
    intervalMs: 250,
    signal,
    message: () => `${path} still pending after ${Math.round(timeoutMs / 1000)}s (is a controller running?)`,
  });
}
