/**
 * A drill on a target with a broker no Lifeboat agent serves (its host queue has no worker), in skipped
 * time with stub activities: neither the fault there nor its revert is waited for forever. A fault no
 * agent took did nothing, so it is not reverted; a revert no agent takes is a REVERT FAILED naming the
 * agent to start. Either way the drill ends and lets its lock go. The test server stops skipping time
 * while an activity waits in its queue: the waits (a few seconds, a revert's five times as long) are real time.
 */
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { faultsLeftByLastDrill } from '../../src/drills/problems.pure';
import type { DrillRecord } from '../../src/drills/records';
import { CONTROL_TASK_QUEUE, hostTaskQueue } from '../../src/temporal/taskQueues.pure';
import { drillSpec, drillStubs } from './support/drillStubs';
import { override } from './support/recoveryStubs';
import { stubbedServer } from './support/stubbedServer';

const calls: string[] = [];
/** Broker 3's host: no stub worker polls its queue. */
const spec = { ...drillSpec, brokers: [...drillSpec.brokers, { ...drillSpec.brokers[1]!, id: 3, host: 'fallback-broker-3' }] };
const NO_AGENT = (seconds: number) => `no Lifeboat agent took it from the queue lifeboat-host-fallback-broker-3 within ${seconds} s: is 'lifeboat worker --host fallback-broker-3' running on fallback-broker-3?`;
type Fault = { kind: string; brokerId?: number };

describe('a drill on a target where a broker has no agent', () => {
  const server = stubbedServer(calls, drillStubs as never);
  const applied: string[] = [];
  const reverted: string[] = [];
  const of = (f: Fault) => `${f.kind} ${f.brokerId}`;
  const stubFaults = () => {
    applied.length = 0;
    reverted.length = 0;
    override.drillApplyFaultActivity = async (input: { fault: Fault }) => {
      if (input.fault.brokerId !== undefined) applied.push(of(input.fault));
      return { fault: input.fault, at: new Date().toISOString(), detail: `${input.fault.kind} (stub)` };
    };
    override.drillRevertFaultActivity = async (input: { applied: { fault: Fault }; mode: string }) => {
      if (input.applied.fault.brokerId !== undefined) reverted.push(of(input.applied.fault));
      return { fault: input.applied.fault, mode: input.mode, alreadyDone: false, detail: 'reverted (stub)' };
    };
  };
  const run = (workflowId: string, agentWaitSeconds: number) =>
    server.execute(server.env, 'drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [{ spec, scenario: 'cluster-lost', type: 'full', useNewestSet: true, agentWaitSeconds }],
    }) as Promise<DrillRecord>;

  it('a fault no agent took fails the drill, is not reverted (it did nothing), and leaves nothing for the next drill', { timeout: 180_000 }, async () => {
    stubFaults();
    const record = await run('drill-no-agent', 2);
    const notes = record.phases.flatMap((p) => p.notes);
    const why = notes.join('\n');
    // The kills are the first stage: broker 3's failing stopped the drill before the disks.
    expect(applied.sort(), why).toEqual(['broker-kill 1', 'broker-kill 2']);
    expect(reverted.sort(), why).toEqual(['broker-kill 1', 'broker-kill 2']);
    expect(notes, why).toContain('not reverted: broker 3 killed: no agent took its apply, which did nothing');
    expect(notes.filter((n) => n.startsWith('REVERT FAILED')), why).toEqual([]);
    expect(record.problems.map((p) => p.title), why).toContain(`the drill failed in its start phase: broker 3 killed: ${NO_AGENT(2)}`);
    expect(calls).toContain('drillUnlockActivity');
    expect(faultsLeftByLastDrill([record])).toBeNull();
  });

  it('a revert no agent takes (the agent went after the apply) is a REVERT FAILED naming it, and the drill ends', { timeout: 180_000 }, async () => {
    stubFaults();
    // Broker 3's agent applies its kill, then goes away. The kills are one stage: brokers 1's and 2's end only
    // once the agent has stopped, so the next stage (the disks) finds no agent on broker 3.
    const agent: Worker = await Worker.create({
      connection: server.env.nativeConnection,
      taskQueue: hostTaskQueue('fallback-broker-3'),
      shutdownGraceTime: '10 seconds',
      activities: {
        drillApplyFaultActivity: async (input: { fault: Fault }) => {
          applied.push(of(input.fault));
          if (agent.getState() === 'RUNNING') agent.shutdown();
          return { fault: input.fault, at: new Date().toISOString(), detail: `${input.fault.kind} (stub)` };
        },
      },
    });
    override.drillApplyFaultActivity = async (input: { fault: Fault }) => {
      if (input.fault.brokerId !== undefined) applied.push(of(input.fault));
      for (let i = 0; i < 600 && input.fault.kind === 'broker-kill' && agent.getState() !== 'STOPPED'; i++) await new Promise((r) => setTimeout(r, 50));
      return { fault: input.fault, at: new Date().toISOString(), detail: `${input.fault.kind} (stub)` };
    };
    const agentRun = agent.run();
    try {
      const record = await run('drill-agent-gone', 5);
      const notes = record.phases.flatMap((p) => p.notes);
      const why = notes.join('\n');
      // Broker 3's disk fault, after its kill, found no agent either: it did nothing and is not reverted.
      expect(applied.sort(), why).toEqual(['broker-disk 1', 'broker-disk 2', 'broker-kill 1', 'broker-kill 2', 'broker-kill 3']);
      expect(reverted.sort(), why).toEqual(['broker-disk 1', 'broker-disk 2', 'broker-kill 1', 'broker-kill 2']);
      expect(notes, why).toContain("not reverted: broker 3's log dirs moved aside: no agent took its apply, which did nothing");
      expect(notes.filter((n) => n.startsWith('REVERT FAILED')), why).toEqual([`REVERT FAILED: broker 3 killed (restore): ${NO_AGENT(25)}`]);
      expect(calls).toContain('drillUnlockActivity');
      // What it could not revert stops the next drill.
      expect(faultsLeftByLastDrill([record])?.drill).toBe('drill-agent-gone');
    } finally {
      if (agent.getState() === 'RUNNING') agent.shutdown();
      await agentRun;
    }
  });
});
