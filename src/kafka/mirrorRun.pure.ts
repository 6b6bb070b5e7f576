/**
 * The mirror workflow's arithmetic, pure so the workflow, the CLI and unit tests share it: the pair's
 * name and workflow ID, the same-cluster refusal, the split of partitions into shards, the lag of a
 * partition in records and seconds, and the totals `lifeboat mirror status` prints.
 */
import type { ClusterSpec } from '../config/spec';
import type { MirrorSelection, MirrorTopicPlan, PartitionPosition, ShardWork } from './mirror';

/** The mirror's query, signals (names, so the CLI needs no workflow code). */
export const MIRROR_STATUS_QUERY = 'mirrorStatus';
export const MIRROR_STOP_SIGNAL = 'stop';
export const MIRROR_PAUSE_SIGNAL = 'pause';
export const MIRROR_RESUME_SIGNAL = 'resume';
/** Copy until every partition reaches the source's end as read after the signal (the source is fenced by then), then end. */
export const MIRROR_DRAIN_SIGNAL = 'drain';

/** The pair's name: it keys the engine's durable state on the target and the workflow ID. */
export const mirrorPair = (source: string, target: string): string => `${source}-to-${target}`;
export const mirrorWorkflowId = (source: string, target: string): string => `mirror-${mirrorPair(source, target)}`;

/** Why `source` and `target` are the same cluster (same name or a shared bootstrap server), or undefined. */
export function sameCluster(source: ClusterSpec, target: ClusterSpec, what: 'mirror' | 'migration' = 'mirror'): string | undefined {
  const needs = `a ${what} needs two clusters`;
  if (source.name === target.name) return `source and target are the same cluster (${source.name}): ${needs}`;
  const shared = source.kafka.bootstrapServers.filter((s) => target.kafka.bootstrapServers.includes(s));
  if (shared.length) return `source ${source.name} and target ${target.name} share the bootstrap server ${shared.join(', ')}: ${what === 'mirror' ? 'a mirror onto the same brokers would copy a topic onto itself' : needs}`;
  return undefined;
}

/** A selection that selects something: names and/or a regex that compiles. */
export function selectionProblem(sel: MirrorSelection | undefined, what: 'mirror' | 'migration' = 'mirror'): string | undefined {
  if (!sel || (!sel.topics?.length && !sel.pattern)) return `the ${what} selects no topics: give topics (names) or a pattern (a regular expression)`;
  if (sel.pattern !== undefined) {
    try {
      new RegExp(sel.pattern);
    } catch (e) {
      return `the pattern ${JSON.stringify(sel.pattern)} is not a regular expression: ${(e as Error).message}`;
    }
  }
  return undefined;
}

export const partitionKey = (topic: string, partition: number): string => `${topic}/${partition}`;

/** Source data gone before it was copied: the partition's shard stops there and says exactly what. */
export interface DataLostRange {
  topic: string;
  partition: number;
  /** The first source offset lost (the mirror's next), when the engine said. */
  from?: number;
  /** The first source offset after the loss (exclusive: the log start), when the engine said. */
  to?: number;
  message: string;
}

/** "50..79 (30 records)", or "?" when the engine did not say. */
export function lostRangeText(d: DataLostRange): string {
  if (d.from === undefined || d.to === undefined) return d.from !== undefined ? `${d.from}..?` : '?';
  return `${d.from}..${d.to - 1} (${d.to - d.from} records)`;
}

/** A partition's lag: records not yet copied and how old the newest copied record is while some are behind. */
export interface PartitionLag extends PartitionPosition {
  lagRecords: number;
  /** 0 when caught up; now − the newest copied record's time otherwise (unknown before the first copy). */
  lagSeconds?: number;
  /** Set when the partition stopped on lost source data. */
  dataLost?: DataLostRange;
}

export function lagOf(p: PartitionPosition, now: number): { lagRecords: number; lagSeconds?: number } {
  const lagRecords = Math.max(0, p.sourceEnd - p.next);
  if (lagRecords === 0) return { lagRecords, lagSeconds: 0 };
  if (p.lastTimestamp === undefined) return { lagRecords };
  return { lagRecords, lagSeconds: Math.max(0, Math.round((now - p.lastTimestamp) / 100) / 10) };
}

export interface MirrorTotals {
  partitions: number;
  records: number;
  bytes: number;
  lagRecords: number;
  /** The largest lag in seconds of a partition that knows it. */
  maxLagSeconds?: number;
  /** Every partition at its source end, none stopped on lost data. */
  caughtUp: boolean;
  dataLost: number;
}

