/**
 * A broker's partition replicas read from its log dirs, READ ONLY (files opened for reading, no
 * lock taken, nothing renamed): a broker that still runs is not disturbed, and a killed one's files
 * stay exactly as Kafka's recovery will find them. The end of a replica is the end of the last
 * complete batch of its newest segment (a batch cut short by the kill is left out, as Kafka's
 * recovery truncates it).
 */
import { type FileHandle, open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfAborted } from '../../core/poll';
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { scanSegment } from '../../host/logdirs';
import { BATCH_HEADER_BYTES, type Batch, lastOffsetOf, readHeader, verifyCrc } from '../../kafka/wire/recordBatch';

export interface ReplicaDir {
  topic: string;
  partition: number;
  brokerId: number;
  logDir: string;
  /** The partition directory. */
  dir: string;
  /** Base offsets of its segments, oldest first. */
  segments: number[];
}

const PARTITION_DIR = /^(.+)-(\d+)$/;
const SKIP_DIR = /-(delete|future|stray)$/;

/** The brokers of the spec named, each as it is in the spec (unknown ids refused). */
function brokersOf(spec: ClusterSpec, brokerIds: number[]) {
  return brokerIds.map((id) => {
    const b = spec.brokers.find((x) => x.id === id);
    if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${id}`);
    return b;
  });
}

/** The partition replicas of these brokers' log dirs (topics filtered when given); unreadable log dirs are problems. */
export async function replicaDirs(spec: ClusterSpec, brokerIds: number[], topics: ((t: string) => boolean) | undefined, problems: string[]): Promise<ReplicaDir[]> {
  const out: ReplicaDir[] = [];
  for (const b of brokersOf(spec, brokerIds)) {
    for (const logDir of b.logDirs) {
      let names: string[];
      try {
        names = await readdir(logDir);
      } catch (e) {
        problems.push(`broker ${b.id}: log dir ${logDir} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
        continue;
      }
      for (const name of names) {
        const m = PARTITION_DIR.exec(name);
        if (!m || SKIP_DIR.test(name) || (topics && !topics(m[1]!))) continue;
        const dir = join(logDir, name);
        let files: string[];
        try {
          files = await readdir(dir);
        } catch {
          continue; // not a directory, or deleted meanwhile
        }
        const segments = files
          .filter((f) => /^\d{20}\.log$/.test(f))
          .map((f) => Number(f.slice(0, 20)))
          .sort((x, y) => x - y);
        out.push({ topic: m[1]!, partition: Number(m[2]), brokerId: b.id, logDir, dir, segments });
      }
    }
  }
  return out;
}

const segmentFile = (r: ReplicaDir, base: number): string => join(r.dir, `${String(base).padStart(20, '0')}.log`);

/**
 * The replica's tip: its log end offset (the end of the last complete batch of its newest segment,
 * its base when empty) and the leader epoch of its last batch (older segments looked at when the
 * newest is empty; -1 when it has none). Two replicas of one partition are compared by epoch first:
 * a replica that stopped at an older leader's epoch may hold a longer log that Kafka truncates when
 * it rejoins (records the next leader never had), so the newest epoch's log is the partition's.
 */
export async function replicaTip(r: ReplicaDir): Promise<{ end: number; epoch: number }> {
  let end: number | undefined;
  for (let i = r.segments.length - 1; i >= 0; i--) {
    const base = r.segments[i]!;
    const file = segmentFile(r, base);
    const fh = await open(file, 'r');
    let size: number;
    try {
      size = (await fh.stat()).size;
    } finally {
      await fh.close();
    }
    const scan = await scanSegment(file, size, base);
    end ??= scan.endOffset;
    if (scan.lastEpoch >= 0) return { end, epoch: scan.lastEpoch };
  }
  return { end: end ?? 0, epoch: -1 };
}

