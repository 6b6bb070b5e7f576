/**
 * A broker's partition replicas read from its log dirs, READ ONLY (files opened for reading, no
 * lock taken, nothing renamed): a broker that still runs is not disturbed, and a killed one's files
 * stay exactly as Kafka's recovery will find them. The end of a replica is the end of the last
 * complete batch of its newest segment (a batch cut short by the kill is left out, as Kafka's
 * recovery truncates it).
 */
import { open, readdir } from 'node:fs/promises';
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

/** The replica's log end offset: the end of the last complete batch of its newest segment (its base when empty). */
export async function replicaEnd(r: ReplicaDir): Promise<number> {
  const base = r.segments[r.segments.length - 1];
  if (base === undefined) return 0;
  const file = segmentFile(r, base);
  const fh = await open(file, 'r');
  let size: number;
  try {
    size = (await fh.stat()).size;
  } finally {
    await fh.close();
  }
  return (await scanSegment(file, size, base)).endOffset;
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
      let pos = 0;
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
