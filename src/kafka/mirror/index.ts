/**
 * The mirror engine: copies topics from a source cluster to a target cluster as record batches,
 * with exact offsets, keeping its durable state on the target (state.ts). planMirror creates the
 * target topics; mirrorShard copies some partitions of one topic; mirrorPositions and
 * translateMirroredOffset read the state back (status, cut-over of consumer groups).
 */
import type { ClusterSpec } from '../../config/spec';
import { kafkaFor } from '../client';
import { type OffsetMap, translateOffset } from '../offsetMap';
import { WireClient } from '../wire/client';
import { type PartitionPosition, type ShardWork, positionOf } from './shard';
import { type MirrorState, readState, runsOf, stateKey } from './state';

export { type MirrorSelection, type MirrorTopicPlan, planMirror, applyDeferredConfigs } from './plan';
export { type PartitionPosition, type ShardResult, type ShardWork, type MirrorShardOptions, mirrorShard } from './shard';
export { STATE_TOPIC } from './state';
export { type MirrorAcl, type MirrorAclPlan, aclText, fenceShape } from './acls';

/** Reads the durable state from the target: where each partition stands (no copying). */
export async function mirrorPositions(source: ClusterSpec, target: ClusterSpec, pair: string, work?: ShardWork[]): Promise<PartitionPosition[]> {
  const state = await readState(kafkaFor(target, 'mirror-status'), pair);
  let positions = [...state.positions.values()];
  if (work) {
    const wanted = new Set(work.flatMap((w) => w.partitions.map((p) => stateKey(pair, w.topic, p))));
    positions = positions.filter((p) => wanted.has(stateKey(pair, p.topic, p.partition)));
  }
  // The source's current end where it answers (lag); the last one seen where it does not.
  const ends = new Map<string, number>();
  const topics = [...new Set(positions.map((p) => p.topic))];
  if (topics.length) {
    const client = await WireClient.open(kafkaFor(source, 'mirror-status'), topics).catch(() => undefined);
    try {
      for (const t of topics) for (const [p, end] of (await client?.listOffsets(t, 'committed').catch(() => undefined)) ?? []) ends.set(`${t}/${p}`, end);
    } finally {
      await client?.close();
    }
  }
  return positions
    .map((s) => ({ ...positionOf(s), sourceEnd: Math.max(ends.get(`${s.topic}/${s.partition}`) ?? s.sourceEnd, s.next) }))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/**
 * Exact translation of a source group offset ("next to read") for one partition, from the durable
 * state: the target offset of the first copied record at or after it, or the target's end when
 * everything before it is in. Undefined when the mirror has not reached it (or knows nothing).
 */
export async function translateMirroredOffset(target: ClusterSpec, pair: string, topic: string, partition: number, sourceOffset: number): Promise<number | undefined> {
  return (await mirroredOffsets(target, pair))(topic, partition, sourceOffset);
}

/** The same translation for many offsets from one read of the state (a cut-over translates every group). */
export async function mirroredOffsets(target: ClusterSpec, pair: string, read?: MirrorState): Promise<(topic: string, partition: number, sourceOffset: number) => number | undefined> {
  const state = read ?? (await readState(kafkaFor(target, 'mirror-status'), pair));
  const maps = new Map<string, OffsetMap>();
  return (topic, partition, sourceOffset) => {
    const st = state.positions.get(stateKey(pair, topic, partition));
    if (!st || sourceOffset > st.next) return undefined;
    const key = stateKey(pair, topic, partition);
    let map = maps.get(key);
    if (!map) maps.set(key, (map = { topics: { [topic]: { target: topic, partitions: { [String(partition)]: { runs: runsOf(state, st), end: st.targetNext } } } } }));
    return translateOffset(map, topic, partition, sourceOffset);
  };
}
