/**
 * The drill scenarios not covered by drill.int (cluster-lost), drillCorrupt.int (backup-corrupt),
 * drillChaos.int and stop.int (broker-killed), run end to end on the lab: the fault applied, the
 * plan's recovery child bringing the target back, verify, review with the reverts, the record with
 * its score saved in the repository. Each asserts what came back (znode data, log dirs, offsets), not
 * only the record.
 *  - ZooKeeper lost under the running standby broker and restored from a set older than a topic
 *    (fullClusterRecovery of the zookeeper part): the disk's newer topics are registered again
 *    (adopt-topics) and served with every record to consumer groups. On a fresh lab Kafka's own
 *    __consumer_offsets is newer than the set too (a drill's fresh set: its baseline probe creates it
 *    after the set's ZooKeeper part); before adopt-topics the next group created it again with a new
 *    topic id, which the broker refused for the log it held ("Topic ID in memory … does not match"),
 *    so no group could read: the zookeeper-data-lost drill's verify probe read 0/30 on a fresh lab;
 *  - zookeeper-data-lost (full, the staging standby): the chroot deleted while the broker runs,
 *    fullClusterRecovery of the zookeeper part (stop, restore, adopt-topics, start: the broker
 *    registers again) brings every znode back with its data;
 *  - registry-lost (full, the standby with registry roots of the test's own): both roots deleted,
 *    restoreState of the registry part brings them back;
 *  - broker-disk-wiped and brokers-lost (full, the primary — the lab's only cluster of more than one
 *    broker — with iKnowThisIsProduction): one broker's log dirs moved aside and restored by its
 *    brokerRecovery from the drill's fresh set, the broker back as leader serving every offset; two of
 *    three brokers killed and brought back one brokerRecovery each. The primary is left whole, every
 *    ISR full;
 *  - datacenter-lost as a tabletop (the primary, whose spec names the standby): the failover's plan
 *    walked through as a dry run, nothing touched. The full one is drillDatacenter.int.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { brokerRunning, startBroker } from '../../lab/lab';
import { findCluster } from '../../lab/topology';
import { earlierProblems } from '../../src/drills/evidence.pure';
import { listDrillRecords } from '../../src/drills/history';
import { drillStreamTopic } from '../../src/drills/ids.pure';
import { takeInventory } from '../../src/drills/inventory';
import { inventoryDiff } from '../../src/drills/inventory.pure';
import { carryOver } from '../../src/drills/problems.pure';
import type { DrillRecord, FaultSpec } from '../../src/drills/records';
import { scoreDrill } from '../../src/drills/score.pure';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { waitForBrokerInIsr } from '../../src/kafka/cluster';
import { consumeAll } from '../recovery/consume';
import { openRepositoryForSpec } from '../../src/repository';
import { TASK_QUEUE } from '../../src/temporal/connection';
import type { RunReport } from '../../src/report/report.pure';
import { ACL, create, CreateMode, exists, Id, Permission, withZk } from '../../src/zookeeper/client';
import { deleteTree } from '../../src/zookeeper/deleteTree';
import { createTopicsReady, produce } from '../support/kafka';
import { primarySpec, standbySpec, topo, unique } from '../support/lab';
import { type LiveInstance, liveInstance } from '../support/liveInstance';
import { type DrillLab, startDrillLab, whyOf, znodeData } from './support/drillLab';

const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

/** A topic's znodes (/brokers/topics/<t>, /config/topics/<t>) hold JSON: compared as JSON (a re-registered one has its keys in another order). */
const TOPIC_JSON = /^\/(brokers|config)\/topics\/[^/]+$/;
function comparable(znodes: Record<string, string | null>): Record<string, unknown> {
  const sorted = (v: unknown): unknown => (Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sorted(x)])) : v);
  return Object.fromEntries(Object.entries(znodes).map(([p, d]) => [p, TOPIC_JSON.test(p) && d ? sorted(JSON.parse(Buffer.from(d, 'base64').toString('utf8'))) : d]));
}

