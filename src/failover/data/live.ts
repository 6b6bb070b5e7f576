/**
 * The primary read live: partition ends (high watermarks) and the records of an offset range,
 * fetched read_uncommitted so that aborted records and transaction markers come too and are
 * counted for what they are (count.ts), not as offsets.
 */
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { reachableKafka } from '../../kafka/admin';
import { sleep, throwIfAborted } from '../../core/poll';
import { STALE_LEADER_ERRORS, WireClient, protocolError } from '../../kafka/wire/client';
import { lastOffsetOf, splitBatches } from '../../kafka/wire/recordBatch';
import { RangeCounter } from './count';
import type { PartitionOffset, RecordCount } from './types';

const OFFSET_OUT_OF_RANGE = 1;

/** Records of [from, to) of a partition and of [from, cut) for each cut, read from its leader. */
export async function countLive(
  client: WireClient,
  topic: string,
  partition: number,
  from: number,
  to: number,
  cuts: number[] = [],
  signal?: AbortSignal,
): Promise<{ total: RecordCount; atCuts: RecordCount[] }> {
  const counter = new RangeCounter(from, to, cuts);
  const where = `${topic}-${partition}`;
  let next = from;
  let idle = 0;
  while (next < to) {
    throwIfAborted(signal);
    const leader = client.leaders(topic).get(partition);
    if (leader === undefined) throw new LifeboatError('Unreachable', `${where} has no leader: its records cannot be read live`);
    const [fp] = await client.fetch(leader, topic, [{ partition, offset: next, maxBytes: 4 * 1024 * 1024 }], { maxWaitMs: 100, maxBytes: 8 * 1024 * 1024, readCommitted: false });
    if (!fp) throw new Error(`reading ${where}: the broker answered without the partition`);
    if (fp.errorCode === OFFSET_OUT_OF_RANGE && fp.logStartOffset > next) {
      next = fp.logStartOffset; // retention deleted the start: those records are gone everywhere
      continue;
    }
    if (STALE_LEADER_ERRORS.has(fp.errorCode) || fp.errorCode !== 0) {
      if (!STALE_LEADER_ERRORS.has(fp.errorCode) || ++idle > 20) throw protocolError(fp.errorCode);
      await sleep(500, signal);
      await client.refresh();
      continue;
    }
    const { batches } = splitBatches(fp.records, where);
    const fresh = batches.filter((b) => lastOffsetOf(b) >= next);
    if (fresh.length === 0) {
      if (++idle > 50) throw new Error(`reading ${where}: no records at offset ${next} (end ${to})`);
      await sleep(100, signal);
      continue;
    }
    idle = 0;
    for (const b of fresh) {
      if (b.baseOffset >= to) break;
      await counter.add(b, where);
    }
    next = lastOffsetOf(fresh[fresh.length - 1]!) + 1;
  }
  return counter.finish();
}

/**
 * The primary's partition ends (high watermarks: what its consumers can read) from the partitions'
 * leaders; `Unreachable` when no broker answers. Partitions without a leader are left out.
 */
export async function partitionEnds(spec: ClusterSpec, topics: string[], signal?: AbortSignal): Promise<PartitionOffset[]> {
  const client = await WireClient.open(await reachableKafka(spec, 'failover-data'), topics, signal);
  try {
    const out: PartitionOffset[] = [];
    for (const topic of topics) for (const [partition, offset] of [...(await client.listOffsets(topic, 'end'))].sort(([a], [b]) => a - b)) out.push({ topic, partition, offset });
    return out;
  } finally {
    await client.close();
  }
}
