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
import type { Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DRILL_STATUS_QUERY } from '../../src/drills/ids.pure';
import type { DrillStatus } from '../../src/drills/plan.pure';
import type { DrillRecord } from '../../src/drills/records';
import type { RunReport } from '../../src/report/report.pure';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import { OLDER, override, stubSpec, stubWorkers } from './support/recoveryStubs';
import { timeSkippingEnvironment } from './support/timeSkipping';

const NO_READ = 'probe read 0/30 records from lifeboat-probe-0badc0de before timing out';
const spec = { ...stubSpec, environment: 'staging' as const };
const calls: string[] = [];
const count = (name: string) => calls.filter((c) => c === name).length;
const now = () => new Date().toISOString();

/** The drill's own activities, answering as a cluster whose ZooKeeper came back but that serves no reads. */
const drillStubs = {
  drillOthersRunningActivity: async () => [],
  drillHistoryActivity: async () => [],
  drillNotifyActivity: async () => ({ delivered: 0 }),
  drillInventoryActivity: async () => ({ takenAt: now(), cluster: spec.name, topics: {}, groups: {}, znodes: {}, brokerConfigs: {} }),
  drillStreamTopicActivity: async () => ({ topic: 'lifeboat-drill-stream', partitions: 1, replicationFactor: 1 }),
  drillWriteStreamActivity: async () => ({ topic: 'lifeboat-drill-stream', startedAt: now(), endedAt: now(), acks: [], failures: { count: 0 } }),
  drillApplyFaultActivity: async (input: { fault: unknown }) => ({ fault: input.fault, at: now(), detail: 'chroot deleted (stub)' }),
  drillProbeActivity: async () => ({ green: false, at: now(), detail: `not green: ${NO_READ}` }),
  drillReadBackActivity: async () => ({ partitions: [], zookeeper: null }),
  drillRevertFaultActivity: async (input: { applied: { fault: unknown }; mode: string }) => ({ fault: input.applied.fault, mode: input.mode, alreadyDone: false, detail: 'imported (stub)' }),
  drillDropStreamActivity: async () => undefined,
  drillSaveRecordActivity: async () => ({ snapshot: 'f'.repeat(64), tiers: [] }),
  readDiskTopicsActivity: async (input: { brokerId: number }) => ({ brokerId: input.brokerId, partitions: [] }),
  adoptTopicsActivity: async () => ({ adopted: [], problems: [] }),
  recoverRegistryActivity: async () => ({ services: 0, created: 0, awaitingReregistration: 0, fallbackFiles: [] }),
  drillRegistryInstancesActivity: async () => [],
  drillAwaitRegistryInstancesActivity: async () => ({ expected: 0, back: 0, missing: [], waitedMs: 0 }),
};

describe('a verify that keeps failing is bounded', () => {
  let env: TestWorkflowEnvironment;
  let workers: Worker[] = [];
  let running: Promise<unknown>;

  beforeAll(async () => {
    env = await timeSkippingEnvironment();
    workers = await stubWorkers(env, calls, drillStubs as never);
    running = Promise.all(workers.map((w) => w.run()));
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) w.shutdown();
    await running;
    await env?.teardown();
  });

  afterEach(() => {
    calls.length = 0;
    for (const k of Object.keys(override)) delete override[k];
  });

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
    const report = (await env.client.workflow.execute('fullClusterRecovery', { taskQueue: CONTROL_TASK_QUEUE, workflowId, args: [{ spec, autoApprove: true }] })) as RunReport;
    expect(report.outcome).toBe('failed');
    expect(count('produceConsumeProbeActivity')).toBe(2);
    expect(count('verifyAgainstSetActivity') + count('verifyBaselineActivity')).toBe(0);
    expect(report.checks).toEqual([
      { subject: 'brokers serving', expected: 2, actual: 2, ok: true },
      { subject: 'produce/consume probe', expected: 30, actual: expect.stringContaining(NO_READ), ok: false },
    ]);
    expect(report.problems).toEqual(expect.arrayContaining([`the checks against set ${OLDER.setId} were not run: the cluster does not serve`, expect.stringMatching(/^verification: produce\/consume probe expected 30, got failed \(.*probe read 0\/30/)]));
    // Each attempt is bounded by the activity's own timeout: two attempts of at most 2 minutes.
    const events = (await env.client.workflow.getHandle(`${workflowId}/verify-cluster-1`).fetchHistory()).events ?? [];
    const probe = events.map((e) => e.activityTaskScheduledEventAttributes).find((a) => a?.activityType?.name === 'produceConsumeProbeActivity');
    expect(Number(probe?.startToCloseTimeout?.seconds)).toBe(120);
    expect(probe?.retryPolicy?.maximumAttempts).toBe(2);
  });

  it('a zookeeper-data-lost drill on it ends unverified: no second verify, the fault reverted in restore mode, the failed probe a P1 problem', async () => {
    failingProbe();
    const record = (await env.client.workflow.execute('drill', {
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
    const record = (await env.client.workflow.execute('drill', {
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
    const err = await env.client.workflow
      .execute('drill', { taskQueue: CONTROL_TASK_QUEUE, workflowId: 'bound-drill-registry-wait', args: [{ spec, scenario: 'registry-lost', type: 'full', registryWaitSeconds: 241 }] })
      .then(
        () => undefined,
        (e: unknown) => e as { cause?: { message?: string; type?: string } },
      );
    expect(err?.cause?.type).toBe('InvalidInput');
    expect(err?.cause?.message).toBe('registryWaitSeconds: expected whole seconds from 1 to 240 (how long a registry-lost drill waits for the services to register again), got 241');
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
    const handle = await env.client.workflow.start('drill', {
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
