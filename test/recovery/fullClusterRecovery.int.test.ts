/**
 * fullClusterRecovery on the real lab through a real worker: the primary cluster loses every broker,
 * its log dirs and its ZooKeeper chroot; the newest set is damaged, so the recovery falls back to
 * the one before, and every record and committed offset of that set comes back exactly once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { ClusterSpec } from '../../src/config/spec';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { labDisaster } from '../../lab/disaster';
import { listBackupSets } from '../../src/backup/parts';
import { restoreTopicsFromSet } from '../../src/recovery/logical';
import { withRepo } from '../../src/recovery/repo';
import type { RunReport } from '../../src/report/report.pure';
import { TASK_QUEUE } from '../../src/temporal/connection';
import type { BackupResult } from '../../workflows/backup';
import { primarySpec, topo, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';
import { consumeAll } from './consume';
import { curatorInstanceJson } from '../../src/registry/layouts';
import { connectZk, create, CreateMode, exists, withZk } from '../../src/zookeeper/client';
import { deleteTree, OPEN } from '../zookeeper/scratch';
import { createTopicsReady, produce } from '../support/kafka';

describe('fullClusterRecovery workflow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-recovery-'));
  const lab = primarySpec();
  const registryRoot = `/${unique('lifeboat-test')}/services`;
  const spec: ClusterSpec = {
    ...lab,
    repository: { ...lab.repository!, path: join(dir, 'repo') },
    offsiteRepository: undefined,
    registry: { curator: registryRoot },
  };
  const topic = unique('orders');
  const group = unique('billing');
  let temporal: TestWorkers;
  let client: Client;

  const produceOrders = (from: number, count: number) =>
    produce(spec, topic, Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `order-${from + i}` })));
  const runBackup = () =>
    client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId: unique('backup-primary'), args: [{ spec, skipRetention: true }] }) as Promise<BackupResult>;

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

  it('recovers from total loss, falling back past a damaged newest set; every record exactly once, offsets back', { timeout: 420_000 }, async () => {
    await produceOrders(0, 600);
    await commitGroupOffsets(kafkaFor(spec), group, [{ topic, partitions: [0, 1, 2].map((p) => ({ partition: p, offset: 50 + p })) }]);
    const before = await consumeAll(spec, topic, 600);
    // A Curator registry: one service with two ephemeral instances held by a "service" session.
    const services = await connectZk(spec.zookeeper!.connect);
    await create(services, registryRoot.slice(0, registryRoot.lastIndexOf('/')), null, OPEN);
    await create(services, registryRoot, null, OPEN);
    await create(services, `${registryRoot}/billing`, null, OPEN);
    for (const id of ['a1', 'b2']) {
      await create(services, `${registryRoot}/billing/${id}`, curatorInstanceJson({ name: 'billing', id, address: '10.1.1.1', port: 9000 }), OPEN, CreateMode.EPHEMERAL);
    }
    const good = await runBackup();
    expect(good.parts.map((p) => p.part)).toContain('registry');
    await produceOrders(600, 100);
    const newest = await runBackup();

    // Damage the newest set: one byte of its ZooKeeper snapshot file.
    const zkSnap = newest.parts.find((p) => p.part === 'zookeeper')!.snapshot;
    const file = join(spec.repository!.path, 'snapshots', zkSnap);
    const bytes = readFileSync(file);
    bytes[bytes.length - 20]! ^= 0xff;
    writeFileSync(file, bytes);

    const plan = (await client.workflow.execute('fullClusterRecovery', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('recover-primary-plan'),
      args: [{ spec, dryRun: true }],
    })) as RunReport;
    expect(plan.outcome).toBe('planned');
    expect(plan.snapshot).toMatchObject({ id: good.setId, fallbackFrom: newest.setId });

    // The disaster: every broker killed, its log dirs emptied, the cluster's ZooKeeper chroot deleted.
    const disaster = await labDisaster(topo, 'primary');
    services.close();
    await withZk(spec.zookeeper!.connect, (zk) => deleteTree(zk, registryRoot.slice(0, registryRoot.lastIndexOf('/'))));
    const failureTime = disaster.at;
    expect(disaster.znodesDeleted).toBeGreaterThan(20);

    const report = (await client.workflow.execute('fullClusterRecovery', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('recover-primary'),
      args: [{ spec, failureTime, autoApprove: true }],
    })) as RunReport;
    expect(report.problems.join('\n')).toContain(`backup set ${newest.setId}`);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.outcome).toBe('succeeded');
    expect(report.snapshot).toMatchObject({ id: good.setId, fallbackFrom: newest.setId });
    expect(report.steps.find((x) => x.name === 'restore-registry')!.detail).toMatch(/^1 services, \d+ nodes created; 2 instances wait for their services to register again/);
    expect(await withZk(spec.zookeeper!.connect, (zk) => exists(zk, `${registryRoot}/billing`))).not.toBeNull();
    expect(report.steps.filter((s) => s.status !== 'done').map((s) => `${s.name}: ${s.status}`)).toEqual(['adopt-topics: skipped', 'restore-topics: skipped']);
    expect(report.checks.every((c) => c.ok)).toBe(true);
    expect(report.rtoMs).toBeGreaterThan(0);
    expect(report.rpoMs).toBeGreaterThan(0);

    // The good set's 600 records, each once, at the same offsets; the group's offsets as committed.
    expect(await consumeAll(spec, topic, 600)).toEqual(before);
    const offsets = await withAdmin(kafkaFor(spec), spec.name, (a) => a.fetchOffsets({ groupId: group, topics: [topic] }));
    expect(offsets[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset)).toEqual(['50', '51', '52']);
  
    // A second disaster, recovered from the same set named explicitly: the data is restored again
    // (the first restore's markers do not count once the log dirs are empty).
    const again = await labDisaster(topo, 'primary');
    const second = (await client.workflow.execute('fullClusterRecovery', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('recover-primary-again'),
      args: [{ spec, setId: good.setId, failureTime: again.at, autoApprove: true }],
    })) as RunReport;
    expect(second.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await consumeAll(spec, topic, 600)).toEqual(before);
  });

  it('recovers from a logical set (topics, not log dirs): records produced back, group offsets set through the offset map', { timeout: 420_000 }, async () => {
    const events = unique('events');
    const readers = unique('event-readers');
    await createTopicsReady(spec, [{ topic: events, numPartitions: 3, replicationFactor: 3 }]);
    await produce(spec, events, Array.from({ length: 300 }, (_, i) => ({ key: `e${i}`, value: `event-${i}`, headers: { n: String(i) } })));
    await commitGroupOffsets(kafkaFor(spec), readers, [{ topic: events, partitions: [0, 1, 2].map((p) => ({ partition: p, offset: 10 + p })) }]);
    const before = await consumeAll(spec, events, 300);
    const set = (await client.workflow.execute('backup', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('backup-primary-logical'),
      args: [{ spec: { ...spec, registry: undefined }, parts: ['zookeeper', 'kafka-metadata', 'topics'], topics: [events], skipRetention: true }],
    })) as BackupResult;

    const disaster = await labDisaster(topo, 'primary');
    const report = (await client.workflow.execute('fullClusterRecovery', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('recover-primary-logical'),
      // A topics part of named topics is not every broker's data (a partial set): its parts are named.
      args: [{ spec, setId: set.setId, parts: ['zookeeper', 'kafka-metadata', 'topics'], failureTime: disaster.at, autoApprove: true }],
    })) as RunReport;
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.outcome).toBe('succeeded');
    expect(report.steps.find((x) => x.name === 'restore-data')!.status).toBe('skipped');
    expect(report.steps.find((x) => x.name === 'restore-topics')!.detail).toMatch(/^300 records, 2 consumer groups set/) // ours and the one consumeAll read with;
    expect(await consumeAll(spec, events, 300)).toEqual(before);
    const offsets = await withAdmin(kafkaFor(spec), spec.name, (a) => a.fetchOffsets({ groupId: readers, topics: [events] }));
    expect(offsets[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset)).toEqual(['10', '11', '12']);

    // The step run again, as a retried activity would (after a failure past its last write):
    // nothing is written twice and it still reports the set's 300 records, counted from the map.
    const backupSet = (await withRepo(spec, (repo) => listBackupSets(repo, spec.name))).find((s) => s.setId === set.setId)!;
    const retried = await restoreTopicsFromSet(spec, backupSet);
    expect({ records: retried.records, writtenNow: retried.writtenNow, groupsSet: retried.groupsSet }).toEqual({ records: 300, writtenNow: 0, groupsSet: 2 });
    expect(retried.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await consumeAll(spec, events, 300)).toEqual(before);
  });
});
