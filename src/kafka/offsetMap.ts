/**
 * The offset map of a topic restore: for every restored record, its original offset and the
 * offset it got in the target partition, kept as runs [original, new, count] (a run breaks at
 * every original gap). It is persisted as an append-only JSON-lines file so that a restore killed
 * at any point leaves a usable prefix; a torn last line is ignored.
 *
 *   {"k":"run","t":"<source topic>","tt":"<target topic>","p":0,"o":1200,"n":0,"c":500}
 *   {"k":"end","t":"<source topic>","tt":"<target topic>","p":0,"n":500}     partition finished
 *   {"k":"sent","t":..,"tt":..,"p":0,"pid":7,"e":0,"s":500,"r":[[1700,0,500]]}
 *        a batch about to be produced: producer id, epoch, base sequence, and its records as runs
 *        [original, index in the batch, count]. A run killed before the answer leaves only this
 *        line; the next run finds the batch in the target by its producer id and sequence.
 *
 * Consumer-group offsets are "the next record to read", so a committed original offset C maps to
 * the new offset of the first restored record whose original offset is >= C (never to the nearest
 * preceding one), or to the partition's new end when nothing at or after C was restored.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type Run = [original: number, target: number, count: number];

/** A batch sent (or about to be) whose answer may not have been recorded. */
export interface SentBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** [original offset, index in the batch, count]. */
  runs: Run[];
}

export interface PartitionMap {
  runs: Run[];
  sent?: SentBatch[];
  /** The target's next offset after the restore of this partition finished. */
  end?: number;
}

export interface OffsetMap {
  topics: Record<string, { target: string; partitions: Record<string, PartitionMap> }>;
}

export const emptyOffsetMap = (): OffsetMap => ({ topics: {} });

function partitionOf(map: OffsetMap, source: string, target: string, partition: number): PartitionMap {
  const t = (map.topics[source] ??= { target, partitions: {} });
  t.target = target;
  return (t.partitions[String(partition)] ??= { runs: [] });
}

/** Adds records original..original+count-1 → target..target+count-1, merging with the last run. */
export function addRun(map: OffsetMap, source: string, target: string, partition: number, run: Run): void {
  const pm = partitionOf(map, source, target, partition);
  const last = pm.runs[pm.runs.length - 1];
  if (last && last[0] + last[2] === run[0] && last[1] + last[2] === run[1]) last[2] += run[2];
  else if (!last || run[0] > last[0] + last[2] - 1) pm.runs.push([...run]);
  // else: already known (a re-scan after a resume), nothing to add
}

export function lastOriginal(map: OffsetMap, source: string, partition: number): number | undefined {
  const runs = map.topics[source]?.partitions[String(partition)]?.runs;
  const last = runs?.[runs.length - 1];
  return last ? last[0] + last[2] - 1 : undefined;
}

export function nextTarget(map: OffsetMap, source: string, partition: number): number | undefined {
  const pm = map.topics[source]?.partitions[String(partition)];
  const last = pm?.runs[pm.runs.length - 1];
  return last ? last[1] + last[2] : pm?.end;
}

/**
 * The target offset a group that committed `committed` (original numbering) must resume from.
 * Undefined when the map knows nothing of that partition.
 */
export function translateOffset(map: OffsetMap, topic: string, partition: number, committed: number): number | undefined {
  const pm = map.topics[topic]?.partitions[String(partition)];
  if (!pm) return undefined;
  const runs = pm.runs;
  let lo = 0;
  let hi = runs.length;
  // First run whose last original offset is >= committed.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const r = runs[mid]!;
    if (r[0] + r[2] - 1 >= committed) hi = mid;
    else lo = mid + 1;
  }
  const r = runs[lo];
  if (r) return committed <= r[0] ? r[1] : r[1] + (committed - r[0]);
  const last = runs[runs.length - 1];
  return pm.end ?? (last ? last[1] + last[2] : undefined);
}

export function targetTopicOf(map: OffsetMap, source: string): string | undefined {
  return map.topics[source]?.target;
}

/** Translates committed group offsets (source numbering) to the target topic and offsets. */
export function translateGroupOffsets(
  map: OffsetMap,
  offsets: { topic: string; partition: number; offset: number }[],
): { topic: string; partition: number; offset: number }[] {
  const out = [];
  for (const o of offsets) {
    const target = targetTopicOf(map, o.topic);
    const n = translateOffset(map, o.topic, o.partition, o.offset);
    if (target !== undefined && n !== undefined) out.push({ topic: target, partition: o.partition, offset: n });
  }
  return out;
}

