/**
 * A verify that keeps failing ends within minutes, in skipped time with stub activities (the lab
 * tests run the same workflows on real Kafka). The cluster's probe cannot read back what it wrote
 * (the activity fails as the real one does after its wait: "probe read 0/30 records … before timing
 * out"), as on the lab when the zookeeper-data-lost drill's standby had no group coordinator:
 *  - fullClusterRecovery's verify asks twice (not ten times, a minute each), reports a failed probe
 *    check and does not start the checks against the set, and the recovery ends `failed`;
 *  - a drill on it ends unverified: no verifyCluster of its own after a recovery that failed, its
 *    fault reverted in restore mode, the failed probe recorded as a P1 problem.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { DRILL_STATUS_QUERY, DRILL_STOP_SIGNAL, DRILL_STREAM_SEEDED_SIGNAL } from '../../src/drills/ids.pure';
import type { DrillStatus } from '../../src/drills/plan.pure';
import type { DrillRecord } from '../../src/drills/records';
import type { RunReport } from '../../src/report/report.pure';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import { drillSpec, drillStubs, NO_READ, streamStub } from './support/drillStubs';
import { OLDER, override } from './support/recoveryStubs';
import { stubbedServer } from './support/stubbedServer';

const spec = drillSpec;

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>['fetchHistory']>>['events']>[number];
/** Where in a drill's history the faults' wait for the stream (its 10 s timer), the stream's signal and the first fault are (-1: absent). */
function seedWait(events: HistoryEvent[]) {
  const startedAt = events.findIndex((e) => String(e.timerStartedEventAttributes?.startToFireTimeout?.seconds ?? '') === '10');
  const timerId = startedAt > -1 ? events[startedAt]!.timerStartedEventAttributes!.timerId : undefined;
  return {
    started: startedAt,
    fired: timerId ? events.findIndex((e) => e.timerFiredEventAttributes?.timerId === timerId) : -1,
    cancelled: timerId ? events.findIndex((e) => e.timerCanceledEventAttributes?.timerId === timerId) : -1,
    signaled: events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === DRILL_STREAM_SEEDED_SIGNAL),
    firstFault: events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'drillApplyFaultActivity'),
  };
}
const calls: string[] = [];
const count = (name: string) => calls.filter((c) => c === name).length;

