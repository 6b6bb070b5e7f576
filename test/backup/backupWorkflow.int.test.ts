/**
 * The backup workflow on the real lab through a real worker: one set with ZooKeeper, metadata and
 * every broker's configs and log dirs, retention by sets, the off-site copy; parts are idempotent.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { backupPart, listBackupSets } from '../../src/backup/parts';
import { defaultParts } from '../../src/backup/plan.pure';
import type { ClusterSpec } from '../../src/config/spec';
import type { LogDirManifest, PartitionCover } from '../../src/host/logdirs';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { openRepositoryForSpec } from '../../src/repository';
import { TASK_QUEUE, temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import type { BackupResult } from '../../workflows/backup';
import { primarySpec, topo, unique } from '../support/lab';
import { killBroker, startBroker } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import { setProblems } from '../../src/recovery/choose';
import { createTopicsReady } from '../support/kafka';

describe('backup workflow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-backup-'));
  const lab = primarySpec();
  const spec: ClusterSpec = {
    ...lab,
    repository: { ...lab.repository!, path: join(dir, 'repo') },
    offsiteRepository: { ...lab.offsiteRepository!, path: join(dir, 'offsite') },
    retention: { keepLast: 1 },
  };
  const settings = temporalSettings();
  const topic = unique('backup');
  let workers: RunningWorkers;
  let running: Promise<void>;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    workers = await createWorkers({ settings, hosts: spec.brokers.map((b) => b.host) });
    running = workers.run();
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
    const kafka = kafkaFor(spec);
    await createTopicsReady(spec, [{ topic, numPartitions: 3, replicationFactor: 3 }]);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    for (let p = 0; p < 3; p++) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 100 }, (_, i) => ({ partition: p, key: `k${i}`, value: `v${p}-${i}` })) });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    await withAdmin(kafkaFor(spec), spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    await connection?.close();
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  const runBackup = (args: Record<string, unknown>) =>
    client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId: unique('backup-primary'), args: [{ spec, ...args }] }) as Promise<BackupResult>;

  it('dry run plans every part and stores nothing', async () => {
    const r = await runBackup({ dryRun: true });
    expect(r.report.outcome).toBe('planned');
    expect(r.report.steps.map((s) => s.name)).toEqual([...defaultParts(spec), 'offsite', 'retention']);
    // Not even a repository: only a real backup (or `repo init`) creates one.
    expect(existsSync(spec.repository!.path)).toBe(false);
    expect(existsSync(spec.offsiteRepository!.path)).toBe(false);
  });

  it('takes a complete set, copies it off-site, and keeps only the newest set under keep-last 1', async () => {
    // Both hourly: the newest full set of each tier is kept whatever the policy says.
    const first = await runBackup({ tier: 'hourly' });
    expect(first.parts.map((p) => p.part)).toEqual(defaultParts(spec));
    expect(first.report.outcome).toBe('succeeded');
    const second = await runBackup({ tier: 'hourly', incremental: true });
    // Unchanged config files cost nothing the second time: only each part's small manifest is new.
    for (const p of second.parts.filter((x) => x.part.startsWith('configs:'))) expect(p.newBytes).toBeLessThan(p.bytes / 2);

    const repo = await openRepositoryForSpec(spec);
    try {
      const sets = (await listBackupSets(repo, spec.name)).filter((s) => s.complete);
      expect(sets.map((s) => s.setId)).toEqual([second.setId]);
      const set = sets[0]!;
      expect(set.complete).toBe(true);
      expect(set.tier).toBe('hourly');
      // The log-dir copies cover every record produced, on every replica.
      for (const b of spec.brokers) {
        const points = set.snapshots[`logdirs:${b.id}`]!.points.logdirs as Record<string, Record<string, PartitionCover>>;
        const covers = Object.values(points)[0]!;
        for (let p = 0; p < 3; p++) expect(covers[`${topic}-${p}`]?.end).toBe(100);
        // Files unchanged since the first set's copy were taken over without being read; they
        // still read back whole after retention removed that set.
        const copy = await repo.openSnapshot(set.snapshots[`logdirs:${b.id}`]!.id);
        expect((await copy.readJson<LogDirManifest>(`logdirs/${b.host}/manifest.json`)).reusedBytes).toBeGreaterThan(0);
        for (const e of copy.list().filter((x) => x.type === 'file')) expect((await copy.readBuffer(e.path)).length, e.path).toBe(e.size);
      }
      // The incremental ZooKeeper export builds on the first set's, which retention therefore kept.
      const zk = set.snapshots.zookeeper!;
      expect(zk.parent).toBe(first.parts.find((p) => p.part === 'zookeeper')!.snapshot);
      expect((await repo.snapshots()).map((s) => s.id)).toContain(zk.parent);

      // A part run again for the same set returns what is stored.
      const again = await backupPart(spec, repo, { setId: second.setId, tier: 'hourly', parts: set.parts }, 'configs:1');
      expect(again.reused).toBe(true);
      expect(again.snapshot).toBe(set.snapshots['configs:1']!.id);
    } finally {
      await repo.close();
    }
    const offsite = await openRepositoryForSpec(spec, 'offsite');
    try {
      const sets = await listBackupSets(offsite, spec.name);
      expect(sets.filter((s) => s.complete).map((s) => s.setId)).toEqual([second.setId]);
    } finally {
      await offsite.close();
    }
  });

  it('a broker killed during its hot log-dir copy: the run completes and every part of the set verifies', async () => {
    const handle = await client.workflow.start('backup', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('backup-primary-kill'),
      args: [{ spec, parts: ['kafka-metadata', 'logdirs:1', 'logdirs:2', 'logdirs:3'], skipRetention: true, skipOffsite: true }],
    });
    const b2 = findBroker(topo, 'primary', 2);
    try {
      // Kill only once the run is in logdirs:2 and its activity runs on the worker; anything else fails the test.
      let killedAt: number | undefined;
      const deadline = Date.now() + 120_000;
      while (killedAt === undefined) {
        const desc = await handle.describe();
        expect(desc.status.name, 'the run ended before logdirs:2 started').toBe('RUNNING');
        const step = (await handle.query<{ step: string }>('status')).step;
        const copying = (desc.raw.pendingActivities ?? []).some(
          (a) => a.activityType?.name === 'backupPartActivity' && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        );
        if (step === 'logdirs:2' && copying) {
          killedAt = Date.now();
          // No settling: the run goes on while the broker's registration lingers.
          expect(await killBroker(topo, b2, { settle: false })).toBe(true);
        } else if (Date.now() > deadline) throw new Error(`logdirs:2 did not start within 120 s (step ${step})`);
        else await new Promise((r) => setTimeout(r, 20));
      }
      const r = (await handle.result()) as BackupResult;
      expect(r.report.outcome).toBe('succeeded');
      // The kill landed inside the step, as the run itself timed it.
      const copy = r.report.steps.find((s) => s.name === 'logdirs:2')!;
      expect(Date.parse(copy.startedAt!)).toBeLessThanOrEqual(killedAt);
      expect(Date.parse(copy.endedAt!)).toBeGreaterThanOrEqual(killedAt);
      const repo = await openRepositoryForSpec(spec);
      try {
        const set = (await listBackupSets(repo, spec.name)).find((s) => s.setId === r.setId)!;
        expect(set.complete).toBe(true);
        expect(await setProblems(repo, set, new Set())).toEqual([]);
        // Broker 2's copy holds the test topic's records up to what was acknowledged.
        const points = set.snapshots['logdirs:2']!.points.logdirs as Record<string, Record<string, PartitionCover>>;
        for (let p = 0; p < 3; p++) expect(Object.values(points)[0]![`${topic}-${p}`]?.end).toBe(100);
      } finally {
        await repo.close();
      }
    } finally {
      await startBroker(topo, b2);
    }
  });

  /** Resets run `runId` to the workflow task after its `n`th part's completion; the new run's id. */
  async function resetAfterPart(workflowId: string, runId: string, n: number): Promise<string> {
    const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const EventType = temporal.api.enums.v1.EventType;
    const partsDone = events!.flatMap((e, i) => (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED ? [i] : []));
    const taskDone = events!.slice(partsDone[n - 1]).find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)!;
    const reset = await client.workflowService.resetWorkflowExecution({
      namespace: settings.namespace,
      workflowExecution: { workflowId, runId },
      workflowTaskFinishEventId: taskDone.eventId,
      reason: `test: reset after part ${n}`,
      requestId: unique('reset'),
    });
    return reset.runId!;
  }

  it('a run reset after its first part goes on writing the same set (one set, every part in it)', async () => {
    const own: ClusterSpec = { ...spec, repository: { ...spec.repository!, path: join(dir, 'reset-repo') } };
    const workflowId = unique('backup-reset');
    const parts = ['zookeeper', 'kafka-metadata'];
    const first = (await client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec: own, parts, skipRetention: true, skipOffsite: true }] })) as BackupResult;
    const firstRun = (await client.workflow.getHandle(workflowId).describe()).runId;
    // Back to the workflow task that followed the first part's completion: the reset run runs the second part again.
    const resetRun = await resetAfterPart(workflowId, firstRun, 1);
    expect(resetRun).not.toBe(firstRun);
    const again = (await client.workflow.getHandle(workflowId, resetRun).result()) as BackupResult;
    expect(again.setId).toBe(first.setId);
    const repo = await openRepositoryForSpec(own);
    try {
      const sets = await listBackupSets(repo, own.name);
      expect(sets.map((x) => x.setId)).toEqual([first.setId]);
      expect(Object.keys(sets[0]!.snapshots).sort()).toEqual([...parts].sort());
    } finally {
      await repo.close();
    }
  });

  it('a reset run whose earlier parts retention removed meanwhile takes them again, in order, before the baseline reads them: the set it reports is whole', async () => {
    const own: ClusterSpec = { ...spec, repository: { ...spec.repository!, path: join(dir, 'reset-removed-repo') } };
    const workflowId = unique('backup-reset-removed');
    const parts = ['zookeeper', 'logdirs:1', 'baseline'];
    const first = (await client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec: own, parts, skipRetention: true, skipOffsite: true }] })) as BackupResult;
    const firstRun = (await client.workflow.getHandle(workflowId).describe()).runId;
    // The set's snapshots go, as retention removes an incomplete set no running backup writes.
    const made = await openRepositoryForSpec(own);
    try {
      await made.exclusive('test: retention', async () => {
        for (const p of first.parts) {
          await made.backend.remove('snapshots', p.snapshot);
          made.dropCached(p.snapshot);
        }
      });
    } finally {
      await made.close();
    }
    // Reset to after the second part: the reset run has the first two from history, not from the repository.
    const again = (await client.workflow.getHandle(workflowId, await resetAfterPart(workflowId, firstRun, 2)).result()) as BackupResult;
    expect(again.setId).toBe(first.setId);
    expect(again.report.problems).toEqual(
      ['zookeeper', 'logdirs:1'].map((part) => expect.stringMatching(new RegExp(`^part ${part} of set ${first.setId} was no longer in the repository .*: taken again$`))),
    );
    expect(again.report.outcome).toBe('succeeded');
    const repo = await openRepositoryForSpec(own);
    try {
      const sets = await listBackupSets(repo, own.name);
      expect(sets.map((x) => ({ setId: x.setId, complete: x.complete, parts: Object.keys(x.snapshots).sort() }))).toEqual([{ setId: first.setId, complete: true, parts: [...parts].sort() }]);
      expect(again.parts.map((p) => p.snapshot).sort()).toEqual(Object.values(sets[0]!.snapshots).map((m) => m.id).sort());
      // The set's time is its parts' earliest, all taken again: none of the removed ones.
      expect(again.time).toBe(sets[0]!.time);
    } finally {
      await repo.close();
    }
  });

  it('refuses unknown parts before doing anything, as a non-retryable failure', async () => {
    await expect(runBackup({ parts: ['zookeeper', 'logdirs:42'] })).rejects.toMatchObject({
      cause: { type: 'InvalidInput', nonRetryable: true },
    });
  });
});
