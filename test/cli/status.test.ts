/**
 * What `lifeboat status` reads of a run's running activities: each heartbeat's details decoded with
 * the payload converter and read as typed Progress (src/core/progress.ts), or kept as sent when they
 * are something else; the line people read has the phase, done/total in the unit and the subject.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { activityLine, drillMeasurements, drillStatusText, runningActivities } from '../../src/cli/commands/status';
import type { DrillStatus } from '../../src/drills/plan.pure';

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

describe('status: a drill', () => {
  const running: DrillStatus = {
    drillId: 'drill-staging-cluster-lost-x',
    cluster: 'staging',
    scenario: 'cluster-lost',
    type: 'full',
    dryRun: false,
    phase: 'execute',
    startedAt: '2026-12-04T10:00:00.000Z',
    faults: [
      { fault: { kind: 'broker-kill', brokerId: 1 }, applied: true, at: '2026-12-04T10:00:20.000Z', detail: 'killed pid 42' },
      { fault: { kind: 'zookeeper-chroot' }, applied: false, at: '2026-12-04T10:00:21.000Z', detail: '' },
    ],
    reverts: [],
    faultAt: '2026-12-04T10:00:20.000Z',
    firstGreenProbeAt: null,
    recovery: [{ workflowId: 'drill-staging-cluster-lost-x-recovery', workflow: 'fullClusterRecovery', step: 'restore-data' }],
    notes: ['people told through 2 Alertmanagers'],
  };

  it('mid-run: the phase, each fault applied or only recorded, the time since the fault with no green probe yet, the child\'s step', () => {
    const m = drillMeasurements(running, new Date('2026-12-04T10:01:05.000Z'));
    expect(m).toEqual({ faultAt: running.faultAt, firstGreenProbeAt: null, secondsSinceFault: 45 });
    expect(drillStatusText(running.drillId, 'RUNNING', running, m).split('\n')).toEqual([
      'drill-staging-cluster-lost-x: RUNNING, drill phase execute (full cluster-lost drill of staging, started 2026-12-04T10:00:00.000Z)',
      '  fault applied  broker 1 killed at 2026-12-04T10:00:20.000Z — killed pid 42',
      '  fault recorded ZooKeeper chroot deleted (exported first) at 2026-12-04T10:00:21.000Z',
      '  measured: fault at 2026-12-04T10:00:20.000Z, no green probe yet (45 s since the fault); the RPO comes from the read-back in the verify phase',
      '  recovery fullClusterRecovery drill-staging-cluster-lost-x-recovery: step restore-data',
      '  note: people told through 2 Alertmanagers',
    ]);
  });

  it('ended: the reverts, the RTO, the score and the record', () => {
    const done: DrillStatus = {
      ...running,
      phase: 'done',
      faults: running.faults.map((f) => ({ ...f, applied: true })),
      reverts: [{ fault: { kind: 'broker-kill', brokerId: 1 }, mode: 'discard', alreadyDone: true, detail: 'running' }],
      firstGreenProbeAt: '2026-12-04T10:00:50.500Z',
      recovery: [{ ...running.recovery[0]!, step: 'verify', outcome: 'succeeded' }],
      notes: [],
      score: 90,
      recordSnapshot: '0123456789abcdef0123',
    };
    const m = drillMeasurements(done, new Date('2026-12-04T11:00:00.000Z'));
    expect(m).toEqual({ faultAt: done.faultAt, firstGreenProbeAt: done.firstGreenProbeAt, rtoSeconds: 30.5, score: 90 });
    const lines = drillStatusText(done.drillId, 'COMPLETED', done, m).split('\n');
    expect(lines).toContain('  reverted (discard, already done) broker 1 killed — running');
    expect(lines).toContain('  measured: fault at 2026-12-04T10:00:20.000Z, first green probe at 2026-12-04T10:00:50.500Z: RTO 30.5 s');
    expect(lines).toContain('  recovery fullClusterRecovery drill-staging-cluster-lost-x-recovery: step verify (succeeded)');
    expect(lines.slice(-2)).toEqual(['  score 90/100', '  record: snapshot 0123456789ab (lifeboat drill report drill-staging-cluster-lost-x --cluster staging)']);
  });

  it('a tabletop before any fault', () => {
    const t: DrillStatus = { ...running, type: 'tabletop', dryRun: true, phase: 'prepare', faults: [], faultAt: undefined, firstGreenProbeAt: undefined, recovery: [], notes: [] };
    expect(drillStatusText(t.drillId, 'RUNNING', t, drillMeasurements(t, new Date())).split('\n').slice(1)).toEqual([
      '  faults: none yet',
      '  measured: no fault applied yet; the RPO comes from the read-back in the verify phase',
    ]);
  });
});
