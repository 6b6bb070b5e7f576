/**
 * `check`: structure (index ↔ packs ↔ snapshots ↔ trees) and, with readData, every selected pack
 * re-read: its SHA-256 against its name, then each blob opened, decompressed and re-hashed. Every
 * problem names the snapshots it affects.
 */
import { randomInt } from 'node:crypto';
import { LifeboatError } from '../errors';
import { decompress } from './compress';
import { blobAadIf, open, sha256 } from './crypto';
import type { IndexFile, SnapshotFile, TreeBlob } from './format';
import { parsePack } from './pack';
import { type LocalRepository } from './repo';

export type Subset = { part: number; of: number } | { percent: number };

export interface CheckProblem {
  /** 'unindexed': a pack no index names holds chunks of snapshots (readable through its header; nothing damaged). */
  kind: 'index' | 'snapshot' | 'tree' | 'blob-missing' | 'pack-missing' | 'pack-size' | 'pack-hash' | 'blob' | 'unindexed';
  object: string;
  message: string;
  /** Ids of the snapshots this problem damages. */
  snapshots: string[];
}

export interface CheckResult {
  ok: boolean;
  snapshots: number;
  packs: number;
  packsRead: number;
  blobsRead: number;
  bytesRead: number;
  /** Packs in data/ that no index file names (those holding chunks of snapshots are also problems). */
  unindexedPacks: number;
  problems: CheckProblem[];
  /** All snapshots named by any problem. */
  damagedSnapshots: string[];
}

export function parseSubset(s: string): Subset {
  let m = /^(\d+)\/(\d+)$/.exec(s);
  if (m) {
    const part = Number(m[1]);
    const of = Number(m[2]);
    if (of >= 1 && part >= 1 && part <= of) return { part, of };
  }
  m = /^(\d+(?:\.\d+)?)%$/.exec(s);
  if (m && Number(m[1]) > 0 && Number(m[1]) <= 100) return { percent: Number(m[1]) };
  throw new LifeboatError('InvalidInput', `invalid --subset "${s}" (use n/t, e.g. 2/5, or a percentage, e.g. 10%)`);
}

