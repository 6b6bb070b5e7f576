/**
 * A drill after one that failed to revert a fault, in skipped time with stub activities: without a
 * person's word (`revertsChecked`) it makes no set, applies no fault and is recorded as skipped, with
 * what is left as a P0 problem of its own (so the next drill finds it too); with it, the drill runs; a
 * tabletop goes on and carries it; one stopped before it weighed the faults carries it too.
 */
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { DRILL_STOP_SIGNAL } from '../../src/drills/ids.pure';
import { faultsLeftByLastDrill, newProblem, REVERT_EVIDENCE } from '../../src/drills/problems.pure';
import type { DrillRecord } from '../../src/drills/records';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import { drillSpec, drillStubs, streamStub } from './support/drillStubs';
import { OLDER, override } from './support/recoveryStubs';
import { stubbedServer } from './support/stubbedServer';

const calls: string[] = [];
const PREV = 'drill-standby-cluster-lost-2026-12-01T10:00:00.000Z';
const LEFT = 'a fault was not reverted: the chroot /kafka-standby deleted (restore): no ZooKeeper answer within 30 s';
/** The earlier drill as its record has it (the fields a drill reads of its history). */
const previous = {
  id: PREV,
  cluster: drillSpec.name,
  type: 'full',
  scenario: 'cluster-lost',
  startedAt: '2026-12-01T10:00:00.000Z',
  endedAt: '2026-12-01T10:05:00.000Z',
  workflowId: PREV,
  problems: [newProblem(PREV, 1, { class: 'P0', title: LEFT, evidence: REVERT_EVIDENCE, found: '2026-12-01T10:05:00.000Z' })],
  rtoSeconds: null,
  rpoSeconds: null,
  faults: [],
  reverts: [],
  phases: [],
  improvements: [],
};