describe('a verify that keeps failing is bounded', () => {
  const server = stubbedServer(calls, drillStubs as never);

  const failingProbe = () => {
    override.produceConsumeProbeActivity = async () => {
      throw new Error(NO_READ);
    };
    // The set that restores (the newest one's ZooKeeper part is the corrupt one of the fallback test).
    override.chooseBackupSetActivity = async () => ({ set: OLDER, rejected: [], coverage: 'full' });
  };

  it('fullClusterRecovery: the probe asked twice, a failed check, the set checks not started, the recovery failed', async () => {
    failingProbe();
    const workflowId = 'bound-recovery';
    const report = (await server.env.client.workflow.execute('fullClusterRecovery', { taskQueue: CONTROL_TASK_QUEUE, workflowId, args: [{ spec, autoApprove: true }] })) as RunReport;
    expect(report.outcome).toBe('failed');
    expect(count('produceConsumeProbeActivity')).toBe(2);
    expect(count('verifyAgainstSetActivity') + count('verifyBaselineActivity')).toBe(0);
    expect(report.checks).toEqual([
      { subject: 'brokers serving', expected: 2, actual: 2, ok: true },
      { subject: 'produce/consume probe', expected: 30, actual: expect.stringContaining(NO_READ), ok: false },
    ]);
    expect(report.problems).toEqual(expect.arrayContaining([`the checks against set ${OLDER.setId} were not run: the cluster does not serve`, expect.stringMatching(/^verification: produce\/consume probe expected 30, got failed \(.*probe read 0\/30/)]));
    // Each attempt is bounded by the activity's own timeout: two attempts of at most 2 minutes.
    const events = (await server.env.client.workflow.getHandle(`${workflowId}/verify-cluster-1`).fetchHistory()).events ?? [];
    const probe = events.map((e) => e.activityTaskScheduledEventAttributes).find((a) => a?.activityType?.name === 'produceConsumeProbeActivity');
    expect(Number(probe?.startToCloseTimeout?.seconds)).toBe(120);
    expect(probe?.retryPolicy?.maximumAttempts).toBe(2);
  });

  it('a zookeeper-data-lost drill on it ends unverified: no second verify, the fault reverted in restore mode, the failed probe a P1 problem', async () => {
    failingProbe();
    const record = (await server.execute(server.env, 'drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'bound-drill',
      args: [{ spec, scenario: 'zookeeper-data-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2 }],
    })) as DrillRecord;
    expect(record.phases.map((p) => p.name)).toEqual(['prepare', 'start', 'execute', 'verify', 'review']);
    expect(record.reverts.map((r) => [r.fault.kind, r.mode])).toEqual([['zookeeper-chroot', 'restore']]);
    expect(record.problems.map((p) => [p.class, p.title])).toEqual(expect.arrayContaining([['P1', expect.stringMatching(/^verification: produce\/consume probe expected 30, got failed/)]]));
    expect(record.rtoSeconds).toBeNull();
    // Only the recovery's own verify probed (twice); the drill did not verify again.
    expect(count('produceConsumeProbeActivity')).toBe(2);
    expect(record.phases.find((p) => p.name === 'verify')!.notes).toEqual(expect.arrayContaining([expect.stringContaining('not run: the recovery did not verify')]));
    // On the server's clock the whole drill took seconds (the probe loop's waits are timers).
    expect(Date.parse(record.endedAt) - Date.parse(record.startedAt)).toBeLessThan(2 * 60_000);
  });

  it('a registry-lost drill waits for the instances registered before the fault and makes the one that did not come back a P1 problem', async () => {
    const withRegistry = { ...spec, registry: { curator: '/services', dubbo: null } };
    override.chooseBackupSetActivity = async () => ({ set: { ...OLDER, parts: [...OLDER.parts, 'registry'], snapshots: { ...OLDER.snapshots, registry: { id: 'e'.repeat(64) } } }, rejected: [], coverage: 'full' });
    override.recoverRegistryActivity = async () => ({ services: 1, created: 2, awaitingReregistration: 2, fallbackFiles: [] });
    override.drillRegistryInstancesActivity = async () => ['/services/orders/a1', '/services/orders/b2'];
    override.drillProbeActivity = async () => ({ green: true, at: new Date().toISOString(), detail: 'green (stub)' });
    const asked: unknown[] = [];
    override.drillAwaitRegistryInstancesActivity = async (input: unknown) => {
      asked.push(input);
      return { expected: 2, back: 1, missing: ['/services/orders/b2'], waitedMs: 30_000 };
    };
    const record = (await server.env.client.workflow.execute('drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'bound-drill-registry',
      args: [{ spec: withRegistry, scenario: 'registry-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2, registryWaitSeconds: 30 }],
    })) as DrillRecord;
    expect(asked).toEqual([{ spec: withRegistry, instances: ['/services/orders/a1', '/services/orders/b2'], timeoutSeconds: 30 }]);
    expect(record.phases.find((p) => p.name === 'prepare')!.notes).toEqual(expect.arrayContaining(['registry: 2 service instances registered']));
    expect(record.phases.find((p) => p.name === 'verify')!.notes).toEqual(expect.arrayContaining(['registry: 1 of 2 service instances registered again (30.0 s)']));
    expect(record.problems.filter((p) => p.evidence === 'verify: registry instances').map((p) => [p.class, p.title])).toEqual([
      ['P1', expect.stringMatching(/^1 of 2 service instances registered before the fault were not registered again within 30 s \(\/services\/orders\/b2\): the registry is back but those services cannot be found/)],
    ]);
  });

  it('a registry wait out of bounds is refused in one line, non-retryable', async () => {
    const err = await server.env.client.workflow
      .execute('drill', { taskQueue: CONTROL_TASK_QUEUE, workflowId: 'bound-drill-registry-wait', args: [{ spec, scenario: 'registry-lost', type: 'full', registryWaitSeconds: 241 }] })
      .then(
        () => undefined,
        (e: unknown) => e as { cause?: { message?: string; type?: string } },
      );
    expect(err?.cause?.type).toBe('InvalidInput');
    expect(err?.cause?.message).toBe('registryWaitSeconds: expected whole seconds from 1 to 240 (how long a registry-lost drill waits for the services to register again), got 241');
  });

  /** A zookeeper-data-lost drill on the newest set, its record and its history. */
  const newestSetDrill = async (workflowId: string) => {
    const record = (await server.execute(server.env, 'drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [{ spec, scenario: 'zookeeper-data-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2 }],
    })) as DrillRecord;
    return { record, events: (await server.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [] };
  };

  it('the faults wait for the write stream to have a write in every partition, and go on after a bounded wait without one', async () => {
    failingProbe();
    // A stream that never gets an acknowledged write (so never signals) and ends when the drill asks it to.
    override.drillWriteStreamActivity = streamStub(false);
    const { record, events } = await newestSetDrill('bound-drill-unseeded');
    expect(record.phases.find((p) => p.name === 'start')!.notes).toEqual(
      expect.arrayContaining(['the write stream had no acknowledged write in every partition and its znode after 10 seconds: the faults go on, and the loss may be unmeasured there']),
    );
    expect(record.faults.map((f) => f.fault.kind)).toEqual(['zookeeper-chroot']);
    const wait = seedWait(events);
    expect(wait.fired, 'the 10 s wait fired').toBeGreaterThan(-1);
    expect(wait.fired).toBeLessThan(wait.firstFault);
  });

  it('the stream\'s signal releases the faults at once: not after the wait, no note', async () => {
    failingProbe();
    override.drillWriteStreamActivity = streamStub(true);
    const { record, events } = await newestSetDrill('bound-drill-seeded');
    expect(record.phases.flatMap((p) => p.notes).filter((n) => n.startsWith('the write stream had no acknowledged write'))).toEqual([]);
    expect(record.faults.map((f) => f.fault.kind)).toEqual(['zookeeper-chroot']);
    const wait = seedWait(events);
    expect(wait.signaled).toBeGreaterThan(-1);
    expect(wait.signaled).toBeLessThan(wait.firstFault);
    // The faults did not wait for the timer: if the drill started it (the signal came once the drill
    // was there), it fires after the first fault or not at all. On this server timers are left to
    // fire rather than cancelled (support/timersNeverCancelled.ts).
    if (wait.fired > -1) expect(wait.fired).toBeGreaterThan(wait.firstFault);
    expect(wait.cancelled).toBe(-1);
  });

  it('a stop while the faults wait for the stream ends the drill with no fault applied', async () => {
    failingProbe();
    override.drillWriteStreamActivity = streamStub(false);
    const handle = await server.env.client.workflow.start('drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'bound-drill-stop-waiting',
      args: [{ spec, scenario: 'zookeeper-data-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2 }],
    });
    for (let i = 0; i < 400 && (await handle.query<DrillStatus>(DRILL_STATUS_QUERY)).phase !== 'start'; i++) await new Promise((r) => setTimeout(r, 25));
    await handle.signal(DRILL_STOP_SIGNAL, { by: 'test' });
    const record = (await handle.result()) as DrillRecord;
    expect(record.faults).toEqual([]);
    expect(record.reverts).toEqual([]);
    expect(count('drillApplyFaultActivity')).toBe(0);
    expect(record.improvements).toEqual(expect.arrayContaining([expect.stringMatching(/^stopped: stopped by test/)]));
  });

  it("the record's copy to a tier that failed is in the drill's status, not dropped", async () => {
    failingProbe();
    override.drillSaveRecordActivity = async () => ({
      snapshot: 'e'.repeat(64),
      tiers: [
        { tier: 'nas', location: '/mnt/nas/lifeboat', copied: 0, skipped: 0, error: 'no answer within 60 s' },
        { tier: 'offsite', location: 's3://dr/lifeboat', copied: 1, skipped: 4 },
      ],
    });
    const handle = await server.env.client.workflow.start('drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'bound-drill-tiers',
      args: [{ spec, scenario: 'zookeeper-data-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2 }],
    });
    await handle.result();
    const status = await handle.query<DrillStatus>(DRILL_STATUS_QUERY);
    expect(status.recordSnapshot).toBe('e'.repeat(64));
    expect(status.notes).toEqual(
      expect.arrayContaining([
        "the record's copy to tier nas (/mnt/nas/lifeboat) failed: no answer within 60 s; the next drill's save copies it again",
        'record copied to tier offsite (s3://dr/lifeboat)',
      ]),
    );
  });
});
