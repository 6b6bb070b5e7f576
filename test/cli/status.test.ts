/**
 * What `lifeboat status` reads of a run's running activities: each heartbeat's details decoded with
 * the payload converter and read as typed Progress (src/core/progress.ts), or kept as sent when they
 * are something else; the line people read has the phase, done/total in the unit and the subject.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { activityLine, runningActivities } from '../../src/cli/commands/status';

const beat = (details: unknown) => ({ payloads: [defaultPayloadConverter.toPayload(details)] });

function desc(pending: unknown[]): Pick<WorkflowExecutionDescription, 'raw'> {
  return { raw: { pendingActivities: pending } } as unknown as Pick<WorkflowExecutionDescription, 'raw'>;
}

describe('status: running activities', () => {
  it('typed progress from the heartbeat, bytes humanised', () => {
    const acts = runningActivities(
      desc([
        {
          activityType: { name: 'restoreLogDirsActivity' },
          attempt: 2,
          heartbeatDetails: beat({ phase: 'restore-logdirs', done: 3 * 1024 ** 3, total: 4 * 1024 ** 3, unit: 'bytes', subject: 'broker 2' }),
          lastFailure: { message: 'connection reset' },
        },
      ]),
    );
    expect(acts).toEqual([
      {
        activity: 'restoreLogDirsActivity',
        attempt: 2,
        progress: { phase: 'restore-logdirs', done: 3 * 1024 ** 3, total: 4 * 1024 ** 3, unit: 'bytes', subject: 'broker 2' },
        lastFailure: 'connection reset',
      },
    ]);
    expect(activityLine(acts[0]!)).toBe('  running restoreLogDirsActivity (attempt 2): restore-logdirs: 3.00 GiB / 4.00 GiB (75%) — broker 2 — last failure: connection reset');
  });

  it('details that are not progress are kept as sent; no heartbeat yet, nothing', () => {
    const acts = runningActivities(
      desc([
        { activityType: { name: 'waitForServingActivity' }, attempt: 1, heartbeatDetails: beat({ waiting: 'ZooKeeper 127.0.0.1:2181 (connection refused)' }) },
        { activityType: { name: 'stopBrokerActivity' } },
      ]),
    );
    expect(acts).toEqual([
      { activity: 'waitForServingActivity', attempt: 1, details: { waiting: 'ZooKeeper 127.0.0.1:2181 (connection refused)' } },
      { activity: 'stopBrokerActivity', attempt: 1 },
    ]);
    expect(activityLine(acts[0]!)).toBe('  running waitForServingActivity (attempt 1): {"waiting":"ZooKeeper 127.0.0.1:2181 (connection refused)"}');
    expect(activityLine(acts[1]!)).toBe('  running stopBrokerActivity (attempt 1)');
  });

  it('no running activities', () => {
    expect(runningActivities(desc([]))).toEqual([]);
    expect(runningActivities({ raw: {} } as unknown as Pick<WorkflowExecutionDescription, 'raw'>)).toEqual([]);
  });
});
