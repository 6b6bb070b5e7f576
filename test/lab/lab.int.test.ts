/**
 * The lab itself, against the real processes: Kafka clusters that store real segments, ZooKeeper
 * registrations that match meta.properties, and broker control that moves leadership.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { readClusterState } from '../../src/kafka/clusterState';
import { produceConsumeProbe } from '../../src/kafka/probe';
import { withAdmin } from '../../src/kafka/admin';
import { brokerProcess, brokerRegistered, killBroker, startBroker, stopBroker, waitForLabAgreement } from '../../lab/lab';
import { classArchiveFile } from '../../lab/jvm';
import { findBroker, findCluster, zkConnect } from '../../lab/topology';
import { runningPid, waitUntil } from '../../src/host/processes';
import { getChildren, getData, withZk } from '../../src/zookeeper/client';
import { createTopicsReady, liveKafka } from '../support/kafka';
import { primarySpec, standbySpec, topo, unique } from '../support/lab';

function readProperties(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([^#=\s][^=]*)=(.*)$/.exec(line);
    if (m) out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}

async function partitionReplicas(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    return md.topics[0]!.partitions;
  } finally {
    await admin.disconnect();
  }
}

describe('lab Kafka clusters', () => {
  it('primary: produce to a 3-partition RF=3 topic and consume it back', async () => {
    const kafka = kafkaFor(primarySpec());
    const r = await produceConsumeProbe(kafka, { records: 90, partitions: 3, replicationFactor: 3, cleanup: false, spec: primarySpec() });
    expect(r).toMatchObject({ ok: true, produced: 90, consumed: 90 });
    const parts = await partitionReplicas(kafka, r.topic);
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(p.replicas.sort()).toEqual([1, 2, 3]);
  });

  it('standby: produce and consume back', async () => {
    const r = await produceConsumeProbe(kafkaFor(standbySpec()), { records: 30, partitions: 3, replicationFactor: 1, spec: standbySpec() });
    expect(r).toMatchObject({ ok: true, produced: 30, consumed: 30 });
  });

  it("writes a 00000000000000000000.log segment holding the produced bytes in each replica's log dir", async () => {
    const kafka = kafkaFor(primarySpec());
    const topic = unique('segments');
    const marker = `lifeboat-segment-marker-${unique('m')}`;
    await createTopicsReady(primarySpec(), [{ topic, numPartitions: 3, replicationFactor: 3 }]);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    // Uncompressed, so the value's bytes appear verbatim in the segment file.
    await producer.send({ topic, acks: -1, messages: [0, 1, 2].map((p) => ({ partition: p, value: `${marker}-p${p}` })) });
    await producer.disconnect();

    const parts = await partitionReplicas(kafka, topic);
    expect(parts.map((p) => p.replicas.length)).toEqual([3, 3, 3]);
    for (const p of parts) {
      for (const replica of p.replicas) {
        const b = findBroker(topo, 'primary', replica);
        const segment = join(b.logDir, `${topic}-${p.partitionId}`, '00000000000000000000.log');
        // Followers fetch asynchronously; acks=all means the ISR has it, the file write may trail a little.
        await waitUntil(`${segment} to hold the record`, () => existsSync(segment) && readFileSync(segment).includes(`${marker}-p${p.partitionId}`), {
          timeoutMs: 15_000,
        });
        expect(readFileSync(segment).includes(Buffer.from(`${marker}-p${p.partitionId}`))).toBe(true);
      }
    }
  });
});

describe('lab ZooKeeper', () => {
  it('registers primary brokers 1,2,3 and /primary/cluster/id matches every meta.properties', async () => {
    const { ids, clusterId } = await withZk(zkConnect(topo), async (zk) => ({
      ids: (await getChildren(zk, '/primary/brokers/ids')).map(Number).sort(),
      clusterId: JSON.parse((await getData(zk, '/primary/cluster/id')).data!.toString()).id as string,
    }));
    expect(ids).toEqual([1, 2, 3]);
    expect(clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    for (const b of findCluster(topo, 'primary').brokers) {
      const meta = readProperties(join(b.logDir, 'meta.properties'));
      expect(meta['cluster.id']).toBe(clusterId);
      expect(meta['broker.id']).toBe(String(b.id));
    }
    const standbyId = await withZk(zkConnect(topo), async (zk) => JSON.parse((await getData(zk, '/standby/cluster/id')).data!.toString()).id);
    expect(standbyId).not.toBe(clusterId);
  });
});

describe('lab broker control', () => {
  it('killing the controller returns once the others agree on a new one: an admin call and a produce right after succeed', async () => {
    const spec = primarySpec();
    const controllerNow = async () =>
      withZk(zkConnect(topo), async (zk) => (JSON.parse((await getData(zk, '/primary/controller')).data!.toString()) as { brokerid: number }).brokerid);
    const victim = findBroker(topo, 'primary', await controllerNow());
    const topic = unique('after-kill');
    try {
      expect(await killBroker(topo, victim)).toBe(true);
      // At once, without waiting here: ZooKeeper and every running broker name the same new controller.
      expect(await brokerRegistered(topo, victim)).toBe(false);
      const controller = await controllerNow();
      expect(controller).not.toBe(victim.id);
      const others = findCluster(topo, 'primary').brokers.filter((b) => b !== victim);
      expect(others).toHaveLength(2);
      for (const b of others) {
        const alone = kafkaFor({ ...spec, kafka: { ...spec.kafka, bootstrapServers: [`127.0.0.1:${b.port}`] } });
        const { brokers, controller: named } = await withAdmin(alone, spec.name, (admin) => admin.describeCluster());
        expect(named, `broker ${b.id}`).toBe(controller);
        expect(brokers.map((x) => x.nodeId).sort(), `broker ${b.id}`).toEqual(others.map((x) => x.id));
      }
      await createTopicsReady(spec, [{ topic, numPartitions: 2, replicationFactor: 2 }]);
      const producer = liveKafka(spec).producer({ retry: { retries: 0 } });
      await producer.connect();
      try {
        await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: 'a' }, { partition: 1, value: 'b' }] });
      } finally {
        await producer.disconnect();
      }
    } finally {
      await startBroker(topo, victim);
      await withAdmin(kafkaFor(spec), spec.name, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
    }
    // Back: every broker agrees again, the restarted one included.
    expect((await waitForLabAgreement(topo, 'primary', { timeoutMs: 5_000 })).brokers).toEqual([1, 2, 3]);
  });

  it('a cluster that does not agree in time is named in one line: what disagreed, on which broker', async () => {
    const never = unique('never-created');
    const err = await waitForLabAgreement(topo, 'primary', { topics: [never], absent: [1], timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'Unreachable' });
    const message = (err as Error).message;
    expect(message).toContain('cluster primary did not agree');
    expect(message).toContain('broker 1 is still registered');
    for (const id of [1, 2, 3]) expect(message).toContain(`broker ${id} gives no metadata for ${never} (UNKNOWN_TOPIC_OR_PARTITION)`);
    expect(message).not.toContain('\n');
  });

  it('stopping broker 2 removes its id node and moves leadership; starting it brings it back into the ISR', async () => {
    const spec = primarySpec();
    const kafka = kafkaFor(spec);
    const topic = unique('failover');
    try {
      // Broker 2 first in every assignment makes it the preferred leader of all partitions.
      await createTopicsReady(spec, [{ topic, replicaAssignment: [0, 1, 2].map((p) => ({ partition: p, replicas: [2, p === 1 ? 3 : 1, p === 1 ? 1 : 3] })) }]);
      const before = await partitionReplicas(kafka, topic);
      expect(before).toHaveLength(3);
      expect(before.every((p) => p.leader === 2)).toBe(true);

      const b2 = findBroker(topo, 'primary', 2);
      // Returns once brokers 1 and 3 agree on a controller that is not broker 2.
      await stopBroker(topo, b2);
      expect(await brokerRegistered(topo, b2)).toBe(false);
      const ids = await withZk(zkConnect(topo), (zk) => getChildren(zk, '/primary/brokers/ids'));
      expect(ids.map(Number).sort()).toEqual([1, 3]);
      const agreed = await waitForLabAgreement(topo, 'primary', { topics: [topic] });
      expect(agreed.brokers).toEqual([1, 3]);
      expect(agreed.controller).not.toBe(2);
      // Asked of the running brokers only: a client of broker 2 now fails with ECONNREFUSED.
      const live = liveKafka(spec);
      await waitUntil('leadership to move off broker 2', async () => (await partitionReplicas(live, topic)).every((p) => p.leader !== 2 && p.leader > 0), {
        timeoutMs: 30_000,
      });
      const during = await partitionReplicas(live, topic);
      expect(during).toHaveLength(3);
      for (const p of during) expect(p.isr).not.toContain(2);

      await startBroker(topo, b2);
      // It started from the lab's class archive of Kafka's classes (lab/jvm.ts): its JVM mapped the file.
      const archive = classArchiveFile(topo.kafkaLibs);
      expect(existsSync(archive), `${archive} is missing: did lab up warn about its training run?`).toBe(true);
      const pid = runningPid(brokerProcess(topo, b2));
      expect(pid).toBeDefined();
      expect(readFileSync(`/proc/${pid}/maps`, 'utf8').includes(archive), `broker 2's JVM did not map ${archive}`).toBe(true);
      await waitUntil('broker 2 back in every ISR', async () => (await partitionReplicas(kafka, topic)).every((p) => p.isr.includes(2)), {
        timeoutMs: 60_000,
      });
      // ZooKeeper holds the controller's state; a broker's metadata cache may lag a moment behind it.
      const after = (await readClusterState(spec, { topics: [topic] })).partitions;
      expect(after).toHaveLength(3);
      for (const p of after) expect(p.isr.sort()).toEqual([1, 2, 3]);
    } finally {
      await withAdmin(liveKafka(spec), spec.name, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
    }
  });
});