/** Sent batches whose records the map does not know yet (they may or may not be in the target). */
export function unresolvedSent(map: OffsetMap, source: string, partition: number): SentBatch[] {
  const pm = map.topics[source]?.partitions[String(partition)];
  const after = lastOriginal(map, source, partition) ?? -1;
  return (pm?.sent ?? []).filter((b) => b.runs.length > 0 && b.runs[0]![0] > after);
}

interface Line {
  k: 'run' | 'end' | 'sent';
  pid?: number;
  e?: number;
  s?: number;
  r?: Run[];
  t: string;
  tt: string;
  p: number;
  o?: number;
  n?: number;
  c?: number;
}

export async function loadOffsetMap(file: string): Promise<OffsetMap> {
  const map = emptyOffsetMap();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return map;
    throw e;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    let l: Line;
    try {
      l = JSON.parse(line) as Line;
    } catch {
      continue; // torn write of a killed run
    }
    if (l.k === 'run') addRun(map, l.t, l.tt, l.p, [l.o!, l.n!, l.c!]);
    else if (l.k === 'end') partitionOf(map, l.t, l.tt, l.p).end = l.n!;
    else if (l.k === 'sent') (partitionOf(map, l.t, l.tt, l.p).sent ??= []).push({ producerId: l.pid!, producerEpoch: l.e!, baseSequence: l.s!, runs: l.r! });
  }
  return map;
}

/**
 * The persisted map: every change is applied in memory and appended to the file through one open
 * descriptor with a synchronous write (a small write to the page cache; a restore makes one per
 * batch). Written data is in the kernel's hands at once, so a killed process loses nothing it
 * recorded.
 */
export class OffsetMapFile {
  private constructor(
    readonly file: string,
    readonly map: OffsetMap,
    private fd: number | undefined,
  ) {}

  static async open(file: string): Promise<OffsetMapFile> {
    await mkdir(dirname(file), { recursive: true });
    const map = await loadOffsetMap(file);
    // A killed run may have left a torn last line: start the next one on a fresh line.
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text && !text.endsWith('\n')) await appendFile(file, '\n');
    return new OffsetMapFile(file, map, openSync(file, 'a'));
  }

  private async append(lines: object[]): Promise<void> {
    if (this.fd === undefined) throw new Error(`offset map ${this.file} is closed`);
    writeSync(this.fd, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }

  async addRuns(source: string, target: string, partition: number, runs: Run[]): Promise<void> {
    if (!runs.length) return;
    for (const r of runs) addRun(this.map, source, target, partition, r);
    await this.append(runs.map((r) => ({ k: 'run', t: source, tt: target, p: partition, o: r[0], n: r[1], c: r[2] })));
  }

  /** Records a batch before it is sent (see the file format above). */
  async addSent(source: string, target: string, partition: number, b: SentBatch): Promise<void> {
    await this.record(source, target, partition, [], b);
  }

  /**
   * Where the previous batch landed and the next batch about to be sent, in one write (a restore
   * does this once per batch). The runs may come late: until they are written, the sent batch
   * they belong to stands for them.
   */
  async record(source: string, target: string, partition: number, runs: Run[], sent?: SentBatch): Promise<void> {
    for (const r of runs) addRun(this.map, source, target, partition, r);
    const lines: object[] = runs.map((r) => ({ k: 'run', t: source, tt: target, p: partition, o: r[0], n: r[1], c: r[2] }));
    if (sent) {
      (partitionOf(this.map, source, target, partition).sent ??= []).push(sent);
      lines.push({ k: 'sent', t: source, tt: target, p: partition, pid: sent.producerId, e: sent.producerEpoch, s: sent.baseSequence, r: sent.runs });
    }
    if (lines.length) await this.append(lines);
  }

  async setEnd(source: string, target: string, partition: number, end: number): Promise<void> {
    partitionOf(this.map, source, target, partition).end = end;
    await this.append([{ k: 'end', t: source, tt: target, p: partition, n: end }]);
  }

  async close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Runs for a batch of consecutive target offsets starting at `base` holding these original offsets. */
export function runsFor(originals: number[], base: number): Run[] {
  const runs: Run[] = [];
  originals.forEach((o, i) => {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[2] === o) last[2]++;
    else runs.push([o, base + i, 1]);
  });
  return runs;
}
