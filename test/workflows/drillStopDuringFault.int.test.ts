/**
 * A stop while a fault is being applied (issue 16's "a drill stopped anywhere reverts"): the review
 * must not revert a fault whose apply is still running, or the apply lands after its revert found
 * nothing to undo (a chroot deleted after "no export was taken: nothing was deleted"). In skipped
 * time with stub activities: the first fault's apply takes a second and ignores the cancellation.
 */
import { describe, expect, it } from 'vitest';
import type { DrillRecord } from '../../src/drills/records';
import { DRILL_STOP_SIGNAL } from '../../src/drills/ids.pure';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import { drillSpec, drillStubs } from './support/drillStubs';
import { override } from './support/recoveryStubs';
import { stubbedServer } from './support/stubbedServer';

const calls: string[] = [];

describe('a drill stopped while a fault is applied', () => {
  const server = stubbedServer(calls, drillStubs as never);

  it('reverts that fault only once its apply has ended', async () => {
    const events: string[] = [];
    let started!: () => void;
    const applying = new Promise<void>((r) => (started = r));
    override.drillApplyFaultActivity = async (input: { fault: { kind: string } }) => {
      events.push(`apply ${input.fault.kind}`);
      started();
      // The destructive step, which a cancellation does not interrupt.
      await new Promise((r) => setTimeout(r, 1500));
      events.push(`applied ${input.fault.kind}`);
      return { fault: input.fault, at: new Date().toISOString(), detail: `${input.fault.kind} (stub)` };
    };
    override.drillRevertFaultActivity = async (input: { applied: { fault: { kind: string } }; mode: string }) => {
      events.push(`revert ${input.applied.fault.kind}`);
      return { fault: input.applied.fault, mode: input.mode, alreadyDone: false, detail: 'reverted (stub)' };
    };
    const workflowId = 'stop-during-fault';
    const run = server.env.client.workflow.execute('drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [{ spec: drillSpec, scenario: 'cluster-lost', type: 'full', useNewestSet: true }],
    }) as Promise<DrillRecord>;
    await applying;
    await server.env.client.workflow.getHandle(workflowId).signal(DRILL_STOP_SIGNAL, { by: 'test', reason: 'stop mid-fault' });
    const record = await run;
    // Every fault begun (a kill per broker, at once) was reverted, and only after its apply ended; nothing else was applied.
    const why = events.join(', ');
    const applied = events.filter((e) => e.startsWith('applied '));
    const reverts = events.filter((e) => e.startsWith('revert '));
    expect(applied.length, why).toBeGreaterThan(0);
    expect(events.filter((e) => e.startsWith('apply ')).length, why).toBe(applied.length);
    expect(reverts.map((r) => r.replace('revert ', '')).sort(), why).toEqual(applied.map((a) => a.replace('applied ', '')).sort());
    expect(events.findIndex((e) => e.startsWith('revert ')), why).toBeGreaterThan(events.lastIndexOf(applied.at(-1)!));
    expect(record.improvements, why).toEqual(expect.arrayContaining([expect.stringMatching(/^stopped: .*stop mid-fault/)]));
  });
});
