/**
 * Only a backup (and `repo init`) creates a repository: every other open of a missing one (a
 * mistyped path, an unmounted volume) fails with RepositoryNotFound (exit 10) and writes nothing,
 * not even the parent directories.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lifeboatWith } from '../support/cli';
import { parseSpec, type ClusterSpec } from '../../src/config/spec';
import { openRepositoryForSpec } from '../../src/repository';
import { chooseBackupSet } from '../../src/recovery/choose';
import { withRepo } from '../../src/recovery/repo';
import { tempDir } from './helpers';

const quiet = { notice: () => undefined };

const lifeboat = (args: string[]) => lifeboatWith({ LIFEBOAT_TEST_MISSING_PW: 'pw-missing' }, ...args);

describe('a missing repository is never created by a read', () => {
  let base: string;
  /** Neither the repository nor its parent exists: a mistyped or unmounted path. */
  let mistyped: string;
  let spec: ClusterSpec;
  let specFile: string;
  beforeEach(() => {
    process.env.LIFEBOAT_TEST_MISSING_PW = 'pw-missing';
    base = tempDir('missing');
    mistyped = join(base, 'mnt-typo', 'backups', 'repo');
    const doc = {
      name: 'prod',
      kafka: { bootstrapServers: ['127.0.0.1:9'] },
      repository: { path: mistyped, password: { env: 'LIFEBOAT_TEST_MISSING_PW' } },
      offsiteRepository: { path: join(base, 'offsite-typo', 'repo'), password: { env: 'LIFEBOAT_TEST_MISSING_PW' } },
    };
    spec = parseSpec(doc);
    specFile = join(base, 'cluster.yaml');
    writeFileSync(specFile, JSON.stringify(doc));
  });
  afterEach(() => {
    delete process.env.LIFEBOAT_TEST_MISSING_PW;
  });

  it('openRepositoryForSpec: RepositoryNotFound (exit 10, not retried), nothing written; create: true makes one', async () => {
    for (const which of ['primary', 'offsite'] as const) {
      const err = await openRepositoryForSpec(spec, which, quiet).catch((e: unknown) => e);
      expect(err).toMatchObject({ type: 'RepositoryNotFound', exitCode: 10, retryable: false });
      expect((err as Error).message).toContain(which === 'primary' ? mistyped : 'offsite-typo');
    }
    expect(existsSync(join(base, 'mnt-typo'))).toBe(false);
    expect(existsSync(join(base, 'offsite-typo'))).toBe(false);

    // An existing but empty directory (an unmounted mount point) is not a repository either.
    mkdirSync(mistyped, { recursive: true });
    await expect(openRepositoryForSpec(spec, 'primary', quiet)).rejects.toMatchObject({ type: 'RepositoryNotFound' });
    expect(existsSync(join(mistyped, 'config'))).toBe(false);
    expect(existsSync(join(mistyped, 'locks'))).toBe(false);

    const created = await openRepositoryForSpec(spec, 'primary', { ...quiet, create: true });
    await created.close();
    expect(existsSync(join(mistyped, 'config'))).toBe(true);
    const again = await openRepositoryForSpec(spec, 'primary', quiet);
    expect(again.config.id).toBe(created.config.id);
    await again.close();
  });

  it("recovery's withRepo and chooseBackupSet answer RepositoryNotFound, not 'no backup set', and write nothing", async () => {
    await expect(withRepo(spec, async () => 'opened')).rejects.toMatchObject({ type: 'RepositoryNotFound', exitCode: 10 });
    await expect(chooseBackupSet(spec)).rejects.toMatchObject({ type: 'RepositoryNotFound', exitCode: 10 });
    expect(existsSync(join(base, 'mnt-typo'))).toBe(false);
  });

  it('CLI reads exit 10 and write nothing; repo backup and repo init create', async () => {
    const reads = [
      ['backup', 'sets', '--spec', specFile],
      ['repo', 'snapshots', '--spec', specFile],
      ['repo', 'check', '--spec', specFile],
      ['repo', 'check', '--spec', specFile, '--offsite'],
      ['repo', 'forget', '--spec', specFile, '--keep-last', '1', '--dry-run'],
      ['repo', 'prune', '--spec', specFile, '--dry-run'],
      ['repo', 'restore-files', 'latest', '--spec', specFile, '--target', join(base, 'out')],
      ['repo', 'key', 'list', '--spec', specFile],
    ];
    for (const args of reads) {
      const r = await lifeboat(args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(10);
      expect(r.stderr).toMatch(/no repository at .*mnt-typo|offsite-typo/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(existsSync(join(base, 'mnt-typo'))).toBe(false);
    expect(existsSync(join(base, 'offsite-typo'))).toBe(false);
    expect(existsSync(join(base, 'out'))).toBe(false);

    // copy to the off-site tier of the spec creates it (it is the backup's second copy); its source must exist
    const copy = await lifeboat(['repo', 'copy', '--spec', specFile]);
    expect(copy.code).toBe(10);
    expect(existsSync(join(base, 'offsite-typo'))).toBe(false);

    const src = join(base, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'server.properties'), 'broker.id=1\n');
    const b = await lifeboat(['repo', 'backup', src, '--spec', specFile, '--cluster', 'prod', '--as', 'configs/b1']);
    expect(b.code, b.stderr).toBe(0);
    expect(existsSync(join(mistyped, 'config'))).toBe(true);
    expect((await lifeboat(['repo', 'copy', '--spec', specFile])).code).toBe(0);
    expect(existsSync(join(base, 'offsite-typo', 'repo', 'config'))).toBe(true);
    const list = await lifeboat(['repo', 'snapshots', '--spec', specFile, '--offsite']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('configs');

    const other = join(base, 'elsewhere', 'repo');
    const init = await lifeboatWith({ LIFEBOAT_PASSWORD: 'x' }, 'repo', 'init', '--repo', other);
    expect(init.code, init.stderr).toBe(0);
    expect(existsSync(join(other, 'config'))).toBe(true);
  }, 120_000);
});
