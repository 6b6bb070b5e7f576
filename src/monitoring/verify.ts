/**
 * The monitor's verification of a backup set: structure, then a random sampled share of its data.
 *  - structure: the repository's check without reading data (index ↔ packs ↔ snapshots ↔ trees,
 *    src/repository/check.ts), which is also recorded as the tier's `lastCheck`; every part of the
 *    set and its parent chain present and undamaged;
 *  - the small parts (ZooKeeper, metadata, configs, registry, baseline) read whole;
 *  - the large parts (log dirs, topics): the header of every pack they use, then chunks picked at
 *    random until `fraction` of their bytes (at least one chunk per part), each read as a restore
 *    reads it (authenticated, decompressed) and re-hashed too. Random, so successive runs cover other data.
 * Takes a shared lock (as a restore does); writes nothing else.
 */
import { randomInt } from 'node:crypto';
import { isLargePart } from '../backup/coverageData';
import type { BackupSet } from '../backup/parts';
import { checkRepository } from '../repository/check';
import { readPackHeader } from '../repository/pack';
import type { LocalRepository } from '../repository/repo';
import type { SnapshotMeta } from '../repository/types';
import type { TierFacts } from './types';

export interface SetVerification {
  lastVerified: NonNullable<TierFacts['lastVerified']>;
  lastCheck: NonNullable<TierFacts['lastCheck']>;
  /** What was read. */
  read: { chunks: number; chunksRead: number; bytes: number; bytesRead: number; packsChecked: number };
  problems: string[];
}

export interface VerifyOptions {
  /** Share of the large parts' bytes to read (0..1). */
  fraction: number;
  /** Random integer in [0, n) (tests pass a seeded one). */
  random?: (n: number) => number;
  now?: () => Date;
  onProgress?: (m: string) => void;
  signal?: AbortSignal;
}

interface Chunk {
  id: string;
  raw: number;
  part: string;
  pack: string;
}

/** Picks chunks at random until `fraction` of `total` bytes, at least one per part. Pure but for `random`. */
export function sampleChunks(chunks: Chunk[], fraction: number, random: (n: number) => number): Chunk[] {
  const pool = [...new Map(chunks.map((c) => [c.id, c])).values()];
  const total = pool.reduce((n, c) => n + c.raw, 0);
  const want = fraction * total;
  const picked: Chunk[] = [];
  const parts = new Set<string>();
  let bytes = 0;
  // Fisher–Yates, lazily: only as far as needed.
  for (let i = 0; i < pool.length; i++) {
    const j = i + random(pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    const c = pool[i]!;
    if (bytes >= want && parts.has(c.part)) continue;
    picked.push(c);
    parts.add(c.part);
    bytes += c.raw;
  }
  return picked;
}

const first = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

export async function verifySet(repo: LocalRepository, set: BackupSet, opts: VerifyOptions): Promise<SetVerification> {
  const now = opts.now ?? (() => new Date());
  const random = opts.random ?? ((n: number) => randomInt(n));
  const problems: string[] = [];
  opts.onProgress?.(`checking the structure of ${repo.path}`);
  const check = await checkRepository(repo, { progress: opts.onProgress });
  const lastCheck = { time: now().toISOString(), ok: check.ok, problems: check.problems.length };
  const damaged = new Set(check.damagedSnapshots);
  const all = new Map((await repo.snapshots()).map((s) => [s.id, s]));

  const large: { part: string; meta: SnapshotMeta }[] = [];
  for (const part of set.parts) {
    const meta = set.snapshots[part];
    if (!meta) {
      problems.push(`${part}: not stored`);
      continue;
    }
    for (let s: SnapshotMeta | undefined = meta; s; s = s.parent ? all.get(s.parent) : undefined) {
      if (damaged.has(s.id)) problems.push(`${part}: snapshot ${s.id.slice(0, 12)} is damaged`);
      if (s.parent && !all.has(s.parent)) problems.push(`${part}: parent snapshot ${s.parent.slice(0, 12)} is missing`);
      if (isLargePart(part)) large.push({ part, meta: s });
    }
    if (isLargePart(part)) continue;
    opts.signal?.throwIfAborted();
    try {
      const reader = await repo.openSnapshot(meta.id);
      for (const f of reader.list()) if (f.type === 'file') await reader.readBuffer(f.path);
    } catch (e) {
      problems.push(`${part}: ${first(e)}`);
    }
  }

  const chunks: Chunk[] = [];
  for (const { part, meta } of large) {
    let tree;
    try {
      tree = await repo.loadTree(meta.id);
    } catch (e) {
      problems.push(`${part}: the file list cannot be read: ${first(e)}`);
      continue;
    }
    for (const entry of tree.values()) {
      for (const id of entry.type === 'file' ? (entry.chunks ?? []) : []) {
        const loc = repo.index.get(id);
        if (!loc) problems.push(`${part}: chunk ${id.slice(0, 12)} of ${entry.path} is not in any index`);
        else chunks.push({ id, raw: loc.raw, part, pack: loc.pack });
      }
    }
  }
  const packs = [...new Set(chunks.map((c) => c.pack))].sort();
  let packsChecked = 0;
  for (const pack of packs) {
    opts.signal?.throwIfAborted();
    try {
      await readPackHeader(repo.backend, repo.key, pack, repo.index.packs.get(pack)?.size ?? 0);
      packsChecked++;
    } catch (e) {
      problems.push(`pack ${pack.slice(0, 12)} ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `has a damaged header: ${first(e)}`}`);
    }
  }
  const picked = sampleChunks(chunks, opts.fraction, random);
  let bytesRead = 0;
  for (const [i, c] of picked.entries()) {
    opts.signal?.throwIfAborted();
    try {
      await repo.loadBlob(c.id);
    } catch (e) {
      problems.push(`${c.part}: ${first(e)}`);
    }
    bytesRead += c.raw;
    if ((i + 1) % 256 === 0) opts.onProgress?.(`read ${i + 1} of ${picked.length} sampled chunks`);
  }
  const unique = new Map(chunks.map((c) => [c.id, c.raw]));
  const read = { chunks: unique.size, chunksRead: picked.length, bytes: [...unique.values()].reduce((n, b) => n + b, 0), bytesRead, packsChecked };
  const distinct = [...new Set(problems)];
  const share = read.bytes ? ` (${((100 * bytesRead) / read.bytes).toFixed(1)}% of the log-dir/topic data)` : '';
  const detail = distinct.length
    ? `${distinct.length} problem(s): ${distinct.slice(0, 3).join('; ')}`
    : `structure ok, ${set.parts.length} parts, ${picked.length} of ${read.chunks} chunks read${share}, ${packsChecked} pack headers`;
  return { lastVerified: { setId: set.setId, time: now().toISOString(), ok: distinct.length === 0, detail }, lastCheck, read, problems: distinct };
}
