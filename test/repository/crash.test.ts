import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository, copySnapshots, openRepository, type LocalRepository } from '../../src/repository';
import { PASSWORD, kafkaLike, tempRepo } from './helpers';

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CHILD = join(__dirname, 'fixtures/child.ts');

/** Complete packs: a pack being written is a `.tmp-` file beside them until its rename (a slow, rate-limited one for seconds). */
const packCount = (path: string) => readdirSync(join(path, 'data')).reduce((n, d) => n + readdirSync(join(path, 'data', d)).filter((f) => !f.startsWith('.tmp-')).length, 0);

/** Runs the child until `ready()` holds (checked every 50 ms), then SIGKILLs it. */
async function runAndKill(args: string[], ready: () => boolean, timeoutMs = 60_000): Promise<{ killed: boolean; out: string }> {
  // Its own process group: tsx runs the script in a node child of its own, which a SIGKILL of tsx
  // alone leaves running (it went on writing packs beside the resumed copy).
  const child = spawn(TSX, [CHILD, ...args], { env: { ...process.env, LIFEBOAT_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const deadline = Date.now() + timeoutMs;
  let killed = false;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (out.includes('started') && ready()) {
      process.kill(-child.pid!, 'SIGKILL');
      killed = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await exited;
  // Every process of the group is gone before the test looks at what they left.
  for (;;) {
    try {
      process.kill(-child.pid!, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { killed, out };
}

const open = (path: string) => openRepository(path, PASSWORD, { notice: () => undefined });

describe('interrupted backup and copy', () => {
  it('a killed backup leaves no visible snapshot, and the re-run stores only what is missing', async () => {
    const init = await tempRepo();
    await init.close();
    const FILES = 12;
    const EACH = 1_000_000;
    const { killed, out } = await runAndKill(['backup', init.path, String(FILES), String(EACH)], () => packCount(init.path) >= 3);
    expect(killed, out).toBe(true);
    expect(out).not.toContain('committed');

    const repo = await open(init.path);
    expect(await repo.snapshots()).toEqual([]);
    expect(readdirSync(join(init.path, 'snapshots'))).toEqual([]);
    const packsBefore = packCount(init.path);
    expect(packsBefore).toBeGreaterThanOrEqual(3);

    const w = await repo.newSnapshot({ cluster: 'crash', components: ['logdirs'] });
    let newBytes = 0;
    for (let i = 0; i < FILES; i++) newBytes += (await w.writeFile(`logdirs/p${i}.log`, kafkaLike(EACH, i))).newBytes;
    const snap = await w.commit();
    // what the killed run had already packed is not stored again
    expect(newBytes).toBeLessThan(FILES * EACH);
    expect(snap.summary.bytes).toBe(FILES * EACH);
    const r = await repo.openSnapshot('latest');
    for (let i = 0; i < FILES; i++) expect((await r.readBuffer(`logdirs/p${i}.log`)).equals(kafkaLike(EACH, i))).toBe(true);
    expect((await checkRepository(repo, { readData: true })).problems).toEqual([]);
    await repo.close();
  }, 120_000);

  it('a killed copy resumes (reusing what it sent) and the rate limit holds', async () => {
    const src = await tempRepo();
    const w = await src.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    for (let i = 0; i < 6; i++) await w.writeFile(`logdirs/p${i}.log`, kafkaLike(400_000, i));
    const snap = await w.commit();
    await src.close();
    const dstInit = await tempRepo();
    await dstInit.close();

    // 300 KiB/s over ~1 MB stored: the child needs >3 s; kill it once two packs have landed.
    const { killed, out } = await runAndKill(['copy', src.path, dstInit.path, String(300 * 1024)], () => packCount(dstInit.path) >= 2);
    expect(killed, out).toBe(true);
    // Nothing writes once the kill returned (a copy left running would add packs at 300 KiB/s).
    const packsAtKill = packCount(dstInit.path);
    await new Promise((r) => setTimeout(r, 2000));
    expect(packCount(dstInit.path)).toBe(packsAtKill);
    const dst: LocalRepository = await open(dstInit.path);
    expect(await dst.snapshots()).toEqual([]);

    const source = await open(src.path);
    const rate = 400 * 1024;
    const t0 = Date.now();
    const res = await copySnapshots(source, dst, { limitRate: rate });
    const elapsed = (Date.now() - t0) / 1000;
    expect(res.reusedPacks).toBeGreaterThanOrEqual(2);
    expect(res.copied.map((c) => c.id)).toEqual([snap.id]);
    // only the rest was sent
    const full = (await source.storedBytes()) * 0.9;
    expect(res.bytesWritten).toBeLessThan(full);
    // rate: never faster than the cap (on average)
    expect(res.bytesWritten / elapsed).toBeLessThanOrEqual(rate * 1.05);

    const copied = await dst.openSnapshot('latest');
    expect(copied.meta.cluster).toBe('c');
    for (let i = 0; i < 6; i++) expect((await copied.readBuffer(`logdirs/p${i}.log`)).equals(kafkaLike(400_000, i))).toBe(true);
    expect((await checkRepository(dst, { readData: true })).problems).toEqual([]);
    // idempotent: a second copy sends nothing
    const again = await copySnapshots(source, dst);
    expect(again.copied).toEqual([]);
    expect(again.skipped).toEqual([snap.id]);
    await source.close();
    await dst.close();
  }, 120_000);
});
