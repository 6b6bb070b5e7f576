/**
 * Logical topic backup and restore against a secured broker: SASL/PLAIN and SASL/SCRAM-SHA-512 on
 * a SASL_PLAINTEXT listener, SCRAM-SHA-256 over TLS (SASL_SSL, a certificate made for the test).
 * Backup reads through kafkajs's connections, restore produces on Lifeboat's own
 * (wire/connection.ts), which kafkajs connects and authenticates: both must work with every
 * mechanism a spec can name. A one-broker cluster of its own (test/host/logdirsScratchBroker.ts)
 * with two more listeners, started for this file and removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../../src/config/spec';
import { waitUntil } from '../../../src/host/processes';
import { kafkaFor } from '../../../src/kafka/client';
import { backupTopics } from '../../../src/kafka/topicBackup';
import { restoreTopics } from '../../../src/kafka/topicRestore';
import { readBatches } from '../../../src/kafka/wire/readBatches';
import { WireClient } from '../../../src/kafka/wire/client';
import { decodeBatch, encodeBatch, encodeBody, restampForProduce } from '../../../src/kafka/wire/recordBatch';
import { javaBinary } from '../../../lab/provision';
import { initRepository } from '../../../src/repository';
import { freePort, type ScratchCluster, scratchCluster } from '../../host/logdirsScratchBroker';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-secured-'));
let broker: ScratchCluster;
let sasl = 0;
let saslSsl = 0;
process.env.LIFEBOAT_TEST_SASL_PASSWORD = 'sasl-secret';

function specFor(port: number, mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', tls = false): ClusterSpec {
  return {
    ...broker.spec,
    kafka: {
      bootstrapServers: [`127.0.0.1:${port}`],
      mode: 'zookeeper',
      clientId: 'lifeboat-secured-test',
      sasl: { mechanism, username: 'lifeboat', password: { env: 'LIFEBOAT_TEST_SASL_PASSWORD' } },
      ...(tls ? { ssl: { ca: join(dir, 'cert.pem'), rejectUnauthorized: true } } : {}),
    },
  };
}

beforeAll(async () => {
  [sasl, saslSsl] = [await freePort(), await freePort()];
  // A certificate for 127.0.0.1, and the PEM key store Kafka reads (key, then certificate).
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  writeFileSync(join(dir, 'keystore.pem'), readFileSync(join(dir, 'key.pem'), 'utf8') + readFileSync(join(dir, 'cert.pem'), 'utf8'));
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  broker = await scratchCluster({
    listeners: { SASL_PLAINTEXT: sasl, SASL_SSL: saslSsl },
    properties: [
      'listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512',
      'listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_lifeboat="sasl-secret";',
      `listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${scram}`,
      `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scram}`,
      'listener.name.sasl_ssl.ssl.keystore.type=PEM',
      `listener.name.sasl_ssl.ssl.keystore.location=${join(dir, 'keystore.pem')}`,
      // SASL sessions end after 12 s (KIP-368): a connection must re-authenticate or be replaced.
      'connections.max.reauth.ms=12000',
    ],
  });
  await broker.start();
  // SCRAM credentials, set the way an operator would: Kafka's own tool, on the broker's plain listener.
  execFileSync(
    javaBinary(),
    ['-cp', join(broker.topo.kafkaLibs, '*'), 'kafka.admin.ConfigCommand', '--bootstrap-server', `127.0.0.1:${broker.broker.port}`, '--alter', '--add-config', 'SCRAM-SHA-256=[password=sasl-secret],SCRAM-SHA-512=[password=sasl-secret]', '--entity-type', 'users', '--entity-name', 'lifeboat'],
    { stdio: 'ignore' },
  );
  // The broker learns new SCRAM credentials from ZooKeeper a moment later.
  for (const [port, mechanism, tls] of [[sasl, 'scram-sha-512', false], [saslSsl, 'scram-sha-256', true]] as const) {
    await waitUntil(
      `SCRAM login (${mechanism})`,
      async () => {
        const admin = kafkaFor(specFor(port, mechanism, tls), 'probe').admin();
        try {
          await admin.connect();
          return true;
        } catch {
          return false;
        } finally {
          await admin.disconnect().catch(() => {});
        }
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  }
}, 180_000);

afterAll(async () => {
  await broker?.destroy();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

async function records(spec: ClusterSpec, topic: string) {
  const kafka = kafkaFor(spec, 'read');
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const out: string[] = [];
  const ranges = new Map(offsets.map((o) => [o.partition, { from: Number(o.low), to: Number(o.high) }]));
  await readBatches(kafka, topic, ranges, async (p, batches) => {
    for (const b of batches) for (const r of await decodeBatch(b)) out.push(`${p}/${r.offset}/${r.timestamp}/${r.key}/${r.value?.length}/${r.headers.map((h) => `${h.key}=${h.value}`).join(',')}`);
  });
  return out.sort();
}

describe('topic backup and restore on a secured broker', () => {
  it('backs up over SASL/PLAIN and restores over SASL/PLAIN, SCRAM-SHA-512 and SCRAM-SHA-256 with TLS, record for record', async () => {
    const plainSpec = specFor(sasl, 'plain');
    const kafka = kafkaFor(plainSpec, 'seed');
    const topic = 'secured-src';
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    for (let i = 0; i < 3000; i += 500) {
      // ~2 KB records: the stored batches (~330 KB) are big enough to be sent as they are.
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 500 }, (_, j) => ({ partition: (i + j) % 3, key: `k${i + j}`, value: Buffer.alloc(2000 + ((i + j) % 7), i + j), headers: { n: String(i + j) } })) });
    }
    await producer.disconnect();

    const repo = await initRepository(join(dir, 'repo'), 'pw');
    const w = await repo.newSnapshot({ cluster: broker.name, components: ['topics'] });
    expect((await backupTopics(kafka, w, { topics: [topic] })).records).toBe(3000);
    const snap = await repo.openSnapshot((await w.commit()).id);
    const want = await records(plainSpec, topic);
    expect(want).toHaveLength(3000);

    const ways = [
      ['plain', specFor(sasl, 'plain')],
      ['scram512', specFor(sasl, 'scram-sha-512')],
      ['scram256tls', specFor(saslSsl, 'scram-sha-256', true)],
    ] as const;
    for (const [way, spec] of ways) {
      const target = `secured-${way}`;
      const r = await restoreTopics(kafkaFor(spec, way), { snapshots: [snap], topics: [topic], rename: { [topic]: target }, offsetMapFile: join(dir, `${way}.map`) });
      expect(r.records, way).toBe(3000);
      expect(await records(plainSpec, target), way).toEqual(want);
    }
    await repo.close();
  }, 120_000);


  it('replaces a produce connection before its SASL session ends, so nothing is sent on an expired one', async () => {
    const kafka = kafkaFor(specFor(sasl, 'scram-sha-512'), 'reauth');
    const topic = 'secured-reauth';
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
    await admin.disconnect();
    const client = await WireClient.open(kafka, [topic]);
    try {
      const { producerId, producerEpoch } = await client.initProducerId();
      const leader = client.leaders(topic).get(0)!;
      const send = async (sequence: number) => {
        const batch = encodeBatch(Array.from({ length: 10 }, (_, i) => ({ timestamp: Date.now(), body: encodeBody({ key: null, value: Buffer.from(`r${sequence + i}`), headers: [] }) })));
        const [r] = await client.produce(leader, topic, [{ partition: 0, batch: restampForProduce(batch, producerId, producerEpoch, sequence) }]);
        return r;
      };
      expect(await send(0)).toMatchObject({ errorCode: 0, baseOffset: 0 });
      await new Promise((r) => setTimeout(r, 13_000)); // past the session's 12 s
      expect(await send(10)).toMatchObject({ errorCode: 0, baseOffset: 10 });
    } finally {
      await client.close();
    }
  }, 60_000);

});
