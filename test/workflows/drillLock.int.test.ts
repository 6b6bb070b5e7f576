/**
 * The drill's lock in skipped time with stub activities (the lock's Temporal side: test/drills/lock.int):
 * a drill that finds the cluster's lock held by another drill is recorded as skipped and touches
 * nothing; one that takes it (an activity) ends it (a local activity) once its record is saved.
 */
import { describe, expect, it } from 'vitest';
import type { DrillRecord } from '../../src/drills/records';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import { drillSpec, drillStubs } from './support/drillStubs';
import { override } from './support/recoveryStubs';
import { stubbedServer } from './support/stubbedServer';

const calls: string[] = [];

describe('one drill at a time on a cluster', () => {
  const server = stubbedServer(calls, drillStubs as never);
  const tabletop = (workflowId: string) =>
    server.env.client.workflow.execute('drill', { taskQueue: CONTROL_TASK_QUEUE, workflowId, args: [{ spec: drillSpec, scenario: 'cluster-lost', type: 'tabletop' }] }) as Promise<DrillRecord>;

  it('the lock held by another drill: skipped, recorded, nothing prepared or touched', { timeout: 120_000 }, async () => {
    override.drillLockActivity = async (want: unknown) => ({ taken: false, held: { ...(want as object), holder: 'drill-other-run', holderRunId: 'r', since: new Date().toISOString() } });
    const record = await tabletop('drill-lock-held');
    expect(record.skipped).toBe(`another drill runs on ${drillSpec.name}: drill-other-run`);
    expect(calls).toContain('drillLockActivity');
    expect(calls).toContain('drillSaveRecordActivity');
    for (const c of ['drillUnlockActivity', 'drillOthersRunningActivity', 'drillInventoryActivity', 'drillStreamTopicActivity', 'drillApplyFaultActivity']) expect(calls, c).not.toContain(c);
  });

  it('the lock taken: the drill runs and ends it once its record is made', { timeout: 120_000 }, async () => {
    const record = await tabletop('drill-lock-taken');
    expect(record.skipped).toBeUndefined();
    const lock = calls.indexOf('drillLockActivity');
    expect(lock).toBeGreaterThan(-1);
    expect(calls.indexOf('drillInventoryActivity')).toBeGreaterThan(lock);
    const unlock = calls.indexOf('drillUnlockActivity');
    // Ended after the record is saved (the next drill reads it), beside the last notice only.
    expect(unlock).toBeGreaterThan(calls.lastIndexOf('drillSaveRecordActivity'));
    expect(calls.slice(unlock + 1).filter((c) => c !== 'drillNotifyActivity')).toEqual([]);
    // Taken by an activity (its result comes in a workflow task of its own, see the test below), ended by a local one.
    const history = await server.env.client.workflow.getHandle('drill-lock-taken').fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));
    expect(scheduled).toContain('drillLockActivity');
    expect(scheduled).not.toContain('drillUnlockActivity');
    expect((history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length).toBeGreaterThanOrEqual(2);
    // Locked, the running drills are not looked at (one that lost the lock is still running while it records its skip).
    expect(calls).not.toContain('drillOthersRunningActivity');
  });

  // A rehearsal's drillKill (stop 39): the lock's local activity ended the first workflow task, the patch calls
  // right after its result went into the next task, and the worker that took the drill over could not replay
  // that (TMPRL1100, "patch marker encountered for change drill-refuse-faults-left"): the drill never ended. On
  // replay a local activity resolves from its marker before the next task's patches are known, so a patch
  // call right after one answers false. New drills take the lock with an activity: no patch marker follows a
  // local activity's marker.
  it('no patch marker follows a local activity\'s marker in a drill\'s history', { timeout: 120_000 }, async () => {
    await tabletop('drill-lock-shape');
    const events = (await server.env.client.workflow.getHandle('drill-lock-shape').fetchHistory()).events ?? [];
    const markers = events.flatMap((e) => (e.markerRecordedEventAttributes?.markerName ? [e.markerRecordedEventAttributes.markerName] : []));
    const firstLocal = markers.indexOf('core_local_activity');
    const patchesAfter = firstLocal < 0 ? [] : markers.slice(firstLocal).filter((m) => m === 'core_patch');
    expect(patchesAfter, markers.join(', ')).toEqual([]);
  });
});
