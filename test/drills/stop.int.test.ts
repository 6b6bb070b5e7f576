/**
 * `lifeboat drill stop --all` on the lab: two real drills run at once — a full cluster-lost drill on
 * the staging cluster (the standby) and a broker-killed drill on the primary (with
 * iKnowThisIsProduction), each with a repository of the test's own. While the standby's drill prepares:
 *  - drillOthersRunningActivity (visibility) lists the standby's drill for anyone else on that cluster;
 *  - a third drill started on the standby is recorded as skipped, naming the running one;
 *  - the running drill's LifeboatDrillRunning alert is up in the lab's Alertmanager.
 * Once its faults are applied, `lifeboat drill stop --all` signals both (visibility LifeboatKind=drill) and returns once
 * each has ended: every applied fault reverted (restore), the record saying who stopped it, the
 * brokers running again and the alert resolved.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillControlActivities } from '../../activities/drillControl';
import { activityDeps } from '../../activities/deps';
import { brokerRunning, startBroker } from '../../lab/lab';
import { alertmanagerUrls, findCluster } from '../../lab/topology';
import type { ClusterSpec } from '../../src/config/spec';
import { poll } from '../../src/core/poll';
import { DRILL_STATUS_QUERY, drillWorkflowId } from '../../src/drills/ids.pure';
import type { DrillStatus } from '../../src/drills/plan.pure';
import type { DrillRecord } from '../../src/drills/records';
import { waitForBrokerInIsr } from '../../src/kafka/cluster';
import { TASK_QUEUE } from '../../src/temporal/connection';
import { endClusterAlerts } from '../support/alertmanager';
import { lifeboat } from '../support/cli';
import { primarySpec, standbySpec, topo, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';

describe('lifeboat drill stop --all', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-drill-stop-'));
  const own = (s: ClusterSpec, name: string): ClusterSpec => ({ ...s, repository: { ...s.repository!, path: join(dir, name) }, offsiteRepository: undefined });
  const standby = own(standbySpec(), 'standby-repo');
  const primary = own(primarySpec(), 'primary-repo');
  const labBrokers = [...findCluster(topo, 'standby').brokers, ...findCluster(topo, 'primary').brokers];
  const am = alertmanagerUrls(topo)[0]!;
  const savedUrls = process.env.LIFEBOAT_ALERTMANAGER_URLS;
  let temporal: TestWorkers;
  let client: Client;
  const idOf = (spec: ClusterSpec, scenario: string) => `${drillWorkflowId(spec.name, scenario, new Date().toISOString())}-${unique('stop')}`;
  const start = (workflowId: string, input: Record<string, unknown>) => client.workflow.start('drill', { taskQueue: TASK_QUEUE, workflowId, args: [{ probeIntervalSeconds: 2, ...input }] });
  const status = (h: WorkflowHandle) => h.query<DrillStatus>(DRILL_STATUS_QUERY);

  beforeAll(async () => {
    // The in-process worker's drills notify the lab's Alertmanagers.
    process.env.LIFEBOAT_ALERTMANAGER_URLS = alertmanagerUrls(topo).join(',');
    temporal = await startTestWorkers({ hosts: [...new Set([...standby.brokers, ...primary.brokers].map((b) => b.host))] });
    client = temporal.client;
  }, 120_000);

  afterAll(async () => {
    // Whatever happened, every lab broker is left running and the primary's ISRs full.
    for (const b of labBrokers) if (!brokerRunning(topo, b)) await startBroker(topo, b, () => {}).catch(() => undefined);
    for (const b of primarySpec().brokers) await waitForBrokerInIsr(primarySpec(), b.id, { timeoutMs: 120_000 }).catch(() => undefined);
    await temporal?.stop();
    if (savedUrls === undefined) delete process.env.LIFEBOAT_ALERTMANAGER_URLS;
    else process.env.LIFEBOAT_ALERTMANAGER_URLS = savedUrls;
    await endClusterAlerts(standby.name);
    await endClusterAlerts(primary.name);
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it('ends both running drills, each reverted, within seconds of the signal', { timeout: 300_000 }, async () => {
    const aId = idOf(standby, 'cluster-lost');
    const bId = idOf(primary, 'broker-killed');
    const a = await start(aId, { spec: standby, scenario: 'cluster-lost', type: 'full' });
    const b = await start(bId, { spec: primary, scenario: 'broker-killed', type: 'full', iKnowThisIsProduction: true });

    // While the standby's drill prepares:
    // visibility: the standby's drill is another drill for anyone else there, not for itself.
    const others = (self: string) =>
      new MockActivityEnvironment({}, { client }).run(drillControlActivities(activityDeps()).drillOthersRunningActivity, { cluster: standby.name, selfWorkflowId: self }) as Promise<string[]>;
    expect(await poll(async () => ((await others('someone-else')).includes(aId) ? true : undefined), { what: 'the drill in visibility', timeoutMs: 30_000, intervalMs: 250 })).toBe(true);
    expect(await others(aId)).toEqual([]);

    // People were told: the standby drill's alert is up.
    const alerts = async (drill: string) =>
      ((await (await fetch(`${am}/api/v2/alerts?filter=${encodeURIComponent(`drill="${drill}"`)}`)).json()) as { labels: Record<string, string> }[]).map((x) => x.labels);
    await poll(async () => ((await alerts(aId)).length ? true : undefined), { what: "the standby drill's alert", timeoutMs: 60_000, intervalMs: 250 });
    expect(await alerts(aId)).toEqual([expect.objectContaining({ alertname: 'LifeboatDrillRunning', cluster: standby.name, drill: aId, scenario: 'cluster-lost', severity: 'info' })]);

    // A third drill on the standby (started once the first has looked for others: it notified after that) is recorded as skipped, naming the running one.
    const cId = idOf(standby, 'broker-killed');
    const skipped = (await client.workflow.execute('drill', { taskQueue: TASK_QUEUE, workflowId: cId, args: [{ spec: standby, scenario: 'cluster-lost', type: 'tabletop' }] })) as DrillRecord;
    expect(skipped.skipped).toContain(aId);

    // The standby is down: every fault of its drill applied.
    await poll(
      async () => {
        const s = await status(a);
        return s.faults.length > 0 && s.faults.every((f) => f.applied) ? s : undefined;
      },
      { what: "the standby drill's faults", timeoutMs: 180_000, intervalMs: 250 },
    );
    expect((await b.describe()).status.name).toBe('RUNNING');

    const t0 = Date.now();
    const r = await lifeboat('drill', 'stop', '--all', '--reason', 'stop test', '--json');
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    const outcomes = JSON.parse(r.stdout) as { workflowId: string; status: string; signalled: boolean; tookMs: number; reverts?: { fault: string; mode: string }[] }[];
    expect(outcomes.map((o) => o.workflowId).sort()).toEqual([aId, bId].sort());
    for (const o of outcomes) {
      expect(o, JSON.stringify(o)).toMatchObject({ status: 'completed', signalled: true });
      expect(o.tookMs).toBeLessThan(90_000);
    }
    // The CLI's --all found them through visibility and waited for both to end.
    expect((await a.describe()).status.name).toBe('COMPLETED');
    expect((await b.describe()).status.name).toBe('COMPLETED');
    console.log(`drill stop --all: ${took} ms (${outcomes.map((o) => `${o.workflowId} ${o.tookMs} ms`).join(', ')})`);

    for (const h of [a, b]) {
      const record = (await h.result()) as DrillRecord;
      const why = JSON.stringify({ faults: record.faults, reverts: record.reverts, improvements: record.improvements });
      // Stopped before a verified recovery: every fault applied is put back as it was (and one stopped in flight is reverted too: it was recorded before it ran).
      const reverted = record.reverts.map((x) => JSON.stringify(x.fault));
      for (const f of record.faults) expect(reverted, why).toContain(JSON.stringify(f.fault));
      expect(record.reverts.every((x) => x.mode === 'restore'), why).toBe(true);
      expect(record.improvements.join('\n'), why).toMatch(/stopped: stopped by .*: stop test/);
      expect(await alerts(record.id)).toEqual([]);
    }
    // The standby's drill had all its faults applied: each reverted once, in the reverse order.
    const ra = (await a.result()) as DrillRecord;
    expect(ra.faults.length).toBeGreaterThan(0);
    expect(ra.reverts.map((x) => x.fault)).toEqual([...ra.faults].reverse().map((f) => f.fault));
    // Both clusters serve again.
    for (const br of labBrokers) expect(brokerRunning(topo, br), `${br.cluster}-${br.id}`).toBe(true);

    // Nothing running any more: --all says so.
    const none = await lifeboat('drill', 'stop', '--all');
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout.trim()).toBe('no drill running');
  });
});
