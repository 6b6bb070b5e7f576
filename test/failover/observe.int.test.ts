/**
 * The failover's observations against the real lab: a healthy primary, the primary with a broker
 * stopped (unreachable, process stopped, under-min-ISR and critical partitions offline), a spec
 * nobody answers for (everything false within the timeout), and the standby with a mirror (its
 * positions, their age and the lag read from the state topic on the standby).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { activityDeps } from '../../activities/deps';
import { startBroker, stopBroker } from '../../lab/lab';
import '../../lab/brokerControl';
import { findBroker } from '../../lab/topology';
import { backupPart } from '../../src/backup/parts';
import { defaultParts } from '../../src/backup/plan.pure';
import { type ClusterSpec, resolveSecret } from '../../src/config/spec';
import { classify } from '../../src/failover/decide.pure';
import { MIRROR_RUNNING_MS, newestVerifiedSet, observeCluster, observeStandby } from '../../src/failover/observe';
import type { ClusterObservation } from '../../src/failover/types';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { waitForBrokerInIsr } from '../../src/kafka/cluster';
import { mirrorShard, planMirror } from '../../src/kafka/mirror';
import { mirrorPair, mirrorWorkflowId } from '../../src/kafka/mirrorRun.pure';
import { initRepository } from '../../src/repository/repo';
import { createTopicsReady, liveKafka } from '../support/kafka';
import { primarySpec, standbySpec, topo, unique } from '../support/lab';
import { produceNumbered } from '../kafka/mirror/mirrorSupport';

const created: [ClusterSpec, string][] = [];

afterAll(async () => {
  for (const [spec, topic] of created) await withAdmin(liveKafka(spec, 'test-admin'), spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
});

/** Only what concerns `topics` (CI runs other tests' topics on the same lab). */
const only = (o: ClusterObservation, topics: string[]): ClusterObservation => {
  const mine = (ps: { topic: string }[]) => ps.filter((p) => topics.includes(p.topic));
  return { ...o, offline: mine(o.offline), criticalOffline: mine(o.criticalOffline), underMinIsr: mine(o.underMinIsr) } as ClusterObservation;
};

