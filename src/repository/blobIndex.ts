/** The in-memory index: which blob lives in which pack, loaded from index/ (and recovered packs). */
import type { BlobTuple, BlobType, IndexFile } from './format';
import type { PackInfo } from './pack';

export interface BlobLocation {
  pack: string;
  type: BlobType;
  offset: number;
  length: number;
  raw: number;
}

export class BlobIndex {
  readonly blobs = new Map<string, BlobLocation>();
  readonly packs = new Map<string, { size: number; blobs: BlobTuple[] }>();
  /** Index files loaded (names). */
  readonly files = new Set<string>();

  addPack(p: PackInfo): void {
    this.packs.set(p.id, { size: p.size, blobs: p.blobs });
    for (const [type, id, offset, length, raw] of p.blobs) {
      if (!this.blobs.has(id)) this.blobs.set(id, { pack: p.id, type, offset, length, raw });
    }
  }

  addFile(name: string, f: IndexFile): void {
    this.files.add(name);
    for (const p of f.packs) this.addPack(p);
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }
}