export function mirrorTotals(parts: PartitionLag[]): MirrorTotals {
  const secs = parts.map((p) => p.lagSeconds).filter((s): s is number => s !== undefined);
  return {
    partitions: parts.length,
    records: parts.reduce((n, p) => n + p.records, 0),
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
    lagRecords: parts.reduce((n, p) => n + p.lagRecords, 0),
    ...(secs.length ? { maxLagSeconds: Math.max(...secs) } : {}),
    caughtUp: parts.every((p) => p.lagRecords === 0 && !p.dataLost),
    dataLost: parts.filter((p) => p.dataLost).length,
  };
}

/** Every partition of the plan but the stopped ones, in topic and partition order. */
export function planPartitions(plan: MirrorTopicPlan[], stopped: ReadonlySet<string> = new Set()): { topic: string; partition: number }[] {
  const out: { topic: string; partition: number }[] = [];
  for (const t of [...plan].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0))) {
    for (let p = 0; p < t.partitions; p++) if (!stopped.has(partitionKey(t.topic, p))) out.push({ topic: t.topic, partition: p });
  }
  return out;
}

/**
 * Splits partitions into at most `shards` shards of about equal work: the partitions furthest behind
 * (by `weight`, e.g. the last lag in records; 1 when unknown) go first, each to the least loaded
 * shard, so one shard does not get all the backlog. Deterministic (workflow code): ties by topic,
 * partition and shard index. Each shard lists its partitions per topic, in order.
 */
export function splitShards(parts: { topic: string; partition: number }[], shards: number, weight: (topic: string, partition: number) => number = () => 1): ShardWork[][] {
  const n = Math.max(1, Math.min(Math.floor(shards) || 1, parts.length));
  if (!parts.length) return [];
  const weighted = parts
    .map((p) => ({ ...p, w: Math.max(1, weight(p.topic, p.partition)) }))
    .sort((a, b) => b.w - a.w || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0) || a.partition - b.partition);
  const load = new Array<number>(n).fill(0);
  const count = new Array<number>(n).fill(0);
  const members: { topic: string; partition: number }[][] = Array.from({ length: n }, () => []);
  for (const p of weighted) {
    let best = 0;
    for (let i = 1; i < n; i++) if (load[i]! < load[best]! || (load[i] === load[best] && count[i]! < count[best]!)) best = i;
    load[best]! += p.w;
    count[best]!++;
    members[best]!.push(p);
  }
  return members.map((m) => {
    const byTopic = new Map<string, number[]>();
    for (const p of m) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    return [...byTopic.keys()].sort().map((topic) => ({ topic, partitions: byTopic.get(topic)!.sort((a, b) => a - b) }));
  });
}

