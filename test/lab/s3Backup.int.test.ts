/**
 * The backup workflow with the cluster's repository on the lab's S3 server: a worker (its
 * repository sessions) writes the set's parts to s3://bucket/prefix, `backup sets` lists it from
 * there, and `repo check --read-data --spec` on the S3 repository finds nothing wrong.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { listBackupSets } from '../../src/backup/parts';
import { openRepositoryForSpec } from '../../src/repository';
import { TASK_QUEUE } from '../../src/temporal/connection';
import type { BackupResult } from '../../workflows/backup';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';
import { cleanS3, s3Keys, s3Prefix, s3Repository } from '../support/s3';

describe('backup to an S3 repository', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-s3-backup-'));
  const prefix = s3Prefix('backup');
  const spec: ClusterSpec = { ...primarySpec(), repository: s3Repository(prefix), offsiteRepository: undefined, registry: undefined, tiers: [] };
  const specFile = join(dir, 'cluster.yaml');
  let temporal: TestWorkers;
  let client: Client;

  beforeAll(async () => {
    writeFileSync(specFile, stringify(spec));
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
    client = temporal.client;
  });

  afterAll(async () => {
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
    await cleanS3();
  });

  it('writes the set to s3://, lists it and checks it from there', { timeout: 240_000 }, async () => {
    const result = (await client.workflow.execute('backup', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('backup-s3'),
      args: [{ spec, parts: ['kafka-metadata', 'configs:1'] }],
    })) as BackupResult;
    expect(result.report.outcome).toBe('succeeded');
    const keys = (await s3Keys(prefix)).map((k) => k.key.slice(prefix.length + 1));
    expect(keys.filter((k) => k.startsWith('snapshots/')).length).toBe(2); // one snapshot per part
    expect(keys.filter((k) => k.startsWith('locks/'))).toEqual([]);

    const repo = await openRepositoryForSpec(spec, 'primary', { notice: () => undefined });
    try {
      expect((await listBackupSets(repo, spec.name)).map((s) => s.setId)).toEqual([result.setId]);
    } finally {
      await repo.close();
    }
    const sets = await lifeboat('backup', 'sets', '--spec', specFile, '--json');
    expect(sets.code, sets.stderr).toBe(0);
    expect(sets.stdout).toContain(result.setId);
    const check = await lifeboat('repo', 'check', '--read-data', '--spec', specFile);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});
