/**
 * `lifeboat report` of a run that did not succeed prints the report — its steps and what failed —
 * and exits with the failure's code: a recovery that fails on a bad input (an unknown set: 14), read
 * through a worker and, with no worker answering, from the run's history; and a recovery whose
 * approval is rejected (16). Through the real CLI, a real worker and the lab; nothing is stopped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { backupPart } from '../../src/backup/parts';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import type { RunReport } from '../../src/report/report.pure';
import { openRepositoryForSpec } from '../../src/repository';
import { temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';

describe('report of a failed or rejected run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-report-'));
  const lab = primarySpec();
  const pw = join(dir, 'password');
  writeFileSync(pw, 'report-password\n');
  const specOf = (name: string): string => {
    const spec: ClusterSpec = { ...lab, name, repository: { path: join(dir, name), password: { file: pw }, compression: 'auto' }, offsiteRepository: undefined };
    writeFileSync(join(dir, `${name}.yaml`), stringify(spec));
    return join(dir, `${name}.yaml`);
  };
  let workers: RunningWorkers | undefined;
  let running: Promise<void> | undefined;
  const startWorkers = async () => {
    workers = await createWorkers({ settings: temporalSettings(), hosts: lab.brokers.map((b) => b.host) });
    running = workers.run();
  };
  const stopWorkers = async () => {
    workers?.shutdown();
    await running;
    workers = undefined;
  };

  beforeAll(startWorkers);
  afterAll(async () => {
    await stopWorkers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a run that failed on a bad input: the steps, the failed one with its reason, exit 14 — with a worker and from history', async () => {
    const name = unique('rep-fail');
    const file = specOf(name);
    expect((await lifeboat('repo', 'init', '--spec', file)).code).toBe(EXIT.OK);
    const run = await lifeboat('recover', 'cluster', '--spec', file, '--set', 'ffffffff', '--yes');
    expect(run.code, run.stderr).toBe(EXIT.NOT_FOUND);
    // Its reason, as the recover command said it (an empty repository, or no such set).
    const reason = /failed: (.*)$/.exec(run.stderr.trim().split('\n').at(-1)!)![1]!;
    expect(reason).toMatch(/backup set/);

    const r = await lifeboat('report', `recover-${name}`);
    expect(r.code, r.stderr).toBe(EXIT.NOT_FOUND);
    expect(r.stdout).toContain(`# Lifeboat fullClusterRecovery — ${name}: failed`);
    expect(r.stdout).toContain('## Steps');
    // The step that failed, with its reason, and the steps it never reached.
    expect(r.stdout).toMatch(/\| 1 \| [^|]+ \| failed \| [^|]+ \| [^|]+ \|/);
    expect(r.stdout.split('\n').find((l) => l.startsWith('| 1 |'))).toContain(reason);
    expect(r.stdout).toMatch(/\| 2 \| [^|]+ \| pending \|/);
    expect(r.stdout).toContain(`**Failed:** recover-${name} failed: ${reason}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);

    const j = await lifeboat('report', `recover-${name}`, '--json');
    expect(j.code).toBe(EXIT.NOT_FOUND);
    const doc = JSON.parse(j.stdout) as { report: RunReport; error: { type: string; exitCode: number } };
    expect(doc.report.outcome).toBe('failed');
    expect(doc.report.steps[0]).toMatchObject({ status: 'failed', detail: expect.stringContaining(reason) });
    // The workflow itself records the cause, not the wrapper's "Activity task failed" (the status query, the UI).
    expect(doc.report.steps[0]?.detail).not.toMatch(/Activity task failed/);
    expect(doc.error).toMatchObject({ exitCode: EXIT.NOT_FOUND });

    // No worker to replay the run: the steps come from its history.
    await stopWorkers();
    try {
      const h = await lifeboat('report', `recover-${name}`, '--json');
      expect(h.code, h.stderr).toBe(EXIT.NOT_FOUND);
      const fromHistory = JSON.parse(h.stdout) as { report: RunReport };
      expect(fromHistory.report.steps.at(-1)).toMatchObject({ status: 'failed', detail: expect.stringContaining(reason) });
      expect(fromHistory.report.problems.join('\n')).toContain(reason);
    } finally {
      await startWorkers();
    }
  });

  it('a recovery whose approval was rejected: the steps up to the gate, the rejection, exit 16', async () => {
    const name = unique('rep-reject');
    const file = specOf(name);
    const spec: ClusterSpec = { ...lab, name, repository: { path: join(dir, name), password: { file: pw }, compression: 'auto' }, offsiteRepository: undefined };
    // A whole set (state, configs and hot log-dir copies of every broker): any recovery takes it.
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true });
    const parts = ['zookeeper', 'kafka-metadata', ...spec.brokers.flatMap((b) => [`configs:${b.id}`, `logdirs:${b.id}`])];
    const ref = { setId: 'c0ffee0123456789', tier: 'manual' as const, parts };
    try {
      for (const p of parts) await backupPart(spec, repo, ref, p);
    } finally {
      await repo.close();
    }
    const started = await lifeboat('recover', 'cluster', '--spec', file, '--no-wait');
    expect(started.code, started.stderr).toBe(EXIT.OK);
    let status = { stdout: '' };
    for (let i = 0; i < 120 && !status.stdout.includes('awaitingApproval'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = await lifeboat('status', `recover-${name}`, '--json');
    }
    expect(status.stdout).toContain('awaitingApproval');
    const answer = await lifeboat('approve', `recover-${name}`, '--reject', '--by', 'report-test', '--comment', 'drill', '--json');
    expect(answer.code, answer.stderr).toBe(EXIT.OK);
    expect(JSON.parse(answer.stdout)).toEqual({ step: 'stop-brokers', approved: false, by: 'report-test' });

    let r = await lifeboat('report', `recover-${name}`);
    for (let i = 0; i < 20 && r.stderr.includes('still running'); i++) {
      await new Promise((res) => setTimeout(res, 500));
      r = await lifeboat('report', `recover-${name}`);
    }
    expect(r.code, r.stderr).toBe(EXIT.REJECTED);
    expect(r.stdout).toContain(`# Lifeboat fullClusterRecovery — ${name}: rejected`);
    expect(r.stdout).toMatch(/\| 1 \| [^|]+ \| done \| [^|]+ \| set c0ffee0123456789 /);
    expect(r.stdout).toContain('rejected by report-test: drill');
    expect(r.stdout).toMatch(/\*\*Failed:\*\* .*was rejected by report-test; nothing was changed/);
    // Nothing was stopped: the lab's primary still serves.
    expect((await lifeboat('probe', '--spec', file)).code).toBe(EXIT.OK);
  });
});
