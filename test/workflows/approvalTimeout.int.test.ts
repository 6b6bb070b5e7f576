/**
 * The approval gates' timeout paths in skipped time: fullClusterRecovery and brokerRecovery wait
 * 30 minutes for an operator, get no answer and take the safe default (reject: nothing stopped,
 * nothing restored) — on Temporal's time-skipping test server, in well under a few seconds.
 * The workflows are the real ones; the activities are stubs that record their calls, because the
 * subject here is the workflows' own logic (the lab tests run the same workflows on real Kafka).
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { tsToMs } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LifeboatActivities } from '../../activities';
import { parseSpec } from '../../src/config/spec';
import type { RunStatus } from '../../workflows/support/tracker';
import { TASK_QUEUE, hostTaskQueue } from '../../src/temporal/connection';
import { timeSkippingEnvironment, workflowBundle } from './support/timeSkipping';

type Activities = LifeboatActivities;
type ChosenSet = Awaited<ReturnType<Activities['chooseBackupSetActivity']>>;

const spec = parseSpec({
  name: 'gate',
  kafka: { bootstrapServers: ['127.0.0.1:1'] },
  zookeeper: { connect: '127.0.0.1:2', chroot: '/gate' },
  brokers: [1, 2, 3].map((id) => ({ id, host: `gate-broker-${id}`, logDirs: [`/nonexistent/gate-${id}`], configDir: `/nonexistent/gate-${id}/config`, control: { type: 'systemd', unit: `kafka-${id}` } })),
  repository: { path: '/nonexistent/repository', password: { env: 'UNUSED' } },
});

const SET_TIME = '2026-01-01T00:00:00.000Z';
const chosen = {
  set: {
    setId: 'feedfacefeedface',
    tier: 'hourly',
    time: SET_TIME,
    parts: ['zookeeper', 'configs:1', 'logdirs:1'],
    snapshots: { zookeeper: { id: 'a'.repeat(64) }, 'configs:1': { id: 'b'.repeat(64) }, 'logdirs:1': { id: 'c'.repeat(64) } },
    complete: true,
  },
  rejected: [],
} as unknown as ChosenSet;

/** Every activity the workflows may call: records the call; a destructive one ends the run there. */
const calls: string[] = [];
const STOPPED_HERE = 'StubStoppedHere';
const stubs: Partial<Record<keyof Activities, (...args: never[]) => Promise<unknown>>> = {
  chooseBackupSetActivity: async () => chosen,
  clusterHealthActivity: async () => ({ brokers: [1, 2], controller: 1, offline: [], underReplicated: [], notPreferred: [] }),
  brokerPartitionsActivity: async () => ({ replicaOf: 12, preferredLeaderOf: [], offlineWithoutIt: 0 }),
  brokerDiskStateActivity: async () => ({ lost: ['/nonexistent/gate-3'], partitions: 0 }),
};
const DESTRUCTIVE = ['stopBrokerActivity', 'restoreZookeeperActivity', 'restoreConfigsActivity', 'restoreLogDirsActivity', 'startBrokerActivity', 'recoverRegistryActivity', 'restoreTopicsFromSetActivity'] as const;
const recording = Object.fromEntries(
  [...Object.keys(stubs), ...DESTRUCTIVE].map((name) => [
    name,
    async (...args: never[]) => {
      calls.push(name);
      const stub = stubs[name as keyof Activities];
      if (stub) return stub(...args);
      throw ApplicationFailure.nonRetryable(`${name} reached (a stub: the test ends the run here)`, STOPPED_HERE);
    },
  ]),
);

