/**
 * Reliability: a fullClusterRecovery whose worker process is SIGKILLed during the ZooKeeper
 * restore, the data restore, the broker start and the verification — a new worker each time —
 * still completes, and every record and committed offset comes back exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { backupPart } from '../../src/backup/parts';
import { defaultParts } from '../../src/backup/plan.pure';
import type { ClusterSpec } from '../../src/config/spec';
import { withAdmin } from '../../src/kafka/admin';
import { ACL, create, getChildren, Id, Permission, remove, withZk } from '../../src/zookeeper/client';
import { zkConnect } from '../../lab/topology';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { labDisaster } from '../../lab/disaster';
import { openRepositoryForSpec } from '../../src/repository';
import type { RunReport } from '../../src/report/report.pure';
import { TASK_QUEUE, temporalSettings } from '../../src/temporal/connection';
import { LIFEBOAT_BIN } from '../support/cli';
import { primarySpec, topo, unique } from '../support/lab';
import { consumeAll } from './consume';
import { createTopicsReady } from '../support/kafka';
import { workerBundle } from '../support/worker';

function startWorker(hosts: string[], bundle: string): Promise<ChildProcess> {
  const child = spawn(LIFEBOAT_BIN, ['worker', ...hosts.flatMap((h) => ['--host', h])], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LIFEBOAT_LOG_LEVEL: 'ERROR', LIFEBOAT_WORKFLOW_BUNDLE: bundle },
  });
  // It prints its queues once the workers are created (after bundling the workflows).
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('lifeboat worker:')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${err}`)));
  });
}

const kill = (child: ChildProcess) => {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
};

describe('worker killed during a full-cluster recovery', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-crash-'));
  const lab = primarySpec();
  const spec: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
  const topic = unique('ledger');
  const group = unique('ledger-readers');
  const settings = temporalSettings();
  let connection: Connection;
  let client: Client;
  let worker: ChildProcess | undefined;
  const bundle = join(dir, 'workflows.js');

  beforeAll(async () => {
    // Workers start from a prebuilt bundle, as in production (and without bundling five times).
    await workerBundle(bundle);
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
  });
  // Znodes enough that the ZooKeeper restore runs for a while: a kill seen to land on a started
  // attempt must not race the attempt's completion (with the repository session it starts in ms).
  const ballast = `/primary/${unique('crash-ballast')}`;
  const openAcl = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

  afterAll(async () => {
    await withZk(zkConnect(topo), async (zk) => {
      const kids = await getChildren(zk, ballast).catch(() => [] as string[]);
      for (let i = 0; i < kids.length; i += 200) await Promise.all(kids.slice(i, i + 200).map((k) => remove(zk, `${ballast}/${k}`)));
      await remove(zk, ballast).catch(() => {});
    }).catch(() => {});
    if (worker) kill(worker);
    await withAdmin(kafkaFor(spec), spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Each kill costs the activity's heartbeat timeout (20 s) before the retry: allow for a loaded machine.
  it('completes after SIGKILLs in four steps; all data identical, nothing duplicated', { timeout: 480_000 }, async () => {
    const kafka = kafkaFor(spec);
    await createTopicsReady(spec, [{ topic, numPartitions: 4, replicationFactor: 3 }]);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 2000 }, (_, i) => ({ key: `acct-${i % 50}`, value: `entry-${i}` })) });
    await producer.disconnect();
    await commitGroupOffsets(kafka, group, [{ topic, partitions: [0, 1, 2, 3].map((p) => ({ partition: p, offset: 100 + p })) }]);
    const before = await consumeAll(spec, topic, 2000);
    await withZk(zkConnect(topo), async (zk) => {
      await create(zk, ballast, null, openAcl);
      for (let i = 0; i < 4000; i += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, j) => create(zk, `${ballast}/n${i + j}`, Buffer.alloc(256, i + j), openAcl)));
      }
    });

    // The backup set, taken part by part without a workflow.
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true }); // backs up below: may create it
    const ref = { setId: unique('set').replace(/-/g, ''), tier: 'manual' as const, parts: defaultParts(spec) };
    try {
      for (const part of ref.parts) await backupPart(spec, repo, ref, part);
    } finally {
      await repo.close();
    }

    const disaster = await labDisaster(topo, 'primary');
    const hosts = spec.brokers.map((b) => b.host);
    worker = await startWorker(hosts, bundle);
    const workflowId = unique('recover-primary');
    const handle = await client.workflow.start('fullClusterRecovery', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [{ spec, failureTime: disaster.at, autoApprove: true }],
    });

    // Each kill must land while an attempt of that activity runs on the worker (STARTED, not merely
    // scheduled); the run must still be running then. Whatever else happens fails the test. The
    // activities run in the recovery's child workflows, under IDs derived from the parent's.
    const childOf: Record<string, string> = {
      restoreZookeeperActivity: `${workflowId}/restore-state-1`,
      restoreLogDirsActivity: `${workflowId}/restore-data-1`,
      startBrokerActivity: `${workflowId}/restore-data-1`,
      verifyAgainstSetActivity: `${workflowId}/verify-cluster-1`,
    };
    const killedIn: { activity: string; activityId: string; attempt: number }[] = [];
    for (const activity of ['restoreZookeeperActivity', 'restoreLogDirsActivity', 'startBrokerActivity', 'verifyAgainstSetActivity']) {
      let started: { activityId: string; attempt: number } | undefined;
      const deadline = Date.now() + 180_000;
      while (!started) {
        expect((await handle.describe()).status.name, `the run ended before ${activity} started`).toBe('RUNNING');
        // Not started yet: the child does not exist.
        const desc = await client.workflow.getHandle(childOf[activity]!).describe().catch(() => undefined);
        const running = (desc?.raw.pendingActivities ?? []).find(
          (a) => a.activityType?.name === activity && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        );
        if (running) started = { activityId: running.activityId!, attempt: running.attempt ?? 1 };
        else if (Date.now() > deadline) throw new Error(`${activity} was not started within 180 s`);
        else await new Promise((r) => setTimeout(r, 25));
      }
      kill(worker);
      killedIn.push({ activity, ...started });
      worker = await startWorker(hosts, bundle);
    }
    const report = (await handle.result()) as RunReport;
    expect(killedIn.map((k) => k.activity)).toEqual(['restoreZookeeperActivity', 'restoreLogDirsActivity', 'startBrokerActivity', 'verifyAgainstSetActivity']);
    // The children's histories show each interrupted attempt retried: the attempt that finished came after the killed one.
    const EventType = temporal.api.enums.v1.EventType;
    for (const k of killedIn) {
      const events = (await client.workflow.getHandle(childOf[k.activity]!).fetchHistory()).events ?? [];
      const scheduled = events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityId === k.activityId);
      expect(scheduled, `${k.activity} ${k.activityId} scheduled`).toBeDefined();
      const startedEvent = events.find(
        (e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === Number(scheduled!.eventId),
      );
      expect(startedEvent?.activityTaskStartedEventAttributes?.attempt, `attempt of ${k.activity} that completed`).toBeGreaterThan(k.attempt);
    }
    expect(report.outcome, JSON.stringify(report.problems)).toBe('succeeded');
    expect(report.checks.every((c) => c.ok)).toBe(true);
    expect(report.children?.map((c) => `${c.workflowId}: ${c.outcome}`)).toEqual([...new Set(Object.values(childOf))].map((id) => `${id}: succeeded`));

    // The interrupted data restore was continued, not moved aside and started again.
    for (const b of spec.brokers) {
      const parent = dirname(b.logDirs[0]!);
      expect(readdirSync(parent).filter((n) => n.includes('lifeboat-before-restore'))).toEqual([]);
    }
    expect(await consumeAll(spec, topic, 2000)).toEqual(before);
    const offsets = await withAdmin(kafka, spec.name, (a) => a.fetchOffsets({ groupId: group, topics: [topic] }));
    expect(offsets[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset)).toEqual(['100', '101', '102', '103']);
  });
});
