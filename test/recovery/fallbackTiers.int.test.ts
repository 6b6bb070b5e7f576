/**
 * The recovery's fallback chain on the real lab: a backup is copied down the tiers (a NAS path,
 * then S3 on the lab's versitygw); the local repository is deleted and the NAS copy's data damaged;
 * the cluster, lost whole, is recovered from the S3 tier, and the report says so. Every record of
 * the set comes back; the deleted primary is not recreated by the recovery (a read never writes).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { readClusterState } from '../../src/kafka/clusterState';
import { poll } from '../../src/core/poll';
import { EXIT } from '../../src/errors';
import { labDisaster } from '../../lab/disaster';
import { brokerRunning, startBroker } from '../../lab/lab';
import { findCluster } from '../../lab/topology';
import type { RunReport } from '../../src/report/report.pure';
import { TASK_QUEUE } from '../../src/temporal/connection';
import type { BackupResult } from '../../workflows/backup';
import { lifeboat } from '../support/cli';
import { createTopicsReady, produce } from '../support/kafka';
import { primarySpec, topo, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';
import { cleanS3, s3Keys, s3Prefix, s3Repository } from '../support/s3';
import { consumeAll } from './consume';

/** Flips a byte in the middle of every file under `dir` (a repository's packs: nothing in it reads back). */
function damageAll(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const f = join(e.parentPath, e.name);
    const b = readFileSync(f);
    b[Math.floor(b.length / 2)]! ^= 0xff;
    writeFileSync(f, b);
    n++;
  }
  return n;
}

/** Every primary broker running, and every partition's ISR full (what a recovery test must leave). */
async function clusterWhole(spec: ClusterSpec): Promise<void> {
  for (const b of findCluster(topo, 'primary').brokers) if (!brokerRunning(topo, b)) await startBroker(topo, b);
  await poll(
    async (note) => {
      const s = await readClusterState(spec);
      const short = s.partitions.filter((p) => p.isr.length < p.replicas.length);
      note(`${short.length} partitions short of their replicas, ${s.brokers.length} brokers`);
      return s.brokers.length === spec.brokers.length && short.length === 0;
    },
    { timeoutMs: 180_000, intervalMs: 1_000, what: 'every ISR of the primary full' },
  );
}

describe('recovery falls back along the repository tiers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-tiers-'));
  const lab = primarySpec();
  const prefix = s3Prefix('fallback');
  const spec: ClusterSpec = {
    ...lab,
    repository: { ...lab.repository!, path: join(dir, 'local') },
    offsiteRepository: undefined,
    registry: undefined,
    tiers: [
      { name: 'nas', path: join(dir, 'nas'), password: lab.repository!.password, compression: 'auto', medium: 'nas', offsite: false },
      { name: 's3', ...s3Repository(prefix), medium: 'object', offsite: true },
    ],
  };
  const specFile = join(dir, 'cluster.yaml');
  const topic = unique('ledger');
  let temporal: TestWorkers;
  let client: Client;

  beforeAll(async () => {
    writeFileSync(specFile, stringify(spec));
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
    client = temporal.client;
    await createTopicsReady(spec, [{ topic, numPartitions: 3, replicationFactor: 3 }]);
  });

  afterAll(async () => {
    await clusterWhole(spec).catch((e: unknown) => console.error(`primary not whole after the test: ${(e as Error).message}`));
    await withAdmin(kafkaFor(spec), spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    await temporal?.stop();
    await cleanS3([prefix]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the local repository deleted and the NAS copy damaged: the cluster comes back from the S3 tier, and the report says so', { timeout: 420_000 }, async () => {
    await produce(spec, topic, Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `entry-${i}` })));
    const before = await consumeAll(spec, topic, 300);

    // The backup copies the complete set down the tiers, then retention runs in each.
    const backup = (await client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId: unique('backup-tiers'), args: [{ spec }] })) as BackupResult;
    const steps = Object.fromEntries(backup.report.steps.map((s) => [s.name, s]));
    expect(steps['copy-nas']).toMatchObject({ status: 'done', detail: expect.stringMatching(/^\d+ snapshots copied/) });
    expect(steps['copy-s3']).toMatchObject({ status: 'done', detail: expect.stringMatching(/^\d+ snapshots copied/) });
    expect(steps.offsite).toMatchObject({ status: 'skipped' });
    expect(steps.retention).toMatchObject({ status: 'done', detail: expect.stringMatching(/^primary: kept \d+, .*; nas: kept \d+, .*; s3: kept \d+, /) });
    expect((await s3Keys(prefix)).some((k) => k.key.includes('/snapshots/'))).toBe(true);

    // Where the set lives: all three tiers, two media, one off-site.
    const sets = await lifeboat('backup', 'sets', '--spec', specFile);
    expect(sets.code, sets.stderr).toBe(EXIT.OK);
    expect(sets.stdout).toMatch(new RegExp(`${backup.setId} .* complete .* in: primary nas s3  protected`));
    expect(sets.stdout).toMatch(/tier s3 +object +off-site/);

    // The local repository is gone; every pack of the NAS copy is damaged.
    rmSync(spec.repository!.path, { recursive: true, force: true });
    expect(damageAll(join(dir, 'nas', 'data'))).toBeGreaterThan(0);
    const left = await lifeboat('backup', 'sets', '--spec', specFile, '--tier-repo', 's3');
    expect(left.code, left.stderr).toBe(EXIT.OK);
    expect(left.stdout).toContain(backup.setId);

    const plan = (await client.workflow.execute('fullClusterRecovery', { taskQueue: TASK_QUEUE, workflowId: unique('recover-tiers-plan'), args: [{ spec, dryRun: true }] })) as RunReport;
    expect(plan.outcome).toBe('planned');
    expect(plan.snapshot).toMatchObject({ id: backup.setId });
    const fallback = plan.problems.find((p) => p.includes('fallback chain'));
    expect(fallback).toContain(`backup set ${backup.setId} is read from tier s3 (s3://`);
    expect(fallback).toContain(`the primary repository (${spec.repository!.path}): no repository at`);
    expect(fallback).toMatch(/tier nas \([^)]+\): no backup set of .* can be used/);
    expect(plan.steps.find((s) => s.name === 'choose-set')!.detail).toContain('; from tier s3 (s3://');

    const disaster = await labDisaster(topo, 'primary');
    const report = (await client.workflow.execute('fullClusterRecovery', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('recover-tiers'),
      args: [{ spec, failureTime: disaster.at, autoApprove: true }],
    })) as RunReport;
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.outcome).toBe('succeeded');
    expect(report.snapshot).toMatchObject({ id: backup.setId });
    expect(report.problems.join('\n')).toContain(`backup set ${backup.setId} is read from tier s3`);
    expect(report.steps.find((s) => s.name === 'restore-data')!.status).toBe('done');
    expect(await consumeAll(spec, topic, 300)).toEqual(before);
    // Reading from the S3 tier wrote nothing where the deleted primary was.
    expect(existsSync(spec.repository!.path)).toBe(false);
    expect(statSync(join(dir, 'nas')).isDirectory()).toBe(true);
    await clusterWhole(spec);
  });
});
