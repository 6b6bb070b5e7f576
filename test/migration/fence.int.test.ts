/**
 * The write fence on the primary (ZooKeeper mode, AclAuthorizer): the lab's application client
 * (SASL as User:app, bound by ACLs) is refused on every partition once awaitFence returns, still
 * reads, and writes again after unfence; a topic's own ACLs stay as they were; Lifeboat (a super
 * user) is never bound.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, type Kafka, ResourcePatternTypes } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { awaitFence, fenceWrites, unfenceWrites } from '../../src/migration';
import { createTopicsReady } from '../support/kafka';
import { appKafka, nextSpec, primarySpec, unique } from '../support/lab';

const lifeboat: Kafka = kafkaFor(primarySpec(), 'test-fence');
const plain = unique('fence-plain');
const owned = unique('fence-owned');
const PARTITIONS = 3;

/** User:app may read `owned` by an ACL of its own (the fence must leave it, and add no ALLOW there). */
const ownAcl = {
  resourceType: AclResourceTypes.TOPIC,
  resourceName: owned,
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal: 'User:app',
  host: '*',
  operation: AclOperationTypes.ALL,
  permissionType: AclPermissionTypes.ALLOW,
};

async function aclsOf(topics: string[]): Promise<string[]> {
  const admin = lifeboat.admin();
  await admin.connect();
  try {
    const r = await admin.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
    return r.resources
      .filter((x) => topics.includes(x.resourceName))
      .flatMap((x) => x.acls.map((a) => `${x.resourceName} ${x.resourcePatternType} ${a.principal} ${a.host} ${a.operation} ${a.permissionType}`))
      .sort();
  } finally {
    await admin.disconnect();
  }
}

/** One send per partition as User:app (each partition's leader is asked): how many were refused as not authorized. */
async function appSends(topic: string, cluster: 'primary' | 'next' = 'primary'): Promise<{ ok: number; refused: number; other: string[] }> {
  const producer = appKafka(cluster, 'fence-app').producer({ retry: { retries: 0 } });
  await producer.connect();
  const out = { ok: 0, refused: 0, other: [] as string[] };
  try {
    for (let p = 0; p < PARTITIONS; p++) {
      const e = await producer.send({ topic, acks: -1, messages: [{ partition: p, value: `p${p}` }] }).then(() => undefined, (x: unknown) => x as Error);
      if (!e) out.ok++;
      else if (/not authorized/i.test(e.message)) out.refused++;
      else out.other.push(e.message);
    }
  } finally {
    await producer.disconnect();
  }
  return out;
}

