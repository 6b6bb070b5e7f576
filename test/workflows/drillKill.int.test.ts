/**
 * A drill whose worker is SIGKILLed after the fault still reverts: a full cluster-lost drill on the
 * lab's staging cluster (the standby, a repository of the test's own) runs on a real `lifeboat worker`
 * process; once every fault is applied (the drill's status query says so) that worker is SIGKILLed and
 * a new one started. Temporal resumes the drill on it: the recovery finishes, every fault is reverted,
 * the record is saved, and the target's inventory is as before the drill.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCluster } from '../../lab/topology';
import { startBroker } from '../../lab/lab';
import type { ClusterSpec } from '../../src/config/spec';
import { poll } from '../../src/core/poll';
import { listDrillRecords } from '../../src/drills/history';
import { DRILL_STATUS_QUERY, drillWorkflowId } from '../../src/drills/ids.pure';
import { takeInventory } from '../../src/drills/inventory';
import { inventoryDiff } from '../../src/drills/inventory.pure';
import type { DrillStatus } from '../../src/drills/plan.pure';
import type { DrillRecord } from '../../src/drills/records';
import { openRepositoryForSpec } from '../../src/repository';
import { TASK_QUEUE } from '../../src/temporal/connection';
import { connectTemporal, type TemporalClient } from '../../src/temporal/runs';
import { standbySpec, topo, unique } from '../support/lab';
import { killWorker, startWorker, workerBundle } from '../support/worker';

describe('drill with its worker SIGKILLed after the fault', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-drill-kill-'));
  const bundle = join(dir, 'workflows.js');
  const lab = standbySpec();
  const spec: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
  const broker = findCluster(topo, 'standby').brokers[0]!;
  const hostArgs = [...new Set(spec.brokers.map((b) => b.host))].flatMap((h) => ['--host', h]);
  let t: TemporalClient;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    t = await connectTemporal();
    await workerBundle(bundle);
  }, 120_000);

  afterAll(async () => {
    killWorker(worker);
    await startBroker(topo, broker, () => {}).catch(() => undefined);
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('resumes on a new worker and reverts every fault; the inventory is as before', { timeout: 360_000 }, async () => {
    const before = await takeInventory(spec, 'test');
    worker = await startWorker(bundle, hostArgs);
    const id = `${drillWorkflowId(spec.name, 'cluster-lost', new Date().toISOString())}-${unique('kill')}`;
    const handle = await t.client.workflow.start('drill', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ spec, scenario: 'cluster-lost', type: 'full', probeIntervalSeconds: 2 }] });

    // Every fault applied: the target is down and the recovery about to run.
    const status = await poll(
      async () => {
        const s = await handle.query<DrillStatus>(DRILL_STATUS_QUERY);
        return s.faults.length === 3 && s.faults.every((f) => f.applied) ? s : undefined;
      },
      { what: 'the drill to apply its faults', timeoutMs: 180_000, intervalMs: 200 },
    );
    expect(status.reverts).toEqual([]);
    killWorker(worker);
    worker = await startWorker(bundle, hostArgs);

    const record = (await handle.result()) as DrillRecord;
    const why = JSON.stringify(record.phases, null, 1);
    expect(record.phases.map((p) => p.name), why).toEqual(['prepare', 'start', 'execute', 'verify', 'review']);
    // Each fault applied once (the record kept across the kill) and reverted once.
    expect(record.faults.map((f) => f.fault.kind)).toEqual(['broker-kill', 'broker-disk', 'zookeeper-chroot']);
    expect(record.reverts.map((r) => r.fault.kind), why).toEqual(['zookeeper-chroot', 'broker-disk', 'broker-kill']);
    expect(record.score.total).toBeGreaterThan(0);
    expect(record.evidence.times?.firstGreenProbeAt, why).toBeTruthy();

    const saved = await listDrillRecords(await openRepositoryForSpec(spec), spec.name);
    expect(saved.records.map((r) => r.id)).toContain(id);
    const after = await takeInventory(spec, 'test');
    expect(inventoryDiff(before, after)).toEqual([]);
    expect(record.inventoryDifferences).toEqual([]);
  });
});