describe('observeCluster', () => {
  it('a healthy primary: every broker answers and runs, a controller, a ZooKeeper quorum, nothing of ours offline', async () => {
    const spec = primarySpec();
    const topic = unique('obs-healthy');
    created.push([spec, topic]);
    await createTopicsReady(spec, [{ topic, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }]);
    const t0 = Date.now();
    const o = await observeCluster(spec, { timeoutMs: 10_000 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(o.cluster).toBe('primary');
    expect(o.reachable).toBe(true);
    expect(o.brokers).toEqual(spec.brokers.map((b) => ({ id: b.id, listener: b.listener, reachable: true, process: 'running' })));
    expect(spec.brokers.map((b) => b.id)).toContain(o.controller);
    expect(o.zookeeper).toEqual({ reachable: 1, total: 1, quorum: true });
    const mine = only(o, [topic]);
    expect([mine.offline, mine.criticalOffline, mine.underMinIsr]).toEqual([[], [], []]);
    expect(classify(mine)).toBeNull();
  });

  it('a broker stopped: unreachable, its process stopped, the controller elsewhere; its sole-replica critical partition offline, an ISR below min.insync.replicas', async () => {
    const spec = primarySpec();
    const safe = unique('obs-safe');
    const strict = unique('obs-strict');
    // The lab spec's critical topics: ^orders, ^payments.
    const critical = `payments-${unique('obs')}`;
    created.push([spec, safe], [spec, strict], [spec, critical]);
    await createTopicsReady(spec, [
      { topic: safe, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
      { topic: strict, replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }], configEntries: [{ name: 'min.insync.replicas', value: '3' }] },
      { topic: critical, replicaAssignment: [{ partition: 0, replicas: [2] }] },
    ]);
    const b2 = findBroker(topo, 'primary', 2);
    try {
      await stopBroker(topo, b2);
      // The controller moves (if it was broker 2) and shrinks the ISRs a moment after the broker left.
      let o: ClusterObservation | undefined;
      for (let i = 0; i < 120; i++) {
        const t0 = Date.now();
        o = await observeCluster(spec, { timeoutMs: 5_000 });
        expect(Date.now() - t0).toBeLessThan(6_000);
        const m = only(o, [strict, critical]);
        if (typeof o.controller === 'number' && m.underMinIsr.length === 1 && m.criticalOffline.length === 1) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(o!.brokers.find((b) => b.id === 2)).toMatchObject({ id: 2, reachable: false, process: 'stopped', error: expect.any(String) });
      expect(o!.brokers.filter((b) => b.id !== 2).every((b) => b.reachable && b.process === 'running')).toBe(true);
      expect(o!.reachable).toBe(true);
      expect([1, 3]).toContain(o!.controller);
      expect(only(o!, [safe])).toMatchObject({ offline: [], underMinIsr: [] });
      expect(only(o!, [strict]).underMinIsr).toEqual([{ topic: strict, partition: 0 }]);
      expect(only(o!, [critical]).criticalOffline).toEqual([{ topic: critical, partition: 0 }]);
      expect(only(o!, [critical]).offline).toEqual([{ topic: critical, partition: 0 }]);
      // What the decision tree makes of it: a broker down with our safe topic served → P2; the strict one → P1; the critical one → P0.
      expect(classify(only(o!, [safe]))).toBe('P2');
      expect(classify(only(o!, [strict]))).toBe('P1');
      expect(classify(only(o!, [critical]))).toBe('P0');
    } finally {
      await startBroker(topo, b2);
      await waitForBrokerInIsr(spec, 2, { timeoutMs: 150_000 });
    }
    const back = only(await observeCluster(spec, { timeoutMs: 10_000 }), [safe, strict, critical]);
    expect(back.brokers.every((b) => b.reachable && b.process === 'running')).toBe(true);
    expect([back.offline, back.underMinIsr]).toEqual([[], []]);
  });

  it('a spec nobody answers for: everything false, within the timeout', async () => {
    const base = primarySpec();
    const spec: ClusterSpec = {
      ...base,
      name: 'nowhere',
      kafka: { ...base.kafka, bootstrapServers: ['127.0.0.1:1'] },
      zookeeper: { ...base.zookeeper!, connect: '127.0.0.1:2,127.0.0.1:3,127.0.0.1:4/nowhere' },
      // Ports nothing listens on; broker control that says "stopped".
      brokers: base.brokers.map((b, i) => ({ ...b, listener: `127.0.0.1:${5 + i}`, control: { type: 'command' as const, start: 'true', stop: 'true', status: 'exit 3' } })),
    };
    const t0 = Date.now();
    const o = await observeCluster(spec, { timeoutMs: 4_000 });
    expect(Date.now() - t0).toBeLessThan(4_500);
    expect(o.reachable).toBe(false);
    expect(o.controller).toBeUndefined();
    expect(o.brokers.map((b) => [b.id, b.reachable, b.process])).toEqual(base.brokers.map((b) => [b.id, false, 'stopped']));
    for (const b of o.brokers) expect(b.error).toMatch(/ECONNREFUSED|no answer/);
    expect(o.zookeeper).toMatchObject({ reachable: 0, total: 3, quorum: false, error: expect.stringContaining('127.0.0.1:2') });
    expect([o.offline, o.criticalOffline, o.underMinIsr]).toEqual([[], [], []]);
    expect(classify(o)).toBe('P0');
  });
});

describe('observeStandby', () => {
  it('the mirror on the standby: its topics, the age of its newest position, running, lag while the primary answers and unknown once it does not', async () => {
    // A primary of its own name: the mirror's pair (state keys) is this test's alone.
    const primary: ClusterSpec = { ...primarySpec(), name: unique('obsp') };
    const standby = standbySpec();
    const topic = unique('obs-mirror');
    const source: Kafka = kafkaFor(primary, 'test-obs-src');
    created.push([primarySpec(), topic], [standby, topic]);
    await createTopicsReady(primarySpec(), [{ topic, numPartitions: 2, replicationFactor: 3 }]);

    const before = await observeStandby(primary, standby, { timeoutMs: 10_000 });
    expect(before.mirror).toEqual({ workflowId: mirrorWorkflowId(primary.name, 'standby'), running: false, topics: [] });
    expect(before).toMatchObject({ cluster: 'standby', healthy: true, brokersUp: 1, brokersTotal: 1, problems: [] });

    await produceNumbered(source, topic, 200, 2);
    await planMirror(primary, standby, { topics: [topic] });
    const t0 = Date.now();
    const r = await mirrorShard(primary, standby, mirrorPair(primary.name, standby.name), { topic, partitions: [0, 1] }, { until: 'caught-up' });
    expect(r.caughtUp).toBe(true);

    const caught = await observeStandby(primary, standby, { timeoutMs: 10_000 });
    expect(caught.mirror.topics).toEqual([topic]);
    expect(caught.mirror.running).toBe(true);
    expect(caught.mirror.lagRecords).toBe(0);
    expect(caught.mirror.lastPositionAt).toBeGreaterThanOrEqual(t0);
    expect(caught.mirror.lastPositionAt).toBeLessThanOrEqual(Date.now());

    // 50 more on the primary, not mirrored yet: the lag counts them.
    await produceNumbered(source, topic, 50, 2, 100, 200);
    const behind = await observeStandby(primary, standby, { timeoutMs: 10_000 });
    expect(behind.mirror.lagRecords).toBe(50);

    // Seen later than MIRROR_RUNNING_MS after its newest position: not running. The primary gone: lag unknown, the positions still there.
    const gone: ClusterSpec = { ...primary, kafka: { ...primary.kafka, bootstrapServers: ['127.0.0.1:1'] } };
    const t1 = Date.now();
    const later = await observeStandby(gone, standby, { timeoutMs: 5_000, now: caught.mirror.lastPositionAt! + MIRROR_RUNNING_MS + 1 });
    expect(Date.now() - t1).toBeLessThan(6_000);
    expect(later.mirror).toEqual({ workflowId: caught.mirror.workflowId, running: false, lastPositionAt: caught.mirror.lastPositionAt, topics: [topic] });
  });

  it('an unreachable standby: unhealthy, no broker up, its problems named, within the timeout', async () => {
    const base = standbySpec();
    const standby: ClusterSpec = {
      ...base,
      kafka: { ...base.kafka, bootstrapServers: ['127.0.0.1:1'] },
      zookeeper: { ...base.zookeeper!, connect: '127.0.0.1:2' },
      brokers: base.brokers.map((b) => ({ ...b, listener: '127.0.0.1:1' })),
    };
    const t0 = Date.now();
    const s = await observeStandby(primarySpec(), standby, { timeoutMs: 4_000 });
    expect(Date.now() - t0).toBeLessThan(4_500);
    expect(s).toMatchObject({ healthy: false, brokersUp: 0, brokersTotal: 1, mirror: { running: false, topics: [] } });
    expect(s.problems).toEqual(expect.arrayContaining(['no broker answers', expect.stringMatching(/no ZooKeeper quorum/), expect.stringMatching(/mirror state on standby unreadable/)]));
  });
});

describe('newestVerifiedSet', () => {
  it('none without a repository or a set, then the set a backup wrote (structure and data read back)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-obs-'));
    try {
      const lab = primarySpec();
      expect(await newestVerifiedSet({ ...lab, repository: undefined })).toEqual({ why: 'primary has no repository in its spec' });
      const spec: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') } };
      const repo = await initRepository(spec.repository!.path, resolveSecret(spec.repository!.password));
      try {
        expect(await newestVerifiedSet(spec)).toEqual({ why: expect.stringMatching(/holds no backup set/) });
        const setId = randomUUID().replace(/-/g, '').slice(0, 16);
        const parts = defaultParts(spec);
        for (const part of parts) await backupPart(spec, repo, { setId, tier: 'manual', parts }, part);
        const r = await newestVerifiedSet(spec);
        expect(r.why).toBeUndefined();
        expect(r.newestVerified).toMatchObject({ setId, parts: [...parts].sort() });
        expect(Date.parse(r.newestVerified!.time)).toBeGreaterThan(Date.now() - 10 * 60_000);
      } finally {
        await repo.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the failover activities (registered, thin)', () => {
  it('observeClusterActivity, observeStandbyActivity and newestVerifiedSetActivity answer through the activity boundary', async () => {
    const acts = createActivities(activityDeps());
    const env = new MockActivityEnvironment();
    const o = await env.run(() => acts.observeClusterActivity({ spec: primarySpec(), timeoutMs: 5_000 }));
    expect(o).toMatchObject({ cluster: 'primary', reachable: true, zookeeper: { quorum: true } });
    const s = await env.run(() => acts.observeStandbyActivity({ primary: primarySpec(), standby: standbySpec(), timeoutMs: 5_000 }));
    expect(s).toMatchObject({ cluster: 'standby', healthy: true, mirror: { workflowId: 'mirror-primary-to-standby' } });
    const b = await env.run(() => acts.newestVerifiedSetActivity({ spec: { ...primarySpec(), repository: undefined } }));
    expect(b).toEqual({ why: 'primary has no repository in its spec' });
  });
});