/** Reads the topic from the beginning as User:app; resolves with the number of records seen. */
async function appReads(topic: string, expect: number): Promise<number> {
  const consumer = appKafka('primary', 'fence-app').consumer({ groupId: unique('fence-reader') });
  await consumer.connect();
  let seen = 0;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${seen}/${expect} of ${topic} as User:app`)), 30_000);
      void consumer.run({
        eachMessage: async () => {
          if (++seen >= expect) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

afterAll(async () => {
  const admin = lifeboat.admin();
  await admin.connect();
  await admin.deleteAcls({ filters: [{ ...ownAcl }] }).catch(() => {});
  for (const t of [plain, owned]) {
    await admin
      .deleteAcls({ filters: [{ resourceType: AclResourceTypes.TOPIC, resourceName: t, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }] })
      .catch(() => {});
  }
  await admin.deleteTopics({ topics: [plain, owned] }).catch(() => {});
  await admin.disconnect();
});

describe('write fence', () => {
  it('refuses the applications everywhere once awaitFence returns, keeps reads, and unfence puts back exactly what was there', async () => {
    await createTopicsReady(primarySpec(), [plain, owned].map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 3 })), { kafka: lifeboat });
    const admin = lifeboat.admin();
    await admin.connect();
    await admin.createAcls({ acl: [ownAcl] });
    await admin.disconnect();
    const before = await aclsOf([plain, owned]);
    expect(before).toHaveLength(1);
    expect(await appSends(plain)).toEqual({ ok: PARTITIONS, refused: 0, other: [] });

    // Dry run: the plan, nothing set.
    const dry = await fenceWrites(primarySpec(), [plain, owned], { dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.acls.map((a) => `${a.resourceName} ${a.permission} ${a.operation} ${a.principal}`).sort()).toEqual(
      [`${owned} DENY WRITE User:*`, `${plain} ALLOW ALL User:*`, `${plain} DENY WRITE User:*`].sort(),
    );
    expect(dry.notes?.join('\n')).toContain(`${owned}: no ALLOW added`);
    expect(await aclsOf([plain, owned])).toEqual(before);

    const fence = await fenceWrites(primarySpec(), [plain, owned]);
    expect(fence.acls).toEqual(dry.acls);
    const waited = await awaitFence(primarySpec(), fence, { timeoutMs: 60_000 });
    expect(waited).toBeGreaterThanOrEqual(0);
    // Once awaitFence returned, every partition's leader refuses User:app at once.
    expect(await appSends(plain)).toEqual({ ok: 0, refused: PARTITIONS, other: [] });
    expect(await appSends(owned)).toEqual({ ok: 0, refused: PARTITIONS, other: [] });
    // Reads go on: the ALLOW ALL beside the DENY on the plain topic, the topic's own ACL on the other.
    expect(await appReads(plain, PARTITIONS)).toBe(PARTITIONS);
    // The super user still writes (the mirror's drain and Lifeboat's probes are not bound).
    const own = lifeboat.producer();
    await own.connect();
    await own.send({ topic: plain, messages: [{ value: 'by lifeboat' }] });
    await own.disconnect();

    // Idempotent: a second run (an activity retried) sets nothing new and returns the same record.
    const fenced = await aclsOf([plain, owned]);
    expect(fenced).toHaveLength(4);
    const again = await fenceWrites(primarySpec(), [plain, owned]);
    expect(again.acls).toEqual(fence.acls);
    expect(await aclsOf([plain, owned])).toEqual(fenced);

    await unfenceWrites(primarySpec(), again);
    expect(await aclsOf([plain, owned])).toEqual(before);
    let back = { ok: 0, refused: 0, other: [] as string[] };
    for (let i = 0; i < 50 && back.ok < PARTITIONS; i++) {
      back = await appSends(plain);
      if (back.ok < PARTITIONS) await new Promise((r) => setTimeout(r, 200));
    }
    expect(back.ok).toBe(PARTITIONS);
  }, 150_000);

  it('fences a KRaft cluster the same way (StandardAuthorizer: each broker answers from its metadata image)', async () => {
    const next = kafkaFor(nextSpec(), 'test-fence');
    const topic = unique('fence-kraft');
    await createTopicsReady(nextSpec(), [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], { kafka: next });
    try {
      const fence = await fenceWrites(nextSpec(), [topic]);
      expect(fence.acls.map((a) => `${a.permission} ${a.operation}`)).toEqual(['DENY WRITE', 'ALLOW ALL']);
      await awaitFence(nextSpec(), fence, { timeoutMs: 60_000, quietMs: 500 });
      expect(await appSends(topic, 'next')).toEqual({ ok: 0, refused: PARTITIONS, other: [] });
      await unfenceWrites(nextSpec(), fence);
      let back = 0;
      for (let i = 0; i < 50 && back < PARTITIONS; i++) {
        back = (await appSends(topic, 'next')).ok;
        if (back < PARTITIONS) await new Promise((r) => setTimeout(r, 200));
      }
      expect(back).toBe(PARTITIONS);
    } finally {
      const admin = next.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  }, 60_000);

  it('reports writes a fence cannot stop (a super user producing) instead of waiting them out', async () => {
    const topic = unique('fence-super');
    await createTopicsReady(primarySpec(), [{ topic, numPartitions: 1, replicationFactor: 3 }], { kafka: lifeboat });
    const fence = await fenceWrites(primarySpec(), [topic]);
    const producer = lifeboat.producer();
    await producer.connect();
    let stop = false;
    let landed!: () => void;
    const firstLanded = new Promise<void>((r) => (landed = r));
    const writing = (async () => {
      while (!stop) {
        await producer.send({ topic, messages: [{ value: 'x' }] });
        landed();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      // Writes land before the fence is awaited (a new producer's first send can take a second on a
      // busy machine, which read as quiet), and the quiet asked for is far longer than one send.
      await Promise.race([firstLanded, writing]);
      await expect(awaitFence(primarySpec(), fence, { timeoutMs: 8_000, quietMs: 3_000 })).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/writes still land/) });
    } finally {
      stop = true;
      await writing;
      await producer.disconnect();
      await unfenceWrites(primarySpec(), fence);
      const admin = lifeboat.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
    expect(await aclsOf([topic])).toEqual([]);
  }, 60_000);
});
