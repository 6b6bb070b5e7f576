/**
 * Offline migration on the real lab through a real worker: the primary (3 brokers, chroot
 * /primary) moved onto the standby (1 broker, chroot /standby). Afterwards the standby serves every
 * record at the same offset with the same bytes (read here with a plain consumer, not through the
 * workflow's own fingerprints), the group's offsets, the topic ids and configs; its own topic is
 * untouched; the primary is left stopped. Refusals (a KRaft side, the same cluster, a broker map
 * that misses a broker, a name clash) are one line each and change nothing (a refusal after the
 * stops is offlineFailure.int.test.ts). The lab is left as found: the primary started again and
 * fully in sync, the migrated topics deleted from the standby.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, CompressionTypes, ResourcePatternTypes } from 'kafkajs';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { brokerControlFor } from '../../src/host/brokerControl';
import { poll } from '../../src/core/poll';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { waitForServing } from '../../src/recovery/serving';
import { TASK_QUEUE, temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { chrootPath, getData, withZk } from '../../src/zookeeper/client';
import type { OfflineMigrationResult } from '../../workflows/migration/offline';
import { findCluster } from '../../lab/topology';
import { nextSpec, primarySpec, standbySpec, topo, unique } from '../support/lab';
import { createTopicsReady } from '../support/kafka';
import { brokersRunning, primaryHealthy, readTopic } from './offlineSupport';
import { lifeboat } from '../support/cli';

const readAcl = (topic: string) => ({
  resourceType: AclResourceTypes.TOPIC,
  resourceName: topic,
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal: 'User:app',
  host: '*',
  operation: AclOperationTypes.READ,
  permissionType: AclPermissionTypes.ALLOW,
});
const aclsOf = (spec: ClusterSpec, topic: string) =>
  withAdmin(kafkaFor(spec), spec.name, async (a) =>
    (await a.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY })).resources.flatMap((r) =>
      r.acls.map((x) => `${x.principal} ${x.operation} ${x.permissionType}`),
    ),
  );

const topicId = (spec: ClusterSpec, topic: string) =>
  withZk(spec.zookeeper!.connect, async (zk) => (JSON.parse((await getData(zk, chrootPath(spec.zookeeper!.chroot, `/brokers/topics/${topic}`))).data!.toString()) as { topic_id: string }).topic_id);

describe('offline migration to the standby cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-offline-'));
  const lab = primarySpec();
  // The backup set goes to a repository of this test, not the lab primary's (other tests choose sets there).
  const source: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
  const target = standbySpec();
  const sourceFile = join(dir, 'primary.yaml');
  const settings = temporalSettings();
  const orders = unique('ofl-orders');
  const compacted = unique('ofl-compact');
  const empty = unique('ofl-empty');
  const own = unique('ofl-standby-own');
  const group = unique('ofl-billing');
  let workers: RunningWorkers;
  let running: Promise<void>;
  let connection: Connection;
  let client: Client;
  const migrated: string[] = [];
  /** Groups the migration committed on the standby that it did not have before (other tests' groups of the primary too). */
  const newGroups: string[] = [];
  /** Topic names the standby had literal ACLs on before the migration (those stay). */
  let standbyAclNames: string[] | undefined;
  const before: Record<string, string[]> = {};
  let sourceAcls: string[] = [];

  const failureOf = async (p: Promise<unknown>): Promise<string> => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(WorkflowFailedError);
    let m = '';
    for (let c = (e as Error & { cause?: unknown }).cause as (Error & { cause?: unknown }) | undefined; c; c = c.cause as typeof c) m = c.message;
    return m;
  };

  beforeAll(async () => {
    writeFileSync(sourceFile, stringify(source));
    workers = await createWorkers({ settings, hosts: [...source.brokers, ...target.brokers].map((b) => b.host) });
    running = workers.run();
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
    await createTopicsReady(source, [
      { topic: orders, numPartitions: 3, replicationFactor: 3 },
      { topic: compacted, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.insync.replicas', value: '2' }] },
      { topic: empty, numPartitions: 2, replicationFactor: 3 },
    ]);
    await createTopicsReady(target, [{ topic: own, numPartitions: 1, replicationFactor: 1 }]);
    const producer = kafkaFor(source).producer({ idempotent: true });
    await producer.connect();
    for (let batch = 0; batch < 4; batch++) {
      await producer.send({
        topic: orders,
        acks: -1,
        compression: batch % 2 ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: Array.from({ length: 75 }, (_, i) => ({ key: i % 10 ? `k${batch}-${i}` : null, value: `order-${batch}-${i}-${'x'.repeat(i)}`, headers: { seq: String(batch * 75 + i), bin: Buffer.from([batch, i, 0xff]) } })),
      });
    }
    await producer.send({ topic: compacted, acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ key: `c${i % 8}`, value: `v${i}` })) });
    await producer.disconnect();
    const tp = kafkaFor(target).producer({ idempotent: true });
    await tp.connect();
    await tp.send({ topic: own, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ key: `s${i}`, value: `standby-${i}` })) });
    await tp.disconnect();
    await withAdmin(kafkaFor(source), source.name, (a) => a.createAcls({ acl: [readAcl(orders)] }));
    sourceAcls = await aclsOf(source, orders);
    await commitGroupOffsets(kafkaFor(source), group, [{ topic: orders, partitions: [0, 1, 2].map((p) => ({ partition: p, offset: 10 + p * 7 })) }]);
    for (const t of [orders, compacted, empty]) before[t] = await readTopic(source, t);
    before[own] = await readTopic(target, own);
  });

  afterAll(async () => {
    // The lab as found, whatever happened above: the primary running and in sync, the standby without the migrated topics.
    await primaryHealthy(lab).catch((e: unknown) => console.error('primary not healthy again:', e));
    for (const b of target.brokers) await brokerControlFor(target, b.id).start().catch((e: unknown) => console.error('standby not started again:', e));
    await waitForServing(target, { timeoutMs: 120_000 }).catch((e: unknown) => console.error('standby not serving again:', e));
    await withAdmin(kafkaFor(lab), lab.name, (a) => a.deleteAcls({ filters: [readAcl(orders)] })).catch(() => {});
    // The ACLs the migration brought to the standby (other tests' topics of the primary too).
    const broughtAcls = [...new Set([orders, ...migrated])].filter((t) => standbyAclNames && !standbyAclNames.includes(t));
    if (broughtAcls.length) {
      const any = { resourceType: AclResourceTypes.TOPIC, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY };
      await withAdmin(kafkaFor(target), target.name, (a) => a.deleteAcls({ filters: broughtAcls.map((resourceName) => ({ ...any, resourceName })) })).catch(() => {});
    }
    const toDelete = [...new Set([...migrated, orders, compacted, empty, own])];
    await withAdmin(kafkaFor(target), target.name, async (a) => {
      const live = new Set(await a.listTopics());
      const mine = toDelete.filter((t) => live.has(t));
      if (mine.length) await a.deleteTopics({ topics: mine, timeout: 60_000 });
      await a.deleteGroups([...new Set([group, ...newGroups])]).catch(() => {});
    }).catch((e: unknown) => console.error('standby cleanup:', e));
    await withAdmin(kafkaFor(lab), lab.name, async (a) => {
      await a.deleteTopics({ topics: [orders, compacted, empty], timeout: 60_000 }).catch(() => {});
      await a.deleteGroups([group]).catch(() => {});
    }).catch(() => {});
    await rm(`${target.brokers[0]!.logDirs[0]!.replace(/\/+$/, '')}.lifeboat-migration.json`, { force: true });
    await connection?.close();
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a KRaft side, the same cluster, an uncovered broker map, an active group, an open transaction and a name clash, each in one line, changing nothing', async () => {
    // The error is one line; a refusal by the run's plan step follows the run's progress lines (the UI link, the step).
    const oneLine = (r: { code: number; stdout: string; stderr: string }, code: number, message: string) => {
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines.filter((l) => l.startsWith('lifeboat:'))).toEqual([`lifeboat: ${message}`]);
      expect(lines.at(-1)).toBe(`lifeboat: ${message}`);
      expect(r.code).toBe(code);
    };
    oneLine(
      await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', topo.kraft.specFile),
      2,
      'the target next is a KRaft cluster: its metadata is not in ZooKeeper: use online migration, lifeboat migrate (without --offline)',
    );
    oneLine(
      await lifeboat('migrate', '--offline', '--spec', topo.kraft.specFile, '--target-spec', findCluster(topo, 'standby').specFile),
      2,
      'the source next is a KRaft cluster: its metadata is not in ZooKeeper: use online migration, lifeboat migrate (without --offline)',
    );
    // The workflow refuses it too when started without the CLI.
    const kraftRun = await failureOf(client.workflow.execute('offlineMigration', { taskQueue: TASK_QUEUE, workflowId: unique('migrate-offline'), args: [{ source: { spec: source }, target: { spec: nextSpec() }, autoApprove: true }] }));
    expect(kraftRun).toContain('is a KRaft cluster: its metadata is not in ZooKeeper');
    oneLine(
      await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', findCluster(topo, 'primary').specFile),
      2,
      `source and target are the same cluster (ZooKeeper ${lab.zookeeper!.connect} chroot /primary): give another --target-spec`,
    );
    const workflowId = 'migrate-offline-primary-to-standby';
    oneLine(
      await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', findCluster(topo, 'standby').specFile, '--broker-map', '1=1,2=1', '--yes'),
      2,
      `${workflowId} failed: the broker map does not cover source broker 3: give every source broker a target (e.g. --broker-map 1=1,2=1,3=1)`,
    );
    oneLine(await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', findCluster(topo, 'standby').specFile, '--broker-map', '1=1,2'), 2, '--broker-map item "2" is not <source id>=<target id> (e.g. 1=1,2=1,3=2) (see "lifeboat migrate --offline --help")');

    // A group with a live consumer on the source: its offsets could move after the copy.
    const busy = unique('ofl-busy');
    const busyGroup = unique('ofl-busy-group');
    await createTopicsReady(source, [{ topic: busy, numPartitions: 1, replicationFactor: 3 }]);
    const consumer = kafkaFor(source).consumer({ groupId: busyGroup });
    try {
      const p = kafkaFor(source).producer();
      await p.connect();
      await p.send({ topic: busy, acks: -1, messages: [{ value: 'one' }] });
      await p.disconnect();
      await consumer.connect();
      await consumer.subscribe({ topic: busy, fromBeginning: true });
      let consumed = false;
      await consumer.run({ eachMessage: async () => void (consumed = true) });
      await poll(async () => consumed && (await withAdmin(kafkaFor(source), source.name, (a) => a.fetchOffsets({ groupId: busyGroup, topics: [busy] })))[0]!.partitions[0]!.offset === '1', {
        what: 'the busy group to commit',
        timeoutMs: 60_000,
        intervalMs: 500,
      });
      oneLine(
        await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', findCluster(topo, 'standby').specFile, '--dry-run'),
        2,
        `${workflowId} failed: group ${busyGroup} has 1 active member on primary: stop its consumers first (its offsets must not move after the copy)`,
      );
    } finally {
      await consumer.disconnect();
      await withAdmin(kafkaFor(source), source.name, async (a) => {
        await a.deleteTopics({ topics: [busy] });
        await a.deleteGroups([busyGroup]).catch(() => {});
      });
    }

    // An open transaction: its state (__transaction_state) does not move, so on the standby it would never end.
    const txTopic = unique('ofl-txn');
    await createTopicsReady(source, [{ topic: txTopic, numPartitions: 1, replicationFactor: 3 }]);
    const txProducer = kafkaFor(source).producer({ transactionalId: unique('ofl-txn-id'), idempotent: true, maxInFlightRequests: 1 });
    await txProducer.connect();
    try {
      const txn = await txProducer.transaction();
      await txn.send({ topic: txTopic, acks: -1, messages: [{ value: 'open' }] });
      const r = await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', findCluster(topo, 'standby').specFile, '--dry-run');
      oneLine(
        r,
        2,
        `${workflowId} failed: 1 partition has an open transaction on primary: ${txTopic}-0 (stable 0, end 1): stop the transactional producers and let their transactions end first (transaction state does not move)`,
      );
      await txn.abort();
    } finally {
      await txProducer.disconnect();
      await withAdmin(kafkaFor(source), source.name, (a) => a.deleteTopics({ topics: [txTopic] }));
    }

    // A topic of the primary's name on the standby: the standby's own topic is never overwritten.
    const clash = unique('ofl-clash');
    await createTopicsReady(source, [{ topic: clash, numPartitions: 1, replicationFactor: 3 }]);
    await createTopicsReady(target, [{ topic: clash, numPartitions: 1, replicationFactor: 1 }]);
    try {
      const r = await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', findCluster(topo, 'standby').specFile, '--yes');
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('lifeboat:'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`standby already has topic ${clash} of the same name: the target's own topics are never overwritten`);
      expect(r.code).toBe(2);
    } finally {
      await withAdmin(kafkaFor(source), source.name, (a) => a.deleteTopics({ topics: [clash] }));
      await withAdmin(kafkaFor(target), target.name, (a) => a.deleteTopics({ topics: [clash] }));
    }
    // Nothing changed: every broker still runs, the standby still has exactly its own data.
    expect(await brokersRunning(source)).toEqual([1, 2, 3]);
    expect(await brokersRunning(target)).toEqual([1]);
    expect(await readTopic(target, own)).toEqual(before[own]);
  });

  it('plans, then moves the primary onto the standby: same offsets, same bytes, same group offsets; the standby keeps its own topic', { timeout: 270_000 }, async () => {
    // Dry run through the CLI: the plan, nothing touched.
    const standbyFile = findCluster(topo, 'standby').specFile;
    const dry = await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', standbyFile, '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const plan = (JSON.parse(dry.stdout) as { report: OfflineMigrationResult }).report;
    expect(plan.outcome).toBe('planned');
    const text = await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', standbyFile, '--dry-run');
    expect(text.stdout).toContain('- brokers to stop: primary 1, 2, 3; standby 1');
    expect(text.stdout).toContain('- broker map (source → target): 1→1, 2→1, 3→1');
    expect(text.stdout).toContain(`- replication factor of ${orders}: 3 → 1`);
    const p = plan.plan!;
    expect(p.brokersToStop).toEqual([{ cluster: 'primary', brokers: [1, 2, 3] }, { cluster: 'standby', brokers: [1] }]);
    expect(p.brokerMap).toEqual({ 1: 1, 2: 1, 3: 1 });
    expect(p.topics).toEqual(expect.arrayContaining([orders, compacted, empty]));
    expect(p.topics).not.toContain(own);
    expect(p.rfChanges).toEqual(expect.arrayContaining([{ topic: orders, from: 3, to: 1 }, { topic: compacted, from: 3, to: 1 }]));
    expect(p.bytesToCopy).toBeGreaterThan(20_000);
    expect(p.groups).toContain(group);
    expect(plan.problems).toContain(`topic ${compacted} keeps min.insync.replicas=2 with 1 replica on standby: producers with acks=all are refused there until it is lowered`);
    expect(plan.steps.filter((s) => s.name !== 'plan').every((s) => s.status === 'skipped')).toBe(true);
    expect(await brokersRunning(source)).toEqual([1, 2, 3]);
    const ids = Object.fromEntries(await Promise.all([orders, compacted, empty].map(async (t) => [t, await topicId(source, t)] as const)));

    standbyAclNames = await withAdmin(kafkaFor(target), target.name, async (a) =>
      (await a.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY })).resources.map((r) => r.resourceName),
    );
    const standbyGroups = (await withAdmin(kafkaFor(target), target.name, (a) => a.listGroups())).groups.map((g) => g.groupId);
    // The run waits at the approval gate before it stops anything.
    const id = unique('migrate-offline');
    const handle = await client.workflow.start('offlineMigration', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ source: { spec: source }, target: { spec: target } }] });
    await poll(async () => (await handle.query<{ awaitingApproval?: { step: string } }>('status')).awaitingApproval?.step === 'stop-source', { what: 'the approval gate', timeoutMs: 60_000, intervalMs: 500 });
    expect(await brokersRunning(source)).toEqual([1, 2, 3]);
    await handle.executeUpdate('approve', { args: [{ approve: true, by: 'offline-test' }] });
    const report = (await handle.result()) as OfflineMigrationResult;
    migrated.push(...(report.plan?.topics ?? []));
    newGroups.push(...(report.plan?.groups ?? []).filter((g) => !standbyGroups.includes(g)));
    expect(report.problems.filter((x) => x.startsWith('verification'))).toEqual([]);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.checks.map((c) => c.subject)).toEqual(expect.arrayContaining(['partitions with the same log start and end offsets', 'consumer groups with the same committed offsets']));
    expect(report.outcome).toBe('succeeded');
    expect(report.steps.find((s) => s.name === 'restart-source')).toMatchObject({ status: 'skipped', detail: 'primary\'s brokers 1, 2, 3 are left stopped (restartSource starts them again)' });
    expect(await brokersRunning(source)).toEqual([]);

    // Read back here, with a plain consumer: every record at its offset with the same bytes.
    for (const t of [orders, compacted, empty]) expect(await readTopic(target, t), t).toEqual(before[t]);
    expect(before[orders]).toHaveLength(301);
    // Topic ids kept, configs carried, replication factor 1 on the one standby broker.
    for (const t of [orders, compacted, empty]) expect(await topicId(target, t)).toBe(ids[t]);
    await withAdmin(kafkaFor(target), target.name, async (a) => {
      const offsets = await a.fetchOffsets({ groupId: group, topics: [orders] });
      expect(offsets[0]!.partitions.sort((x, y) => x.partition - y.partition).map((x) => x.offset)).toEqual(['10', '17', '24']);
      const cfg = await a.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: compacted, configNames: ['cleanup.policy', 'min.insync.replicas'] }] });
      expect(Object.fromEntries(cfg.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]))).toEqual({ 'cleanup.policy': 'compact', 'min.insync.replicas': '2' });
      const md = await a.fetchTopicMetadata({ topics: [orders] });
      expect(md.topics[0]!.partitions.map((x) => x.replicas)).toEqual([[1], [1], [1]]);
    });
    // The topic's ACLs came along (the standby's authorizer read them at its start).
    expect(sourceAcls).toHaveLength(1);
    expect(await aclsOf(target, orders)).toEqual(sourceAcls);
    // The standby's own topic: untouched.
    expect(await readTopic(target, own)).toEqual(before[own]);
    // The standby takes new records on a migrated topic after the old ones.
    const producer = kafkaFor(target).producer();
    await producer.connect();
    const [sent] = await producer.send({ topic: orders, acks: 1, messages: [{ partition: 0, value: 'after' }] });
    await producer.disconnect();
    expect(sent!.baseOffset).toBe(before[orders]!.filter((l) => l.startsWith('0:')).length.toString());
  });
});
