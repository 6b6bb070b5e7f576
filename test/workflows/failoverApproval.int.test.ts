/**
 * The failover's approval timeout per policy, in skipped time (Temporal's time-skipping test
 * server; the activities are stubs that record their calls, the workflow is the real one):
 * `stand-down` ends the run at the timeout with nothing promoted; `proceed` goes on at the timeout,
 * says so in the report and promotes; `escalate` keeps waiting, a problem line per period, until
 * someone approves. And a listing of the primary's groups that did not settle (the groups
 * activity's warnings) reaches the report's problems.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LifeboatActivities } from '../../activities';
import { parseSpec } from '../../src/config/spec';
import type { PromotionHold } from '../../src/failover/ids.pure';
import type { ClusterObservation, StandbyObservation } from '../../src/failover/types';
import { TASK_QUEUE } from '../../src/temporal/connection';
import type { FailoverResult } from '../../workflows/failover';
import type { RunStatus } from '../../workflows/support/tracker';
import { timeSkippingEnvironment, workflowBundle } from './support/timeSkipping';

const spec = (name: string, port: number) =>
  parseSpec({
    name,
    kafka: { bootstrapServers: [`127.0.0.1:${port}`] },
    zookeeper: { connect: '127.0.0.1:2', chroot: `/${name}` },
    brokers: [{ id: 1, host: `${name}-broker-1`, logDirs: [`/nonexistent/${name}`], configDir: `/nonexistent/${name}/config`, control: { type: 'systemd', unit: 'kafka' } }],
  });
const primary = spec('gate-p', 1);
const standby = spec('gate-s', 3);

const calls: string[] = [];
/** The failover that holds the primary's promotion, if another does; and whether it did before the approval (else it took it meanwhile). */
let heldBy: string | undefined;
let heldBefore = true;
/** What failoverGroupMovesActivity answers (a run from before listing warnings got the moves alone). */
let groupMoves: unknown = [];
const down = (): ClusterObservation => ({ cluster: primary.name, at: new Date().toISOString(), brokers: [{ id: 1, listener: '127.0.0.1:1', reachable: false }], offline: [], criticalOffline: [], underMinIsr: [], reachable: false });
const ready = (): StandbyObservation => ({
  cluster: standby.name,
  healthy: true,
  brokersUp: 1,
  brokersTotal: 1,
  mirror: { workflowId: 'mirror-gate-p-to-gate-s', running: true, lagRecords: 0, lastPositionAt: Date.now(), topics: ['orders'] },
  problems: [],
});
const stubs: Partial<Record<keyof LifeboatActivities, (...args: never[]) => Promise<unknown>>> = {
  observeClusterActivity: async () => down(),
  observeStandbyActivity: async () => ready(),
  newestVerifiedSetActivity: async () => ({}),
  fencePrimaryActivity: async () => ({ via: 'zookeeper', topics: ['orders'], acls: [{ resourceName: 'orders' }] }),
  failoverDivergenceActivity: async () => ({
    pair: 'gate-p-to-gate-s',
    primary: primary.name,
    standby: standby.name,
    from: 'disk',
    partitions: [{ topic: 'orders', partition: 0, primaryEnd: 10, mirrored: 7, notMirrored: 3, from: 'disk' }],
    totals: { partitions: 1, notMirrored: 3, aborted: 0, open: 0, unknown: 0 },
    at: new Date().toISOString(),
  }),
  failoverGroupMovesActivity: async () => groupMoves,
  // The standby carries no write fence of an earlier cut-over.
  liftStandbyFencesActivity: async () => ({ topics: [], acls: [] }),
  produceConsumeProbeActivity: async () => ({ topic: 'probe', produced: 10, consumed: 10, partitions: 3, produceMs: 1, roundTripMs: 2, ok: true }),
  // The promotion hold (src/failover/promotion.ts; its Temporal side is tested in promotion.int): taken unless `heldBy` has it.
  promotionHeldActivity: async () => (heldBy && heldBefore ? { primary: primary.name, standby: standby.name, holder: heldBy, since: '2026-12-06T00:00:00.000Z' } : null),
  takePromotionActivity: async (want: Omit<PromotionHold, 'since'>) => {
    const hold = { ...want, since: '2026-12-06T00:00:00.000Z' };
    return heldBy && heldBy !== want.holder ? { taken: false, held: { ...hold, holder: heldBy, holderRunId: 'another-run' } } : { taken: true, hold };
  },
};
const recording = Object.fromEntries(
  [...Object.keys(stubs), 'commitGroupsActivity', 'runSwitchHookActivity', 'registryDegradeActivity', 'startBrokerActivity'].map((name) => [
    name,
    async (...args: never[]) => {
      calls.push(name);
      const stub = stubs[name as keyof LifeboatActivities];
      if (stub) return stub(...args);
      throw ApplicationFailure.nonRetryable(`${name} reached (not stubbed)`, 'StubStoppedHere');
    },
  ]),
);

