/**
 * A drill whose target has a broker no Lifeboat agent serves (its host queue has no worker), in
 * skipped time with stub activities (the agent's waits, 2 s and 10 s, in real time): the fault there is not waited for forever, nor its revert. The
 * drill fails, reverts what it applied, records the revert it could not make (REVERT FAILED, naming
 * the agent to start), lets its lock go and ends.
 */
import { describe, expect, it } from 'vitest';
import { faultsLeftByLastDrill } from '../../src/drills/problems.pure';
import type { DrillRecord } from '../../src/drills/records';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import { drillSpec, drillStubs } from './support/drillStubs';
import { override } from './support/recoveryStubs';
import { stubbedServer } from './support/stubbedServer';

const calls: string[] = [];
/** Broker 3's host runs no agent: no stub worker polls its queue. */
const spec = { ...drillSpec, brokers: [...drillSpec.brokers, { ...drillSpec.brokers[1]!, id: 3, host: 'fallback-broker-3' }] };
const NO_AGENT = (seconds: number) => `no Lifeboat agent took it from the queue lifeboat-host-fallback-broker-3 within ${seconds} s: is 'lifeboat worker --host fallback-broker-3' running on fallback-broker-3?`;

describe('a drill on a target where a broker has no agent', () => {
  const server = stubbedServer(calls, drillStubs as never);

  it('fails the fault there, reverts the others, records the revert it could not make and ends', { timeout: 180_000 }, async () => {
    const applied: number[] = [];
    const reverted: number[] = [];
    override.drillApplyFaultActivity = async (input: { fault: { kind: string; brokerId?: number } }) => {
      if (input.fault.brokerId !== undefined) applied.push(input.fault.brokerId);
      return { fault: input.fault, at: new Date().toISOString(), detail: `${input.fault.kind} (stub)` };
    };
    override.drillRevertFaultActivity = async (input: { applied: { fault: { brokerId?: number } }; mode: string }) => {
      if (input.applied.fault.brokerId !== undefined) reverted.push(input.applied.fault.brokerId);
      return { fault: input.applied.fault, mode: input.mode, alreadyDone: false, detail: 'reverted (stub)' };
    };
    const record = (await server.execute(server.env, 'drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'drill-no-agent',
      // The test server stops skipping time while an activity waits in its queue: the waits are short, in real time.
      args: [{ spec, scenario: 'cluster-lost', type: 'full', useNewestSet: true, agentWaitSeconds: 2 }],
    })) as DrillRecord;
    const notes = record.phases.flatMap((p) => p.notes);
    const why = notes.join('\n');
    expect(applied.sort(), why).toEqual([1, 2]);
    expect(reverted.sort(), why).toEqual([1, 2]);
    expect(notes.filter((n) => n.startsWith('REVERT FAILED')), why).toEqual([expect.stringContaining(NO_AGENT(10))]);
    expect(record.problems.map((p) => p.title), why).toEqual(expect.arrayContaining([expect.stringContaining(NO_AGENT(2))]));
    expect(calls).toContain('drillUnlockActivity');
    // What it could not revert stops the next drill.
    expect(faultsLeftByLastDrill([record])?.drill).toBe('drill-no-agent');
  });
});
