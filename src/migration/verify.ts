/**
 * Verification after a migration's cut-over: per partition, the count and a SHA-256 of the source's
 * committed records against the target's, through the mirror's offset map (identical offsets are
 * the map's simplest case); the target holding nothing after what the mirror wrote; every group's
 * position on the target as committed; and a produce/consume probe on the target. Read only, except
 * the probe's own scratch topic (deleted again).
 *
 * The hash covers what a consumer sees of each record, in order: its timestamp and its key, value and
 * headers (the record body's bytes, whose encoding is canonical), never its offset (which differs in
 * mapped mode) — so src/kafka/fingerprint.ts, which hashes offsets, does not fit. Records are read as
 * the stored batches (wire/readBatches: read_committed, no consumer group is created).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { ClusterSpec } from '../config/spec';
import { throwIfAborted } from '../core/poll';
import { fetchCommittedOffsets, reachableKafka, withAdmin } from '../kafka/admin';
import { kafkaFor } from '../kafka/client';
import { mirroredOffsets } from '../kafka/mirror';
import { readState, runsOf } from '../kafka/mirror/state';
import type { Run } from '../kafka/offsetMap';
import { produceConsumeProbe } from '../kafka/probe';
import { WireClient } from '../kafka/wire/client';
import { type Range, readBatches } from '../kafka/wire/readBatches';
import { batchRecords } from '../kafka/wire/recordBatch';
import type { Check } from './checks';
import type { GroupMove } from './groups';

export interface VerifyOptions {
  signal?: AbortSignal;
  onProgress?: (topic: string) => void;
  /**
   * Clients already use the target (verify after the switch): records after the mirrored ones and
   * group positions past the committed ones are theirs, reported in the details but not as problems.
   * A group behind its committed position is a problem either way (it would re-read).
   */
  clientsMayRun?: boolean;
  /** Skip the produce/consume probe (default: run it). */
  probe?: boolean;
}

interface PartitionHash {
  records: number;
  sha256: string;
}

/** Count and SHA-256 of the committed records of each range (timestamp + body, in offset order). */
async function hashRanges(kafka: Kafka, topic: string, ranges: Map<number, Range>, signal?: AbortSignal, keep?: (partition: number, offset: number) => boolean): Promise<Map<number, PartitionHash>> {
  const state = new Map<number, { hash: Hash; records: number }>([...ranges.keys()].map((p) => [p, { hash: createHash('sha256'), records: 0 }]));
  const ts = Buffer.alloc(12);
  await readBatches(
    kafka,
    topic,
    ranges,
    async (partition, batches) => {
      const r = ranges.get(partition)!;
      const h = state.get(partition)!;
      for (const b of batches) {
        for (const rec of await batchRecords(b, `${topic}-${partition}`)) {
          if (rec.offset < r.from || rec.offset >= r.to) continue;
          if (keep && !keep(partition, rec.offset)) continue;
          ts.writeBigInt64BE(BigInt(rec.timestamp), 0);
          ts.writeUInt32BE(rec.body.length, 8);
          h.hash.update(ts);
          h.hash.update(rec.body);
          h.records++;
        }
      }
    },
    {
      signal,
      onLost: (p, lost) => {
        throw new Error(`${topic}-${p}: offsets ${lost.from}..${lost.to - 1} were deleted while being read`);
      },
    },
  );
  return new Map([...state].map(([p, h]) => [p, { records: h.records, sha256: h.hash.digest('hex') }]));
}

async function offsetsOf(kafka: Kafka, topic: string, which: 'earliest' | 'committed' | 'end'): Promise<Map<number, number>> {
  const client = await WireClient.open(kafka, [topic]);
  try {
    return await client.listOffsets(topic, which);
  } finally {
    await client.close();
  }
}

/**
 * Whether a target offset holds a record the mirror copied, by its offset map. A mirror that wrote
 * the whole target partition maps every offset from its first to its end (always true); a mirror
 * started over an existing log (failback's reverse mirror, src/failover/failback/seed.ts) maps the
 * records that were already there and its own, and leaves out the old log's records that never
 * came from the source (the divergent tail): those are not the source's and are not compared.
 */
async function targetOffsetsMapped(kafka: Kafka, pair: string): Promise<(topic: string, partition: number, offset: number) => boolean> {
  const state = await readState(kafka, pair);
  const gaps = new Map<string, Run[]>();
  for (const st of state.positions.values()) {
    const runs = [...runsOf(state, st)].sort((a, b) => a[1] - b[1]);
    const between: Run[] = [];
    for (let i = 1; i < runs.length; i++) {
      const end = runs[i - 1]![1] + runs[i - 1]![2];
      if (runs[i]![1] > end) between.push([end, runs[i]![1], 0]);
    }
    if (between.length) gaps.set(`${st.topic}/${st.partition}`, between);
  }
  return (topic, partition, offset) => !(gaps.get(`${topic}/${partition}`) ?? []).some(([from, to]) => offset >= from && offset < to);
}