describe('failover approval timeout in skipped time', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<unknown>;

  beforeAll(async () => {
    env = await timeSkippingEnvironment();
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, activities: recording, workflowBundle: await workflowBundle() });
    running = worker.run();
  }, 120_000);

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  beforeEach(() => {
    calls.length = 0;
    groupMoves = [];
    heldBy = undefined;
    heldBefore = true;
  });

  const start = (workflowId: string, policy: Record<string, unknown>) =>
    env.client.workflow.start('failover', { taskQueue: TASK_QUEUE, workflowId, args: [{ primary: { spec: primary }, standby: { spec: standby }, policy: { confirmProbes: 2, confirmIntervalSeconds: 5, repairBudgetMinutes: 0, degradationLevel: 0, approvalTimeoutMinutes: 30, ...policy } }] });

  async function atTheGate(workflowId: string): Promise<RunStatus> {
    const handle = env.client.workflow.getHandle(workflowId);
    for (const until = Date.now() + 60_000; Date.now() < until; ) {
      const status = await handle.query<RunStatus>('status');
      if (status.awaitingApproval) return status;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${workflowId} never reached its approval gate`);
  }

  it('stand-down: no answer in 30 minutes stands the run down, nothing promoted', { timeout: 120_000 }, async () => {
    const handle = await start('fo-gate-stand-down', { onApprovalTimeout: 'stand-down' });
    expect((await atTheGate('fo-gate-stand-down')).awaitingApproval?.safeDefault).toBe('reject');
    const r = (await handle.result()) as FailoverResult;
    expect(r.status.outcome).toBe('stood down');
    expect(r.report.outcome).toBe('rejected');
    expect(r.status.reason).toBe('approval for "approve" timed out; nothing was changed');
    expect(r.status.pointOfNoReturn).toBe(false);
    // Reads only (the probes, the backup set, who holds the promotion).
    expect(calls.filter((c) => !c.startsWith('observe') && c !== 'newestVerifiedSetActivity' && c !== 'promotionHeldActivity')).toEqual([]);
  });

  it('proceed: at the timeout the policy goes on, the report says so, the standby is promoted', { timeout: 120_000 }, async () => {
    const handle = await start('fo-gate-proceed', { onApprovalTimeout: 'proceed' });
    expect((await atTheGate('fo-gate-proceed')).awaitingApproval?.safeDefault).toBe('proceed');
    const r = (await handle.result()) as FailoverResult;
    expect(r.status.outcome, r.report.problems.join('; ')).toBe('failed over');
    expect(r.status.approval).toMatchObject({ proceededOnTimeout: true, approvedBy: [] });
    expect(r.report.problems).toContain('no approval for "approve" within 30 min: the policy proceeds without one');
    expect(r.status.mirror?.stopped).toBe('not running');
    expect(r.status.notMirroredTotal).toBe(3);
    expect(calls).toEqual(expect.arrayContaining(['fencePrimaryActivity', 'failoverDivergenceActivity', 'produceConsumeProbeActivity']));
  });

  it('a primary whose promotion another failover holds: stood down before the approval is asked, nothing stopped, fenced or moved', { timeout: 120_000 }, async () => {
    heldBy = 'failover-gate-p-first';
    const r = (await (await start('fo-gate-held', { onApprovalTimeout: 'proceed' })).result()) as FailoverResult;
    expect(r.status.outcome).toBe('stood down');
    expect(r.report.outcome).toBe('failed');
    expect(r.status.reason).toMatch(/^another failover holds gate-p's promotion, nothing was changed: gate-p was failed over to gate-s by failover-gate-p-first \(since .*\).*lifeboat failback --primary gate-p.*lifeboat failover release --cluster gate-p$/);
    expect(r.status.approval).toBeUndefined();
    expect(r.report.steps.find((s) => s.name === 'approve')?.status).toBe('skipped');
    expect(r.status.pointOfNoReturn).toBe(false);
    expect(calls).toContain('promotionHeldActivity');
    expect(calls.filter((c) => ['takePromotionActivity', 'fencePrimaryActivity', 'failoverDivergenceActivity', 'commitGroupsActivity', 'runSwitchHookActivity'].includes(c))).toEqual([]);
  });

  it('another failover takes the promotion while this one waits for its approval: stood down at the hold, nothing stopped, fenced or moved', { timeout: 120_000 }, async () => {
    heldBy = 'failover-gate-p-first';
    heldBefore = false;
    const r = (await (await start('fo-gate-held-later', { onApprovalTimeout: 'proceed' })).result()) as FailoverResult;
    expect(r.status.outcome).toBe('stood down');
    expect(r.status.reason).toMatch(/^another failover holds gate-p's promotion, nothing was changed: gate-p was failed over to gate-s by failover-gate-p-first/);
    expect(r.status.approval).toMatchObject({ proceededOnTimeout: true });
    expect(r.status.pointOfNoReturn).toBe(false);
    for (const step of ['stop-mirror', 'fence', 'groups', 'hooks']) expect(r.report.steps.find((s) => s.name === step)?.status, step).toBe('skipped');
    expect(calls).toEqual(expect.arrayContaining(['promotionHeldActivity', 'takePromotionActivity']));
    expect(calls.filter((c) => ['fencePrimaryActivity', 'failoverDivergenceActivity', 'commitGroupsActivity', 'runSwitchHookActivity'].includes(c))).toEqual([]);
  });

  it("a listing of the primary's groups that did not settle is a problem in the report", { timeout: 120_000 }, async () => {
    groupMoves = { moves: [], warnings: ['the coordinators of __consumer_offsets moved during each of 5 listings of the groups (brokers restarting, leaders rebalancing?): groups may be missing'] };
    const r = (await (await start('fo-gate-listing', { onApprovalTimeout: 'proceed' })).result()) as FailoverResult;
    expect(r.status.outcome, r.report.problems.join('; ')).toBe('failed over');
    expect(r.report.problems).toContain(
      'listing the groups of gate-p: the coordinators of __consumer_offsets moved during each of 5 listings of the groups (brokers restarting, leaders rebalancing?): groups may be missing; a group missed is not moved: on gate-s it has only offsets it committed there itself (none: its consumers start by their auto.offset.reset); name the groups to move them',
    );
    expect(calls).toContain('failoverGroupMovesActivity');
  });

  it('escalate: a problem line per period and the step `escalated`, waiting on until approved', { timeout: 120_000 }, async () => {
    const handle = await start('fo-gate-escalate', { onApprovalTimeout: 'escalate', approvers: 2 });
    await atTheGate('fo-gate-escalate');
    // Let three periods pass in skipped time.
    await env.sleep('95 minutes');
    const waiting = await handle.query<RunStatus>('status');
    expect(waiting.step).toBe('escalated');
    expect(waiting.awaitingApproval).toMatchObject({ safeDefault: 'escalate', escalations: 3 });
    expect(waiting.problems.filter((p) => /escalated \(\d×\), still waiting/.test(p))).toHaveLength(3);
    expect(calls).not.toContain('fencePrimaryActivity');
    await handle.executeUpdate('approve', { args: [{ approve: true, by: 'alice' }] });
    await handle.executeUpdate('approve', { args: [{ approve: true, by: 'bob' }] });
    const r = (await handle.result()) as FailoverResult;
    expect(r.status.outcome).toBe('failed over');
    expect(r.status.approval).toMatchObject({ approvedBy: ['alice', 'bob'], escalations: 3 });
  });
});
