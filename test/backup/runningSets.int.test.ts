/**
 * Retention and a backup still running (issue: a daily backup still writing its parts when a shorter
 * one finished and ran retention lost its set). On the lab's Temporal: a `backup` workflow that runs
 * (on a task queue nobody polls) has an incomplete, older set in the repository; the retention
 * activity asks Temporal which backups run and keeps that set, and removes it once the run has ended.
 * The same for an offline migration, which writes its source's parts to a set of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal as proto } from '@temporalio/proto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupActivities } from '../../activities/backup';
import { activityDeps } from '../../activities/deps';
import { listBackupSets } from '../../src/backup/parts';
import { backupSetIdOf, offlineMigrationSetIdOf } from '../../src/backup/plan.pure';
import type { TiersRetention } from '../../src/backup/tiers.pure';
import { runningBackupSets, runningSetReaders } from '../../src/backup/running';
import { LIFEBOAT_CLUSTER } from '../../src/temporal/searchAttributes';
import type { ClusterSpec } from '../../src/config/spec';
import { poll } from '../../src/core/poll';
import { openRepositoryForSpec } from '../../src/repository';
import { connectTemporal, type TemporalClient } from '../../src/temporal/runs';
import { PARTS, storeSet } from '../monitoring/sets';
import { standbySpec, unique } from '../support/lab';

describe('retention keeps the set of a backup still running', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-running-sets-'));
  const base = standbySpec();
  const specOf = (name: string): ClusterSpec => ({ ...base, name, repository: { ...base.repository!, path: join(dir, name) }, offsiteRepository: undefined, tiers: [], retention: { keepLast: 5 } });
  let temporal: TemporalClient;
  const client = () => temporal.client;

  beforeAll(async () => {
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    { type: 'backup', setOf: backupSetIdOf },
    { type: 'offlineMigration', setOf: offlineMigrationSetIdOf },
  ])('$type: keeps it while Temporal has its run, removes it after', async ({ type, setOf }) => {
    const spec = specOf(unique('running-sets'));
    // A run that stays running: nobody polls its task queue.
    const handle = await client().workflow.start(type, { taskQueue: unique('nobody-polls'), workflowId: unique(`${type}-running`), args: [{ cluster: spec.name }] });
    const setId = setOf(handle.firstExecutionRunId);
    try {
      const repo = await openRepositoryForSpec(spec, 'primary', { create: true });
      const hour = 3600_000;
      const now = Date.now();
      try {
        await storeSet(repo, spec.name, 'prev0000aaaa0001', new Date(now - 3 * hour));
        // The running backup stored its ZooKeeper part an hour ago and is still at its next part.
        await storeSet(repo, spec.name, setId, new Date(now - hour), PARTS.slice(0, 1));
        // A shorter backup started after it finished first.
        await storeSet(repo, spec.name, 'next0000aaaa0002', new Date(now - hour / 2));
      } finally {
        await repo.close();
      }
      await poll(async () => ((await runningBackupSets(client()))?.has(setId) ? true : undefined), { what: 'the run in visibility', timeoutMs: 15_000, intervalMs: 200 });

      const retention = () => new MockActivityEnvironment({}, { client: client() }).run(backupActivities(activityDeps()).retentionActivity, { spec }) as Promise<TiersRetention>;
      const kept = await retention();
      expect(kept.primary?.keep.find((k) => k.setId === setId)?.reasons).toEqual(['incomplete: its backup is still running']);
      expect(kept.primary?.remove).toEqual([]);

      await handle.terminate('test: the run is over');
      await poll(async () => ((await runningBackupSets(client()))?.has(setId) ? undefined : true), { what: 'the run out of visibility', timeoutMs: 15_000, intervalMs: 200 });
      const removed = await retention();
      expect(removed.primary?.remove.map((r) => r.setId)).toEqual([setId]);
      const after = await openRepositoryForSpec(spec);
      try {
        expect((await listBackupSets(after, spec.name)).map((s) => s.setId).sort()).toEqual(['next0000aaaa0002', 'prev0000aaaa0001']);
      } finally {
        await after.close();
      }
    } finally {
      await handle.terminate('test over').catch(() => undefined);
    }
  });

  it('a recovery reading the cluster\'s sets holds them all while it runs, and retention goes on after', async () => {
    const spec = specOf(unique('reader-sets'));
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true });
    const hour = 3600_000;
    const now = Date.now();
    try {
      // Two complete sets: keep-last 1 would remove the older, the one an operator may recover from.
      await storeSet(repo, spec.name, 'old00000aaaa0001', new Date(now - 2 * hour));
      await storeSet(repo, spec.name, 'new00000aaaa0002', new Date(now - hour));
    } finally {
      await repo.close();
    }
    const retention = (s: ClusterSpec) => new MockActivityEnvironment({}, { client: client() }).run(backupActivities(activityDeps()).retentionActivity, { spec: s }) as Promise<TiersRetention>;
    const oneKept = { ...spec, retention: { keepLast: 1 } };
    // A recovery waiting (nobody polls its queue), tagged with the cluster as its tracker tags it.
    const handle = await client().workflow.start('fullClusterRecovery', {
      taskQueue: unique('nobody-polls'),
      workflowId: unique('recovery-reading'),
      args: [{ cluster: spec.name }],
      typedSearchAttributes: [{ key: LIFEBOAT_CLUSTER, value: spec.name }],
    });
    try {
      await poll(async () => ((await runningSetReaders(client(), spec.name))?.includes(handle.workflowId) ? true : undefined), { what: 'the recovery in visibility', timeoutMs: 15_000, intervalMs: 200 });
      const held = await retention(oneKept);
      expect(held.primary?.remove).toEqual([]);
      expect(held.primary?.keep.find((k) => k.setId === 'old00000aaaa0001')?.reasons).toEqual([`a run reads ${spec.name}'s sets (${handle.workflowId}): nothing is removed until it ends`]);
      // Another cluster's retention is not held by it.
      expect(await runningSetReaders(client(), `${spec.name}-other`)).toEqual([]);

      await handle.terminate('test: the recovery is over');
      await poll(async () => ((await runningSetReaders(client(), spec.name))?.length === 0 ? true : undefined), { what: 'the recovery out of visibility', timeoutMs: 15_000, intervalMs: 200 });
      const after = await retention(oneKept);
      expect(after.primary?.remove.map((r) => r.setId)).toEqual(['old00000aaaa0001']);
    } finally {
      await handle.terminate('test over').catch(() => undefined);
    }
  });

  it.each([
    { type: 'backup', setOf: backupSetIdOf },
    { type: 'offlineMigration', setOf: offlineMigrationSetIdOf },
  ])('$type: a reset run still holds the set of the run it was reset from', async ({ type, setOf }) => {
    const taskQueue = unique('nobody-polls');
    const handle = await client().workflow.start(type, { taskQueue, workflowId: unique(`${type}-reset`), args: [{ cluster: 'nowhere' }] });
    const namespace = client().options.namespace;
    try {
      // Its first workflow task completed by hand (no commands), so there is a point to reset to.
      const task = await client().connection.withDeadline(Date.now() + 20_000, () => client().workflowService.pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'runningSets test' }));
      await client().workflowService.respondWorkflowTaskCompleted({ namespace, taskToken: task.taskToken, commands: [], identity: 'runningSets test' });
      const { events } = await handle.fetchHistory();
      const taskDone = events!.find((e) => e.eventType === proto.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)!;
      const reset = await client().workflowService.resetWorkflowExecution({
        namespace,
        workflowExecution: { workflowId: handle.workflowId, runId: handle.firstExecutionRunId },
        workflowTaskFinishEventId: taskDone.eventId,
        reason: 'test: reset',
        requestId: unique('reset'),
      });
      expect(reset.runId).not.toBe(handle.firstExecutionRunId);
      const running = await poll(async () => {
        const sets = await runningBackupSets(client());
        return sets?.has(setOf(reset.runId!)) ? sets : undefined;
      }, { what: 'the reset run in visibility', timeoutMs: 15_000, intervalMs: 200 });
      // The reset run writes the set named after the first run (workflows/backup.ts, workflows/migration/offline.ts).
      expect(running.has(setOf(handle.firstExecutionRunId))).toBe(true);
    } finally {
      await client().workflow.getHandle(handle.workflowId).terminate('test over').catch(() => undefined);
    }
  });
});
