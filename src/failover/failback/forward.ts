/**
 * The forward mirror (primary → standby) as failback sees it: its positions and offset map, read
 * from the mirror's state topic on the standby (pair `mirrorPair(primary, standby)`).
 */
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { kafkaFor } from '../../kafka/client';
import { mirrorPair } from '../../kafka/mirrorRun.pure';
import { type PartitionState, readState, runsOf } from '../../kafka/mirror/state';
import type { Run } from '../../kafka/offsetMap';

export interface ForwardPartition {
  topic: string;
  partition: number;
  /** Next primary offset the mirror would copy: the divergent tail starts here. */
  next: number;
  /** The standby's offset after the mirrored records: the clients' records start here. */
  targetNext: number;
  /** The whole map [primary offset, standby offset, count]. */
  runs: Run[];
}

/** Every mirrored partition of the pair, sorted; `topics` narrows it. Refuses positions with batches of unknown fate. */
export async function forwardPartitions(primary: ClusterSpec, standby: ClusterSpec, topics?: string[], signal?: AbortSignal): Promise<ForwardPartition[]> {
  const pair = mirrorPair(primary.name, standby.name);
  const state = await readState(kafkaFor(standby, 'failback'), pair, signal);
  const out: ForwardPartition[] = [];
  const unresolved: PartitionState[] = [];
  for (const p of state.positions.values()) {
    if (topics && !topics.includes(p.topic)) continue;
    if (p.sent?.length) unresolved.push(p);
    out.push({ topic: p.topic, partition: p.partition, next: p.next, targetNext: p.targetNext, runs: runsOf(state, p) });
  }
  if (unresolved.length) {
    const u = unresolved[0]!;
    throw new LifeboatError(
      'UnsafeTarget',
      `mirror ${pair} stopped with batches sent but not confirmed (${unresolved.length} partitions, e.g. ${u.topic}-${u.partition}): where they landed on ${standby.name} is not known, so neither is the divergent tail; run the mirror once more (lifeboat mirror start, then stop) to settle them, then fail back`,
    );
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}