/** Saved in the cluster's repository as returned. */
async function savedScore(lab: DrillLab, id: string): Promise<number | undefined> {
  const repo = await openRepositoryForSpec(lab.spec);
  try {
    return (await listDrillRecords(repo, lab.spec.name)).records.find((r) => r.id === id)?.score.total;
  } finally {
    await repo.close();
  }
}

/**
 * What every successful drill's record shows: five phases, measured, scored from its evidence and the
 * open problems of the drills saved before it in the same repository (`earlier`), nothing left different.
 */
function expectRecovered(record: DrillRecord, id: string, earlier: DrillRecord[] = []): void {
  const why = whyOf(record);
  expect(record.id).toBe(id);
  expect(record.skipped).toBeUndefined();
  expect(record.phases.map((p) => p.name), why).toEqual(['prepare', 'start', 'execute', 'verify', 'review']);
  expect(Date.parse(record.evidence.times!.firstGreenProbeAt!), why).toBeGreaterThanOrEqual(Date.parse(record.evidence.times!.faultAt!));
  expect(record.rtoSeconds, why).not.toBeNull();
  expect(record.rtoSeconds!).toBeLessThan(300);
  expect(record.score).toEqual(scoreDrill(record.evidence, carryOver(earlierProblems(earlier), record.startedAt)));
  expect(record.score.missing, why).toEqual([]);
  expect(record.score.parts.recoveryTime.points, why).toBe(30);
  expect(record.score.parts.process.points, why).toBe(25);
  expect(record.inventoryDifferences, why).toEqual([]);
  // For docs/drills.md: what each scenario measured on the lab.
  console.info(`drill ${record.scenario} (${record.type}) of ${record.cluster}: score ${record.score.total}, RTO ${record.rtoSeconds} s, RPO ${record.rpoSeconds} s, ${(Date.parse(record.endedAt) - Date.parse(record.startedAt)) / 1000} s start to record`);
}

/** The standby's drills are over (the datacenter-lost tabletop assesses the standby: it must not find it mid-drill). */
let standbyDone!: () => void;
const standbyOver = new Promise<void>((resolve) => (standbyDone = resolve));

