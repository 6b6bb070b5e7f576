/**
 * `lifeboat backup health` as a process on real repositories (Temporal pointed at a port nobody
 * listens on, so the schedule is unknown and said so): exit 3 for a degraded cluster with --json's
 * one document, 13 for a failing one with the stale check first in the text; bad input is one
 * line; the repository read is left as it was (nothing created for a missing one).
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackupHealth } from '../../src/monitoring/types';
import { PASSWORD, tempDir, tempRepo } from '../repository/helpers';
import { storeSet } from '../monitoring/sets';
import { freePort, lifeboatWith } from './support';

describe('lifeboat backup health', () => {
  const dir = tempDir('health');
  let env: NodeJS.ProcessEnv;
  let specFile: string;
  let missingFile: string;
  let repoPath: string;

  beforeAll(async () => {
    const repo = await tempRepo();
    repoPath = repo.path;
    await storeSet(repo, 'health', 'aaaa000000000001', new Date(Date.now() - 5 * 60_000));
    await repo.close();
    writeFileSync(join(dir, 'pw'), PASSWORD);
    const spec = (path: string) => ({
      name: 'health',
      kafka: { bootstrapServers: ['127.0.0.1:9'] },
      repository: { path, password: { file: join(dir, 'pw') } },
      objectives: { rtoMinutes: 30, rpoMinutes: 60 },
    });
    specFile = join(dir, 'health.yaml');
    writeFileSync(specFile, stringify(spec(repoPath)));
    missingFile = join(dir, 'missing.yaml');
    writeFileSync(missingFile, stringify(spec(join(dir, 'nowhere'))));
    env = { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` };
  });

  it('a fresh set with warnings is degraded: exit 3, one JSON document with the checks and facts', async () => {
    const before = readdirSync(join(repoPath, 'snapshots')).sort();
    const r = await lifeboatWith(env, 'backup', 'health', '--spec', specFile, '--json');
    expect(r.code).toBe(3);
    const h = JSON.parse(r.stdout) as BackupHealth & { facts: { temporal: { reachable: boolean } } };
    expect(h.verdict).toBe('degraded');
    expect(h.facts.expectedIntervalSeconds).toBe(3600);
    expect(h.facts.temporal.reachable).toBe(false);
    expect(h.checks.find((c) => c.check === 'fresh')).toMatchObject({ tier: 'primary', ok: true, evidence: { setId: 'aaaa000000000001' } });
    expect(h.checks.find((c) => c.check === 'scheduled')).toMatchObject({ ok: false, severity: 'warning', evidence: { known: false } });
    expect(h.checks.find((c) => c.check === 'offsite')).toMatchObject({ ok: false, summary: expect.stringContaining('no off-site tier') });
    expect(readdirSync(join(repoPath, 'snapshots')).sort()).toEqual(before);
  });

  it('an interval the set is older than twice over makes it failing: exit 13, the stale check first', async () => {
    const r = await lifeboatWith(env, 'backup', 'health', '--spec', specFile, '--interval', '60');
    expect(r.code).toBe(13);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^backup health of health: FAILING .*a set expected every 60s, stale after 2m/);
    expect(lines[1]).toMatch(/^ {2}CRIT {2}fresh +primary +newest complete set of health in primary is [45]m old/);
    expect(r.stdout).toContain('tiers:\n  primary  disk');
  });

  it('a missing repository is unreachable (critical), and nothing is created there', async () => {
    const r = await lifeboatWith(env, 'backup', 'health', '--spec', missingFile);
    expect(r.code).toBe(13);
    expect(r.stdout).toMatch(/CRIT {2}reachable +primary +tier primary .* cannot be read: no repository at/);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });

  it('bad input is one line with its exit code', async () => {
    const usage = await lifeboatWith(env, 'backup', 'health', '--spec', specFile, '--schedule', '--interval', '5');
    expect(usage.code).toBe(2);
    expect(usage.stderr.trim().split('\n')).toEqual(['lifeboat: --interval and --stale-factor are for reading the health, not with --schedule (see "lifeboat backup health --help")']);
    const factor = await lifeboatWith(env, 'backup', 'health', '--spec', specFile, '--stale-factor', '0');
    expect(factor.code).toBe(2);
    expect(factor.stderr).toMatch(/--stale-factor must be a positive number/);
    const spec = await lifeboatWith(env, 'backup', 'health', '--spec', join(dir, 'none.yaml'));
    expect(spec.code).toBe(17);
  });
});
