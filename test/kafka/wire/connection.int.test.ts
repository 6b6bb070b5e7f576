/**
 * Lifeboat's own produce connections (wire/connection.ts): against a real broker, pipelining, the
 * broker's CRC check of restamped batches and a batch sent twice under one sequence; against a
 * TCP peer of the test's own, answers split into single bytes or joined, malformed frames, and
 * peers that close or never answer.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../../src/kafka/client';
import { RawConnection, WireConnectionError } from '../../../src/kafka/wire/connection';
import { WireClient } from '../../../src/kafka/wire/client';
import { readBatches } from '../../../src/kafka/wire/readBatches';
import { type Batch, decodeBatch, encodeBatch, encodeBody, restampForProduce } from '../../../src/kafka/wire/recordBatch';
import { standbySpec, unique } from '../../support/lab';
import { createTopicsReady } from '../../support/kafka';

const spec = standbySpec();
const kafka = kafkaFor(spec, 'test-wire-conn');
const topic = unique('wire-conn');
const [host, port] = spec.kafka.bootstrapServers[0]!.split(':') as [string, string];
const socketFactory = (createRequire(__filename)('kafkajs/src/network/socketFactory') as () => unknown)();
const poolOptions = (h: string, p: number) => ({ host: h, port: p, ssl: null, sasl: null, clientId: 'test-wire-conn', socketFactory, connectionTimeout: 5_000 });
const servers: Server[] = [];

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  for (const s of servers) s.close();
});

const batchOf = (from: number, n: number) =>
  encodeBatch(Array.from({ length: n }, (_, i) => ({ timestamp: 1_700_000_000_000 + from + i, body: encodeBody({ key: Buffer.from(`k${from + i}`), value: Buffer.alloc(3000, from + i), headers: [] }) })));

async function readAll(partitions: number): Promise<Map<number, Batch[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const out = new Map<number, Batch[]>();
  const ranges = new Map(offsets.filter((o) => o.partition < partitions).map((o) => [o.partition, { from: Number(o.low), to: Number(o.high) }]));
  await readBatches(kafka, topic, ranges, async (p, batches) => void out.set(p, [...(out.get(p) ?? []), ...batches.map((b) => ({ ...b, bytes: Buffer.from(b.bytes) }))]));
  return out;
}

/** A TCP peer that accepts and then does what `onRequest` says with each connection's first bytes. */
async function peer(onRequest: (s: Socket) => void): Promise<number> {
  const server = createServer((s) => s.once('data', () => onRequest(s)));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

describe('produce connections', () => {
  it('pipelines requests, writes batches as they are, and resends under the same sequence without duplicates', async () => {
    await createTopicsReady(spec, [{ topic, numPartitions: 3, replicationFactor: 1 }], { kafka });
    const client = await WireClient.open(kafka, [topic]);
    try {
      const { producerId, producerEpoch } = await client.initProducerId();
      const leaders = client.leaders(topic);
      // Three partitions at once on one connection, two batches each in order.
      const sent = await Promise.all(
        [0, 1, 2].map(async (p) => {
          const bases: number[] = [];
          for (let b = 0; b < 2; b++) {
            const batch = restampForProduce(batchOf(p * 1000 + b * 100, 100), producerId, producerEpoch, b * 100);
            const [r] = await client.produce(leaders.get(p)!, topic, [{ partition: p, batch }]);
            expect(r).toMatchObject({ partition: p, errorCode: 0 });
            bases.push(r!.baseOffset);
          }
          return bases;
        }),
      );
      expect(sent).toEqual([
        [0, 100],
        [0, 100],
        [0, 100],
      ]);

      // A batch sent again (its answer lost with a connection) is not written twice.
      const again = restampForProduce(batchOf(100, 100), producerId, producerEpoch, 100);
      const [dup] = await client.produce(leaders.get(0)!, topic, [{ partition: 0, batch: again }]);
      expect(dup).toMatchObject({ errorCode: 0, baseOffset: 100 });

      // A record byte damaged after its CRC was taken: restamping keeps the CRC wrong, the broker refuses it.
      const damaged = batchOf(5000, 10);
      damaged[damaged.length - 7]! ^= 1;
      restampForProduce(damaged, producerId, producerEpoch, 200);
      const [bad] = await client.produce(leaders.get(0)!, topic, [{ partition: 0, batch: damaged }]);
      expect(bad!.errorCode).toBe(2); // CORRUPT_MESSAGE
    } finally {
      await client.close();
    }
    const read = await readAll(3);
    for (const p of [0, 1, 2]) {
      const records = (await Promise.all((read.get(p) ?? []).map((b) => decodeBatch(b)))).flat();
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(records.map((r) => r.key?.toString())).toEqual(Array.from({ length: 200 }, (_, i) => `k${p * 1000 + i}`));
      expect(records[150]!.value).toEqual(Buffer.alloc(3000, p * 1000 + 150));
    }
  });

  it('answers many pipelined requests on one connection in order (ApiVersions from the broker)', async () => {
    const conn = await RawConnection.open(poolOptions(host, Number(port)), null, kafka.logger());
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, () => conn.request(18, 0, [], 10_000)));
      for (const a of answers) expect(a.readInt16BE(0)).toBe(0); // ApiVersions v0: error code, then the list
      expect(new Set(answers.map((a) => a.length)).size).toBe(1);
    } finally {
      conn.close();
    }
    await expect(conn.request(18, 0, [], 1000)).rejects.toBeInstanceOf(WireConnectionError);
  });

  it('reads answers split into single bytes and answers joined in one segment; a malformed frame fails the connection', async () => {
    const frame = (id: number, payload: Buffer) => {
      const f = Buffer.alloc(8);
      f.writeInt32BE(4 + payload.length, 0);
      f.writeInt32BE(id, 4);
      return Buffer.concat([f, payload]);
    };
    const answering = await peer((s) => {
      s.setNoDelay(true);
      void (async () => {
        // Request 0 answered one byte at a time, requests 1 and 2 in one write.
        for (const byte of frame(0, Buffer.from('first'))) {
          s.write(Buffer.from([byte]));
          await new Promise((r) => setTimeout(r, 2));
        }
        s.write(Buffer.concat([frame(1, Buffer.from('second')), frame(2, Buffer.alloc(0))]));
      })();
    });
    const conn = await RawConnection.open(poolOptions('127.0.0.1', answering), null, kafka.logger());
    const answers = await Promise.all([0, 1, 2].map(() => conn.request(18, 0, [], 10_000)));
    expect(answers.map((a) => a.toString())).toEqual(['first', 'second', '']);
    conn.close();

    const malformed = await RawConnection.open(poolOptions('127.0.0.1', await peer((s) => s.write(Buffer.from([0, 0, 0, 2, 9, 9])))), null, kafka.logger());
    await expect(malformed.request(18, 0, [], 10_000)).rejects.toThrow(/malformed frame/);
    expect(malformed.alive).toBe(false);
  });

  it('a failed SASL login is an InvalidSpec error at once, and leaves no timer behind', async () => {
    // A peer whose SaslHandshake answer offers only GSSAPI: kafkajs refuses to log in with PLAIN.
    const mech = Buffer.from('GSSAPI');
    const answer = Buffer.alloc(4 + 4 + 2 + 4 + 2 + mech.length);
    answer.writeInt32BE(answer.length - 4, 0);
    answer.writeInt32BE(0, 4); // correlation id of the first request
    answer.writeInt16BE(0, 8); // no error
    answer.writeInt32BE(1, 10); // enabled mechanisms: one
    answer.writeInt16BE(mech.length, 14);
    mech.copy(answer, 16);
    const gssapiOnly = await peer((s) => s.write(answer));
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const options = { ...poolOptions('127.0.0.1', gssapiOnly), sasl: { mechanism: 'plain', username: 'u', password: 'p' } };
    await expect(RawConnection.open(options, { 17: { minVersion: 0, maxVersion: 1 }, 36: { minVersion: 0, maxVersion: 1 } }, kafka.logger())).rejects.toMatchObject({
      type: 'InvalidSpec',
      message: expect.stringMatching(/SASL authentication to 127\.0\.0\.1:\d+ failed/),
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('fails every request on a connection the peer closes, or that gets no answer in time', async () => {
    const closing = await RawConnection.open(poolOptions('127.0.0.1', await peer((s) => s.destroy())), null, kafka.logger());
    await expect(closing.request(18, 0, [], 10_000)).rejects.toThrow(/closed/);
    expect(closing.alive).toBe(false);

    const silent = await RawConnection.open(poolOptions('127.0.0.1', await peer(() => {})), null, kafka.logger());
    const t0 = Date.now();
    const pending = [silent.request(18, 0, [], 300), silent.request(18, 0, [], 60_000)];
    for (const p of pending) await expect(p).rejects.toThrow(/no answer .* within 300 ms/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
