/**
 * A chaos drill on the lab's staging cluster (the standby, a repository of the test's own): the
 * cluster-lost faults, then a second fault — the broker killed — once the running recovery reaches
 * the step the plan chose (given here, `restore-data`, instead of the workflow's random pick). The
 * second fault is recorded and applied while that step runs, and reverted with the others.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerRunning, startBroker } from '../../lab/lab';
import { findCluster } from '../../lab/topology';
import type { ClusterSpec } from '../../src/config/spec';
import { drillWorkflowId } from '../../src/drills/ids.pure';
import { takeInventory } from '../../src/drills/inventory';
import { inventoryDiff } from '../../src/drills/inventory.pure';
import type { DrillRecord } from '../../src/drills/records';
import { TASK_QUEUE } from '../../src/temporal/connection';
import { standbySpec, topo, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';

describe('chaos drill', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-drill-chaos-'));
  const lab = standbySpec();
  const spec: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
  const broker = findCluster(topo, 'standby').brokers[0]!;
  let temporal: TestWorkers;
  let client: Client;

  beforeAll(async () => {
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
    client = temporal.client;
  }, 120_000);

  afterAll(async () => {
    if (!brokerRunning(topo, broker)) await startBroker(topo, broker, () => {}).catch(() => undefined);
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('kills the broker again when the recovery reaches its step, and reverts it with the others', { timeout: 300_000 }, async () => {
    const before = await takeInventory(spec, 'test');
    const id = `${drillWorkflowId(spec.name, 'cluster-lost', new Date().toISOString())}-${unique('chaos')}`;
    const record = (await client.workflow.execute('drill', {
      taskQueue: TASK_QUEUE,
      workflowId: id,
      args: [{ spec, scenario: 'cluster-lost', type: 'chaos', chaosStep: 'restore-data', probeIntervalSeconds: 2 }],
    })) as DrillRecord;
    const why = JSON.stringify(record.phases, null, 1);

    expect(record.type).toBe('chaos');
    expect(record.faults.map((f) => f.fault), why).toEqual([
      { kind: 'broker-kill', brokerId: 1 },
      { kind: 'broker-disk', brokerId: 1 },
      { kind: 'zookeeper-chroot' },
      { kind: 'broker-kill', brokerId: 1 },
    ]);
    // Applied while the recovery was at its step: after the step started (the step's record is the recovery's own).
    const step = record.evidence.process?.steps?.find((s) => s.id === 'restore-data');
    expect(step, why).toBeDefined();
    expect(Date.parse(record.faults[3]!.at)).toBeGreaterThanOrEqual(Date.parse(step!.startedAt));
    expect(record.phases.find((p) => p.name === 'execute')?.notes.some((n) => n.startsWith('chaos: broker 1 killed at step restore-data'))).toBe(true);
    // A chaos drill verifies for itself (its second fault landed inside the recovery): the recovery's verification is not taken.
    const verifyNotes = record.phases.find((p) => p.name === 'verify')?.notes ?? [];
    expect(verifyNotes.some((n) => n.startsWith('verifyCluster')), why).toBe(true);
    expect(verifyNotes.some((n) => n.startsWith('verifyCluster not run again')), why).toBe(false);
    // Every fault reverted, the chaos one first.
    expect(record.reverts.map((r) => r.fault.kind)).toEqual(['broker-kill', 'zookeeper-chroot', 'broker-disk', 'broker-kill']);
    expect(brokerRunning(topo, broker)).toBe(true);
    expect(inventoryDiff(before, await takeInventory(spec, 'test'))).toEqual([]);
  });
});
