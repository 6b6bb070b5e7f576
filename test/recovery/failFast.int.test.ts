/**
 * A recovery that cannot work fails at once with one readable, non-retryable error (bad spec,
 * unknown set, wrong password); a second recovery of the same cluster is refused; an approval
 * gate that is rejected changes nothing. Through the real CLI and a real worker on the lab.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { backupPart } from '../../src/backup/parts';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import { openRepositoryForSpec } from '../../src/repository';
import { temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';

describe('recover cluster: fail fast, one at a time, rejection changes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-failfast-'));
  const lab = primarySpec();
  const name = unique('ff');
  const pw = join(dir, 'password');
  writeFileSync(pw, 'right-password\n');
  const spec: ClusterSpec = { ...lab, name, repository: { path: join(dir, 'repo'), password: { file: pw }, compression: 'auto' }, offsiteRepository: undefined };
  const specFile = (s: ClusterSpec, file: string) => {
    writeFileSync(join(dir, file), stringify(s));
    return join(dir, file);
  };
  let workers: RunningWorkers;
  let running: Promise<void>;

  beforeAll(async () => {
    workers = await createWorkers({ settings: temporalSettings(), hosts: spec.brokers.map((b) => b.host) });
    running = workers.run();
    // One real set (state only: cheap), so that "unknown set" means unknown, not "empty repository".
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true }); // backs up below: may create it
    const ref = { setId: 'a1b2c3d4e5f60718', tier: 'manual' as const, parts: ['zookeeper', 'kafka-metadata'] };
    try {
      for (const p of ref.parts) await backupPart(spec, repo, ref, p);
    } finally {
      await repo.close();
    }
  });

  afterAll(async () => {
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unknown backup set: exit 14, one line, within seconds', async () => {
    const t0 = Date.now();
    const r = await lifeboat('recover', 'cluster', '--spec', specFile(spec, 'ok.yaml'), '--set', 'ffffffff', '--yes');
    expect(r.code).toBe(EXIT.NOT_FOUND);
    expect(r.stderr).toMatch(/no backup set ffffffff of ff-/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('a wrong repository password: exit 12, within seconds', async () => {
    const other = join(dir, 'other-password');
    writeFileSync(other, 'wrong-password\n');
    const t0 = Date.now();
    const r = await lifeboat('recover', 'cluster', '--spec', specFile({ ...spec, repository: { ...spec.repository!, password: { file: other } } }, 'wrong.yaml'), '--yes');
    expect(r.code).toBe(EXIT.WRONG_PASSWORD);
    expect(r.stderr).toMatch(/password/i);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('a bad spec is refused before any workflow starts: exit 17 naming the field', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, stringify({ ...spec, brokers: [{ id: 'one' }] }));
    const r = await lifeboat('recover', 'cluster', '--spec', file);
    expect(r.code).toBe(EXIT.INVALID_SPEC);
    expect(r.stderr).toMatch(/brokers\[0\]/);
  });

  it('a second recovery of the cluster is refused; a rejected approval stops the first with nothing changed', async () => {
    // A repository-less spec cannot hide a set the real lab uses; this one recovers from our own repo.
    // The set holds state only (no broker data), so the recovery names the part it restores.
    const file = specFile(spec, 'gate.yaml');
    const first = await lifeboat('recover', 'cluster', '--spec', file, '--parts', 'zookeeper', '--no-wait');
    expect(first.code).toBe(EXIT.OK);
    const second = await lifeboat('recover', 'cluster', '--spec', file, '--parts', 'zookeeper', '--no-wait');
    expect(second.code).toBe(EXIT.UNSAFE_TARGET);
    expect(second.stderr).toContain(`recover-${name} is already running — only one at a time per cluster`);

    // Wait for the gate, then reject.
    let status = { stdout: '' };
    for (let i = 0; i < 60 && !status.stdout.includes('awaitingApproval'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = await lifeboat('status', `recover-${name}`, '--json');
    }
    expect(status.stdout).toContain('stop-brokers');
    const rejected = await lifeboat('approve', `recover-${name}`, '--reject', '--by', 'test', '--comment', 'drill only');
    expect(rejected.code).toBe(EXIT.OK);
    const report = await lifeboat('report', `recover-${name}`);
    expect(report.code).toBe(EXIT.REJECTED);
    expect(report.stderr).toMatch(/"stop-brokers" was rejected by test; nothing was changed/);
    // Nothing was stopped: the lab's primary still serves on every broker.
    const health = await lifeboat('probe', '--spec', file);
    expect(health.code).toBe(EXIT.OK);
  });
});