// The two clusters' drills run side by side (the file's time is the longer of the two), each cluster's in order.
describe('zookeeper-data-lost and registry-lost drills on the staging standby', { concurrent: true }, () => {
  const standby = standbySpec();
  const broker = findCluster(topo, 'standby').brokers[0]!;
  const zkConnect = standby.zookeeper!.connect;
  const chroot = standby.zookeeper!.chroot;
  const u = unique('drillreg');
  const services = `/${u}-services`;
  const dubbo = `/${u}-dubbo`;
  const topic = unique('drill-zk-orders');
  /** Persistent znodes of the test's own in the chroot: application data a ZooKeeper restore must bring back. */
  const mine = `${chroot}/${unique('drill-app')}`;
  /** Created after the set the ZooKeeper-only recovery restores: only the broker's disk has it. */
  const late = unique('drill-zk-late');
  const LATE_RECORDS = 12;
  let lab: DrillLab;
  /** The drills this describe's tests have run, oldest first (the repository is the test's own). */
  const done: DrillRecord[] = [];
  /** A service that registers its instance again whenever it is gone (as Curator's ServiceDiscovery with a watch does). */
  let orders: LiveInstance | undefined;
  const ordersInstance = `${services}/orders/7d1e-live`;

  beforeAll(async () => {
    lab = await startDrillLab(standby, { registry: { curator: services, dubbo } });
    await createTopicsReady(lab.spec, [{ topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '86400000' }] }]);
    await produce(lab.spec, topic, Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `order-${i}` })));
    await withZk(zkConnect, async (zk) => {
      await create(zk, mine, Buffer.from('app root'), OPEN);
      for (let i = 0; i < 3; i++) await create(zk, `${mine}/item-`, Buffer.from(`item ${i}`), OPEN, CreateMode.PERSISTENT_SEQUENTIAL);
      for (const root of [services, dubbo]) {
        await create(zk, root, Buffer.from(`root ${root}`), OPEN);
        for (const svc of ['orders', 'payments']) {
          await create(zk, `${root}/${svc}`, Buffer.from(`{"service":"${svc}"}`), OPEN);
          await create(zk, `${root}/${svc}/instance-1`, Buffer.from(`{"address":"10.0.0.1","service":"${svc}"}`), OPEN);
        }
      }
    });
    orders = await liveInstance(zkConnect, ordersInstance, Buffer.from('{"address":"10.0.0.7","service":"orders"}'));
  }, 180_000);

  afterAll(async () => {
    await orders?.close();
    if (!brokerRunning(topo, broker)) await startBroker(topo, broker, () => {}).catch(() => undefined);
    await withZk(zkConnect, async (zk) => {
      for (const r of [mine, services, dubbo]) await deleteTree(zk, r);
    }).catch(() => undefined);
    await withAdmin(kafkaFor(standby), standby.name, (a) => a.deleteTopics({ topics: [topic, late] })).catch(() => {});
    await lab?.stop();
    standbyDone();
  }, 180_000);

  it.sequential('ZooKeeper lost under the running broker, restored from a set older than a topic: the disk\'s newer topics registered again (adopt-topics), the broker registered again, every record served to consumer groups', { timeout: 180_000 }, async () => {
    // A set of ZooKeeper alone (no baseline probe, so no consumer group creates anything after it), then a
    // topic it does not hold, read by a group: on a fresh lab that group creates __consumer_offsets too.
    const offsetsInSet = await withZk(zkConnect, async (zk) => !!(await exists(zk, `${chroot}/brokers/topics/__consumer_offsets`)));
    const set = (await lab.client.workflow.execute('backup', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('zk-only-set'),
      args: [{ spec: lab.spec, tier: 'manual', parts: ['zookeeper'], skipRetention: true, skipOffsite: true }],
    })) as { setId: string };
    await createTopicsReady(lab.spec, [{ topic: late, numPartitions: 2, replicationFactor: 1 }]);
    await produce(lab.spec, late, Array.from({ length: LATE_RECORDS }, (_, i) => ({ key: `l${i}`, value: `late-${i}` })));
    await consumeAll(lab.spec, late, LATE_RECORDS);

    // ZooKeeper's data lost while the broker runs (the drill's fault): its registration and /controller go with it.
    await withZk(zkConnect, (zk) => deleteTree(zk, chroot));
    const report = (await lab.client.workflow.execute('fullClusterRecovery', {
      taskQueue: TASK_QUEUE,
      workflowId: unique('zk-only-recovery'),
      args: [{ spec: lab.spec, setId: set.setId, parts: ['zookeeper'], autoApprove: true }],
    })) as RunReport;
    const why = JSON.stringify({ steps: report.steps.map((s) => [s.name, s.status, s.detail]), problems: report.problems }, null, 1);
    expect(report.outcome, why).toBe('succeeded');
    const adopt = report.steps.find((s) => s.name === 'adopt-topics');
    expect(adopt?.status, why).toBe('done');
    const adopted = [late, ...(offsetsInSet ? [] : ['__consumer_offsets'])];
    for (const t of adopted) expect(adopt?.detail, why).toContain(`${t} (missing`);
    expect(report.problems, why).toEqual(expect.arrayContaining([expect.stringContaining(`topic ${late} was created after the set`)]));
    // Kafka's own offsets topic comes back as Kafka made it: no problem line for it.
    expect(report.problems.filter((p) => p.includes('__consumer_offsets')), why).toEqual([]);
    expect(brokerRunning(topo, broker)).toBe(true);
    // Served to consumer groups (a coordinator again): every record of the newer topic and of the older one.
    expect((await consumeAll(lab.spec, late, LATE_RECORDS)).map((l) => l.split(':')[3]).sort()).toEqual(Array.from({ length: LATE_RECORDS }, (_, i) => `late-${i}`).sort());
    expect(await consumeAll(lab.spec, topic, 20)).toHaveLength(20);
  });

  it.sequential('zookeeper-data-lost (full): the chroot deleted under the running broker, fullClusterRecovery of the zookeeper part brings every znode back with its data, scored and saved', { timeout: 240_000 }, async () => {
    // Kafka's own moving state (partition leader/ISR state, epochs, notifications) is not what a restore must keep byte for byte.
    const moving = (p: string) => /\/partitions\/\d+\/state$|^\/(controller_epoch|latest_producer_id_block|feature|admin|isr_change_notification|log_dir_event_notification|lifeboat-drill)(\/|$)|^\/config\/changes\//.test(p);
    const znodesBefore = await znodeData(zkConnect, chroot, moving);
    expect(Object.keys(znodesBefore)).toEqual(expect.arrayContaining([`/brokers/topics/${topic}`, `/config/topics/${topic}`, mine.slice(chroot.length)]));
    const before = await takeInventory(lab.spec, 'test');

    const id = lab.drillId('zookeeper-data-lost');
    const record = await lab.run(id, { scenario: 'zookeeper-data-lost', type: 'full' });
    const why = whyOf(record);
    expectRecovered(record, id, [...done]);
    done.push(record);
    expect(record.faults.map((f) => f.fault.kind), why).toEqual(['zookeeper-chroot']);
    expect(record.faults[0]!.zkExport?.roots).toEqual([chroot]);
    expect(record.reverts.map((r) => [r.fault.kind, r.mode])).toEqual([['zookeeper-chroot', 'discard']]);
    expect(record.evidence.process?.steps?.map((s) => s.id), why).toEqual(expect.arrayContaining(['choose-set', 'stop-brokers', 'restore-zookeeper', 'adopt-topics', 'start-brokers', 'verify']));
    // The stream's znode was deleted with the chroot and came back from the set: ZooKeeper's loss was measured.
    expect(record.evidence.data?.zookeeper, why).toBeTruthy();
    expect(record.rpoSeconds, why).not.toBeNull();
    expect(record.rpoSeconds!).toBeLessThan(15 * 60);
    expect(await savedScore(lab, id)).toBe(record.score.total);

    // Every znode back with its data (what the recovery restored stays: the fault's export was discarded).
    expect(comparable(await znodeData(zkConnect, chroot, moving))).toEqual(comparable(znodesBefore));
    const after = await takeInventory(lab.spec, 'test');
    expect(after.topics[drillStreamTopic(id)]).toBeUndefined();
    expect(inventoryDiff(before, after)).toEqual([]);
    expect(brokerRunning(topo, broker)).toBe(true);
  });

  it.sequential('registry-lost (full): both registry roots deleted, restoreState of the registry brings them back, scored and saved', { timeout: 180_000 }, async () => {
    const registryBefore = { services: await znodeData(zkConnect, services), dubbo: await znodeData(zkConnect, dubbo) };
    expect(Object.keys(registryBefore.services)).toHaveLength(5);
    const before = await takeInventory(lab.spec, 'test');

    const id = lab.drillId('registry-lost');
    const record = await lab.run(id, { scenario: 'registry-lost', type: 'full' });
    const why = whyOf(record);
    expectRecovered(record, id, [...done]);
    done.push(record);
    expect(record.faults.map((f) => f.fault.kind), why).toEqual(['registry']);
    expect(record.faults[0]!.zkExport?.roots).toEqual([services, dubbo]);
    expect(record.reverts.map((r) => [r.fault.kind, r.mode])).toEqual([['registry', 'discard']]);
    expect(record.evidence.process?.steps?.map((s) => s.id), why).toEqual(expect.arrayContaining(['choose-set', 'restore-registry']));
    expect(record.evidence.process?.gates?.map((g) => g.step)).toEqual(['restore-registry']);
    expect(await savedScore(lab, id)).toBe(record.score.total);
    // The live service's instance went with the roots and is registered again: verify waited for it.
    const verifyNotes = record.phases.find((p) => p.name === 'verify')!.notes;
    expect(verifyNotes, why).toEqual(expect.arrayContaining([expect.stringMatching(/^registry: 1 of 1 service instances registered again \(\d+\.\d s\)$/)]));
    expect(record.problems.filter((p) => p.evidence === 'verify: registry instances')).toEqual([]);
    expect(orders!.registrations()).toBe(2);

    expect({ services: await znodeData(zkConnect, services), dubbo: await znodeData(zkConnect, dubbo) }).toEqual(registryBefore);
    expect(inventoryDiff(before, await takeInventory(lab.spec, 'test'))).toEqual([]);
  });
});

