/**
 * The lab's KRaft cluster "next" (Kafka 4.x, the target of migrations off ZooKeeper), against the real
 * processes: it is a KRaft cluster with the id it was formatted with and nothing in ZooKeeper; kafkajs
 * 2.2 and Lifeboat's own batch path both speak to it (4.0 removed old protocol versions, KIP-896): a
 * topic backed up from the 3.9 primary comes back on it record for record, at the same offsets; and the
 * lab's broker-control adapter stops and starts its node.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { kafkaFor } from '../../src/kafka/client';
import { backupTopics } from '../../src/kafka/topicBackup';
import { restoreTopics } from '../../src/kafka/topicRestore';
import { readBatches } from '../../src/kafka/wire/readBatches';
import { type Batch, decodeBatch } from '../../src/kafka/wire/recordBatch';
import { brokerControlFor } from '../../src/host/brokerControl';
import { exists, withZk } from '../../src/zookeeper/client';
import { initRepository } from '../../src/repository';
import { kraftNodeServing } from '../../lab/lab';
import { zkConnect } from '../../lab/topology';
import { nextSpec, primarySpec, topo, unique } from '../support/lab';
import { createTopicsReady } from '../support/kafka';

const next = kafkaFor(nextSpec(), 'test-next');
const primary = kafkaFor(primarySpec(), 'test-next-src');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-next-'));
const topic = unique('next-src');

afterAll(async () => {
  for (const k of [primary, next]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function batchesOf(kafka: Kafka, name: string): Promise<Map<number, Batch[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(name);
  await admin.disconnect();
  const out = new Map<number, Batch[]>();
  await readBatches(kafka, name, new Map(offsets.map((o) => [o.partition, { from: Number(o.low), to: Number(o.high) }])), async (p, batches) => {
    out.set(p, [...(out.get(p) ?? []), ...batches.map((b) => ({ ...b, bytes: Buffer.from(b.bytes) }))]);
  });
  return out;
}

const recordsOf = async (batches: Batch[]) => (await Promise.all(batches.map((b) => decodeBatch(b)))).flat();

describe('the lab KRaft cluster "next"', () => {
  it('runs Kafka 4 in KRaft mode with the cluster id it was formatted with, and nothing in ZooKeeper', async () => {
    const admin = next.admin();
    await admin.connect();
    const c = await admin.describeCluster();
    await admin.disconnect();
    expect(c.clusterId).toBe(readFileSync(topo.kraft.clusterIdFile, 'utf8').trim());
    expect(c.brokers.map((b) => b.nodeId)).toEqual(topo.kraft.brokers.map((b) => b.id));
    expect(nextSpec().kafka.mode).toBe('kraft');
    expect(nextSpec().zookeeper).toBeUndefined();
    expect(readFileSync(join(topo.kraft.brokers[0]!.logDir, 'meta.properties'), 'utf8')).toMatch(/^version=1$/m);
    expect(await withZk(zkConnect(topo), (zk) => exists(zk, '/next'))).toBeFalsy();
  });

  it('takes a topic backed up from the ZooKeeper-mode primary: same offsets, same records and headers', async () => {
    await createTopicsReady(primarySpec(), [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka: primary });
    const producer = primary.producer({ idempotent: true });
    await producer.connect();
    const T = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 5; i++) {
      await producer.send({
        topic,
        messages: Array.from({ length: 40 }, (_, j) => ({ partition: j % 2, key: `k${i}-${j}`, value: `v${i}-${j}`.repeat(j), timestamp: String(T + i * 100 + j), headers: { seq: String(i * 40 + j) } })),
      });
    }
    await producer.disconnect();

    const repo = await initRepository(join(dir, 'repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
    const writer = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
    const b = await backupTopics(primary, writer, { topics: [topic] });
    const snap = await repo.openSnapshot((await writer.commit()).id);
    expect(b.records).toBe(200);

    const r = await restoreTopics(next, { snapshots: [snap], topics: [topic], offsetMapFile: join(dir, 'map'), replicationFactor: 1 });
    expect(r.records).toBe(200);
    await repo.close();

    const source = await batchesOf(primary, topic);
    const target = await batchesOf(next, topic);
    for (const p of [0, 1]) {
      const s = await recordsOf(source.get(p)!);
      const t = await recordsOf(target.get(p)!);
      expect(t.map((x) => x.offset)).toEqual(s.map((x) => x.offset));
      expect(t).toEqual(s);
      expect(t).toHaveLength(100);
    }
  });

  it('stops and starts its node through the lab broker-control adapter', async () => {
    const control = brokerControlFor(nextSpec(), 1);
    const node = topo.kraft.brokers[0]!;
    await control.stop();
    expect(await control.status()).toBe('stopped');
    expect(await kraftNodeServing(topo, node)).toBe(false);
    await control.start();
    expect(await control.status()).toBe('running');
    expect(await kraftNodeServing(topo, node)).toBe(true);
  });
});