describe('approval gates in skipped time', () => {
  let env: TestWorkflowEnvironment;
  let workers: Worker[] = [];
  let running: Promise<unknown>;

  beforeAll(async () => {
    env = await timeSkippingEnvironment();
    const bundle = await workflowBundle();
    // The control queue runs the workflows; every host queue of the spec takes its host's activities.
    workers = await Promise.all(
      [TASK_QUEUE, ...spec.brokers.map((b) => hostTaskQueue(b.host))].map((taskQueue) =>
        Worker.create({ connection: env.nativeConnection, taskQueue, activities: recording, ...(taskQueue === TASK_QUEUE ? { workflowBundle: bundle } : {}) }),
      ),
    );
    running = Promise.all(workers.map((w) => w.run()));
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) w.shutdown();
    await running;
    await env?.teardown();
  });

  beforeEach(() => {
    calls.length = 0;
  });

  /** Waits (in real time, time skipping locked) until the run stands at its approval gate. */
  async function atTheGate(workflowId: string): Promise<RunStatus> {
    const handle = env.client.workflow.getHandle(workflowId);
    // The first workflow task of a file also loads the bundle into the worker's VM: seconds, not ms.
    for (const until = Date.now() + 60_000; Date.now() < until; ) {
      const status = await handle.query<RunStatus>('status');
      if (status.awaitingApproval) return status;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Say why: a workflow that now calls an activity these stubs lack retries it here.
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const why = pending.map((a) => `${a.activityType?.name}: ${a.lastFailure?.message ?? 'pending'}`).join('; ');
    throw new Error(`${workflowId} never reached its approval gate${why ? ` (${why})` : ''}`);
  }

  it('fullClusterRecovery: no answer in 30 minutes → rejected, nothing stopped — in well under a few seconds', async () => {
    const workflowId = 'gate-recovery-timeout';
    const handle = await env.client.workflow.start('fullClusterRecovery', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [{ spec, approvalTimeoutMinutes: 30 }],
    });
    const waiting = await atTheGate(workflowId);
    expect(waiting.awaitingApproval).toMatchObject({ step: 'stop-brokers', safeDefault: 'reject' });
    expect(waiting.step).toBe('approval:stop-brokers');

    const wallBefore = Date.now();
    const failure = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const wallMs = Date.now() - wallBefore;

    // The safe default: the run fails as ApprovalRejected and says nothing was changed.
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('ApprovalRejected');
    expect(cause?.message).toBe('approval for "stop-brokers" timed out; nothing was changed');
    // Thirty minutes passed on the server's clock (the gate's timer fired), not on ours.
    const events = (await handle.fetchHistory()).events ?? [];
    const timers = events.filter((e) => e.timerStartedEventAttributes).map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds));
    expect(timers).toEqual([30 * 60]);
    const at = (pick: (e: (typeof events)[number]) => unknown) => tsToMs(events.find((e) => pick(e))!.eventTime);
    const gateMs = at((e) => e.timerFiredEventAttributes) - at((e) => e.timerStartedEventAttributes);
    expect(gateMs).toBeGreaterThanOrEqual(30 * 60_000);
    expect(gateMs).toBeLessThan(31 * 60_000);
    expect(at((e) => e.workflowExecutionFailedEventAttributes) - at((e) => e.workflowExecutionStartedEventAttributes)).toBeGreaterThanOrEqual(30 * 60_000);
    // The deadline the status query showed the operator is when the gate closed.
    expect(Math.abs(Date.parse(waiting.awaitingApproval!.deadline) - at((e) => e.timerFiredEventAttributes))).toBeLessThan(5_000);
    console.log(`30-minute approval gate timed out after ${wallMs} ms of wall time (${(gateMs / 60_000).toFixed(1)} min on the server's clock)`);
    expect(wallMs).toBeLessThan(3_000);
    // Nothing destructive ran: only the set was chosen.
    expect(calls).toEqual(['chooseBackupSetActivity']);
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
    expect(scheduled).toEqual(['chooseBackupSetActivity']);

    // The report of the closed run (its status query) shows the gate's outcome.
    const after = await handle.query<RunStatus>('status');
    expect(after.awaitingApproval).toBeUndefined();
    expect(after.problems).toEqual(['no approval for "stop-brokers" within 30 min: took the safe path and stopped']);
    expect(after.plan.find((s) => s.name === 'stop-brokers')?.status).toBe('pending');
    expect(after.plan.find((s) => s.name === 'choose-set')?.status).toBe('done');
  });
  /** Runs to its end (skipping time), returning why it failed; a run that succeeds fails the test. */
  async function failureOf(workflowId: string): Promise<ApplicationFailure> {
    const failure = await env.client.workflow.getHandle(workflowId).result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    let cause = (failure as WorkflowFailedError).cause;
    // A failed activity's own failure sits one level down.
    if (cause instanceof ActivityFailure) cause = cause.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    return cause as ApplicationFailure;
  }

  it('fullClusterRecovery: approved at minute 29 → the gate lets it through to stopping the brokers', async () => {
    const workflowId = 'gate-recovery-approved';
    const handle = await env.client.workflow.start('fullClusterRecovery', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec, approvalTimeoutMinutes: 30 }] });
    await atTheGate(workflowId);
    const wallBefore = Date.now();
    await env.sleep('29 minutes');
    const answer = await handle.executeUpdate('approve', { args: [{ approve: true, by: 'alice' }] });
    expect(answer).toEqual({ step: 'stop-brokers', approved: true, by: 'alice' });
    // The stubbed stopBrokerActivity ends the run: it got past the gate, on every broker's host queue.
    const cause = await failureOf(workflowId);
    expect(Date.now() - wallBefore).toBeLessThan(3_000);
    expect(cause.type).toBe(STOPPED_HERE);
    expect(calls.filter((c) => c === 'stopBrokerActivity')).toHaveLength(spec.brokers.length);
    // The answer came 29 minutes into the gate, on the server's clock; the gate's timer was cancelled.
    const events = (await handle.fetchHistory()).events ?? [];
    const at = (pick: (e: (typeof events)[number]) => unknown) => tsToMs(events.find((e) => pick(e))!.eventTime);
    expect(at((e) => e.workflowExecutionUpdateAcceptedEventAttributes) - at((e) => e.timerStartedEventAttributes)).toBeGreaterThanOrEqual(29 * 60_000);
    expect(events.filter((e) => e.timerFiredEventAttributes)).toHaveLength(0);
    expect(events.filter((e) => e.timerCanceledEventAttributes)).toHaveLength(1);
    const status = await handle.query<RunStatus>('status');
    expect(status.problems).toEqual([]);
    expect(status.plan.find((s) => s.name === 'stop-brokers')?.status).toBe('failed');
  });

  it('fullClusterRecovery: rejected by an operator → ApprovalRejected, nothing stopped', async () => {
    const workflowId = 'gate-recovery-rejected';
    const handle = await env.client.workflow.start('fullClusterRecovery', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec, approvalTimeoutMinutes: 30 }] });
    await atTheGate(workflowId);
    await handle.executeUpdate('approve', { args: [{ approve: false, by: 'bob', comment: 'wrong set' }] });
    const cause = await failureOf(workflowId);
    expect(cause.type).toBe('ApprovalRejected');
    expect(cause.message).toBe('"stop-brokers" was rejected by bob; nothing was changed');
    expect(calls).toEqual(['chooseBackupSetActivity']);
    expect((await handle.query<RunStatus>('status')).problems).toEqual(['"stop-brokers" rejected by bob: wrong set']);
  });

  it('restoreData started alone: its own gate, no answer in 30 minutes → rejected, nothing stopped or restored', async () => {
    const workflowId = 'gate-restore-data-timeout';
    const handle = await env.client.workflow.start('restoreData', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec, setId: 'feedface', approvalTimeoutMinutes: 30 }] });
    const waiting = await atTheGate(workflowId);
    expect(waiting.kind).toBe('restoreData');
    expect(waiting.awaitingApproval).toMatchObject({ step: 'stop-brokers', safeDefault: 'reject' });
    expect(waiting.awaitingApproval!.question).toContain('replace the log dirs of gate\'s brokers 1 with set feedfacefeedface');
    const wallBefore = Date.now();
    const cause = await failureOf(workflowId);
    expect(Date.now() - wallBefore).toBeLessThan(3_000);
    expect(cause.type).toBe('ApprovalRejected');
    expect(cause.message).toBe('approval for "stop-brokers" timed out; nothing was changed');
    expect(calls).toEqual(['chooseBackupSetActivity']);
    const status = await handle.query<RunStatus>('status');
    expect(status.plan.map((p) => `${p.name}: ${p.status}`)).toEqual([
      'choose-set: done',
      'stop-brokers: pending',
      'restore-data: pending',
      'start-brokers: pending',
      'wait-serving: pending',
      'restore-topics: skipped',
      'preferred-election: pending',
    ]);
  });

  it('brokerRecovery: lost log dirs, no answer in 30 minutes → rejected, nothing restored or stopped', async () => {
    const workflowId = 'gate-broker-timeout';
    const handle = await env.client.workflow.start('brokerRecovery', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec, brokerId: 3, approvalTimeoutMinutes: 30 }] });
    const waiting = await atTheGate(workflowId);
    expect(waiting.awaitingApproval).toMatchObject({ step: 'restore-logdirs', safeDefault: 'reject' });
    const wallBefore = Date.now();
    const cause = await failureOf(workflowId);
    expect(Date.now() - wallBefore).toBeLessThan(3_000);
    expect(cause.type).toBe('ApprovalRejected');
    expect(cause.message).toBe('approval for "restore-logdirs" timed out; nothing was changed');
    expect(calls).toEqual(['clusterHealthActivity', 'brokerPartitionsActivity', 'brokerDiskStateActivity']);
    const status = await handle.query<RunStatus>('status');
    expect(status.problems).toEqual(['no approval for "restore-logdirs" within 30 min: took the safe path and stopped']);
    expect(status.plan.find((s) => s.name === 'start-broker')?.status).toBe('pending');
  });
});
