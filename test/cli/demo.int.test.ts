/**
 * The demo's seeding on the real lab: topics with leaders every broker knows, records and consumer
 * groups half-way; a re-run on a seeded lab starts over; a transient failure retries only its own
 * step and never deletes a topic the run just created.
 */
import { describe, expect, it } from 'vitest';
import { type Admin, type Kafka, KafkaJSProtocolError, type Producer } from 'kafkajs';
import { seed, TOPICS } from '../../lab/demo';
import { withAdmin } from '../../src/kafka/admin';
import { waitForAgreement } from '../../src/kafka/ready';
import { kafkaFor } from '../../src/kafka/client';
import { readClusterState } from '../../src/kafka/clusterState';
import { startBroker, stopBroker } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import { createTopicsReady, liveSpec } from '../support/kafka';
import { primarySpec, topo, unique } from '../support/lab';

const RECORDS = 300;
const names = TOPICS.map((t) => t.topic);
const expected = Object.fromEntries(TOPICS.map((t) => [t.topic, t.topic === 'demo-clickstream' ? RECORDS * 2 : RECORDS]));
const transient = (what: string) => new KafkaJSProtocolError({ message: `injected: ${what}`, type: 'REQUEST_TIMED_OUT', code: 7, retriable: true } as unknown as Error);

/** The records each demo topic holds, and each consumer group's committed offsets against half its end offsets. */
async function state(kafka: Kafka): Promise<{ records: Record<string, number>; groupsHalfWay: boolean }> {
  return withAdmin(kafka, 'primary', async (admin) => {
    const records: Record<string, number> = {};
    let groupsHalfWay = true;
    for (const t of names) {
      const ends = await admin.fetchTopicOffsets(t);
      records[t] = ends.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
      const [committed] = await admin.fetchOffsets({ groupId: `demo-${t.slice(5)}-consumers`, topics: [t] });
      for (const o of ends) {
        const c = committed!.partitions.find((p) => p.partition === o.partition);
        groupsHalfWay &&= c?.offset === String(Math.floor(Number(o.high) / 2));
      }
    }
    return { records, groupsHalfWay };
  });
}

describe('demo seeding', () => {
  it('creates the topics with a leader every broker knows, writes the records, sets the groups half-way; a re-run starts over', async () => {
    const spec = primarySpec();
    const kafka = kafkaFor(spec, 'demo-test');
    expect(await seed(kafka, spec, RECORDS)).toEqual(expected);
    await waitForAgreement(spec, { topics: names, timeoutMs: 5_000 });
    expect(await state(kafka)).toEqual({ records: expected, groupsHalfWay: true });
    // Again on the seeded lab (as a second `npm run demo`): recreated, not appended to.
    expect(await seed(kafka, spec, RECORDS)).toEqual(expected);
    expect(await state(kafka)).toEqual({ records: expected, groupsHalfWay: true });
  });

  it('waits out an earlier deletion that cannot finish yet (a replica broker down), then seeds', async () => {
    const spec = primarySpec();
    await createTopicsReady(spec, TOPICS.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions, replicationFactor: 3 })));
    const b3 = findBroker(topo, 'primary', 3);
    // Returns once brokers 1 and 2 agree on a controller that is not broker 3.
    await stopBroker(topo, b3);
    let seeding: Promise<Record<string, number>> | undefined;
    try {
      // Clients of the running brokers only: no admin call may go to the broker this test stopped.
      const live = liveSpec(spec);
      expect(live.kafka.bootstrapServers).not.toContain(`127.0.0.1:${b3.port}`);
      const kafka = kafkaFor(live, 'demo-test');
      // Marked for deletion, but broker 3 holds replicas: the topics stay until it is back.
      await withAdmin(kafka, spec.name, (admin) => admin.deleteTopics({ topics: names }));
      expect((await readClusterState(live, { topics: names })).partitions.length).toBeGreaterThan(0);
      seeding = seed(kafka, live, RECORDS);
      seeding.catch(() => {}); // awaited below, after the broker is back
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      await startBroker(topo, b3);
    }
    expect(await seeding).toEqual(expected);
    expect(await state(kafkaFor(spec, 'demo-test'))).toEqual({ records: expected, groupsHalfWay: true });
  });

  it('retries only the step that failed: a topic created by this run is never deleted', async () => {
    const spec = primarySpec();
    const real = kafkaFor(spec, 'demo-test');
    const calls: string[] = [];
    let createFails = 1;
    let sendFails = 1;
    // kafkajs's admin and producer are plain objects of functions: wrap the calls seeding makes. The
    // client's own symbol properties (its private cluster factory, which the groups' offset commit
    // uses) are not inherited through Object.create: copied over.
    const own = Object.fromEntries(Object.getOwnPropertySymbols(real).map((s) => [s, (real as unknown as Record<symbol, unknown>)[s]]));
    const kafka = Object.assign(Object.create(real) as Kafka, own, {
      admin: (): Admin => {
        const admin = real.admin();
        return {
          ...admin,
          deleteTopics: async (req: Parameters<Admin['deleteTopics']>[0]) => {
            calls.push(`delete ${req.topics.join(',')}`);
            return admin.deleteTopics(req);
          },
          createTopics: async (req: Parameters<Admin['createTopics']>[0]) => {
            calls.push('create');
            const created = await admin.createTopics(req);
            // The controller created them, but the answer did not arrive in time.
            if (createFails-- > 0) throw transient('createTopics timed out');
            return created;
          },
        };
      },
      producer: (...args: Parameters<Kafka['producer']>): Producer => {
        const producer = real.producer(...args);
        return {
          ...producer,
          send: async (req: Parameters<Producer['send']>[0]) => {
            if (sendFails-- > 0) throw transient('send failed before writing');
            return producer.send(req);
          },
        };
      },
    });
    // An unrelated topic is left alone.
    const other = unique('not-demo');
    await createTopicsReady(spec, [{ topic: other, numPartitions: 1 }]);
    try {
      const seeded = await seed(kafka, spec, RECORDS);
      expect(seeded).toEqual(expected);
      expect(createFails).toBeLessThan(0);
      expect(sendFails).toBeLessThan(0);
      // The demo topics of the earlier tests deleted once, before anything was created; never after.
      const firstCreate = calls.indexOf('create');
      expect(calls.slice(0, firstCreate).every((c) => c.startsWith('delete '))).toBe(true);
      expect(calls.slice(firstCreate).every((c) => c === 'create')).toBe(true);
      expect(calls.filter((c) => c === 'create').length).toBeGreaterThanOrEqual(2);
      for (const c of calls.filter((x) => x.startsWith('delete '))) expect(c.slice(7).split(',').every((t) => names.includes(t))).toBe(true);
      expect(await state(real)).toEqual({ records: expected, groupsHalfWay: true });
      expect(await withAdmin(real, spec.name, (admin) => admin.listTopics())).toContain(other);
    } finally {
      await withAdmin(real, spec.name, (admin) => admin.deleteTopics({ topics: [other] })).catch(() => {});
    }
  });

  it('waiting for metadata names the broker that does not know a topic', async () => {
    await expect(waitForAgreement(primarySpec(), { topics: [unique('never-created')], timeoutMs: 1_500 })).rejects.toThrow(/broker \d+ gives no metadata for/);
  });
});
