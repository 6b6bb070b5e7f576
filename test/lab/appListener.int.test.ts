/**
 * The lab's applications' listener: clients there are User:app (SASL/PLAIN), so an ACL binds them
 * while Lifeboat (PLAINTEXT, a super user) is not bound. A migration's write fence stands on this.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, type Kafka, ResourcePatternTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { appKafka, nextSpec, primarySpec, unique } from '../support/lab';

const denyWrite = (topic: string) => ({
  resourceType: AclResourceTypes.TOPIC,
  resourceName: topic,
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal: 'User:*',
  host: '*',
  operation: AclOperationTypes.WRITE,
  permissionType: AclPermissionTypes.DENY,
});

describe.each([
  ['primary', primarySpec],
  ['next', nextSpec],
] as const)('the %s cluster', (cluster, specOf) => {
  it('binds User:app by a DENY WRITE ACL and leaves the super user writing', async () => {
    const topic = unique('app-acl');
    const lifeboat: Kafka = kafkaFor(specOf(), 'lab-test');
    const admin = lifeboat.admin();
    await admin.connect();
    const app = appKafka(cluster).producer({ retry: { retries: 0 } });
    const own = lifeboat.producer();
    await app.connect();
    await own.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await app.send({ topic, messages: [{ value: 'before' }] });
      await admin.createAcls({ acl: [denyWrite(topic)] });
      // ACLs reach every broker's cache by a notification (KRaft: the metadata log): the refusal comes
      // within moments; sends accepted before it are counted.
      let refused: unknown;
      let early = 0;
      for (let i = 0; i < 50 && !refused; i++) {
        refused = await app.send({ topic, messages: [{ value: 'early' }] }).then(() => undefined, (e: unknown) => e);
        if (!refused) {
          early++;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      expect(String((refused as Error | undefined)?.message)).toMatch(/not authorized/i);
      await own.send({ topic, messages: [{ value: 'by lifeboat' }] });
      await admin.deleteAcls({ filters: [denyWrite(topic)] });
      let back = false;
      for (let i = 0; i < 50 && !back; i++) {
        back = await app.send({ topic, messages: [{ value: 'after' }] }).then(() => true, () => false);
        if (!back) await new Promise((r) => setTimeout(r, 200));
      }
      expect(back).toBe(true);
      const [offsets] = await admin.fetchTopicOffsets(topic);
      // before, the early ones, by lifeboat, after: the refused record never landed.
      expect(Number(offsets?.high)).toBe(3 + early);
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await Promise.all([admin.disconnect(), app.disconnect(), own.disconnect()]);
    }
  }, 60_000);
});