/** Orders replicas of one partition, the one Kafka keeps first: newest leader epoch, then highest end. */
export const byTip = (a: { end: number; epoch?: number }, b: { end: number; epoch?: number }): number => (b.epoch ?? -1) - (a.epoch ?? -1) || b.end - a.end;

/**
 * Where to start reading a segment for `from`: the segment's offset index (entries of relative
 * offset i32 and byte position i32, the last offset of a batch set and where it starts) gives the
 * last entry at or before `from`. Only a hint: it is used when a valid batch header with a base
 * offset at or before `from` sits there (every batch before it then ends before `from`), else the
 * segment is read from its start. The active segment's index is preallocated: its zero tail ends
 * the entries.
 */
async function indexedStart(r: ReplicaDir, base: number, from: number, fh: FileHandle, length: number): Promise<number> {
  let index: Buffer;
  try {
    index = await readFile(join(r.dir, `${String(base).padStart(20, '0')}.index`));
  } catch {
    return 0;
  }
  let best = 0;
  let prevRel = -1;
  let prevPos = -1;
  for (let p = 0; p + 8 <= index.length; p += 8) {
    const rel = index.readInt32BE(p);
    const at = index.readInt32BE(p + 4);
    if (rel <= prevRel || at <= prevPos) break; // the preallocated zeros (or damage): entries end
    if (base + rel > from) break;
    best = at;
    [prevRel, prevPos] = [rel, at];
  }
  if (best === 0 || best + BATCH_HEADER_BYTES > length) return 0;
  const head = Buffer.alloc(BATCH_HEADER_BYTES);
  await fh.read(head, 0, BATCH_HEADER_BYTES, best);
  const h = readHeader(head);
  return h.magic === 2 && h.size > BATCH_HEADER_BYTES - 1 && best + h.size <= length && h.baseOffset >= base && h.baseOffset <= from ? best : 0;
}

/**
 * Calls `onBatch` with every complete batch holding offsets in [from, to), in order, from the
 * segment that holds `from` on. CRCs are verified (a damaged batch is an error, never a guess).
 */
export async function readReplica(r: ReplicaDir, from: number, to: number, onBatch: (b: Batch) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let first = 0;
  for (let i = 0; i < r.segments.length; i++) if (r.segments[i]! <= from) first = i;
  const where = `${r.dir}`;
  const head = Buffer.alloc(BATCH_HEADER_BYTES);
  for (let i = first; i < r.segments.length; i++) {
    const base = r.segments[i]!;
    if (base >= to) break;
    const fh = await open(segmentFile(r, base), 'r').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined; // retention or the cleaner removed it meanwhile (a live broker)
      throw e;
    });
    if (!fh) continue;
    try {
      const length = (await fh.stat()).size;
      let pos = i === first && from > base ? await indexedStart(r, base, from, fh, length) : 0;
      while (pos + BATCH_HEADER_BYTES <= length) {
        throwIfAborted(signal);
        const { bytesRead } = await fh.read(head, 0, BATCH_HEADER_BYTES, pos);
        if (bytesRead < BATCH_HEADER_BYTES) break;
        const h = readHeader(head);
        if (h.size <= 12 || pos + h.size > length || h.magic !== 2) {
          // The newest segment ends here (a preallocated tail, or a batch the kill cut short); a
          // closed segment never does: counting on past it would be a guess.
          if (i < r.segments.length - 1) throw new LifeboatError('CorruptBackup', `${segmentFile(r, base)}: no complete record batch at byte ${pos} of ${length} in a closed segment`);
          break;
        }
        if (h.baseOffset >= to) return;
        if (lastOffsetOf(h) >= from) {
          const bytes = Buffer.alloc(h.size);
          await fh.read(bytes, 0, h.size, pos);
          const b: Batch = { ...h, bytes };
          verifyCrc(b, `${where} at byte ${pos}`);
          await onBatch(b);
        }
        pos += h.size;
      }
    } finally {
      await fh.close();
    }
  }
}
