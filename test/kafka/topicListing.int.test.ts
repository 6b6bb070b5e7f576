/**
 * A backup's topic listing checked against ZooKeeper (src/kafka/topicListing.ts), on the lab's real
 * ZooKeeper and brokers. The broker that lists nothing is a stand-in: an admin whose first answers
 * are empty, as a broker's right after it starts, before the controller has told it the topics.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, type Admin, ResourcePatternTypes } from 'kafkajs';
import { appBootstrapServers, findCluster, LAB_APP_USER } from '../../lab/topology';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { listTopicsChecked, topicsInZookeeper } from '../../src/kafka/topicListing';
import { createTopicsReady } from '../support/kafka';
import { nextSpec, primarySpec, standbySpec, topo, unique } from '../support/lab';

const standby = standbySpec();
const topic = unique('scratch-listing');

/** The real admin's listing after `emptyAnswers` empty ones. */
const listingEmptyAtFirst = (real: Admin, emptyAnswers: number): Admin => {
  let answers = 0;
  return { listTopics: () => (answers++ < emptyAnswers ? Promise.resolve([]) : real.listTopics()) } as Admin;
};

beforeAll(async () => {
  await createTopicsReady(standby, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
});

afterAll(async () => {
  await withAdmin(kafkaFor(standby), standby.name, (a) => a.deleteTopics({ topics: [topic] }));
});

describe('listTopicsChecked', () => {
  it('lists again until the brokers list the topics ZooKeeper has, when the first listings lack them', async () => {
    const truth = await topicsInZookeeper(standby);
    expect(truth).toContain(topic);
    // Three empty answers: the check lists again until the brokers list what ZooKeeper has.
    const got = await withAdmin(kafkaFor(standby), standby.name, (a) => listTopicsChecked(standby, listingEmptyAtFirst(a, 3)));
    expect(got).toContain(topic);
    for (const t of truth!) expect(got).toContain(t);
  });

  it('fails as Unreachable, naming the topics, when the listing still lacks them after the wait', async () => {
    const e = await withAdmin(kafkaFor(standby), standby.name, (a) => listTopicsChecked(standby, listingEmptyAtFirst(a, 1_000), { timeoutMs: 2_000 })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LifeboatError);
    expect((e as LifeboatError).type).toBe('Unreachable');
    expect((e as LifeboatError).message).toMatch(/do not list \d+ topic\(s\) ZooKeeper has/);
  });

  it('takes the listing as it is without ZooKeeper metadata (KRaft) and when ZooKeeper cannot be read', async () => {
    const next = nextSpec();
    expect(await topicsInZookeeper(next)).toBeUndefined();
    expect(await listTopicsChecked(next, listingEmptyAtFirst({} as Admin, 1))).toEqual([]);
    const noZk = { ...standby, zookeeper: { ...standby.zookeeper!, connect: '127.0.0.1:1' } };
    const t = Date.now();
    expect(await topicsInZookeeper(noZk, { timeoutMs: 1_000 })).toBeUndefined();
    expect(Date.now() - t).toBeLessThan(10_000);
  }, 30_000);
});

describe('listTopicsChecked for a principal that may not describe every topic', () => {
  const primary = primarySpec();
  const hidden = unique('scratch-listing-hidden');
  // Any ACL on the topic, none for User:app: with allow.everyone.if.no.acl.found, app sees every topic but this one.
  const acl = { resourceType: AclResourceTypes.TOPIC, resourceName: hidden, resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:nobody', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW };
  process.env.LIFEBOAT_TEST_APP_PASSWORD = LAB_APP_USER.password;
  const asApp = { ...primary, kafka: { ...primary.kafka, bootstrapServers: appBootstrapServers(findCluster(topo, 'primary')), sasl: { mechanism: 'plain' as const, username: LAB_APP_USER.username, password: { env: 'LIFEBOAT_TEST_APP_PASSWORD' } } } };

  beforeAll(async () => {
    await createTopicsReady(primary, [{ topic: hidden, numPartitions: 1, replicationFactor: 1 }]);
    await withAdmin(kafkaFor(primary), primary.name, (a) => a.createAcls({ acl: [acl] }));
    // Brokers apply a new ACL on their own time: until five listings in a row hide the topic from app.
    await withAdmin(kafkaFor(asApp), primary.name, async (a) => {
      for (let hiddenIn = 0, end = Date.now() + 30_000; hiddenIn < 5; ) {
        hiddenIn = (await a.listTopics()).includes(hidden) ? 0 : hiddenIn + 1;
        if (Date.now() > end) throw new Error(`${hidden} still visible to User:app 30 s after its ACL`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  });
  afterAll(async () => {
    await withAdmin(kafkaFor(primary), primary.name, async (a) => {
      await a.deleteAcls({ filters: [acl] });
      await a.deleteTopics({ topics: [hidden] });
    });
  });

  it('lists what the principal may describe, without waiting for the topics it may not', async () => {
    expect(await topicsInZookeeper(primary)).toContain(hidden);
    const t = Date.now();
    const got = await withAdmin(kafkaFor(asApp), primary.name, (a) => listTopicsChecked(asApp, a));
    expect(got).not.toContain(hidden);
    expect(got.length).toBeGreaterThan(0);
    expect(Date.now() - t).toBeLessThan(10_000);
  }, 60_000);
});
