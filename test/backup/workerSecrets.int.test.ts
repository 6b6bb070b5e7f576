/**
 * Secrets are resolved where a step runs: a spec's `env:` secret that the command's shell has but
 * the worker's environment lacks fails the run with a line that says so (the worker, its host, its
 * task queue), not "not set" as if the operator's own shell were at fault; a relative `file:`
 * secret resolves against the spec's directory in a worker started elsewhere.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackupSets } from '../../src/backup/parts';
import { loadSpec } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import { openRepositoryForSpec } from '../../src/repository';
import { temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { LIFEBOAT_BIN } from '../support/cli';
import { primarySpec, unique } from '../support/lab';

const run = promisify(execFile);

/** The CLI with extra variables in its own environment only (the worker runs in this process). */
async function lifeboatWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(LIFEBOAT_BIN, args, { timeout: 120_000, env: { ...process.env, NODE_NO_WARNINGS: '1', ...env } });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stderr: string };
    return { code: x.code, stderr: x.stderr };
  }
}

describe('secrets where the step runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-secrets-'));
  const lab = primarySpec();
  let workers: RunningWorkers;
  let running: Promise<void>;

  beforeAll(async () => {
    workers = await createWorkers({ settings: temporalSettings() });
    running = workers.run();
  });

  afterAll(async () => {
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  it("an env: secret the worker's environment lacks: exit 17, naming the variable and the worker", async () => {
    const variable = `LIFEBOAT_TEST_PW_${unique('x').slice(2).replace(/-/g, '_').toUpperCase()}`;
    expect(process.env[variable]).toBeUndefined();
    const name = unique('envsecret');
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify({ ...lab, name, offsiteRepository: undefined, repository: { ...lab.repository!, path: join(dir, name), password: { env: variable } } }));
    // The command's shell has the variable; the worker (this process) does not.
    const r = await lifeboatWith({ [variable]: 'only-in-the-shell' }, 'backup', '--spec', file, '--parts', 'zookeeper', '--skip-retention');
    expect(r.code, r.stderr).toBe(EXIT.INVALID_SPEC);
    expect(r.stderr.trim().split('\n').at(-1)).toContain(
      `${variable} is not set in the environment of the worker on host ${hostname()} (the process that runs this step, task queue lifeboat)`,
    );
  });

  it('a relative file: secret is read next to the spec, by a worker started elsewhere', async () => {
    const name = unique('filesecret');
    const specDir = join(dir, name);
    mkdirSync(join(specDir, 'secrets'), { recursive: true });
    writeFileSync(join(specDir, 'secrets', 'repo-pw'), 'relative-secret\n');
    const file = join(specDir, 'cluster.yaml');
    writeFileSync(file, stringify({ ...lab, name, offsiteRepository: undefined, repository: { ...lab.repository!, path: join(specDir, 'repo'), password: { file: 'secrets/repo-pw' } } }));
    expect(process.cwd()).not.toBe(specDir); // the worker's working directory is not the spec's
    const r = await lifeboatWith({}, 'backup', '--spec', file, '--parts', 'zookeeper', '--skip-retention');
    expect(r.code, r.stderr).toBe(EXIT.OK);
    const spec = loadSpec(file);
    const repo = await openRepositoryForSpec(spec);
    try {
      const sets = await listBackupSets(repo, name);
      expect(sets.map((s) => s.complete)).toEqual([true]);
    } finally {
      await repo.close();
    }
  });
});
