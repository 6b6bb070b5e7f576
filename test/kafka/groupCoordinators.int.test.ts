/**
 * Groups read right after a restart: a broker that has just become leader of the __consumer_offsets
 * partitions loads their groups afterwards, and listing groups before that silently leaves them out
 * (a CI run saw groups "added" by a drill that only restarted brokers).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker, stopBroker } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { offsetsPartitionOf, untilGroupCoordinatorsLoaded } from '../../src/kafka/groupCoordinators';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { exportMetadata } from '../../src/kafka/metadata';
import { createTopicsReady } from '../support/kafka';
import { standbySpec, topo, unique } from '../support/lab';

const spec = standbySpec();
const topic = unique('coord-load');
const prefix = unique('coord-load-group');
let groups: string[] = [];

afterAll(async () => {
  await withAdmin(kafkaFor(spec, 'test-cleanup'), spec.name, async (a) => {
    await a.deleteGroups(groups).catch(() => undefined);
    await a.deleteTopics({ topics: [topic] }).catch(() => undefined);
  });
});

describe('groups after a broker restart', () => {
  it('the export waits for every coordinator to load and lists every group with its offsets', { timeout: 180_000 }, async () => {
    await createTopicsReady(spec, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
    const kafka = kafkaFor(spec, 'test');
    const partitions = await withAdmin(kafka, spec.name, async (a) => (await a.fetchTopicMetadata({ topics: [] })).topics.find((t) => t.name === '__consumer_offsets')!.partitions.length);
    // Three groups in every partition of __consumer_offsets, so every coordinator has some to load.
    const byPartition = new Map<number, string[]>();
    for (let n = 0; [...byPartition.values()].reduce((s, g) => s + g.length, 0) < 3 * partitions; n++) {
      const id = `${prefix}-${n}`;
      const p = offsetsPartitionOf(id, partitions);
      const list = byPartition.get(p) ?? [];
      if (list.length < 3) byPartition.set(p, [...list, id]);
    }
    groups = [...byPartition.values()].flat().sort();
    await Promise.all(groups.map((g, i) => commitGroupOffsets(kafka, g, [{ topic, partitions: [{ partition: 0, offset: i }] }])));

    const broker = findBroker(topo, spec.name, spec.brokers[0]!.id);
    await stopBroker(topo, broker);
    // Read as soon as it is registered: before it has its partitions, leads them or has loaded them.
    await startBroker(topo, broker, undefined, { settle: false });

    const md = await exportMetadata(kafka, { name: spec.name });
    const ours = md.groups.filter((g) => g.groupId.startsWith(prefix));
    expect(ours.map((g) => g.groupId).sort()).toEqual(groups);
    for (const g of ours) expect(g.offsets).toEqual([{ topic, partition: 0, offset: String(groups.indexOf(g.groupId)), metadata: null }]);
    expect(md.warnings.filter((w) => /coordinators/.test(w))).toEqual([]);
    // Once loaded, the probe is a no-op: nothing to wait for, and no probe group left behind.
    expect(await withAdmin(kafka, spec.name, (a) => untilGroupCoordinatorsLoaded(a, { timeoutMs: 5_000 }))).toEqual([]);
    const listed = await withAdmin(kafka, spec.name, (a) => a.listGroups());
    expect(listed.groups.filter((g) => g.groupId.startsWith('__lifeboat-coordinator-probe-'))).toEqual([]);
  });
});
