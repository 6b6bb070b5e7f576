/**
 * A stopped mirror's settled positions (source → target): where each partition's copies end on the
 * target and the offset map, read from the mirror's state topic on the target (pair
 * `mirrorPair(source, target)`). What failback (the forward mirror primary → standby), a failover
 * drill's review and a migration's rollback stand on; also the records on the target past the
 * mirror's copies (written there by clients, not by the mirror).
 */
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { withAdmin } from '../admin';
import { kafkaFor } from '../client';
import { mirrorPair } from '../mirrorRun.pure';
import { type TargetWrites, writesPastCopies } from '../mirrorWrites.pure';
import { type PartitionState, readState, runsOf } from './state';
import type { Run } from '../offsetMap';

/** A mirrored partition (failback's forward mirror primary → standby is where the name comes from). */
export interface ForwardPartition {
  topic: string;
  partition: number;
  /** Next source offset the mirror would copy (failback: the primary's divergent tail starts here). */
  next: number;
  /** The target's offset after the mirrored records: the clients' records start here. */
  targetNext: number;
  /** The whole map [source offset, target offset, count]. */
  runs: Run[];
}

/** What failback's refusal of unsettled positions tells the operator (its callers' default). */
const SETTLE_THEN_FAIL_BACK = 'run the mirror once more (lifeboat mirror start, then stop) to settle them, then fail back';

/**
 * Every mirrored partition of the pair, sorted; `topics` narrows it. Refuses positions with batches
 * of unknown fate; `advice`: what the refusal tells the operator to do (nothing when empty).
 */
export async function forwardPartitions(
  source: ClusterSpec,
  target: ClusterSpec,
  { topics, signal, advice = SETTLE_THEN_FAIL_BACK }: { topics?: string[]; signal?: AbortSignal; advice?: string } = {},
): Promise<ForwardPartition[]> {
  const pair = mirrorPair(source.name, target.name);
  const state = await readState(kafkaFor(target, 'mirror-settled'), pair, signal);
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
      `mirror ${pair} has batches sent but not confirmed (${unresolved.length} partitions, e.g. ${u.topic}-${u.partition}): where they landed on ${target.name} is not known, so neither is where its copies end${advice ? `; ${advice}` : ''}`,
    );
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/**
 * The target's end offset of every partition the mirror source → target holds a position of
 * ("topic/partition" → end; `exclude`: topics left out; `only`: just these topics). A read.
 */
export async function mirroredTargetEnds(source: ClusterSpec, target: ClusterSpec, opts: { exclude?: string[]; only?: string[]; signal?: AbortSignal; advice?: string } = {}): Promise<{ forward: ForwardPartition[]; ends: Record<string, number> }> {
  const forward = (await forwardPartitions(source, target, { topics: opts.only, signal: opts.signal, advice: opts.advice })).filter((f) => !opts.exclude?.includes(f.topic));
  const ends: Record<string, number> = {};
  const topics = [...new Set(forward.map((f) => f.topic))];
  if (topics.length) {
    await withAdmin(kafkaFor(target, 'mirror-target-writes'), target.name, async (admin) => {
      const present = new Set(await admin.listTopics());
      for (const t of topics) {
        if (!present.has(t)) continue;
        for (const o of await admin.fetchTopicOffsets(t)) ends[`${t}/${o.partition}`] = Number(o.high);
      }
    });
  }
  return { forward, ends };
}

/**
 * The mirrored partitions of the target with records past the mirror's copies and past `since` (the
 * target's ends when the caller began: records there before are not its clients'), and how many
 * mirrored partitions were looked at. A read.
 */
export async function targetWritesPastCopies(source: ClusterSpec, target: ClusterSpec, opts: { exclude?: string[]; only?: string[]; since?: Record<string, number>; signal?: AbortSignal; advice?: string } = {}): Promise<{ writes: TargetWrites[]; partitions: number }> {
  const { forward, ends } = await mirroredTargetEnds(source, target, opts);
  // `forward` is without the excluded topics already.
  return { writes: writesPastCopies(forward, ends, opts.since), partitions: forward.length };
}