describe('broker-disk-wiped and brokers-lost drills on the primary (iKnowThisIsProduction)', { concurrent: true }, () => {
  const primary = primarySpec();
  const labBrokers = findCluster(topo, 'primary').brokers;
  const last = primary.brokers[primary.brokers.length - 1]!;
  const topic = unique('drill-broker-orders');
  const RECORDS = 30;
  let lab: DrillLab;
  const done: DrillRecord[] = [];

  /** Each partition's leader, from the cluster's metadata. */
  const leaders = () =>
    withAdmin(kafkaFor(primary, 'test-admin'), primary.name, async (a) => {
      const md = await a.fetchTopicMetadata({ topics: [topic] });
      return md.topics[0]!.partitions.map((p) => ({ partition: p.partitionId, leader: p.leader, isr: [...p.isr].sort() }));
    });

  beforeAll(async () => {
    lab = await startDrillLab(primary);
    // The last broker (the one broker-disk-wiped takes) is every partition's preferred leader: once
    // recovered, it alone serves the topic.
    await createTopicsReady(lab.spec, [
      {
        topic,
        replicaAssignment: [
          { partition: 0, replicas: [last.id, 1, 2] },
          { partition: 1, replicas: [last.id, 2, 1] },
        ],
      },
    ]);
    await produce(lab.spec, topic, Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i}`, value: `order-${i}` })));
  }, 180_000);

  afterAll(async () => {
    // Whatever happened, every primary broker running and back in every ISR.
    for (const b of labBrokers) if (!brokerRunning(topo, b)) await startBroker(topo, b, () => {}).catch(() => undefined);
    for (const b of primary.brokers) await waitForBrokerInIsr(primary, b.id, { timeoutMs: 120_000 }).catch(() => undefined);
    await withAdmin(kafkaFor(primary), primary.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    await lab?.stop();
  }, 300_000);

  it.sequential('broker-disk-wiped (full): the log dirs restored by brokerRecovery, the broker leading and serving every offset again', { timeout: 240_000 }, async () => {
    const before = await takeInventory(lab.spec, 'test');
    const id = lab.drillId('broker-disk-wiped');
    const record = await lab.run(id, { scenario: 'broker-disk-wiped', type: 'full', iKnowThisIsProduction: true });
    const why = whyOf(record);
    expectRecovered(record, id, [...done]);
    done.push(record);
    expect(record.faults.map((f) => f.fault), why).toEqual([{ kind: 'broker-disk', brokerId: last.id }]);
    expect(record.problems.filter((p) => p.id.startsWith(`${id}#`)), why).toEqual([]);
    expect(record.reverts.map((r) => [r.fault.kind, r.mode])).toEqual([['broker-disk', 'discard']]);
    const steps = record.evidence.process?.steps ?? [];
    expect(steps.map((s) => s.id), why).toEqual(expect.arrayContaining(['check-cluster', 'plan', 'restore-logdirs', 'start-broker', 'wait-isr', 'preferred-election', 'verify']));
    expect(record.evidence.process?.gates?.map((g) => g.step)).toEqual(['restore-logdirs']);
    expect(await savedScore(lab, id)).toBe(record.score.total);

    // The broker's log dir holds the topic again (what the fault moved aside is gone: discarded).
    const logDir = last.logDirs[0]!;
    expect(readdirSync(logDir)).toEqual(expect.arrayContaining([`${topic}-0`, `${topic}-1`, 'meta.properties']));
    expect(readdirSync(`${logDir}/..`).filter((n) => n.includes('lifeboat-drill'))).toEqual([]);
    // It leads both partitions (preferred election) with full ISRs, and serves every record.
    expect(await leaders()).toEqual([
      { partition: 0, leader: last.id, isr: [1, 2, 3] },
      { partition: 1, leader: last.id, isr: [1, 2, 3] },
    ]);
    expect(inventoryDiff(before, await takeInventory(lab.spec, 'test'))).toEqual([]);
    // (Read last: the reader's group would be a difference of the test's own.)
    const got = await consumeAll(lab.spec, topic, RECORDS);
    expect(got.map((l) => l.split(':')[3]).sort()).toEqual(Array.from({ length: RECORDS }, (_, i) => `order-${i}`).sort());
  });

  it.sequential('brokers-lost (full): every broker but the first killed, one brokerRecovery each, the primary whole', { timeout: 240_000 }, async () => {
    const before = await takeInventory(lab.spec, 'test');
    const id = lab.drillId('brokers-lost');
    // The recovery restores nothing from a set: the newest one (the disk drill's) is checked instead of a fresh backup.
    const record = await lab.run(id, { scenario: 'brokers-lost', type: 'full', iKnowThisIsProduction: true, useNewestSet: true });
    const why = whyOf(record);
    expectRecovered(record, id, [...done]);
    done.push(record);
    const lost = primary.brokers.slice(1).map((b) => b.id);
    // The brokers are killed at once: in the order their kills returned.
    const brokerOf = (f: FaultSpec) => ('brokerId' in f ? f.brokerId : 0);
    expect(record.faults.map((f) => f.fault).sort((a, b) => brokerOf(a) - brokerOf(b)), why).toEqual(lost.map((brokerId) => ({ kind: 'broker-kill', brokerId })));
    // Every child verified (each brokerRecovery leaves the brokers after it to their own): no problem found, the faults discarded.
    expect(record.problems.filter((p) => p.id.startsWith(`${id}#`)), why).toEqual([]);
    expect(record.reverts.map((r) => [r.fault.kind, r.mode])).toEqual(lost.map(() => ['broker-kill', 'discard']));
    // One child per broker, in order, each step prefixed with its broker.
    const steps = (record.evidence.process?.steps ?? []).map((s) => s.id);
    for (const b of lost) expect(steps, why).toEqual(expect.arrayContaining([`broker-${b}/start-broker`, `broker-${b}/wait-isr`, `broker-${b}/verify`]));
    expect(await savedScore(lab, id)).toBe(record.score.total);

    for (const b of labBrokers) expect(brokerRunning(topo, b)).toBe(true);
    expect((await leaders()).map((p) => p.isr)).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(inventoryDiff(before, await takeInventory(lab.spec, 'test'))).toEqual([]);
  });

  it.sequential('datacenter-lost (tabletop): the failover to the standby planned as a dry run, nothing touched', { timeout: 180_000 }, async () => {
    await standbyOver;
    const before = await takeInventory(lab.spec, 'test');
    const pids = labBrokers.map((b) => readFileSync(b.pidFile, 'utf8'));
    const id = lab.drillId('datacenter-lost');
    const record = await lab.run(id, { scenario: 'datacenter-lost', type: 'tabletop', iKnowThisIsProduction: true });
    const why = whyOf(record);
    expect(record.type).toBe('tabletop');
    expect(record.faults).toEqual([]);
    expect(record.reverts).toEqual([]);
    // The failover's plan walked through in the runbook's order, its approval gate honoured, nothing found.
    expect(record.evidence.process?.steps?.map((s) => s.id), why).toEqual(['confirm', 'decide', 'repair', 'assess', 'approve', 'stop-mirror', 'fence', 'divergence', 'groups', 'lift-fence', 'degrade', 'hooks', 'verify', 'lift-degradation']);
    expect(record.score.parts.process.points, why).toBe(25);
    expect(record.problems, why).toEqual([]);
    expect(await savedScore(lab, id)).toBe(record.score.total);
    expect(labBrokers.map((b) => readFileSync(b.pidFile, 'utf8'))).toEqual(pids);
    expect(inventoryDiff(before, await takeInventory(lab.spec, 'test'))).toEqual([]);
  });
});
