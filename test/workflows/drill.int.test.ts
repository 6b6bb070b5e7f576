/**
 * The drill workflow on the lab (issue 16): the standby cluster (environment staging, one broker)
 * with a repository of the test's own.
 *  - a production target (the lab's primary) is refused: one non-retryable InvalidInput line, nothing run;
 *  - a full cluster-lost drill end to end: the broker killed, its log dirs moved aside and the chroot
 *    deleted, fullClusterRecovery from the fresh set prepare made, RTO from the probe loop, RPO from
 *    the write stream, every fault reverted, the score and the record saved in the repository; the
 *    target's data and inventory as before;
 *  - a tabletop touches nothing: no fault, no stream, no set, the broker process untouched, the
 *    inventory identical.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, type Client, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCluster } from '../../lab/topology';
import { startBroker } from '../../lab/lab';
import { listBackupSets } from '../../src/backup/parts';
import type { ClusterSpec } from '../../src/config/spec';
import { listDrillRecords } from '../../src/drills/history';
import { DRILL_STREAM_SEEDED_SIGNAL, drillStreamTopic, drillWorkflowId } from '../../src/drills/ids.pure';
import { takeInventory } from '../../src/drills/inventory';
import { inventoryDiff } from '../../src/drills/inventory.pure';
import type { DrillRecord } from '../../src/drills/records';
import { scoreDrill } from '../../src/drills/score.pure';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { openRepositoryForSpec } from '../../src/repository';
import { TASK_QUEUE } from '../../src/temporal/connection';
import { consumeAll } from '../recovery/consume';
import { eventMs } from '../support/history';
import { createTopicsReady, produce } from '../support/kafka';
import { primarySpec, standbySpec, topo, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';

describe('drill workflow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-drill-'));
  const lab = standbySpec();
  const spec: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
  const broker = findCluster(topo, 'standby').brokers[0]!;
  const topic = unique('drill-orders');
  let temporal: TestWorkers;
  let client: Client;
  const drillId = (scenario: string) => `${drillWorkflowId(spec.name, scenario, new Date().toISOString())}-${unique('t')}`;
  const runDrill = (workflowId: string, input: Record<string, unknown>) =>
    client.workflow.execute('drill', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec, probeIntervalSeconds: 2, ...input }] }) as Promise<DrillRecord>;

  beforeAll(async () => {
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
    client = temporal.client;
    await createTopicsReady(spec, [{ topic, numPartitions: 2, replicationFactor: 1 }]);
    await produce(spec, topic, Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `order-${i}` })));
  }, 120_000);

  afterAll(async () => {
    // Whatever happened, the standby is left running.
    await startBroker(topo, broker, () => {}).catch(() => undefined);
    await withAdmin(kafkaFor(spec), spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('refuses a production target with one non-retryable InvalidInput line and runs nothing', async () => {
    const workflowId = drillId('refused');
    const err = await runDrill(workflowId, { spec: primarySpec(), scenario: 'cluster-lost', type: 'full' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidInput');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect(cause!.message).toMatch(/^cluster primary is marked environment: production: .*--i-know-this-is-production$/);
    expect(cause!.message).not.toContain('\n');
    // Not one activity or child was started.
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    expect(history.events?.filter((e) => e.activityTaskScheduledEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
  });

  it('a full cluster-lost drill on the staging cluster: faults applied and reverted, RTO and RPO measured, scored, the record saved', { timeout: 300_000 }, async () => {
    const before = await takeInventory(spec, 'test');
    const id = drillId('cluster-lost');
    const record = await runDrill(id, { scenario: 'cluster-lost', type: 'full' });
    const why = JSON.stringify({ phases: record.phases, deductions: record.score.deductions.map((d) => d.reason) }, null, 1);

    expect(record.id).toBe(id);
    expect(record.skipped).toBeUndefined();
    expect(record.phases.map((p) => p.name), why).toEqual(['prepare', 'start', 'execute', 'verify', 'review']);
    expect(record.faults.map((f) => f.fault.kind), why).toEqual(['broker-kill', 'broker-disk', 'zookeeper-chroot']);
    // A verified recovery: what the faults kept aside is dropped, in the reverse order.
    expect(record.reverts.map((r) => [r.fault.kind, r.mode])).toEqual([
      ['zookeeper-chroot', 'discard'],
      ['broker-disk', 'discard'],
      ['broker-kill', 'discard'],
    ]);

    // Measured: the fault, then the first green probe after it; the stream read back per partition and in ZooKeeper.
    const times = record.evidence.times!;
    expect(Date.parse(times.firstGreenProbeAt!)).toBeGreaterThan(Date.parse(times.faultAt!));
    expect(record.rtoSeconds).toBeGreaterThan(0);
    expect(record.rtoSeconds).toBeLessThan(300);
    expect(record.evidence.data?.partitions?.length).toBe(3);
    expect(record.evidence.data?.zookeeper).toBeDefined();
    // The set was made before the fault while the stream ran: what was acknowledged after it is lost, within the RPO.
    expect(record.rpoSeconds).not.toBeNull();
    expect(record.rpoSeconds!).toBeLessThan(15 * 60);

    // The recovery verified the target itself: the drill took that (its note names the child's verify step), ran no verifyCluster of its own.
    const verifyNotes = record.phases.find((p) => p.name === 'verify')?.notes ?? [];
    expect(verifyNotes.some((n) => n.startsWith(`verifyCluster not run again: the recovery verified (${id}/recovery step verify at `)), why).toBe(true);
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const childIds = events.flatMap((e) => (e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId] : []));
    expect(childIds).toEqual([`${id}/backup`, `${id}/recovery`]);
    // The stream told the drill it had a write in every partition and the znode before any fault went.
    const seededAt = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === DRILL_STREAM_SEEDED_SIGNAL);
    const firstFault = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'drillApplyFaultActivity');
    expect(seededAt, why).toBeGreaterThan(-1);
    expect(seededAt, why).toBeLessThan(firstFault);
    // The write stream stopped once the faults were applied: it ended long before the recovery did.
    const streamScheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'drillWriteStreamActivity')!.eventId;
    const at = (e: (typeof events)[number]) => eventMs(e.eventTime);
    const streamEnded = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(streamScheduled))!;
    const recoveryEnded = events.find((e) => e.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId === `${id}/recovery`)!;
    expect(at(streamEnded), why).toBeLessThan(at(recoveryEnded));
    // Discarding puts nothing back: the inventory after is taken beside the reverts and the read-back (it leaves
    // out the read-back's own group: 0 differences above), the stream topic dropped once read back.
    const scheduled = (name: string) => events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).map((e) => Number(e.eventId));
    const completed = (name: string) => {
      const ids = new Set(scheduled(name).map(String));
      return events.filter((e) => ids.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId))).map((e) => Number(e.eventId));
    };
    expect(scheduled('drillDropStreamActivity')[0]!, why).toBeGreaterThan(completed('drillReadBackActivity')[0]!);
    // Read back once, while the recovery verified (its verify step), not on the drill's own time after it;
    // the drop guarded by the ends that read saw (nothing moved since: one drop).
    expect(scheduled('drillReadBackActivity'), why).toHaveLength(1);
    expect(scheduled('drillReadBackActivity')[0]!, why).toBeLessThan(Number(recoveryEnded.eventId));
    expect(verifyNotes.some((n) => /^write stream read back at .*, from the recovery's verify step on$/.test(n)), why).toBe(true);
    const dropInputs = events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'drillDropStreamActivity')
      .map((e) => JSON.parse(Buffer.from(e.activityTaskScheduledEventAttributes!.input!.payloads![0]!.data!).toString('utf8')) as { ifEnds?: Record<string, number> });
    expect(dropInputs.map((d) => d.ifEnds), why).toEqual([{ 0: expect.any(Number), 1: expect.any(Number), 2: expect.any(Number) }]);
    // The record saved and the last notice sent as local activities (no task scheduled and polled for
    // them): markers in the history, no activity task; the record is in the repository (below).
    expect(scheduled('drillSaveRecordActivity'), why).toEqual([]);
    const markers = events.flatMap((e) => {
      const m = e.markerRecordedEventAttributes;
      if (!m) return [];
      return [Object.values(m.details ?? {}).flatMap((d) => (d.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString('utf8'))).join(' ')];
    });
    expect(markers.filter((m) => m.includes('drillSaveRecordActivity')), why).toHaveLength(1);
    expect(markers.filter((m) => m.includes('drillNotifyActivity')), why).toHaveLength(1);
    // A recovery that moves to another step asks for a probe at once (the first green one comes while it
    // verifies, not only every interval): a probe scheduled by the task that took a child's progress signal.
    // What each probe was scheduled on: the events a workflow task took (those since the task before it).
    const triggers: string[][] = [];
    let since: string[] = [];
    let took: string[] = [];
    for (const e of events) {
      if (e.workflowTaskCompletedEventAttributes) {
        took = since;
        since = [];
      } else if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'drillProbeActivity') triggers.push(took);
      else if (!e.workflowTaskScheduledEventAttributes && !e.workflowTaskStartedEventAttributes) since.push(e.workflowExecutionSignaledEventAttributes?.signalName ?? String(e.eventType));
    }
    expect(triggers.some((t) => t.includes('childProgress')), `${JSON.stringify(triggers)} ${why}`).toBe(true);
    // The inventory before is read beside the set, once the stream topic is made (not beside its creation).
    const backupStarted = Number(events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId === `${id}/backup`)!.eventId);
    expect(scheduled('drillInventoryActivity')[0]!, why).toBeGreaterThan(completed('drillStreamTopicActivity')[0]!);
    expect(scheduled('drillInventoryActivity')[0]!, why).toBeLessThan(backupStarted);
    // The earlier drills are read from the start, beside the stream topic's creation, and before the fresh set
    // is made: a drill after one that left faults in place makes none (drillFaultsLeft.int).
    expect(scheduled('drillHistoryActivity')[0]!, why).toBeLessThan(completed('drillStreamTopicActivity')[0]!);
    expect(completed('drillHistoryActivity')[0]!, why).toBeLessThan(backupStarted);
    expect(scheduled('drillInventoryActivity').at(-1)!, why).toBeLessThan(Math.min(...completed('drillRevertFaultActivity')));
    // Every discard at once: the disk's (its broker was down when the disk fault came: its discard starts
    // nothing) does not wait for the kill's revert.
    expect(Math.max(...scheduled('drillRevertFaultActivity')), why).toBeLessThan(Math.min(...completed('drillRevertFaultActivity')));
    // The inventory after was taken once the recovery reached its verify step, and the review (a verified
    // recovery's: nothing put back) took that one instead of reading the target again: two inventories in all.
    expect(scheduled('drillInventoryActivity'), why).toHaveLength(2);
    const reviewNotes = record.phases.find((p) => p.name === 'review')?.notes ?? [];
    expect(reviewNotes.some((n) => /^inventory: identical to before the drill \(taken at .*, from the recovery's verify step on\)$/.test(n)), why).toBe(true);

    // The score is the score of the evidence, every part from what was measured.
    expect(record.score).toEqual(scoreDrill(record.evidence, []));
    expect(record.score.parts.recoveryTime.points, why).toBe(30);
    expect(record.score.parts.process.points, why).toBe(25);
    expect(record.score.missing, why).toEqual([]);
    expect(record.evidence.process?.steps?.map((s) => s.id)).toEqual(expect.arrayContaining(['choose-set', 'stop-brokers', 'restore-zookeeper', 'restore-data', 'start-brokers', 'verify']));
    expect(record.evidence.process?.gates?.map((g) => g.step)).toEqual(['stop-brokers']);

    // Saved in the cluster's repository, as returned.
    const repo = await openRepositoryForSpec(spec);
    const saved = await listDrillRecords(repo, spec.name);
    expect(saved.records.find((r) => r.id === id)?.score.total).toBe(record.score.total);

    // The target as it was: its inventory, its data; the drill's stream topic gone.
    const after = await takeInventory(spec, 'test');
    expect(after.topics[drillStreamTopic(id)]).toBeUndefined();
    expect(inventoryDiff(before, after)).toEqual([]);
    expect(record.inventoryDifferences).toEqual([]);
    // (Read last: the reader's group would be a difference of the test's own.)
    expect((await consumeAll(spec, topic, 50)).length).toBe(50);
  });

  it('a tabletop touches nothing: no fault, no stream, no backup set, the broker process and the inventory unchanged', { timeout: 180_000 }, async () => {
    const before = await takeInventory(spec, 'test');
    const pid = readFileSync(broker.pidFile, 'utf8');
    const repo = await openRepositoryForSpec(spec);
    const sets = (await listBackupSets(repo, spec.name)).length;
    const id = drillId('tabletop');
    const record = await runDrill(id, { scenario: 'cluster-lost', type: 'tabletop' });

    expect(record.type).toBe('tabletop');
    expect(record.faults).toEqual([]);
    expect(record.reverts).toEqual([]);
    expect(record.evidence.times).toBeUndefined();
    expect(record.evidence.data).toBeUndefined();
    // The plan of each workflow, walked through in the runbook's order.
    expect(record.score.parts.process.points, JSON.stringify(record.score.deductions)).toBe(25);
    expect(record.evidence.process?.steps?.map((s) => s.id)).toEqual(expect.arrayContaining(['choose-set', 'stop-brokers', 'restore-zookeeper', 'start-brokers', 'verify']));
    expect(record.inventoryDifferences).toEqual([]);

    expect(readFileSync(broker.pidFile, 'utf8')).toBe(pid);
    expect((await listBackupSets(await openRepositoryForSpec(spec), spec.name)).length).toBe(sets);
    const after = await takeInventory(spec, 'test');
    expect(inventoryDiff(before, after)).toEqual([]);
    expect(Object.keys(after.topics)).not.toContain(drillStreamTopic(id));
  });
});
