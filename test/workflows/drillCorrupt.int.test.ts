/**
 * The backup-corrupt drill on the lab's staging cluster (the standby, a repository of the test's
 * own): the set the drill's prepare makes is damaged, then the cluster is lost; the recovery must fall
 * back to the set before it. The score counts the fallback as one that worked; the damaged pack is
 * written back (always, whatever the outcome), so the set reads whole again afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCluster } from '../../lab/topology';
import { startBroker } from '../../lab/lab';
import type { ClusterSpec } from '../../src/config/spec';
import { drillWorkflowId } from '../../src/drills/ids.pure';
import type { DrillRecord } from '../../src/drills/records';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { chooseBackupSet } from '../../src/recovery/choose';
import { TASK_QUEUE } from '../../src/temporal/connection';
import type { BackupResult } from '../../workflows/backup';
import { consumeAll } from '../recovery/consume';
import { createTopicsReady, produce } from '../support/kafka';
import { standbySpec, topo, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';

describe('backup-corrupt drill', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-drill-corrupt-'));
  const lab = standbySpec();
  const spec: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
  const broker = findCluster(topo, 'standby').brokers[0]!;
  const topic = unique('drill-ledger');
  let temporal: TestWorkers;
  let client: Client;
  let older: BackupResult;

  beforeAll(async () => {
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
    client = temporal.client;
    await createTopicsReady(spec, [{ topic, numPartitions: 2, replicationFactor: 1 }]);
    await produce(spec, topic, Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `entry-${i}` })));
    // The set the recovery falls back to.
    older = (await client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId: unique('drill-corrupt-older'), args: [{ spec, skipRetention: true }] })) as BackupResult;
  }, 120_000);

  afterAll(async () => {
    await startBroker(topo, broker, () => {}).catch(() => undefined);
    await withAdmin(kafkaFor(spec), spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('falls back from the damaged newest set, scores the fallback as worked, and writes the damaged bytes back', { timeout: 300_000 }, async () => {
    const id = `${drillWorkflowId(spec.name, 'backup-corrupt', new Date().toISOString())}-${unique('t')}`;
    const record = (await client.workflow.execute('drill', {
      taskQueue: TASK_QUEUE,
      workflowId: id,
      args: [{ spec, scenario: 'backup-corrupt', type: 'full', probeIntervalSeconds: 2 }],
    })) as DrillRecord;
    const why = JSON.stringify({ phases: record.phases, deductions: record.score.deductions.map((d) => d.reason) }, null, 1);

    // The drill's own fresh set was the one damaged, and the recovery fell back from it.
    const corrupted = record.faults.find((f) => f.fault.kind === 'backup-corrupt')?.corrupted;
    expect(corrupted, why).toBeDefined();
    expect(corrupted!.setId).not.toBe(older.setId);
    const fallbacks = record.evidence.problems?.fallbacks ?? [];
    expect(fallbacks.length, why).toBeGreaterThan(0);
    expect(fallbacks.every((f) => f.worked), why).toBe(true);
    expect(fallbacks.some((f) => f.reason.includes(corrupted!.setId))).toBe(true);
    expect(record.score.deductions.filter((d) => d.check === 'fallback'), why).toEqual([]);
    expect(record.score.parts.recoveryTime.points, why).toBe(30);
    // The older set, complete before the stream began, holds none of it: the loss runs from that set's time to
    // the last acknowledged write (seconds: the set was made just before the drill), within the RPO.
    expect(record.evidence.data?.restoredSet?.id, why).toBe(older.setId);
    expect(record.score.parts.dataIntegrity.deductions.map((d) => d.finding), why).toEqual(['loss-within-rpo']);
    expect(record.score.parts.dataIntegrity.points, why).toBe(15);
    expect(record.rpoSeconds, why).toBeGreaterThan(0);
    expect(record.rpoSeconds!, why).toBeLessThan(15 * 60);

    // The pack is written back whatever the recovery did; the cluster's faults are dropped after a verified recovery.
    expect(record.reverts.map((r) => [r.fault.kind, r.mode])).toEqual([
      ['zookeeper-chroot', 'discard'],
      ['broker-disk', 'discard'],
      ['broker-kill', 'discard'],
      ['backup-corrupt', 'restore'],
    ]);
    const whole = await chooseBackupSet(spec, { setId: corrupted!.setId, verifyData: 'all' });
    expect(whole.set.setId).toBe(corrupted!.setId);
    expect(whole.rejected).toEqual([]);

    // The older set's data is back.
    expect((await consumeAll(spec, topic, 40)).length).toBe(40);
  });
});
