import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { BlobIndex } from '../../src/repository/blobIndex';
import type { BlobTuple } from '../../src/repository/format';

const id = (i: number) => createHash('sha256').update(String(i)).digest('hex');

describe('the in-memory blob index', () => {
  it('finds blobs, keeps the first copy of a duplicate, and survives lookup-key collisions', () => {
    const ix = new BlobIndex();
    const a = id(1);
    const twin = a.slice(0, 12) + 'f'.repeat(52); // same lookup key, different id
    ix.addPack({ id: 'p1', size: 100, blobs: [['d', a, 0, 10, 20], ['t', twin, 10, 5, 7]] });
    ix.addPack({ id: 'p2', size: 50, blobs: [['d', a, 0, 10, 20]] });
    ix.addPack({ id: 'p1', size: 100, blobs: [['d', a, 0, 10, 20]] }); // re-adding a pack is a no-op
    expect(ix.get(a)).toEqual({ pack: 'p1', type: 'd', offset: 0, length: 10, raw: 20 });
    expect(ix.get(twin)).toEqual({ pack: 'p1', type: 't', offset: 10, length: 5, raw: 7 });
    expect(ix.has(a.slice(0, 12) + '0'.repeat(52))).toBe(false);
    expect(ix.packs.get('p2')!.blobs).toEqual([['d', a, 0, 10, 20]]);
    expect(ix.packs.keys()).toEqual(['p1', 'p2']);
    expect(ix.blobCount).toBe(2);
  });

  it('costs well under 150 bytes per blob (bounded memory for large repositories)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage();
    const ix = new BlobIndex();
    const N = 200_000;
    for (let p = 0; p < N / 20; p++) {
      const blobs: BlobTuple[] = [];
      for (let b = 0; b < 20; b++) blobs.push(['d', id(p * 20 + b), b * 1000, 1000, 2000]);
      ix.addPack({ id: id(-p - 1), size: 20_000, blobs });
    }
    gc();
    const after = process.memoryUsage();
    const perBlob = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / N;
    expect(ix.blobCount).toBe(N);
    expect(ix.get(id(12345))?.offset).toBe((12345 % 20) * 1000);
    console.log(`blob index: ${perBlob.toFixed(0)} bytes per blob`);
    expect(perBlob).toBeLessThan(150);
  });
});
