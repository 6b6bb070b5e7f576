/**
 * Reading a backup set's large parts (log-dir copies, topics) before a recovery relies on them, so
 * a damaged set is passed over before anything is stopped. Mode 'all' reads and verifies every
 * chunk. Mode 'sample' (the default) reads:
 *  1. the header of every pack the parts use (a few KB each: finds lost, truncated or replaced packs);
 *  2. every chunk of their small files (≤ 1 MiB: meta.properties, checkpoints, offset and time
 *     indexes — a broker refuses to start, or rebuilds for long, without them);
 *  3. then the other chunks in the order of their ids (a hash: spread evenly over files and packs,
 *     and the same on every run, so two dry runs agree) until `sampleBytes` of chunk data, 1 GiB by
 *     default — so a set smaller than that is read whole, and a large one costs seconds, not hours.
 * Each chunk is authenticated and decompressed as a restore would, and re-hashed too (repo.loadBlob).
 */
import { readPackHeader } from '../repository/pack';
import type { LocalRepository } from '../repository/repo';
import type { SnapshotMeta } from '../repository/types';

export type VerifyData = 'sample' | 'all';

export const SMALL_FILE_BYTES = 1 << 20;
export const DEFAULT_SAMPLE_BYTES = 1 << 30;

/** Parts whose data is too large to read whole by default. */
export const isLargePart = (part: string): boolean => part.startsWith('logdirs:') || part === 'topics';

export interface ChunkRef {
  id: string;
  /** Plaintext bytes. */
  raw: number;
  /** True when the chunk belongs to a small file (read in any mode). */
  small: boolean;
}

/** Which chunks to read (pure): see the module comment. Chunks are unique by id. */
export function selectChunks(chunks: ChunkRef[], mode: VerifyData, sampleBytes = DEFAULT_SAMPLE_BYTES): string[] {
  const unique = new Map<string, ChunkRef>();
  for (const c of chunks) {
    const seen = unique.get(c.id);
    unique.set(c.id, seen ? { ...seen, small: seen.small || c.small } : c);
  }
  const all = [...unique.values()];
  const total = all.reduce((n, c) => n + c.raw, 0);
  if (mode === 'all' || total <= sampleBytes) return all.map((c) => c.id);
  const picked = all.filter((c) => c.small).map((c) => c.id);
  let bytes = 0;
  for (const c of all.filter((x) => !x.small).sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (bytes + c.raw > sampleBytes && bytes > 0) break;
    picked.push(c.id);
    bytes += c.raw;
  }
  return picked;
}

export interface DataReadResult {
  problems: string[];
  /** The parts' distinct chunks. */
  chunks: number;
  /** Of those, how many were read and verified (now, or for a newer set of the same choice), and their bytes. */
  chunksRead: number;
  bytesRead: number;
  packsChecked: number;
}

/**
 * Reads the data of the given (large) parts as `mode` says. `verified`: chunk ids already read
 * and found good (shared between sets within one choice); `bad`: chunk id → problem, likewise.
 */
export async function readPartsData(
  repo: LocalRepository,
  parts: { part: string; meta: SnapshotMeta }[],
  opts: { mode: VerifyData; sampleBytes?: number; verified?: Set<string>; bad?: Map<string, string>; onProgress?: (m: string) => void },
): Promise<DataReadResult> {
  const verified = opts.verified ?? new Set<string>();
  const bad = opts.bad ?? new Map<string, string>();
  const problems: string[] = [];
  const refs: ChunkRef[] = [];
  const partOf = new Map<string, string>();
  const packs = new Set<string>();
  await repo.ensureShared('restore');
  await repo.loadIndex();
  for (const { part, meta } of parts) {
    let tree;
    try {
      tree = await repo.loadTree(meta.id);
    } catch (e) {
      problems.push(`${part}: the file list cannot be read: ${(e as Error).message}`);
      continue;
    }
    for (const entry of tree.values()) {
      if (entry.type !== 'file') continue;
      for (const id of entry.chunks ?? []) {
        const loc = repo.index.get(id);
        if (!loc) {
          problems.push(`${part}: chunk ${id.slice(0, 12)} of ${entry.path} is not in any index or pack`);
          continue;
        }
        packs.add(loc.pack);
        partOf.set(id, partOf.get(id) ?? part);
        refs.push({ id, raw: loc.raw, small: entry.size <= SMALL_FILE_BYTES });
      }
    }
  }
  let packsChecked = 0;
  for (const pack of [...packs].sort()) {
    const size = repo.index.packs.get(pack)?.size ?? 0;
    try {
      await readPackHeader(repo.backend, repo.key, pack, size);
      packsChecked++;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(`pack ${pack.slice(0, 12)} ${code === 'ENOENT' ? 'is missing' : `has a damaged header: ${(e as Error).message}`}`);
    }
  }
  const selected = selectChunks(refs, opts.mode, opts.sampleBytes);
  const rawOf = new Map(refs.map((r) => [r.id, r.raw]));
  let readNow = 0;
  let bytesRead = 0;
  for (const id of selected) {
    if (!verified.has(id) && !bad.has(id)) {
      try {
        await repo.loadBlob(id);
        verified.add(id);
      } catch (e) {
        bad.set(id, (e as Error).message);
      }
      if (++readNow % 256 === 0) opts.onProgress?.(`read ${readNow} chunks of ${selected.length}`);
    }
    bytesRead += rawOf.get(id) ?? 0;
    const why = bad.get(id);
    if (why) problems.push(`${partOf.get(id)}: ${why}`);
  }
  return { problems, chunks: rawOf.size, chunksRead: selected.length, bytesRead, packsChecked };
}