/** Newer positions over older ones, sorted by topic and partition. Counters are the engine's (cumulative). */
export function mergePositions(older: PartitionPosition[], newer: PartitionPosition[]): PartitionPosition[] {
  const m = new Map<string, PartitionPosition>();
  for (const p of [...older, ...newer]) m.set(partitionKey(p.topic, p.partition), p);
  return [...m.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** Positions with their lag at `now`, and the partitions stopped on lost data marked. */
export function lagTable(positions: PartitionPosition[], now: number, dataLost: DataLostRange[] = []): PartitionLag[] {
  const lost = new Map(dataLost.map((d) => [partitionKey(d.topic, d.partition), d]));
  const rows: PartitionLag[] = positions.map((p) => {
    const d = lost.get(partitionKey(p.topic, p.partition));
    return { ...p, ...lagOf(p, now), ...(d ? { dataLost: d } : {}) };
  });
  // A partition lost before any position was known still shows.
  for (const d of dataLost) {
    if (!positions.some((p) => p.topic === d.topic && p.partition === d.partition)) {
      rows.push({ topic: d.topic, partition: d.partition, next: d.from ?? 0, sourceEnd: d.from ?? 0, mode: 'identical', records: 0, bytes: 0, lagRecords: 0, dataLost: d });
    }
  }
  return rows;
}

/** What a DataLost failure names, read from its details (data from another process) and its message. */
export function dataLostOf(message: string, details: unknown, fallback: { topic: string; partition: number }[]): DataLostRange[] {
  const d = (Array.isArray(details) ? details[0] : details) as Record<string, unknown> | undefined;
  const num = (...keys: string[]) => {
    for (const k of keys) if (typeof d?.[k] === 'number') return d[k] as number;
    return undefined;
  };
  const topic = typeof d?.topic === 'string' ? d.topic : undefined;
  const partition = num('partition');
  const from = num('from', 'next', 'fromOffset', 'start');
  const to = num('to', 'logStart', 'logStartOffset', 'toOffset', 'end');
  const range = { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), message };
  if (topic !== undefined && partition !== undefined) return [{ topic, partition, ...range }];
  // Not said which partition: the whole shard stops (never silently on).
  return fallback.map((p) => ({ ...p, ...range }));
}

/** The status table for people: one line per partition, then the totals. */
export function renderLagTable(parts: PartitionLag[], totals: MirrorTotals): string {
  const head = ['TOPIC', 'PART', 'NEXT', 'SOURCE END', 'LAG', 'LAG S', 'RECORDS', 'BYTES', 'MODE'];
  const rows = parts.map((p) => [
    p.topic,
    String(p.partition),
    String(p.next),
    String(p.sourceEnd),
    String(p.lagRecords),
    p.lagSeconds === undefined ? '?' : String(p.lagSeconds),
    String(p.records),
    String(p.bytes),
    p.dataLost ? `DATA LOST ${lostRangeText(p.dataLost)}` : p.mode,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ').trimEnd();
  const total =
    `${totals.partitions} partitions, ${totals.records} records (${totals.bytes} bytes) copied, lag ${totals.lagRecords} records` +
    `${totals.maxLagSeconds !== undefined ? `, at most ${totals.maxLagSeconds} s` : ''}${totals.caughtUp ? ' — caught up' : ''}` +
    `${totals.dataLost ? `; ${totals.dataLost} partition(s) STOPPED on lost source data (${lostRecords(parts.flatMap((p) => (p.dataLost ? [p.dataLost] : [])))} records lost)` : ''}`;
  return [line(head), ...rows.map(line), '', total].join('\n');
}

/** Who stopped a mirror and why (the `stop` signal's argument). */
export interface MirrorStopInput {
  by?: string;
  reason?: string;
}

export type MirrorState = 'planning' | 'running' | 'paused' | 'stopping' | 'stopped' | 'planned' | 'draining' | 'drained';

/** Who asked a mirror to drain, and when (workflow time). */
export interface MirrorDrainInput {
  by?: string;
  reason?: string;
}

/** Records lost on the source before they were copied, summed over the ranges that say how many. */
export function lostRecords(dataLost: DataLostRange[]): number {
  return dataLost.reduce((n, d) => n + (d.from !== undefined && d.to !== undefined ? d.to - d.from : 0), 0);
}

export interface MirrorStatus {
  pair: string;
  source: string;
  target: string;
  state: MirrorState;
  /** Rounds finished since the mirror started (across continue-as-new). */
  rounds: number;
  shards: number;
  startedAt: string;
  /** When the positions below were recorded (end of the last round). */
  updatedAt?: string;
  topics: MirrorTopicPlan[];
  partitions: PartitionLag[];
  totals: MirrorTotals;
  /** Over the last round. */
  throughput: { recordsPerSecond: number; bytesPerSecond: number };
  dataLost: DataLostRange[];
  stop?: MirrorStopInput;
  /** Set once a drain was asked for: who, when it began and (once every partition reached the end read after it) when it ended. */
  drain?: MirrorDrainInput & { requestedAt: string; drainedAt?: string; durationMs?: number };
}


/**
 * The positions a running shard heartbeats (its details: typed Progress plus `positions`), read as
 * data from another process: only well-formed entries.
 */
export function heartbeatPositions(details: unknown): PartitionPosition[] {
  const list = (details as { positions?: unknown } | undefined)?.positions;
  if (!Array.isArray(list)) return [];
  const n = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  return list.filter((p): p is PartitionPosition => {
    const x = p as Record<string, unknown>;
    return typeof x?.topic === 'string' && Number.isInteger(x.partition) && n(x.next) && n(x.sourceEnd) && n(x.records) && n(x.bytes) && (x.mode === 'identical' || x.mode === 'mapped');
  });
}

/** The recorded positions with the running shards' newer ones over them; `live` counts those taken. */
export function withLivePositions(recorded: PartitionPosition[], live: PartitionPosition[]): { positions: PartitionPosition[]; live: number } {
  const byKey = new Map(recorded.map((p) => [partitionKey(p.topic, p.partition), p]));
  const newer = live.filter((p) => {
    const r = byKey.get(partitionKey(p.topic, p.partition));
    return !r || p.next > r.next || (p.next === r.next && p.sourceEnd > r.sourceEnd);
  });
  return { positions: mergePositions(recorded, newer), live: newer.length };
}
