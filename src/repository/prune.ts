/**
 * `prune`: reclaims the space of forgotten snapshots under the exclusive lock. Packs whose blobs
 * are all unused are deleted; partly used ones are repacked (used blobs verified and rewritten).
 * Order keeps every step crash-safe: new packs → one new index → old index files → old packs.
 * A snapshot whose file list cannot be read stops prune: deleting on a guess could lose data.
 */
import { LifeboatError } from '../errors';
import type { IndexFile, SnapshotFile, TreeBlob } from './format';
import { PackWriter } from './pack';
import type { LocalRepository } from './repo';

export interface PruneResult {
  dryRun: boolean;
  snapshots: number;
  packsDeleted: number;
  packsRepacked: number;
  packsKept: number;
  blobsRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
  temporariesRemoved: number;
}

export async function usedBlobs(repo: LocalRepository): Promise<{ used: Set<string>; snapshots: number }> {
  const used = new Set<string>();
  const ids = await repo.snapshotIds();
  for (const id of ids) {
    let tree: TreeBlob;
    try {
      const snap = await repo.readSealedJson<SnapshotFile>('snapshots', id);
      used.add(snap.tree);
      tree = JSON.parse((await repo.loadBlob(snap.tree)).toString('utf8')) as TreeBlob;
    } catch (e) {
      throw new LifeboatError('CorruptBackup', `prune stopped: snapshot ${id.slice(0, 12)} cannot be read (${(e as Error).message}); run 'lifeboat repo check' and forget it first`, {
        snapshot: id,
      });
    }
    for (const e of tree.entries) for (const c of e.chunks ?? []) used.add(c);
  }
  return { used, snapshots: ids.length };
}

export async function pruneRepository(repo: LocalRepository, opts: { dryRun?: boolean; progress?: (m: string) => void } = {}): Promise<PruneResult> {
  const progress = opts.progress ?? (() => undefined);
  return repo.exclusive('prune', async () => {
    await repo.loadIndex();
    await repo.recoverPacks(); // unindexed packs (interrupted backups) are judged like the others
    const { used, snapshots } = await usedBlobs(repo);
    const onDisk = await repo.backend.list('data');
    const bytesBefore = onDisk.reduce((n, f) => n + f.size, 0);
    const keep: string[] = [];
    const repack: string[] = [];
    const drop: string[] = [];
    let blobsRemoved = 0;
    for (const pack of repo.index.packs.keys()) {
      const info = repo.index.packs.get(pack)!;
      // A blob counts for the pack the index points to; duplicates elsewhere are unused.
      const live = info.blobs.filter(([, id]) => used.has(id) && repo.index.get(id)?.pack === pack);
      blobsRemoved += info.blobs.length - live.length;
      if (live.length === info.blobs.length) keep.push(pack);
      else if (live.length === 0) drop.push(pack);
      else repack.push(pack);
    }
    // Files in data/ that are not packs we can read at all (garbage) also go.
    const junk = onDisk.filter((f) => !repo.index.packs.has(f.name)).map((f) => f.name);
    const result: PruneResult = {
      dryRun: !!opts.dryRun,
      snapshots,
      packsDeleted: drop.length + junk.length,
      packsRepacked: repack.length,
      packsKept: keep.length,
      blobsRemoved,
      bytesBefore,
      bytesAfter: bytesBefore,
      temporariesRemoved: 0,
    };
    if (opts.dryRun) {
      const sizeOf = new Map(onDisk.map((f) => [f.name, f.size]));
      result.bytesAfter = keep.reduce((n, p) => n + (sizeOf.get(p) ?? 0), 0);
      return result;
    }

    const writer = new PackWriter(repo.backend, repo.key, repo.config.packSize, repo.boundIds);
    const rewritten = new Set<string>();
    for (const pack of repack) {
      progress(`repacking ${pack.slice(0, 12)}`);
      for (const [type, id, , , raw] of repo.index.packs.get(pack)!.blobs) {
        if (!used.has(id) || rewritten.has(id) || repo.index.get(id)?.pack !== pack) continue;
        // Verified (a damaged blob stops prune here); stored again as it was, under the same compression.
        const { codec, payload } = await repo.loadBlobStored(id);
        await writer.addPlain(type, id, codec, payload, raw);
        rewritten.add(id);
      }
    }
    const newPacks = await writer.finish();
    const packs: IndexFile['packs'] = [];
    for (const p of keep) packs.push({ id: p, ...repo.index.packs.get(p)! });
    for (const p of newPacks) packs.push(p);
    const oldIndexes = (await repo.backend.list('index')).map((f) => f.name);
    const newIndex = await repo.writeSealedJson('index', { version: 1, packs } satisfies IndexFile);
    for (const name of oldIndexes) if (name !== newIndex) await repo.backend.remove('index', name);
    for (const p of [...drop, ...repack, ...junk]) await repo.backend.remove('data', p);
    result.temporariesRemoved = await repo.backend.removeTemporaries();
    await repo.reloadIndex();
    result.bytesAfter = (await repo.backend.list('data')).reduce((n, f) => n + f.size, 0);
    return result;
  });
}