function selectPacks(ids: string[], subset?: Subset): string[] {
  if (!subset) return ids;
  if ('part' in subset) return ids.filter((id) => parseInt(id.slice(0, 8), 16) % subset.of === subset.part - 1);
  const n = Math.max(1, Math.ceil((ids.length * subset.percent) / 100));
  const pool = [...ids];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

export async function checkRepository(
  repo: LocalRepository,
  opts: { readData?: boolean; subset?: Subset; progress?: (message: string) => void } = {},
): Promise<CheckResult> {
  const problems: CheckProblem[] = [];
  const progress = opts.progress ?? (() => undefined);
  // Shared: a prune (exclusive) cannot delete packs or index files while they are read here.
  await repo.ensureShared('check');
  await repo.loadIndex();
  // Packs no index names are read by their headers (as restore does), so what follows is about the data.
  await repo.readUnindexedPacks();

  // 1. index files (loadIndex skipped damaged ones; re-read all to report them)
  for (const { name } of await repo.backend.list('index')) {
    try {
      await repo.readSealedJson<IndexFile>('index', name);
    } catch (e) {
      problems.push({ kind: 'index', object: `index/${name}`, message: `index file is damaged: ${(e as Error).message}`, snapshots: [] });
    }
  }

  // 2. snapshots and their trees; which snapshots use which blob
  const users = new Map<string, string[]>();
  const use = (blob: string, snap: string) => {
    const u = users.get(blob);
    if (u) {
      if (u[u.length - 1] !== snap) u.push(snap);
    } else users.set(blob, [snap]);
  };
  const ids = await repo.snapshotIds();
  progress(`checking ${ids.length} snapshots`);
  for (const id of ids) {
    let snap: SnapshotFile;
    try {
      snap = await repo.readSealedJson<SnapshotFile>('snapshots', id);
    } catch (e) {
      problems.push({ kind: 'snapshot', object: `snapshots/${id}`, message: `snapshot file is damaged: ${(e as Error).message}`, snapshots: [id] });
      continue;
    }
    use(snap.tree, id);
    let tree: TreeBlob;
    try {
      tree = JSON.parse((await repo.loadBlob(snap.tree)).toString('utf8')) as TreeBlob;
    } catch (e) {
      problems.push({ kind: 'tree', object: snap.tree, message: `file list of the snapshot cannot be read: ${(e as Error).message}`, snapshots: [id] });
      continue;
    }
    for (const e of tree.entries) for (const c of e.chunks ?? []) use(c, id);
  }
  const affected = (blobs: Iterable<string>) => [...new Set([...blobs].flatMap((b) => users.get(b) ?? []))].sort();

  // 3. every used blob indexed
  for (const [blob, snaps] of users) {
    if (!repo.index.has(blob)) problems.push({ kind: 'blob-missing', object: blob, message: `chunk ${blob.slice(0, 12)} is not in any index or pack`, snapshots: snaps });
  }

  // 4. every indexed pack present with its size
  const present = new Map((await repo.backend.list('data')).map((f) => [f.name, f.size]));
  const packBlobs = (pack: string) => (repo.index.packs.get(pack)?.blobs ?? []).map((b) => b[1]);
  for (const pack of repo.index.packs.keys()) {
    const info = repo.index.packs.get(pack)!;
    const size = present.get(pack);
    if (size === undefined) problems.push({ kind: 'pack-missing', object: `data/${pack}`, message: 'pack file is missing', snapshots: affected(packBlobs(pack)) });
    else if (size !== info.size)
      problems.push({ kind: 'pack-size', object: `data/${pack}`, message: `pack file has ${size} bytes, the index says ${info.size} (truncated?)`, snapshots: affected(packBlobs(pack)) });
  }
  await repo.loadIndex(); // a backup that committed meanwhile indexed its packs: not ours to report
  const unindexedPacks = [...present.keys()].filter((p) => !repo.index.packs.has(p) || repo.packsFromHeaders.has(p)).length;
  // Chunks that snapshots use and that only packs no index names hold. A chunk an indexed pack
  // also holds is fine: its unindexed copy is an interrupted run's leftover, which prune removes.
  const onlyUnindexed = new Set([...repo.packsFromHeaders.keys()].flatMap((p) => packBlobs(p).filter((b) => users.has(b))));
  for (const pack of repo.index.packs.keys()) {
    if (onlyUnindexed.size === 0) break;
    if (!repo.packsFromHeaders.has(pack)) for (const b of packBlobs(pack)) onlyUnindexed.delete(b);
  }
  for (const pack of [...repo.packsFromHeaders.keys()].sort()) {
    const usedHere = packBlobs(pack).filter((b) => onlyUnindexed.has(b));
    if (!usedHere.length) continue; // an interrupted run's leftovers: prune removes them
    problems.push({
      kind: 'unindexed',
      object: `data/${pack}`,
      message:
        `pack is not in any index but holds ${usedHere.length} chunks of snapshots ${affected(usedHere).map((s) => s.slice(0, 12)).join(', ')} ` +
        `(read through its header); 'lifeboat repo prune' or 'lifeboat repo repair index' re-indexes it`,
      snapshots: [],
    });
  }

  // 5. read data
  let packsRead = 0;
  let blobsRead = 0;
  let bytesRead = 0;
  if (opts.readData) {
    const selected = selectPacks([...repo.index.packs.keys()].filter((p) => present.has(p)).sort(), opts.subset);
    for (const pack of selected) {
      const data = await repo.backend.read('data', pack);
      packsRead++;
      bytesRead += data.length;
      progress(`read ${packsRead}/${selected.length} packs (${(bytesRead / 1e6).toFixed(0)} MB)`);
      const bad: string[] = [];
      for (const [, blob, offset, length, raw] of repo.index.packs.get(pack)!.blobs) {
        blobsRead++;
        const reason = await verifyBlob(repo.key, repo.boundIds, data, blob, offset, length, raw);
        if (reason) {
          bad.push(blob);
          problems.push({ kind: 'blob', object: blob, message: `chunk ${blob.slice(0, 12)} in pack ${pack.slice(0, 12)} ${reason}`, snapshots: users.get(blob) ?? [] });
        }
      }
      if (sha256(data) !== pack) {
        let header = 'header intact';
        try {
          parsePack(repo.key, data);
        } catch {
          header = 'header damaged';
        }
        problems.push({
          kind: 'pack-hash',
          object: `data/${pack}`,
          message: `pack does not match its SHA-256 name (${bad.length} damaged chunks, ${header})`,
          snapshots: affected(bad.length ? bad : packBlobs(pack)),
        });
      }
    }
  }
  const damagedSnapshots = [...new Set(problems.flatMap((p) => p.snapshots))].sort();
  return { ok: problems.length === 0, snapshots: ids.length, packs: repo.index.packs.size(), packsRead, blobsRead, bytesRead, unindexedPacks, problems, damagedSnapshots };
}

/** A blob read in full: opened (as itself where ids are bound), decompressed and re-hashed, whatever the format. */
async function verifyBlob(key: Buffer, boundIds: boolean, pack: Buffer, id: string, offset: number, length: number, raw: number): Promise<string | null> {
  if (offset + length > pack.length) return 'lies beyond the end of the pack (truncated)';
  let plain: Buffer;
  try {
    plain = open(key, pack.subarray(offset, offset + length), blobAadIf(boundIds, id));
  } catch {
    return 'fails authentication (altered)';
  }
  let data: Buffer;
  try {
    data = await decompress(plain[0]!, plain.subarray(1));
  } catch (e) {
    return `cannot be decompressed: ${(e as Error).message}`;
  }
  if (data.length !== raw) return `decodes to ${data.length} bytes, the index says ${raw}`;
  if (sha256(data) !== id) return 'does not match its hash';
  return null;
}

