/**
 * A copy cancelled through its signal (as a cancelled off-site copy activity is) stops within a
 * second, writes nothing after it returned and no snapshot; the next copy takes up the packs it
 * wrote and finishes with every byte as in the source.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository, copySnapshots, openRepository } from '../../src/repository';
import { PASSWORD, kafkaLike, tempRepo } from './helpers';

const packCount = (path: string) => readdirSync(join(path, 'data')).reduce((n, d) => n + readdirSync(join(path, 'data', d)).length, 0);
const open = (path: string) => openRepository(path, PASSWORD, { notice: () => undefined });

describe('cancelled copy', () => {
  it('stops within a second of the abort, and the next copy completes it from the packs it left', async () => {
    const src = await tempRepo();
    const w = await src.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    for (let i = 0; i < 6; i++) await w.writeFile(`logdirs/p${i}.log`, kafkaLike(400_000, i));
    const snap = await w.commit();
    const dstInit = await tempRepo();
    await dstInit.close();
    const dst = await open(dstInit.path);

    const ac = new AbortController();
    let abortedAt = 0;
    const watch = setInterval(() => {
      if (!abortedAt && packCount(dst.path) >= 2) {
        abortedAt = Date.now();
        ac.abort();
      }
    }, 20);
    // 300 KiB/s over ~1 MB stored: several seconds, cancelled once two packs have landed.
    const first = await copySnapshots(src, dst, { limitRate: 300 * 1024, signal: ac.signal }).catch((e: unknown) => e);
    clearInterval(watch);
    expect((first as Error).name).toBe('AbortError');
    expect(abortedAt).toBeGreaterThan(0);
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    const packsAtAbort = packCount(dst.path);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(packCount(dst.path)).toBe(packsAtAbort);
    expect(await dst.snapshots()).toEqual([]);
    await dst.close();

    const again = await open(dstInit.path);
    const res = await copySnapshots(src, again);
    expect(res.reusedPacks).toBeGreaterThanOrEqual(2);
    expect(res.copied.map((c) => c.id)).toEqual([snap.id]);
    const copied = await again.openSnapshot('latest');
    for (let i = 0; i < 6; i++) expect((await copied.readBuffer(`logdirs/p${i}.log`)).equals(kafkaLike(400_000, i))).toBe(true);
    expect((await checkRepository(again, { readData: true })).problems).toEqual([]);
    await again.close();
    await src.close();
  }, 60_000);
});
