/**
 * fullClusterRecovery as a parent of child workflows, in skipped time with stub activities (the lab
 * tests run the same workflows on real Kafka): the newest set's ZooKeeper snapshot turns out corrupt
 * inside restoreState, so the parent chooses the set before it and runs the children again under
 * deterministic IDs; the report keeps every attempt of each step that ran twice, and merges the
 * children's steps and checks.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { renderMarkdown, type RunReport } from '../../src/report/report.pure';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import type { RunStatus } from '../../workflows/support/tracker';
import { CORRUPT, hold, NEWEST, OLDER, stubSpec as spec } from './support/recoveryStubs';
import { stubbedServer } from './support/stubbedServer';

const calls: string[] = [];

describe('fullClusterRecovery: a corrupt set found inside a child workflow', () => {
  const server = stubbedServer(calls);

  it('falls back to the set before it, runs the children again, and reports every attempt', async () => {
    const workflowId = 'fallback-recovery';
    const report = (await server.env.client.workflow.execute('fullClusterRecovery', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [{ spec, autoApprove: true }],
    })) as RunReport;

    expect(report.outcome).toBe('succeeded');
    expect(report.snapshot).toMatchObject({ id: OLDER.setId, fallbackFrom: NEWEST.setId });
    expect(report.problems).toContain(`backup set ${NEWEST.setId} is corrupt (${CORRUPT}): restoring again from the set before it`);
    // Children under IDs derived from the parent's: the state twice (one per set), the data and the verification once.
    expect(report.children).toEqual([
      { workflowId: `${workflowId}/restore-state-1`, kind: 'restoreState', outcome: 'failed' },
      { workflowId: `${workflowId}/restore-state-2`, kind: 'restoreState', outcome: 'succeeded' },
      { workflowId: `${workflowId}/restore-data-2`, kind: 'restoreData', outcome: 'succeeded' },
      { workflowId: `${workflowId}/verify-cluster-1`, kind: 'verifyCluster', outcome: 'succeeded' },
    ]);
    for (const c of report.children!) expect((await server.env.client.workflow.getHandle(c.workflowId).describe()).status.name).toBe(c.outcome === 'failed' ? 'FAILED' : 'COMPLETED');

    const step = (name: string) => report.steps.find((s) => s.name === name)!;
    // Every attempt of a step that ran twice: the first, failed on the corrupt set, then the one that worked.
    expect(step('restore-zookeeper').attempts).toEqual([expect.objectContaining({ status: 'failed', detail: CORRUPT })]);
    expect(step('restore-zookeeper')).toMatchObject({ status: 'done', detail: '40 created, 2 updated, 0 deleted' });
    expect(step('choose-set').attempts).toEqual([expect.objectContaining({ status: 'done', detail: expect.stringContaining(`set ${NEWEST.setId} of`) })]);
    expect(step('choose-set').detail).toContain(`set ${OLDER.setId} of`);
    // Steps that ran once have no attempts; sizes come formatted from src/, not from the workflow.
    expect(step('restore-data')).toMatchObject({ status: 'done', detail: '24 files, 5.0 MB; previous contents moved aside on 0 broker(s)' });
    expect(step('restore-data').attempts).toBeUndefined();
    expect(step('restore-configs').detail).toBe('2 restored, 0 unchanged');
    expect(step('verify').detail).toBe('all checks passed');
    expect(report.steps.map((s) => `${s.name}: ${s.status}`)).toEqual([
      'choose-set: done',
      'stop-brokers: done',
      'restore-zookeeper: done',
      'restore-registry: skipped',
      'restore-configs: done',
      // Every log dir comes from the set ZooKeeper came from: nothing on the disks is newer.
      'adopt-topics: skipped',
      'restore-data: done',
      'start-brokers: done',
      'wait-serving: done',
      'restore-topics: skipped',
      'preferred-election: done',
      'verify: done',
    ]);
    expect(report.checks.map((c) => c.subject)).toEqual(['topics present', 'brokers serving', 'produce/consume probe']);
    // The brokers were stopped once (by the parent), not again by restoreData.
    expect(calls.filter((c) => c === 'stopBrokerActivity')).toHaveLength(spec.brokers.length);
    expect(calls.filter((c) => c === 'restoreZookeeperActivity')).toHaveLength(2);

    // The printed report shows both attempts.
    const md = renderMarkdown(report);
    expect(md).toMatch(/\| 3 \| Restore ZooKeeper \/fallback \(attempt 1\) \| failed \| [^|]+ \| chunk 0123456789ab in pack ba9876543210 fails authentication \|/);
    expect(md).toMatch(/\| 3 \| Restore ZooKeeper \/fallback \(attempt 2\) \| done \| [^|]+ \| 40 created, 2 updated, 0 deleted \|/);
  });

  it('while a child runs, the parent\'s status query shows its steps and its current step', async () => {
    let release = () => {};
    hold.logDirs = new Promise<void>((r) => (release = r));
    try {
      const handle = await server.env.client.workflow.start('fullClusterRecovery', { taskQueue: CONTROL_TASK_QUEUE, workflowId: 'live-status', args: [{ spec, autoApprove: true }] });
      let status: RunStatus | undefined;
      for (const until = Date.now() + 60_000; Date.now() < until; ) {
        status = await handle.query<RunStatus>('status');
        if (status.step === 'restore-data') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      // restoreData holds in its log-dir restore: the parent shows the step it is in and what its children did so far.
      expect(status?.step).toBe('restore-data');
      const plan = Object.fromEntries(status!.plan.map((p) => [p.name, p.status]));
      expect(plan).toMatchObject({ 'choose-set': 'done', 'stop-brokers': 'done', 'restore-zookeeper': 'done', 'restore-configs': 'done', 'restore-data': 'running', 'start-brokers': 'pending', verify: 'pending' });
      expect(status!.plan.find((p) => p.name === 'restore-zookeeper')!.attempts).toHaveLength(1);
      expect(status!.problems).toContain(`backup set ${NEWEST.setId} is corrupt (${CORRUPT}): restoring again from the set before it`);
      release();
      expect(((await handle.result()) as RunReport).outcome).toBe('succeeded');
    } finally {
      release();
      delete hold.logDirs;
    }
  });

  it('with the set named by id there is no fallback: the child\'s CorruptBackup fails the parent, whose status names the failed step', async () => {
    const handle = await server.env.client.workflow.start('fullClusterRecovery', { taskQueue: CONTROL_TASK_QUEUE, workflowId: 'named-corrupt', args: [{ spec, setId: NEWEST.setId, autoApprove: true }] });
    const failure = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    // Workflow → child workflow → activity → the application failure, with its type for the CLI's exit code.
    let cause: unknown = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ChildWorkflowFailure);
    while (cause && !(cause instanceof ApplicationFailure)) cause = (cause as { cause?: unknown }).cause;
    expect(cause).toMatchObject({ type: 'CorruptBackup', message: CORRUPT });
    const status = await handle.query<RunStatus>('status');
    expect(status.plan.find((p) => p.name === 'restore-zookeeper')).toMatchObject({ status: 'failed', detail: CORRUPT });
    expect(status.plan.find((p) => p.name === 'restore-data')?.status).toBe('pending');
    expect(status.problems).toEqual([]);
  });
});
