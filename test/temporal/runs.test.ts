/** runs.ts, pure: failures mapped to LifeboatErrors, and heartbeats read as typed progress. */
import { WorkflowFailedError, type WorkflowExecutionDescription } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, defaultPayloadConverter, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { isLifeboatError, LifeboatError } from '../../src/errors';
import { activityBeats, workflowFailure } from '../../src/temporal/runs';

describe('workflowFailure', () => {
  it('takes the deepest message and the Lifeboat type of the cause chain (workflow → activity → cause)', () => {
    const app = ApplicationFailure.nonRetryable('snapshot abc not found in /repo', 'SnapshotNotFound');
    const activity = new ActivityFailure('activity failed', 'restoreZooKeeperActivity', '7', RetryState.NON_RETRYABLE_FAILURE, 'w1', app);
    const e = workflowFailure(new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE), 'recover-east');
    expect(isLifeboatError(e)).toBe(true);
    expect(e).toMatchObject({ type: 'SnapshotNotFound', message: 'recover-east failed: snapshot abc not found in /repo', exitCode: 14 });
  });

  it('is a plain error (exit 1) for a failure of no Lifeboat type, and leaves other errors as they are', () => {
    const e = workflowFailure(new WorkflowFailedError('failed', ApplicationFailure.create({ message: 'boom', type: 'TypeError' }), RetryState.RETRY_POLICY_NOT_SET), 'backup-east');
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(LifeboatError);
    expect((e as Error).message).toBe('backup-east failed: boom');
    const other = new Error('connection reset');
    expect(workflowFailure(other, 'x')).toBe(other);
  });
});

describe('activityBeats', () => {
  const desc = (details: unknown[]): WorkflowExecutionDescription =>
    ({
      raw: {
        pendingActivities: details.map((d, i) => ({
          activityType: { name: `step${i}` },
          heartbeatDetails: d === undefined ? null : { payloads: [defaultPayloadConverter.toPayload(d)] },
        })),
      },
    }) as unknown as WorkflowExecutionDescription;

  it('reads typed progress and what an activity waits for; other shapes give neither', () => {
    const beats = activityBeats(
      desc([
        { phase: 'restore-logdirs', done: 10, total: 40, unit: 'bytes', subject: 'broker 2', extra: 1 },
        { waiting: 'ZooKeeper 127.0.0.1:2181 (connection refused)' },
        { phase: 7 },
        undefined,
      ]),
    );
    expect(beats).toStrictEqual([
      { activity: 'step0', progress: { phase: 'restore-logdirs', done: 10, total: 40, unit: 'bytes', subject: 'broker 2' } },
      { activity: 'step1', waiting: 'ZooKeeper 127.0.0.1:2181 (connection refused)' },
      { activity: 'step2' },
      { activity: 'step3' },
    ]);
    expect(activityBeats({ raw: {} } as unknown as WorkflowExecutionDescription)).toEqual([]);
  });
});
