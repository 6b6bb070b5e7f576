/**
 * Produce answers lost in flight during a topic restore, on a broker that forgets idempotent
 * producers within a second: the restore still writes every record exactly once.
 *
 * Kafka expires a producer's state by its records' own timestamps (producer.id.expiration.ms after
 * the newest one, checked every producer.id.expiration.check.interval.ms; on restart too), and then
 * accepts any sequence from it. A restore's records are old, so a real broker forgets the restore's
 * producer at its next check; this one (expiration 1 s, checked every 100 ms) does so at once. A
 * proxy between the restore and the broker (test/support/faultyProxy.ts) swallows the answer to a
 * written batch, or drops a request before it arrives, and cuts the connection: a resend of the
 * first would be written a second time, the second must be sent again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { kafkaFor } from '../../src/kafka/client';
import { restoreTopics, type TopicRestoreOptions } from '../../src/kafka/topicRestore';
import { killBroker, startBroker } from '../../lab/lab';
import { initRepository, type LocalRepository } from '../../src/repository';
import { freePort, type ScratchCluster, scratchCluster } from '../host/logdirsScratchBroker';
import { FaultyProxy } from '../support/faultyProxy';
import { primarySpec, unique } from '../support/lab';
import { backedUpNumberedTopic, expectRestoredExactly } from './topicsSupport';

const PER_PARTITION = 1000;
const primary = kafkaFor(primarySpec(), 'test-src');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-lost-'));
const source = unique('lost-src');
let repo: LocalRepository;
let snapshot = '';
let broker: ScratchCluster;
let proxy: FaultyProxy;
/** The target as the restore sees it: every connection through the proxy. */
let throughProxy: ClusterSpec;

beforeAll(async () => {
  repo = await initRepository(join(dir, 'repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
  snapshot = await backedUpNumberedTopic(primary, repo, source, PER_PARTITION);

  const faulty = await freePort();
  proxy = await FaultyProxy.start(faulty);
  broker = await scratchCluster({
    listeners: { FAULTY: faulty },
    advertise: { FAULTY: proxy.port },
    properties: ['listener.security.protocol.map=PLAINTEXT:PLAINTEXT,FAULTY:PLAINTEXT', 'producer.id.expiration.ms=1000', 'producer.id.expiration.check.interval.ms=100'],
  });
  await broker.start();
  throughProxy = { ...broker.spec, kafka: { ...broker.spec.kafka, bootstrapServers: [`127.0.0.1:${proxy.port}`] } };
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await broker?.destroy();
  const admin = primary.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [source] }).catch(() => {});
  await admin.disconnect();
  await repo?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function restoreThroughProxy(into: string, mapFile: string, more: Partial<TopicRestoreOptions> = {}) {
  const snap = await repo.openSnapshot(snapshot);
  const t0 = Date.now();
  const result = await restoreTopics(kafkaFor(throughProxy, 'test-restore'), {
    snapshots: [snap],
    topics: [source],
    rename: { [source]: into },
    offsetMapFile: mapFile,
    maxBatchBytes: 16 * 1024,
    replicationFactor: 1,
    ...more,
  });
  return { ...result, ms: Date.now() - t0 };
}

describe('topic restore with lost produce answers', () => {
  it('batches the broker wrote without the restore hearing so are found in the target, not written again', { timeout: 120_000 }, async () => {
    const into = unique('lost-answer');
    const mapFile = join(dir, `${into}.map`);
    proxy.reset();
    proxy.arm(20, 'lose-answer');
    proxy.arm(60, 6); // NOT_LEADER_OR_FOLLOWER: leadership moved while the leader awaited its replicas
    proxy.arm(100, 7); // REQUEST_TIMED_OUT: the replicas did not confirm in time
    const res = await restoreThroughProxy(into, mapFile, { settleMs: 60_000 });
    expect(proxy.broken.map((b) => b.fault)).toEqual(['lose-answer', 6, 7]);
    expect(res.records).toBe(PER_PARTITION * 3);
    await expectRestoredExactly({ kafka: primary, topic: source }, { kafka: kafkaFor(broker.spec, 'test-dst'), topic: into }, mapFile);
    // Found by looking at once, not after waiting out the time a request may still arrive in.
    expect(res.ms).toBeLessThan(60_000);
  });

  it('a request that never reached the broker is sent again once it can no longer arrive', { timeout: 120_000 }, async () => {
    const into = unique('lost-request');
    const mapFile = join(dir, `${into}.map`);
    proxy.reset();
    proxy.arm(20, 'drop-request');
    const res = await restoreThroughProxy(into, mapFile, { settleMs: 3000 });
    const [dropped] = proxy.broken;
    expect(dropped).toMatchObject({ fault: 'drop-request', topic: into });
    expect(res.records).toBe(PER_PARTITION * 3);
    await expectRestoredExactly({ kafka: primary, topic: source }, { kafka: kafkaFor(broker.spec, 'test-dst'), topic: into }, mapFile);
    // Sent again only after the settle time, counted from the first look that got an answer.
    const resent = proxy.seen.find((s) => s.n > dropped!.n && s.partition === dropped!.partition)!;
    expect(resent.at - dropped!.at).toBeGreaterThanOrEqual(3000);
  });

  it('the broker killed and started again mid-restore: every record once', { timeout: 240_000 }, async () => {
    const into = unique('lost-restart');
    const mapFile = join(dir, `${into}.map`);
    proxy.reset();
    let restart: Promise<void> | undefined;
    const res = await restoreThroughProxy(into, mapFile, {
      settleMs: 3000,
      onProgress: (p) => {
        if (!restart && p.totalRecords >= PER_PARTITION) restart = killBroker(broker.topo, broker.broker).then(() => startBroker(broker.topo, broker.broker));
      },
    });
    await restart;
    // The kill cut produce requests the broker had not answered.
    expect(proxy.cutByBroker).toBeGreaterThan(0);
    expect(res.records).toBe(PER_PARTITION * 3);
    await expectRestoredExactly({ kafka: primary, topic: source }, { kafka: kafkaFor(broker.spec, 'test-dst'), topic: into }, mapFile);
  });
});