export async function verifyMigration(
  source: ClusterSpec,
  target: ClusterSpec,
  pair: string,
  topics: string[],
  moves: GroupMove[],
  opts: VerifyOptions = {},
): Promise<{ checks: Check[]; problems: string[] }> {
  const checks: Check[] = [];
  const problems: string[] = [];
  const sk = await reachableKafka(source, 'verify');
  const tk = await reachableKafka(target, 'verify');
  const translate = await mirroredOffsets(target, pair);
  const inMap = await targetOffsetsMapped(tk, pair);

  for (const topic of [...topics].sort()) {
    throwIfAborted(opts.signal);
    opts.onProgress?.(topic);
    const bad: string[] = [];
    const notes: string[] = [];
    let records = 0;
    let partitions = 0;
    try {
      const low = await offsetsOf(sk, topic, 'earliest');
      const end = await offsetsOf(sk, topic, 'committed');
      const targetEnd = await offsetsOf(tk, topic, 'end').catch((e: unknown) => {
        throw new Error(`${topic} cannot be read on ${target.name}: ${(e as Error).message}`, { cause: e });
      });
      const targetLow = await offsetsOf(tk, topic, 'earliest');
      const src = new Map<number, Range>();
      const dst = new Map<number, Range>();
      for (const [p, to] of end) {
        const from = low.get(p) ?? 0;
        const tFrom = translate(topic, p, from);
        const tTo = translate(topic, p, to);
        if (tFrom === undefined || tTo === undefined) {
          bad.push(`${topic}-${p}: the mirror has not copied up to the source's end ${to}: drain it first`);
          continue;
        }
        const tl = targetLow.get(p) ?? 0;
        if (tl > tFrom && tTo > tFrom) {
          bad.push(`${topic}-${p}: offsets ${tFrom}..${Math.min(tl, tTo) - 1} the mirror wrote are deleted on ${target.name} (its log starts at ${tl})`);
          continue;
        }
        src.set(p, { from, to });
        dst.set(p, { from: tFrom, to: tTo });
        const te = targetEnd.get(p);
        if (te === undefined) bad.push(`${topic}-${p}: no such partition on ${target.name}`);
        else if (te > tTo) {
          const line = `${topic}-${p}: ${te - tTo} record(s) on ${target.name} after the mirrored ones (offsets ${tTo}..${te - 1})`;
          if (opts.clientsMayRun) notes.push(line);
          else bad.push(`${line}, written there by something else than the mirror`);
        } else if (te < tTo) bad.push(`${topic}-${p}: ${target.name} ends at ${te}, the mirror wrote up to ${tTo}`);
      }
      const a = await hashRanges(sk, topic, src, opts.signal);
      const b = await hashRanges(tk, topic, dst, opts.signal, (p, offset) => inMap(topic, p, offset));
      for (const [p, h] of a) {
        partitions++;
        records += h.records;
        const g = b.get(p)!;
        const s = src.get(p)!;
        const d = dst.get(p)!;
        const where = `source [${s.from}, ${s.to}) vs target [${d.from}, ${d.to})`;
        if (g.records !== h.records) bad.push(`${topic}-${p}: ${h.records} records on ${source.name}, ${g.records} on ${target.name} (${where})`);
        else if (g.sha256 !== h.sha256) bad.push(`${topic}-${p}: records differ (SHA-256 of timestamps, keys, values and headers, ${where})`);
      }
    } catch (e) {
      const line = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
      bad.push(line.startsWith(topic) ? line : `${topic}: ${line}`);
    }
    problems.push(...bad);
    checks.push({
      name: `records ${topic}`,
      ok: bad.length === 0,
      detail: bad.length
        ? bad.join('; ')
        : `${partitions} partition${partitions === 1 ? '' : 's'}, ${records} records: counts and SHA-256 equal${notes.length ? `; ${notes.join('; ')}` : ''}`,
    });
  }

  // Group positions on the target.
  if (moves.length) {
    const bad: string[] = [];
    const ahead: string[] = [];
    await withAdmin(tk, target.name, async (admin) => {
      for (const m of moves) {
        const byTopic = [...new Set(m.partitions.map((p) => p.topic))];
        if (!byTopic.length) continue;
        const held = new Map(
          (await fetchCommittedOffsets(admin, m.group, byTopic)).flatMap((t) => t.partitions.map((p) => [`${t.topic}/${p.partition}`, Number(p.offset)] as const)),
        );
        for (const p of m.partitions) {
          const at = held.get(`${p.topic}/${p.partition}`) ?? -1;
          if (at === p.targetOffset) continue;
          const line = `group ${m.group} ${p.topic}-${p.partition}: at ${at < 0 ? 'no committed offset' : at} on ${target.name}, the cut-over committed ${p.targetOffset}`;
          if (opts.clientsMayRun && at > p.targetOffset) ahead.push(line);
          else bad.push(at >= 0 && at < p.targetOffset ? `${line} (it would re-read ${p.targetOffset - at} offsets)` : line);
        }
      }
    });
    problems.push(...bad);
    const n = moves.reduce((k, m) => k + m.partitions.length, 0);
    checks.push({
      name: 'group positions',
      ok: bad.length === 0,
      detail: bad.length ? bad.join('; ') : `${moves.length} group${moves.length === 1 ? '' : 's'}, ${n} partition positions as committed${ahead.length ? ` (${ahead.length} moved on since: consumers run)` : ''}`,
    });
  }

  // A produce/consume probe on the target.
  if (opts.probe !== false) {
    throwIfAborted(opts.signal);
    try {
      const r = await produceConsumeProbe(kafkaFor(target, 'verify-probe'), { spec: target, records: 30, partitions: 3, timeoutMs: 60_000 });
      checks.push({ name: 'probe', ok: r.ok, detail: `produced ${r.produced}, consumed ${r.consumed} on ${target.name} in ${r.roundTripMs} ms` });
      if (!r.ok) problems.push(`the probe on ${target.name} read back ${r.consumed} of ${r.produced} records`);
    } catch (e) {
      const line = `the produce/consume probe on ${target.name} failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
      checks.push({ name: 'probe', ok: false, detail: line });
      problems.push(line);
    }
  }
  return { checks, problems };
}
