/**
 * Translating committed consumer offsets after a data restore. When topic data is restored by
 * re-producing records (not by copying log dirs), every record gets a new offset; a group's committed
 * offset must move with it. The data restore knows the mapping and supplies an `OffsetTranslator`;
 * `offsetMapTranslator` builds one from a plain map `{ topic: { partition: { originalOffset: newOffset } } }`.
 *
 * Kafka's convention: a committed offset C means "the next record to consume is the one at offset C".
 */
import { type OffsetMap as RestoreOffsetMap, targetTopicOf, translateOffset } from './offsetMap';

export interface OffsetTranslator {
  /**
   * Given a group's committed offset in the ORIGINAL log of `topic`/`partition`, returns the offset in
   * the RESTORED log of the next record the group had not consumed (a string, like kafkajs offsets),
   * or `undefined` when the translator knows nothing about that partition (the offset is then left
   * alone and reported).
   */
  translate(topic: string, partition: number, committedOffset: string): string | undefined | Promise<string | undefined>;
}

/** `{ topic: { partition: { originalOffset: newOffset } } }`, one entry per restored record. */
export type OffsetMap = Record<string, Record<string, Record<string, string | number>>>;

interface SortedPairs {
  originals: bigint[];
  restored: bigint[];
}

function sortPairs(pairs: Record<string, string | number>): SortedPairs {
  const rows = Object.entries(pairs)
    .map(([o, n]) => [BigInt(o), BigInt(n)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { originals: rows.map((r) => r[0]), restored: rows.map((r) => r[1]) };
}

/** Index of the first element >= x (binary search); `length` when none is. */
function lowerBound(xs: bigint[], x: bigint): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A translator over an offset map. The committed offset may fall on a gap in the original log
 * (compacted or expired records, transaction markers): the group then resumes at the first restored
 * record at or after it. If the group had consumed every restored record, it resumes after the last.
 */
export function offsetMapTranslator(map: OffsetMap): OffsetTranslator {
  const cache = new Map<string, SortedPairs | null>();
  const pairsFor = (topic: string, partition: number): SortedPairs | null => {
    const key = `${topic}\0${partition}`;
    if (!cache.has(key)) {
      const pairs = map[topic]?.[String(partition)];
      cache.set(key, pairs && Object.keys(pairs).length > 0 ? sortPairs(pairs) : null);
    }
    return cache.get(key)!;
  };
  return {
    translate(topic, partition, committedOffset) {
      const pairs = pairsFor(topic, partition);
      if (!pairs) return undefined;
      const i = lowerBound(pairs.originals, BigInt(committedOffset));
      if (i < pairs.originals.length) return pairs.restored[i]!.toString();
      return (pairs.restored[pairs.restored.length - 1]! + 1n).toString();
    },
  };
}

/**
 * A translator over the offset map a topic restore writes (src/kafka/offsetMap.ts, runs of
 * consecutive offsets). Only same-name restores translate: a map that restored a topic under another
 * name answers `undefined` for it (metadata apply keeps topic names).
 */
export function restoreMapTranslator(map: RestoreOffsetMap): OffsetTranslator {
  return {
    translate(topic, partition, committedOffset) {
      const target = targetTopicOf(map, topic);
      if (target !== undefined && target !== topic) return undefined;
      const n = translateOffset(map, topic, partition, Number(committedOffset));
      return n === undefined ? undefined : String(n);
    },
  };
}
