/**
 * `recover cluster --dry-run` with a spec whose repository path is mistyped (or its volume not
 * mounted): the worker's choice of a set fails with RepositoryNotFound (exit 10, not retried),
 * instead of creating an empty repository there and answering "holds no backup set".
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import { temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';

describe('recover cluster --dry-run of a missing repository', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-missing-repo-'));
  const pw = join(dir, 'password');
  writeFileSync(pw, 'pw\n');
  const mistyped = join(dir, 'mnt', 'bakups', 'repo');
  const spec: ClusterSpec = { ...primarySpec(), name: unique('nr'), repository: { path: mistyped, password: { file: pw }, compression: 'auto' }, offsiteRepository: undefined };
  const specFile = join(dir, 'cluster.yaml');
  writeFileSync(specFile, stringify(spec));
  let workers: RunningWorkers;
  let running: Promise<void>;

  beforeAll(async () => {
    workers = await createWorkers({ settings: temporalSettings(), hosts: spec.brokers.map((b) => b.host) });
    running = workers.run();
  });
  afterAll(async () => {
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 10 at once with one line naming the path, and creates nothing there', async () => {
    const t0 = Date.now();
    const r = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run');
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.REPOSITORY_NOT_FOUND);
    expect(r.stderr).toContain(`no repository at ${mistyped}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(existsSync(join(dir, 'mnt'))).toBe(false);

    const sets = await lifeboat('backup', 'sets', '--spec', specFile);
    expect(sets.code).toBe(EXIT.REPOSITORY_NOT_FOUND);
    expect(existsSync(join(dir, 'mnt'))).toBe(false);
  });
});
