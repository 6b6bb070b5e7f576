/**
 * A partial drill (seed 004 §8.2: one step for real) end to end on the lab's primary (three brokers,
 * production, so iKnowThisIsProduction): of the cluster-lost scenario only its first step runs for
 * real — the last broker killed and brought back by brokerRecovery while the others serve — then
 * verify, review and the record, scored as a partial drill. Asserts what came back, not only the
 * record: the broker running and in every ISR, every record of a topic written before still served,
 * the inventory unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerRunning, startBroker } from '../../lab/lab';
import { findCluster } from '../../lab/topology';
import { earlierProblems } from '../../src/drills/evidence.pure';
import { listDrillRecords } from '../../src/drills/history';
import { takeInventory } from '../../src/drills/inventory';
import { inventoryDiff } from '../../src/drills/inventory.pure';
import { carryOver } from '../../src/drills/problems.pure';
import { scoreDrill } from '../../src/drills/score.pure';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { waitForBrokerInIsr } from '../../src/kafka/cluster';
import { openRepositoryForSpec } from '../../src/repository';
import { consumeAll } from '../recovery/consume';
import { createTopicsReady, produce } from '../support/kafka';
import { primarySpec, topo, unique } from '../support/lab';
import { type DrillLab, startDrillLab, whyOf } from './support/drillLab';

describe('a partial drill on the primary (iKnowThisIsProduction)', () => {
  const primary = primarySpec();
  const labBrokers = findCluster(topo, 'primary').brokers;
  const last = primary.brokers[primary.brokers.length - 1]!;
  const topic = unique('drill-partial-orders');
  const RECORDS = 20;
  let lab: DrillLab;

  beforeAll(async () => {
    lab = await startDrillLab(primary);
    await createTopicsReady(lab.spec, [{ topic, numPartitions: 2, replicationFactor: 3 }]);
    await produce(lab.spec, topic, Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i}`, value: `order-${i}` })));
  }, 180_000);

  afterAll(async () => {
    for (const b of labBrokers) if (!brokerRunning(topo, b)) await startBroker(topo, b, () => {}).catch(() => undefined);
    for (const b of primary.brokers) await waitForBrokerInIsr(primary, b.id, { timeoutMs: 120_000 }).catch(() => undefined);
    await withAdmin(kafkaFor(primary), primary.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    await lab?.stop();
  }, 300_000);

  it('cluster-lost (partial): one broker killed and brought back by brokerRecovery, verified, scored and recorded; the primary whole', { timeout: 240_000 }, async () => {
    const before = await takeInventory(lab.spec, 'test');
    const id = lab.drillId('cluster-lost');
    const record = await lab.run(id, { scenario: 'cluster-lost', type: 'partial', iKnowThisIsProduction: true });
    const why = whyOf(record);
    expect(record.type).toBe('partial');
    expect(record.skipped).toBeUndefined();
    expect(record.phases.map((p) => p.name), why).toEqual(['prepare', 'start', 'execute', 'verify', 'review']);
    // One step for real: only the last broker's kill, discarded after its verified recovery.
    expect(record.faults.map((f) => f.fault), why).toEqual([{ kind: 'broker-kill', brokerId: last.id }]);
    expect(record.reverts.map((r) => [r.fault.kind, r.mode]), why).toEqual([['broker-kill', 'discard']]);
    const steps = (record.evidence.process?.steps ?? []).map((s) => s.id);
    expect(steps, why).toEqual(expect.arrayContaining(['start-broker', 'wait-isr', 'verify']));
    expect(record.problems.filter((p) => p.id.startsWith(`${id}#`)), why).toEqual([]);
    // Measured and scored from its own evidence, saved as returned.
    expect(Date.parse(record.evidence.times!.firstGreenProbeAt!), why).toBeGreaterThanOrEqual(Date.parse(record.evidence.times!.faultAt!));
    expect(record.rtoSeconds, why).not.toBeNull();
    expect(record.score).toEqual(scoreDrill(record.evidence, carryOver(earlierProblems([]), record.startedAt)));
    expect(record.score.missing, why).toEqual([]);
    expect(record.score.parts.process.points, why).toBe(25);
    const repo = await openRepositoryForSpec(lab.spec);
    try {
      expect((await listDrillRecords(repo, lab.spec.name)).records.find((r) => r.id === id)?.score.total).toBe(record.score.total);
    } finally {
      await repo.close();
    }
    // The primary whole: every broker running and in every ISR, every record served, nothing different.
    for (const b of labBrokers) expect(brokerRunning(topo, b)).toBe(true);
    const isrs = await withAdmin(kafkaFor(primary, 'test-admin'), primary.name, async (a) =>
      (await a.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.map((p) => [...p.isr].sort()),
    );
    expect(isrs).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(inventoryDiff(before, await takeInventory(lab.spec, 'test'))).toEqual([]);
    const got = await consumeAll(lab.spec, topic, RECORDS);
    expect(got.map((l) => l.split(':')[3]).sort()).toEqual(Array.from({ length: RECORDS }, (_, i) => `order-${i}`).sort());
    console.info(`drill cluster-lost (partial) of ${record.cluster}: score ${record.score.total}, RTO ${record.rtoSeconds} s, RPO ${record.rpoSeconds} s, ${(Date.parse(record.endedAt) - Date.parse(record.startedAt)) / 1000} s start to record`);
  });
});