describe('a drill after one that left faults in place', () => {
  const server = stubbedServer(calls, drillStubs as never);
  const run = (workflowId: string, more: Record<string, unknown> = {}) => {
    override.drillHistoryActivity = async () => [previous];
    override.drillWriteStreamActivity = streamStub(true);
    override.chooseBackupSetActivity = async () => ({ set: OLDER, rejected: [], coverage: 'full' });
    return server.execute(server.env, 'drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [{ spec: drillSpec, scenario: 'zookeeper-data-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2, ...more }],
    }) as Promise<DrillRecord>;
  };
  const notes = (r: DrillRecord) => r.phases.flatMap((p) => p.notes);

  const REFUSAL = `no fault applied: drill ${PREV} did not revert the chroot /kafka-standby deleted (restore): no ZooKeeper answer within 30 s, and nobody said the target was checked since: check it, put back by hand what is still apart, then run the drill again with --reverts-checked`;
  const CARRIED = `a fault drill ${PREV} did not revert is not checked yet: the chroot /kafka-standby deleted (restore): no ZooKeeper answer within 30 s`;

  it('applies no fault: skipped, what is left carried as its own P0 problem, its stream dropped', { timeout: 180_000 }, async () => {
    const record = await run('drill-faults-left');
    expect(calls).not.toContain('drillApplyFaultActivity');
    expect(calls).not.toContain('drillRevertFaultActivity');
    expect(calls).toContain('drillDropStreamActivity');
    expect(calls).toContain('drillSaveRecordActivity');
    expect(record.skipped).toBe(REFUSAL);
    expect(record.faults).toEqual([]);
    expect(record.phases.map((p) => p.name)).toEqual(['prepare', 'start', 'review']);
    expect(record.phases.find((p) => p.name === 'start')!.notes).toEqual(expect.arrayContaining([REFUSAL]));
    // Its own problems are the fault left, and nothing else (it measured nothing).
    expect(record.problems.map((p) => [p.drill, p.class, p.evidence, p.title])).toEqual([['drill-faults-left', 'P0', REVERT_EVIDENCE, CARRIED]]);
    // The next drill finds the fault left through this record, and names the drill that did not revert it.
    const left = faultsLeftByLastDrill([previous as never, record]);
    expect(left).toMatchObject({ drill: 'drill-faults-left', faults: [CARRIED] });

    override.drillHistoryActivity = async () => [previous, record];
    calls.length = 0;
    const next = await server.execute(server.env, 'drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'drill-faults-left-next',
      args: [{ spec: drillSpec, scenario: 'zookeeper-data-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2 }],
    }) as DrillRecord;
    expect(next.skipped).toBe(REFUSAL);
    expect(next.problems.filter((p) => p.drill === 'drill-faults-left-next').map((p) => p.title)).toEqual([CARRIED]);
    expect(calls).not.toContain('drillApplyFaultActivity');
  });

  it('with a fresh backup, no set is made of the target it left', { timeout: 180_000 }, async () => {
    override.drillHistoryActivity = async () => [previous];
    override.drillWriteStreamActivity = streamStub(true);
    const record = (await server.execute(server.env, 'drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'drill-faults-left-fresh',
      args: [{ spec: drillSpec, scenario: 'zookeeper-data-lost', type: 'full', probeIntervalSeconds: 2 }],
    })) as DrillRecord;
    expect(record.skipped).toBe(REFUSAL);
    expect(record.phases.map((p) => p.name)).toEqual(['prepare', 'review']);
    const events = (await server.env.client.workflow.getHandle('drill-faults-left-fresh').fetchHistory()).events ?? [];
    expect(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
    expect(calls).not.toContain('backupPartActivity');
    expect(calls).not.toContain('drillApplyFaultActivity');
    expect(calls).toContain('drillDropStreamActivity');
  });

  it('stopped in prepare, before its faults were weighed: what is left is carried all the same', { timeout: 180_000 }, async () => {
    override.drillHistoryActivity = async () => [previous];
    override.drillWriteStreamActivity = streamStub(true);
    // The stop arrives while the stream topic is being made (prepare).
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    override.drillStreamTopicActivity = async () => {
      await held;
      return { topic: 'lifeboat-drill-stream', partitions: 1, replicationFactor: 1 };
    };
    const handle = await server.env.client.workflow.start('drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'drill-faults-left-stopped',
      args: [{ spec: drillSpec, scenario: 'zookeeper-data-lost', type: 'full', probeIntervalSeconds: 2 }],
    });
    try {
      for (let i = 0; i < 400 && !calls.includes('drillStreamTopicActivity'); i++) await new Promise((r) => setTimeout(r, 25));
      await handle.signal(DRILL_STOP_SIGNAL, { by: 'test' });
      // Released only once the stop's cancel request is in the history: an activity that completes while the
      // workflow task asking to cancel it runs leaves the run stuck on the time-skipping server (half the runs
      // here; temporalio/sdk-java#2391), not on a real one.
      const cancelAsked = async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
      for (let i = 0; i < 400 && !(await cancelAsked()); i++) await new Promise((r) => setTimeout(r, 25));
    } finally {
      // Whatever happened above: a stub still held would keep the worker's shutdown waiting.
      release();
    }
    const record = (await handle.result()) as DrillRecord;
    expect(record.skipped).toBeUndefined();
    expect(record.phases.flatMap((p) => p.notes)).toContain('stopped by test');
    expect(record.faults).toEqual([]);
    expect(record.problems.filter((p) => p.drill === 'drill-faults-left-stopped' && p.evidence === REVERT_EVIDENCE).map((p) => p.title)).toEqual([CARRIED]);
    expect(faultsLeftByLastDrill([previous as never, record])?.drill).toBe('drill-faults-left-stopped');
  });

  it('with revertsChecked the faults go on, and the record says a person checked', { timeout: 180_000 }, async () => {
    override.drillProbeActivity = async () => ({ green: true, at: new Date().toISOString(), detail: 'green (stub)' });
    const record = await run('drill-faults-checked', { revertsChecked: true });
    expect(calls).toContain('drillApplyFaultActivity');
    expect(record.faults.map((f) => f.fault.kind)).toEqual(['zookeeper-chroot']);
    expect(notes(record)).toEqual(
      expect.arrayContaining([`faults left in place: drill ${PREV} did not revert the chroot /kafka-standby deleted (restore): no ZooKeeper answer within 30 s; a person checked the target (revertsChecked): the drill goes on`]),
    );
    expect(record.skipped).toBeUndefined();
    expect(record.problems.filter((p) => p.drill === 'drill-faults-checked' && p.evidence === REVERT_EVIDENCE)).toEqual([]);
    expect(faultsLeftByLastDrill([previous as never, record])).toBeNull();
  });

  it('a tabletop touches nothing anyway: it goes on and carries what is left', { timeout: 180_000 }, async () => {
    override.drillHistoryActivity = async () => [previous];
    const record = (await server.execute(server.env, 'drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'drill-faults-left-tabletop',
      args: [{ spec: drillSpec, scenario: 'cluster-lost', type: 'tabletop' }],
    })) as DrillRecord;
    expect(calls).not.toContain('drillApplyFaultActivity');
    expect(notes(record).filter((n) => n.startsWith('no fault applied: '))).toEqual([]);
    expect(record.phases.map((p) => p.name)).toEqual(['prepare', 'start', 'execute', 'verify', 'review']);
    expect(faultsLeftByLastDrill([previous as never, record])?.drill).toBe('drill-faults-left-tabletop');
  });
});
