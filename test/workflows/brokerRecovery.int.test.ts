/**
 * brokerRecovery on the real lab through a real worker: a SIGKILLed broker is started on its host
 * queue, rejoins every ISR and gets its preferred leaderships back; the report says so.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupResult } from '../../src/backup/plan.pure';
import type { ClusterSpec } from '../../src/config/spec';
import { Client, Connection } from '@temporalio/client';
import { withAdmin } from '../../src/kafka/admin';
import { readClusterState } from '../../src/kafka/clusterState';
import { killBroker } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import type { RunReport } from '../../src/report/report.pure';
import { connectTemporal, startRun } from '../../src/temporal/runs';
import { TASK_QUEUE, temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { primarySpec, topo, unique } from '../support/lab';
import { createTopicsReady, liveKafka } from '../support/kafka';

describe('brokerRecovery workflow', () => {
  const spec = primarySpec();
  const settings = temporalSettings();
  let workers: RunningWorkers;
  let running: Promise<void>;
  let connection: Connection;
  let client: Client;
  const topic = unique('recover');

  beforeAll(async () => {
    workers = await createWorkers({ settings, hosts: spec.brokers.map((b) => b.host) });
    running = workers.run();
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
    await createTopicsReady(spec, [{ topic, replicaAssignment: [0, 1, 2].map((p) => ({ partition: p, replicas: [3, 1, 2] })) }]);
  });

  afterAll(async () => {
    await withAdmin(liveKafka(spec), spec.name, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
    await connection?.close();
    workers?.shutdown();
    await running;
  });

  it('dry run returns the plan and starts nothing', async () => {
    const report = await client.workflow.execute('brokerRecovery', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('recover-primary-plan'),
      args: [{ spec, brokerId: 3, dryRun: true }],
    });
    expect(report.outcome).toBe('planned');
    const plan = report.steps.find((s: { name: string }) => s.name === 'plan');
    expect(plan.status).toBe('done');
    expect(report.steps.filter((s: { status: string }) => s.status === 'skipped').map((s: { name: string }) => s.name)).toEqual([
      'restore-logdirs',
      'start-broker',
      'wait-isr',
      'preferred-election',
      'verify',
    ]);
  });

  it('recovers a killed broker: back in every ISR, preferred leader again, verified', async () => {
    await killBroker(topo, findBroker(topo, 'primary', 3));
    const workflowId = `recover-${spec.name}`;
    const cli = await connectTemporal();
    try {
      await startRun(cli.client, 'brokerRecovery', { workflowId, args: [{ spec, brokerId: 3, autoApprove: true }], summary: 'test' });
      // A second recovery of the same cluster while this one runs is refused, with a clear message.
      await expect(
        startRun(cli.client, 'brokerRecovery', { workflowId, args: [{ spec, brokerId: 3 }], summary: 'test' }),
      ).rejects.toThrow(/already running — only one at a time per cluster/);

      const status = await client.workflow.getHandle(workflowId).query<{ plan: unknown[] }>('status');
      expect(status.plan.length).toBeGreaterThanOrEqual(6);

      const report = (await client.workflow.getHandle(workflowId).result()) as RunReport;
      expect(report.outcome).toBe('succeeded');
      expect(report.checks.every((c) => c.ok)).toBe(true);
      expect(report.steps.filter((s) => s.status !== 'done').map((s) => `${s.name}: ${s.detail}`)).toEqual([
        expect.stringMatching(/^restore-logdirs: log dirs intact/),
      ]);
      expect(report.rtoMs).toBeGreaterThan(0);
      const parts = (await readClusterState(spec, { topics: [topic] })).partitions;
      expect(parts).toHaveLength(3);
      for (const p of parts) {
        expect(p.isr.sort()).toEqual([1, 2, 3]);
        expect(p.leader).toBe(3);
      }
      const desc = await client.workflow.getHandle(workflowId).describe();
      expect(desc.typedSearchAttributes.get({ name: 'LifeboatKind', type: 'KEYWORD' } as never)).toBe('brokerRecovery');
      expect(desc.typedSearchAttributes.get({ name: 'LifeboatStep', type: 'KEYWORD' } as never)).toBe('succeeded');
    } finally {
      await cli.close();
    }
  });

  it('a broker whose disk is lost gets its log dirs back from the newest backup set, then catches up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-broker-'));
    const withRepo: ClusterSpec = { ...spec, repository: { ...spec.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
    try {
      const backup = (await client.workflow.execute('backup', {
        taskQueue: TASK_QUEUE,
        workflowId: unique('backup-primary'),
        args: [{ spec: withRepo, parts: ['zookeeper', 'kafka-metadata', 'logdirs:2'], skipRetention: true }],
      })) as BackupResult;
      const b2 = findBroker(topo, 'primary', 2);
      await killBroker(topo, b2);
      for (const e of readdirSync(b2.logDir)) rmSync(join(b2.logDir, e), { recursive: true, force: true });

      const report = (await client.workflow.execute('brokerRecovery', {
        taskQueue: TASK_QUEUE,
        workflowId: unique('recover-primary-disk'),
        args: [{ spec: withRepo, brokerId: 2, autoApprove: true }],
      })) as RunReport;
      expect(report.outcome).toBe('succeeded');
      const restored = report.steps.find((s) => s.name === 'restore-logdirs')!;
      expect(restored.status).toBe('done');
      expect(restored.detail).toContain(`from set ${backup.setId}`);
      const parts = (await readClusterState(spec, { topics: [topic] })).partitions;
      expect(parts).toHaveLength(3);
      for (const p of parts) expect(p.isr.sort()).toEqual([1, 2, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown broker with a non-retryable, readable error', async () => {
    await expect(
      client.workflow.execute('brokerRecovery', { taskQueue: TASK_QUEUE, workflowId: unique('recover-bad'), args: [{ spec, brokerId: 42 }] }),
    ).rejects.toMatchObject({ cause: { type: 'InvalidInput', message: expect.stringContaining('has no broker 42') } });
  });
});
