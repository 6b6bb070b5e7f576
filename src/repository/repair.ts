/**
 * `repair index`: rebuilds the index from the packs themselves, under the exclusive lock, after an
 * index file was lost or damaged. Every pack header names its blobs; a pack whose header cannot be
 * read keeps the entry an intact index file gave it (its blobs may still be readable). Crash-safe
 * like prune: the new index is written before the old index files are removed.
 */
import { isHexId, type IndexFile } from './format';
import { readPackHeader, type PackInfo } from './pack';
import type { LocalRepository } from './repo';

export interface RepairIndexResult {
  /** Packs in the new index. */
  packs: number;
  blobs: number;
  /** Packs that no index file named before (now indexed). */
  reindexed: number;
  /** Packs whose header is unreadable: kept from the old index where it had them, else left out (check reports them; prune removes them). */
  unreadable: string[];
  /** Packs the old index named that are not in data/ (their chunks stay missing: check names the snapshots). */
  missing: string[];
  indexFilesRemoved: number;
}

export async function repairIndex(repo: LocalRepository, opts: { progress?: (m: string) => void } = {}): Promise<RepairIndexResult> {
  const progress = opts.progress ?? (() => undefined);
  return repo.exclusive('repair index', async () => {
    await repo.reloadIndex(); // what the index files say now (another process may have written since we opened)
    const fromFiles = new Set(repo.index.packs.keys().filter((p) => !repo.packsFromHeaders.has(p)));
    const onDisk = (await repo.backend.list('data')).filter((f) => isHexId(f.name));
    const packs: PackInfo[] = [];
    const unreadable: string[] = [];
    let reindexed = 0;
    for (const [i, { name, size }] of onDisk.entries()) {
      if (i % 100 === 0) progress(`reading pack headers: ${i}/${onDisk.length}`);
      try {
        packs.push({ id: name, size, blobs: await readPackHeader(repo.backend, repo.key, name, size) });
        if (!fromFiles.has(name)) reindexed++;
      } catch {
        unreadable.push(name);
        const known = fromFiles.has(name) ? repo.index.packs.get(name) : undefined;
        if (known && known.size === size) packs.push({ id: name, ...known });
      }
    }
    const present = new Set(onDisk.map((f) => f.name));
    const missing = [...fromFiles].filter((p) => !present.has(p)).sort();
    const oldIndexes = (await repo.backend.list('index')).map((f) => f.name);
    const newIndex = packs.length ? await repo.writeSealedJson('index', { version: 1, packs } satisfies IndexFile) : undefined;
    let indexFilesRemoved = 0;
    for (const name of oldIndexes) {
      if (name === newIndex) continue;
      await repo.backend.remove('index', name);
      indexFilesRemoved++;
    }
    await repo.reloadIndex();
    return { packs: packs.length, blobs: packs.reduce((n, p) => n + p.blobs.length, 0), reindexed, unreadable: unreadable.sort(), missing, indexFilesRemoved };
  });
}
