/**
 * The full recovery's children, each started alone on the lab, as a failover, migration or drill
 * will run them: after a disaster (brokers killed, log dirs emptied, ZooKeeper chroot deleted),
 * restoreState puts the chroot back, restoreData (its own approval gate answered by an operator)
 * stops the brokers (none runs after the disaster), restores every broker's log dirs, starts them
 * and waits until they serve, and verifyCluster checks the cluster against the set. Every record
 * comes back once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { ClusterSpec } from '../../src/config/spec';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { labDisaster } from '../../lab/disaster';
import type { RunReport } from '../../src/report/report.pure';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import type { BackupResult } from '../../workflows/backup';
import type { RunStatus } from '../../workflows/support/tracker';
import { exists, withZk } from '../../src/zookeeper/client';
import { primarySpec, topo, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';
import { createTopicsReady, produce } from '../support/kafka';
import { consumeAll } from './consume';

describe('restoreState, restoreData and verifyCluster, each started alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-children-'));
  const lab = primarySpec();
  const spec: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined, registry: undefined };
  const topic = unique('parcels');
  let temporal: TestWorkers;
  let client: Client;

  beforeAll(async () => {
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
    client = temporal.client;
    await createTopicsReady(spec, [{ topic, numPartitions: 3, replicationFactor: 3 }]);
  });

  afterAll(async () => {
    await withAdmin(kafkaFor(spec), spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('after a disaster: state, then data (approved at its gate), then verification, each a workflow of its own', { timeout: 420_000 }, async () => {
    await produce(spec, topic, Array.from({ length: 400 }, (_, i) => ({ key: `p${i}`, value: `parcel-${i}` })));
    const before = await consumeAll(spec, topic, 400);
    const backup = (await client.workflow.execute('backup', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: unique('backup-children'),
      args: [{ spec, skipRetention: true }],
    })) as BackupResult;

    // Before the disaster, verifyCluster finds the live cluster as the set has it.
    const healthy = (await client.workflow.execute('verifyCluster', { taskQueue: CONTROL_TASK_QUEUE, workflowId: unique('verify-before'), args: [{ spec, setId: backup.setId }] })) as RunReport;
    expect(healthy.kind).toBe('verifyCluster');
    expect(healthy.outcome).toBe('succeeded');
    expect(healthy.snapshot?.id).toBe(backup.setId);
    expect(healthy.steps.map((s) => `${s.name}: ${s.status}`)).toEqual(['choose-set: done', 'verify: done']);

    const disaster = await labDisaster(topo, 'primary');
    expect(disaster.znodesDeleted).toBeGreaterThan(20);
    const topicZnode = `${spec.zookeeper!.chroot}/brokers/topics/${topic}`;
    expect(await withZk(spec.zookeeper!.connect, (zk) => exists(zk, topicZnode))).toBeNull();

    // restoreState alone: ZooKeeper and configs from the set named by id (chosen and verified first).
    const state = (await client.workflow.execute('restoreState', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: unique('restore-state'),
      args: [{ spec, setId: backup.setId, autoApprove: true }],
    })) as RunReport;
    expect(state.outcome).toBe('succeeded');
    expect(state.steps.map((s) => `${s.name}: ${s.status}`)).toEqual(['choose-set: done', 'restore-zookeeper: done', 'restore-registry: skipped', 'restore-configs: done']);
    expect(state.steps.find((s) => s.name === 'restore-zookeeper')!.detail).toMatch(/^[1-9]\d* created, 0 updated, 0 deleted/);
    expect(await withZk(spec.zookeeper!.connect, (zk) => exists(zk, topicZnode))).not.toBeNull();

    // restoreData alone, started without auto-approve: it waits at its own gate until an operator answers.
    const dataId = unique('restore-data');
    const handle = await client.workflow.start('restoreData', { taskQueue: CONTROL_TASK_QUEUE, workflowId: dataId, args: [{ spec, setId: backup.setId }] });
    let waiting: RunStatus | undefined;
    for (const until = Date.now() + 60_000; Date.now() < until && !waiting?.awaitingApproval; ) {
      waiting = await handle.query<RunStatus>('status');
      if (!waiting.awaitingApproval) await new Promise((r) => setTimeout(r, 200));
    }
    expect(waiting?.awaitingApproval).toMatchObject({ step: 'stop-brokers', safeDefault: 'reject' });
    expect(waiting!.awaitingApproval!.question).toContain(`with set ${backup.setId}`);
    await handle.executeUpdate('approve', { args: [{ approve: true, by: 'children-test' }] });
    const data = (await handle.result()) as RunReport;
    expect(data.outcome).toBe('succeeded');
    expect(data.steps.map((s) => `${s.name}: ${s.status}`)).toEqual([
      'choose-set: done',
      'stop-brokers: done',
      'restore-data: done',
      'start-brokers: done',
      'wait-serving: done',
      'restore-topics: skipped',
      'preferred-election: done',
    ]);
    expect(data.steps.find((s) => s.name === 'stop-brokers')!.detail).toBe('0 were running');
    expect(data.steps.find((s) => s.name === 'restore-data')!.detail).toMatch(/^\d+ files, \d+\.\d MB; /);
    expect(await consumeAll(spec, topic, 400)).toEqual(before);

    // verifyCluster alone against the set: every check passes on the recovered cluster.
    const verified = (await client.workflow.execute('verifyCluster', { taskQueue: CONTROL_TASK_QUEUE, workflowId: unique('verify-after'), args: [{ spec, setId: backup.setId }] })) as RunReport;
    expect(verified.checks.filter((c) => !c.ok)).toEqual([]);
    expect(verified.outcome).toBe('succeeded');
    const subjects = verified.checks.map((c) => c.subject);
    expect(subjects).toContain(`topic ${topic}: partitions reaching the copied end offset`);
    expect(subjects).toEqual(expect.arrayContaining(['topics present', 'partition counts', 'consumer groups with their committed offsets', 'brokers serving', 'produce/consume probe']));
  });
});
