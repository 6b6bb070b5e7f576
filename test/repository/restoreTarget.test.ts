/**
 * A restore refused for an unsafe target writes nothing: every destination path is checked (an
 * existing symlink inside the target that leads outside it) before any directory is created.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifeboatWith } from '../support/cli';
import { restoreFiles } from '../../src/repository';
import { PASSWORD, kafkaLike, tempDir, tempRepo } from './helpers';


/** Every path under `dir`, recursively (the outside directory before and after). */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(relative(dir, join(d, e.name)));
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

describe('restore into a target with a symlink leading outside', () => {
  it('is refused (UnsafeTarget, exit 15) before anything is created, inside or outside', async () => {
    const repo = await tempRepo();
    const w = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    await w.writeFile('logdirs/b1/a-first.log', kafkaLike(20_000, 1));
    await w.writeFile('logdirs/b1/escape/orders-0/deep/000.log', kafkaLike(20_000, 2));
    w.writeDir('logdirs/b1/escape/empty-dir/inner');
    await w.writeFile('logdirs/b1/z-last/000.log', kafkaLike(20_000, 3));
    const meta = await w.commit();

    const base = tempDir('target');
    const outside = join(base, 'outside');
    mkdirSync(join(outside, 'keep'), { recursive: true });
    writeFileSync(join(outside, 'keep', 'x'), 'x');
    const target = join(base, 'target');
    mkdirSync(target);
    symlinkSync(outside, join(target, 'escape'));
    const before = tree(outside);
    const targetBefore = tree(target);

    const reader = await repo.openSnapshot(meta.id);
    const err = await restoreFiles(reader, target, { include: 'logdirs/b1', stripPrefix: 'logdirs/b1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'UnsafeTarget', exitCode: 15, message: expect.stringContaining('escape') });
    expect(tree(outside)).toEqual(before);
    expect(tree(target)).toEqual(targetBefore); // not even the files that sort before it
    // --overwrite does not change that
    await expect(restoreFiles(reader, target, { include: 'logdirs/b1', stripPrefix: 'logdirs/b1', overwrite: true })).rejects.toMatchObject({ type: 'UnsafeTarget' });
    expect(tree(outside)).toEqual(before);
    await repo.close();

    // The CLI the same way: exit 15 and nothing new outside.
    const r = await lifeboatWith({ LIFEBOAT_PASSWORD: PASSWORD }, 'repo', 'restore-files', meta.id, '--repo', repo.path, '--target', target, '--include', 'logdirs/b1', '--strip', 'logdirs/b1');
    expect(r.code, r.stderr).toBe(15);
    expect(r.stderr).toContain('escape');
    expect(tree(outside)).toEqual(before);
    expect(tree(target)).toEqual(targetBefore);
  }, 60_000);

  it('a target that is itself a symlink, and a symlink inside the target that stays inside, are fine', async () => {
    const repo = await tempRepo();
    const w = await repo.newSnapshot({ cluster: 'c', components: ['logdirs'] });
    await w.writeFile('d/inner/f.log', kafkaLike(10_000, 4));
    const meta = await w.commit();
    const base = tempDir('target-ok');
    const real = join(base, 'real');
    mkdirSync(join(real, 'elsewhere-inside'), { recursive: true });
    symlinkSync(real, join(base, 'via-link'));
    symlinkSync(join(real, 'elsewhere-inside'), join(real, 'd'));
    const r = await restoreFiles(await repo.openSnapshot(meta.id), join(base, 'via-link'));
    expect(r.files).toBe(1);
    expect(existsSync(join(real, 'elsewhere-inside', 'inner', 'f.log'))).toBe(true);
    await repo.close();
  });
});
