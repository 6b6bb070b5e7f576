/**
 * Stub activities for the recovery workflows on Temporal's time-skipping test server: a cluster of
 * two brokers whose newest backup set has a corrupt ZooKeeper snapshot (found inside restoreState)
 * and an older set that restores. The subject is the workflows' own logic (fallback across child
 * workflows, the merged report); the lab tests run the same workflows on real Kafka.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { parseSpec } from '../../../src/config/spec';
import { CONTROL_TASK_QUEUE, hostTaskQueue } from '../../../src/temporal/taskQueues.pure';
import { workflowBundle } from './timeSkipping';

export const stubSpec = parseSpec({
  name: 'fallback',
  kafka: { bootstrapServers: ['127.0.0.1:1'] },
  zookeeper: { connect: '127.0.0.1:2', chroot: '/fallback' },
  brokers: [1, 2].map((id) => ({ id, host: `fallback-broker-${id}`, logDirs: [`/nonexistent/fb-${id}`], configDir: `/nonexistent/fb-${id}/config`, control: { type: 'systemd', unit: `kafka-${id}` } })),
  repository: { path: '/nonexistent/repository', password: { env: 'UNUSED' } },
});

const setOf = (setId: string, time: string, zk: string) => ({
  setId,
  tier: 'hourly',
  time,
  parts: ['zookeeper', 'configs:1', 'configs:2', 'logdirs:1', 'logdirs:2'],
  snapshots: {
    zookeeper: { id: zk },
    'configs:1': { id: 'c1'.repeat(32) },
    'configs:2': { id: 'c2'.repeat(32) },
    'logdirs:1': { id: 'd1'.repeat(32) },
    'logdirs:2': { id: 'd2'.repeat(32) },
  },
  complete: true,
});
export const NEWEST = setOf('aaaaaaaaaaaaaaaa', '2026-01-02T00:00:00.000Z', 'a'.repeat(64));
export const OLDER = setOf('bbbbbbbbbbbbbbbb', '2026-01-01T00:00:00.000Z', 'b'.repeat(64));
export const CORRUPT = 'chunk 0123456789ab in pack ba9876543210 fails authentication';

/** A stub can be held back: set `hold.logDirs` to a promise and the log-dir restore waits for it. */
export const hold: { logDirs?: Promise<void> } = {};
const logDirsResult = (input: { brokerId: number }) => ({ brokerId: input.brokerId, files: 12, bytes: 2_500_000, movedAside: [], resumedFiles: 0, alreadyDone: false, warnings: [] });

const stubs: Record<string, (input: never) => Promise<unknown>> = {
  chooseBackupSetActivity: async (input: { exclude?: string[] }) =>
    input.exclude?.includes(NEWEST.setId)
      ? { set: OLDER, rejected: [{ setId: NEWEST.setId, time: NEWEST.time, reason: 'failed during an earlier restore attempt' }], coverage: 'full' }
      : { set: NEWEST, rejected: [], coverage: 'full' },
  stopBrokerActivity: async () => ({ wasRunning: true }),
  restoreZookeeperActivity: async (input: { snapshotId: string }) => {
    if (input.snapshotId === NEWEST.snapshots.zookeeper.id) throw ApplicationFailure.nonRetryable(CORRUPT, 'CorruptBackup');
    return { created: 40, updated: 2, deleted: 0, skippedEphemerals: 3 };
  },
  restoreConfigsActivity: async (input: { brokerId: number }) => ({ brokerId: input.brokerId, action: 'restored', files: ['server.properties'] }),
  restoreLogDirsActivity: async (input: { brokerId: number }) => {
    await hold.logDirs;
    return logDirsResult(input);
  },
  startBrokerActivity: async () => ({ started: true, control: 'stub' }),
  waitForServingActivity: async () => ({ brokers: [1, 2], partitions: 6 }),
  clusterHealthActivity: async () => ({ brokers: [1, 2], controller: 1, offline: [], underReplicated: [], notPreferred: [] }),
  preferredLeaderElectionActivity: async () => ({ elected: 0 }),
  verifyAgainstSetActivity: async () => [{ subject: 'topics present', expected: 3, actual: 3, ok: true }],
  verifyBaselineActivity: async () => ({ checks: [], problems: [] }),
  produceConsumeProbeActivity: async () => ({ produced: 30, consumed: 30, ok: true }),
};

export type Stub = (input: never) => Promise<unknown>;
/** A test's own answer for an activity, looked up at each call before the stub (set and cleared by the test). */
export const override: Record<string, Stub> = {};

/**
 * Workers for the stub cluster on every queue it uses, each call recorded in `calls`; `more`: activities
 * beyond the recovery's; `timersNeverCancelled`: the workflows bundled with support/timersNeverCancelled.ts.
 */
export async function stubWorkers(env: TestWorkflowEnvironment, calls: string[], more: Record<string, Stub> = {}, options: { timersNeverCancelled?: boolean } = {}): Promise<Worker[]> {
  const all: Record<string, Stub> = { ...stubs, ...more };
  const activities = Object.fromEntries(
    Object.entries(all).map(([name, fn]) => [
      name,
      async (input: never) => {
        calls.push(name);
        return (override[name] ?? fn)(input);
      },
    ]),
  );
  const bundle = await workflowBundle(options);
  return Promise.all(
    [CONTROL_TASK_QUEUE, ...stubSpec.brokers.map((b) => hostTaskQueue(b.host))].map((taskQueue) =>
      Worker.create({ connection: env.nativeConnection, taskQueue, activities, ...(taskQueue === CONTROL_TASK_QUEUE ? { workflowBundle: bundle } : {}) }),
    ),
  );
}
