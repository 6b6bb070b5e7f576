/**
 * A drill's faults and their reverts on the lab, through the activities as a worker runs them:
 * each fault applied then restored leaves the target's inventory identical; applying twice gives the
 * record of the first; reverting twice does nothing the second time; what a recovery wrote in the
 * meantime is replaced by the original, byte for byte. Broker faults on the standby's broker (left
 * running and whole); ZooKeeper faults on scratch chroots and registry roots; the corrupt backup on a
 * scratch repository.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityDeps, createActivities } from '../../activities';
import { backupPart } from '../../src/backup/parts';
import { type ClusterSpec, parseSpec } from '../../src/config/spec';
import { applyFault, asideDirOf, brokerMarkerFile, faultSnapshotTags, revertFault } from '../../src/drills/faults';
import { deleteTree } from '../../src/zookeeper/deleteTree';
import { inventoryDiff } from '../../src/drills/inventory.pure';
import type { AppliedFault, FaultSpec, Inventory, RevertMode, RevertResult } from '../../src/drills/records';
import { LifeboatError } from '../../src/errors';
import { brokerControlFor, registerBrokerControl } from '../../src/host/brokerControl';
import { registeredInZookeeper } from '../../src/host/logdirs';
import { startDetached } from '../../src/host/processes';
import { poll } from '../../src/core/poll';
import { brokerProcess, brokerRegistered, brokerRunning, killBroker } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { waitForAgreement } from '../../src/kafka/ready';
import { chooseBackupSet } from '../../src/recovery/choose';
import { openRepositoryForSpec } from '../../src/repository';
import { ACL, connectZk, create, CreateMode, exists, getChildren, Id, Permission, remove, setData, withZk, type ZkClient } from '../../src/zookeeper/client';
import { exportTree } from '../../src/zookeeper/export';
import { materializeZkTree } from '../../src/zookeeper/storage';
import { createTopicsReady, produce, topicsReady } from '../support/kafka';
import { labPasswordFile } from '../../lab/specs';
import { standbySpec, topo, unique } from '../support/lab';

const acts = createActivities(activityDeps());
const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn);
const apply = (spec: ClusterSpec, drillId: string, fault: FaultSpec): Promise<AppliedFault> => run(() => acts.drillApplyFaultActivity({ spec, drillId, fault }));
const revert = (spec: ClusterSpec, drillId: string, applied: AppliedFault, mode: RevertMode): Promise<RevertResult> => run(() => acts.drillRevertFaultActivity({ spec, drillId, applied, mode }));
const inventory = (spec: ClusterSpec, drillId: string): Promise<Inventory> => run(() => acts.drillInventoryActivity({ spec, drillId }));
/** The record a workflow writes down before the fault runs: only the fault is known. */
const provisional = (fault: FaultSpec): AppliedFault => ({ fault, at: '', detail: '' });

const standby = standbySpec();
const zkConnect = standby.zookeeper!.connect;
const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

/** Every file under `dir`, relative path → sha256. */
function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** A subtree's data by path (base64, null for none): what a restore must bring back. */
async function treeData(zk: ZkClient, root: string): Promise<Record<string, string | null>> {
  const exp = await exportTree(zk, root);
  return Object.fromEntries(exp.nodes.filter((n) => !n.ephemeral).map((n) => [n.path, n.data]));
}

/** Every record of `topic`, read from the start by a group deleted afterwards (it must not show in the inventory). */
async function readAll(spec: ClusterSpec, topic: string): Promise<string[]> {
  const groupId = unique('drill-read');
  const kafka = kafkaFor(spec, 'test-read');
  const ends = await withAdmin(kafka, spec.name, (a) => a.fetchTopicOffsets(topic));
  const want = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const consumer = kafka.consumer({ groupId });
  // By partition:offset: a rebalance (a coordinator moved after the restart) makes the group read a partition again.
  const got = new Map<string, string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${got.size} of ${want} records of ${topic}`)), 60_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          got.set(`${partition}:${message.offset}`, message.value!.toString());
          if (got.size >= want) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  await withAdmin(kafka, spec.name, (a) => a.deleteGroups([groupId]));
  return [...got.values()].sort();
}

describe('broker faults on the standby broker', () => {
  const control = brokerControlFor(standby, 1);
  const broker = standby.brokers[0]!;
  const logDir = broker.logDirs[0]!;
  const topic = unique('scratch-drill-fault');
  const diskDrill = unique('drill-disk');

  beforeAll(async () => {
    await createTopicsReady(standby, [{ topic, numPartitions: 2, replicationFactor: 1 }]);
    await produce(standby, topic, [{ key: 'a', value: 'before-1' }, { key: 'b', value: 'before-2' }, { key: 'c', value: 'before-3' }]);
  }, 120_000);

  afterAll(async () => {
    // Whole and running whatever happened: the original contents back if a test left them aside.
    if (existsSync(asideDirOf(logDir, diskDrill))) await revert(standby, diskDrill, provisional({ kind: 'broker-disk', brokerId: 1 }), 'restore');
    if ((await control.status()) !== 'running') await control.start();
    await waitForAgreement(standby, { present: [1], timeoutMs: 120_000 });
    await withAdmin(kafkaFor(standby, 'test-admin'), standby.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
  }, 300_000);

  it('broker-kill: applied twice is once, restore starts it, reverting twice is once, the inventory is identical', async () => {
    const drillId = unique('drill-kill');
    const fault: FaultSpec = { kind: 'broker-kill', brokerId: 1 };
    const before = await inventory(standby, drillId);

    const first = await apply(standby, drillId, fault);
    expect(first).toMatchObject({ fault, wasRunning: true, detail: expect.stringContaining('broker 1 killed') });
    expect(await control.status()).toBe('stopped');
    // Instant, as a host dies: ZooKeeper still holds the dead broker's session (6 s in the lab); the start below waits it out.
    expect(await registeredInZookeeper(standby, 1)).toBe(true);
    expect(existsSync(brokerMarkerFile(broker, drillId, 'broker-kill'))).toBe(true);
    expect(await apply(standby, drillId, fault)).toEqual(first);
    expect(await control.status()).toBe('stopped');

    // From the record written before the fault ran: the marker on the host knows the rest.
    const r1 = await revert(standby, drillId, provisional(fault), 'restore');
    expect(r1).toMatchObject({ fault, mode: 'restore', alreadyDone: false, detail: expect.stringContaining('broker 1 started') });
    expect(await control.status()).toBe('running');
    expect(existsSync(brokerMarkerFile(broker, drillId, 'broker-kill'))).toBe(false);
    const r2 = await revert(standby, drillId, first, 'restore');
    expect(r2).toMatchObject({ alreadyDone: true, detail: 'broker 1 is running' });

    await topicsReady(standby, [topic], 120_000);
    expect(inventoryDiff(before, await inventory(standby, drillId))).toEqual([]);
  });

  it('broker-kill then broker-disk (cluster-lost\'s chain): neither waits for the dead broker\'s session; the disk\'s restore and the start wait for it', async () => {
    const drillId = unique('drill-chain');
    const aside = asideDirOf(logDir, drillId);
    const before = await inventory(standby, drillId);
    const t0 = Date.now();
    await apply(standby, drillId, { kind: 'broker-kill', brokerId: 1 });
    const disk = await apply(standby, drillId, { kind: 'broker-disk', brokerId: 1 });
    const tookMs = Date.now() - t0;
    // Both done while the registration lingers: the disaster is instant, the session's expiry is the recovery's to wait for.
    expect(await registeredInZookeeper(standby, 1)).toBe(true);
    expect(tookMs).toBeLessThan(6_000);
    expect(disk).toMatchObject({ wasRunning: false, movedAside: [{ logDir, asideDir: aside }], detail: expect.stringMatching(/^broker 1 down \(not running\) and its 1 log dir\(s\) emptied/) });
    expect(readdirSync(logDir)).toEqual([]);
    expect(readdirSync(aside)).toContain('meta.properties');

    // Reverted (restore) backwards: the disk back once the registration is gone (it found the broker down: not its to start), then the kill's start.
    const r1 = await revert(standby, drillId, disk, 'restore');
    expect(r1).toMatchObject({ alreadyDone: false, detail: expect.stringMatching(/original entries moved back into /) });
    expect(r1.detail).not.toContain('started');
    expect(await registeredInZookeeper(standby, 1)).toBe(false);
    const r2 = await revert(standby, drillId, provisional({ kind: 'broker-kill', brokerId: 1 }), 'restore');
    expect(r2).toMatchObject({ alreadyDone: false, detail: expect.stringMatching(/^broker 1 started/) });
    expect(await control.status()).toBe('running');
    expect(existsSync(aside)).toBe(false);
    await topicsReady(standby, [topic], 120_000);
    expect(await readAll(standby, topic)).toEqual(['before-1', 'before-2', 'before-3']);
    expect(inventoryDiff(before, await inventory(standby, drillId))).toEqual([]);
  });

  it('startBrokerActivity starts a killed broker only once its stale registration is gone (a control whose start just launches the process, as systemd does)', async () => {
    const lb = findBroker(topo, 'standby', 1);
    // What a systemd unit's start is: the process launched, no wait for ZooKeeper. Kafka would exit at start-up (NodeExists) beside a stale registration.
    const registeredWhenStarted: boolean[] = [];
    registerBrokerControl('raw-start-test', () => ({
      describe: 'raw start (test)',
      start: async () => {
        registeredWhenStarted.push(await brokerRegistered(topo, lb));
        startDetached(brokerProcess(topo, lb));
      },
      stop: async () => {
        throw new Error('not used');
      },
      status: async () => (brokerRunning(topo, lb) ? 'running' : 'stopped'),
    }));
    const raw: ClusterSpec = { ...standby, brokers: standby.brokers.map((b) => ({ ...b, control: { type: 'adapter' as const, adapter: 'raw-start-test', options: {} } })) };
    expect(await killBroker(topo, lb, { settle: false })).toBe(true);
    expect(await registeredInZookeeper(raw, 1)).toBe(true);

    const r = await run(() => acts.startBrokerActivity({ spec: raw, brokerId: 1 }));
    expect(r).toEqual({ started: true, control: 'raw start (test)' });
    expect(registeredWhenStarted).toEqual([false]);
    // The new process registers and stays up.
    await poll(async () => (await brokerRegistered(topo, lb)) || undefined, { what: 'broker 1 to register again', timeoutMs: 90_000, intervalMs: 500 });
    expect(brokerRunning(topo, lb)).toBe(true);
    await waitForAgreement(standby, { present: [1], timeoutMs: 120_000 });
    await topicsReady(standby, [topic], 120_000);
    expect(await readAll(standby, topic)).toEqual(['before-1', 'before-2', 'before-3']);
  });

  it('broker-disk: contents moved aside, never deleted; restore replaces what a recovery wrote with the original, byte for byte', async () => {
    const drillId = diskDrill;
    const fault: FaultSpec = { kind: 'broker-disk', brokerId: 1 };
    const aside = asideDirOf(logDir, drillId);
    const before = await inventory(standby, drillId);

    const first = await apply(standby, drillId, fault);
    expect(first).toMatchObject({ fault, wasRunning: true, movedAside: [{ logDir, asideDir: aside }] });
    expect(await control.status()).toBe('stopped');
    expect(readdirSync(logDir)).toEqual([]);
    const original = hashes(aside);
    expect(Object.keys(original)).toContain('meta.properties');
    expect(Object.keys(original).some((f) => f.startsWith(`${topic}-0/`) && f.endsWith('.log'))).toBe(true);
    expect(await apply(standby, drillId, fault)).toEqual(first);
    expect(hashes(aside)).toEqual(original);

    // A recovery restores into the empty disk (the broker stays stopped until it is done): other files under the same names.
    writeFileSync(join(logDir, 'meta.properties'), 'broker.id=1\ncluster.id=restored-from-an-older-set\n');
    mkdirSync(join(logDir, `${topic}-0`));
    writeFileSync(join(logDir, `${topic}-0`, '00000000000000000000.log'), 'what the recovery wrote');
    expect(hashes(logDir)).not.toEqual(original);

    const r1 = await revert(standby, drillId, provisional(fault), 'restore');
    expect(r1).toMatchObject({ mode: 'restore', alreadyDone: false, detail: expect.stringMatching(/original entries moved back .*replacing 2 written since the fault; broker 1 started$/) });
    expect(existsSync(aside)).toBe(false);
    expect(existsSync(`${aside}-replaced`)).toBe(false);
    expect(existsSync(brokerMarkerFile(broker, drillId, 'broker-disk'))).toBe(false);
    // The data files and the broker's identity as they were (the running broker preallocates index files anew).
    const now = hashes(logDir);
    const durable = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([f]) => f.endsWith('.log') || f === 'meta.properties'));
    expect(durable(now)).toEqual(durable(original));
    expect(await control.status()).toBe('running');

    const r2 = await revert(standby, drillId, first, 'restore');
    expect(r2).toMatchObject({ alreadyDone: true });
    await topicsReady(standby, [topic], 120_000);
    expect(await readAll(standby, topic)).toEqual(['before-1', 'before-2', 'before-3']);
    expect(inventoryDiff(before, await inventory(standby, drillId))).toEqual([]);
  });

  it('zookeeper-chroot while the broker runs (a recovery that failed before stopping it): restore imports the chroot and restarts the broker, which registers again and serves', async () => {
    const drillId = unique('drill-chroot-live');
    const fault: FaultSpec = { kind: 'zookeeper-chroot' };
    // Another drill's subtree is there before the fault (its stream's parent): the export holds it, the
    // restart marker's clean-up must leave it, so a retried import finds nothing to create.
    const drillRoot = `${standby.zookeeper!.chroot}/lifeboat-drill`;
    const madeRoot = await withZk(zkConnect, async (zk) => {
      if (await exists(zk, drillRoot)) return false;
      await create(zk, drillRoot, null, OPEN);
      return true;
    });
    const before = await inventory(standby, drillId);
    const first = await apply(standby, drillId, fault);
    expect(first.zkExport).toMatchObject({ roots: [standby.zookeeper!.chroot] });
    expect(await registeredInZookeeper(standby, 1)).toBe(false);
    expect(await control.status()).toBe('running');

    const r1 = await revert(standby, drillId, first, 'restore');
    expect(r1).toMatchObject({ alreadyDone: false, detail: expect.stringMatching(/; broker\(s\) 1 ran through the fault without their registration: restarted, registered again$/) });
    expect(await registeredInZookeeper(standby, 1)).toBe(true);
    expect(await control.status()).toBe('running');
    // Run again (an activity retried): nothing to import (the controller's epoch and the partition states the
    // restarted broker wrote are its own, not written back), nobody to restart.
    expect((await revert(standby, drillId, first, 'restore')).detail).toMatch(/already as exported/);
    await waitForAgreement(standby, { present: [1], timeoutMs: 120_000 });
    await topicsReady(standby, [topic], 120_000);
    expect(await readAll(standby, topic)).toEqual(['before-1', 'before-2', 'before-3']);
    expect(inventoryDiff(before, await inventory(standby, drillId))).toEqual([]);
    // The subtree this test made for the case goes again (it is empty: the restart marker is gone).
    if (madeRoot) await withZk(zkConnect, (zk) => remove(zk, drillRoot));
    // The controller still writes: a topic is created and led.
    const probeTopic = unique('scratch-after-chroot');
    await createTopicsReady(standby, [{ topic: probeTopic, numPartitions: 1, replicationFactor: 1 }]);
    await withAdmin(kafkaFor(standby, 'test-admin'), standby.name, (a) => a.deleteTopics({ topics: [probeTopic] }));
  });

  it('a chroot restore whose worker dies between stopping a broker and starting it: the retry starts it (a marker in the drill\'s own subtree, gone after)', async () => {
    const drillId = unique('drill-chroot-cut');
    const drillRoot = `${standby.zookeeper!.chroot}/lifeboat-drill`;
    // Another drill's subtree may be there before the fault (then the export holds it and it stays).
    const rootBefore = await withZk(zkConnect, (zk) => exists(zk, drillRoot));
    const first = await apply(standby, drillId, { kind: 'zookeeper-chroot' });
    expect(await registeredInZookeeper(standby, 1)).toBe(false);
    // The worker "dies" right after the stop: the attempt ends there.
    const died = await revertFault(standby, drillId, first, 'restore', {
      onProgress: (m) => {
        if (/^broker 1 stopped: starting it$/.test(m)) throw new Error('worker killed');
      },
    }).catch((e: unknown) => e);
    expect(died).toBeInstanceOf(Error);
    expect((died as Error).message).toBe('worker killed');
    expect(await control.status()).not.toBe('running');
    // The retry: nothing left to import, the stopped broker started (not taken for one that was down before).
    const r = await revert(standby, drillId, first, 'restore');
    expect(r.detail).toMatch(/already as exported .*; broker\(s\) 1 ran through the fault without their registration: restarted, registered again$/);
    expect(await control.status()).toBe('running');
    await waitForAgreement(standby, { present: [1], timeoutMs: 120_000 });
    expect(await registeredInZookeeper(standby, 1)).toBe(true);
    await topicsReady(standby, [topic], 120_000);
    expect(await readAll(standby, topic)).toEqual(['before-1', 'before-2', 'before-3']);
    // The marker is gone, with its parent when the export did not hold it (nothing else of the drill is there).
    const left = await withZk(zkConnect, (zk) => getChildren(zk, drillRoot).catch(() => null));
    if (rootBefore) expect(left?.filter((n) => n.includes('.restart-'))).toEqual([]);
    else expect(left).toBeNull();
  });
});

/** A spec whose ZooKeeper chroot, registry roots and repository are this test's own; Kafka is the standby's. */
function scratchSpec(name: string): ClusterSpec {
  return parseSpec({
    ...standby,
    name,
    zookeeper: { connect: zkConnect, chroot: `/${name}` },
    registry: { curator: `/${name}-services`, dubbo: `/${name}-dubbo` },
    // Made by the first write (a fault's export, a backup), removed in afterAll.
    repository: { path: join(tmpdir(), `${name}-repo`), password: { file: labPasswordFile(topo) }, compression: 'auto' },
    offsiteRepository: undefined,
    standby: undefined,
  });
}

async function seedTree(zk: ZkClient, root: string, seed: string): Promise<void> {
  await create(zk, root, Buffer.from(`root ${seed}`), OPEN);
  await create(zk, `${root}/config`, Buffer.from(`{"seed":"${seed}"}`), OPEN);
  await create(zk, `${root}/config/topics`, null, OPEN);
  await create(zk, `${root}/config/topics/orders`, Buffer.from('{"retention.ms":"1000"}'), OPEN);
  await create(zk, `${root}/queue`, null, OPEN);
  for (let i = 0; i < 3; i++) await create(zk, `${root}/queue/item-`, Buffer.from(`item ${i}`), OPEN, CreateMode.PERSISTENT_SEQUENTIAL);
}

describe('ZooKeeper faults on scratch roots', () => {
  const spec = scratchSpec(unique('drillzk'));
  const chroot = spec.zookeeper!.chroot;
  const services = spec.registry!.curator!;
  const dubbo = spec.registry!.dubbo!;

  // A live broker's registration under the chroot: ephemeral, held by this session until afterAll.
  let brokerSession: ZkClient | undefined;

  beforeAll(async () => {
    brokerSession = await connectZk(zkConnect);
    await withZk(zkConnect, async (zk) => {
      await seedTree(zk, chroot, 'chroot');
      await create(zk, `${chroot}/brokers`, null, OPEN);
      await create(zk, `${chroot}/brokers/ids`, null, OPEN);
      await create(brokerSession!, `${chroot}/brokers/ids/7`, Buffer.from('{"endpoints":["PLAINTEXT://127.0.0.1:1"]}'), OPEN, CreateMode.EPHEMERAL);
      await seedTree(zk, services, 'services');
      await seedTree(zk, dubbo, 'dubbo');
    });
  });

  afterAll(async () => {
    await withZk(zkConnect, async (zk) => {
      for (const r of [chroot, services, dubbo]) await deleteTree(zk, r);
    });
    brokerSession?.close();
    rmSync(spec.repository!.path, { recursive: true, force: true });
  });

  it('zookeeper-chroot: exported into the repository before the delete; restore brings every znode back and removes what came since', async () => {
    const drillId = unique('drill-zk');
    const fault: FaultSpec = { kind: 'zookeeper-chroot' };
    const before = await inventory(spec, drillId);
    const data = await withZk(zkConnect, (zk) => treeData(zk, chroot));
    // Ten persistent nodes; the export also holds the broker's ephemeral registration.
    expect(Object.keys(data)).toHaveLength(10);

    const first = await apply(spec, drillId, fault);
    expect(first.zkExport).toMatchObject({ roots: [chroot], znodes: 11, zxid: expect.stringMatching(/^0x[0-9a-f]+$/) });
    expect(await withZk(zkConnect, (zk) => exists(zk, chroot))).toBeNull();
    // The export is in the repository, tagged, whole.
    const repo = await openRepositoryForSpec(spec);
    try {
      const snaps = await repo.snapshots({ cluster: spec.name, tags: faultSnapshotTags(drillId, 'zookeeper-chroot') });
      expect(snaps.map((s) => s.id)).toEqual([first.zkExport!.snapshot]);
      const { tree } = await materializeZkTree(repo, first.zkExport!.snapshot);
      expect(Object.fromEntries(tree.nodes.filter((n) => !n.ephemeral).map((n) => [n.path, n.data]))).toEqual(data);
      expect(tree.nodes.filter((n) => n.ephemeral).map((n) => n.path)).toEqual(['/brokers/ids/7']);
    } finally {
      await repo.close();
    }
    expect(await apply(spec, drillId, fault)).toEqual(first);
    const repo2 = await openRepositoryForSpec(spec);
    expect(await repo2.snapshots({ cluster: spec.name })).toHaveLength(1);
    await repo2.close();

    // A recovery writes something else there meanwhile.
    await withZk(zkConnect, async (zk) => {
      await create(zk, chroot, Buffer.from('recovered'), OPEN);
      await create(zk, `${chroot}/config`, Buffer.from('{"seed":"other"}'), OPEN);
      await create(zk, `${chroot}/extra`, Buffer.from('x'), OPEN);
    });
    const r1 = await revert(spec, drillId, provisional(fault), 'restore');
    expect(r1).toMatchObject({ alreadyDone: false, detail: expect.stringMatching(/imported from snapshot .*: 8 created, 2 rewritten, 1 removed; broker\(s\) 7 were registered before the fault and are not now: restart them to register again$/) });
    expect(await withZk(zkConnect, (zk) => treeData(zk, chroot))).toEqual(data);
    expect(await revert(spec, drillId, first, 'restore')).toMatchObject({ alreadyDone: true });
    expect(inventoryDiff(before, await inventory(spec, drillId))).toEqual([]);
    // A new sequential child numbers above the restored ones.
    const next = await withZk(zkConnect, (zk) => create(zk, `${chroot}/queue/item-`, null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
    expect(next).toBe(`${chroot}/queue/item-0000000003`);
    await withZk(zkConnect, (zk) => deleteTree(zk, next));
  });

  it('registry: both roots exported then deleted; restore brings them back; discard keeps the export and changes nothing', async () => {
    const drillId = unique('drill-reg');
    const fault: FaultSpec = { kind: 'registry' };
    const before = await inventory(spec, drillId);
    const data = await withZk(zkConnect, async (zk) => ({ s: await treeData(zk, services), d: await treeData(zk, dubbo) }));

    const first = await apply(spec, drillId, fault);
    expect(first.zkExport).toMatchObject({ roots: [services, dubbo], znodes: 16 });
    expect(await withZk(zkConnect, async (zk) => [await exists(zk, services), await exists(zk, dubbo)])).toEqual([null, null]);
    expect(await apply(spec, drillId, fault)).toEqual(first);
    expect(inventoryDiff(before, await inventory(spec, drillId)).filter((d) => d.change !== 'removed')).toEqual([]);

    // The same answer from the applied record (the repository not opened) and from the provisional one (found by its tags there).
    const kept = `nothing to drop: the export (snapshot ${first.zkExport!.snapshot.slice(0, 12)}) stays in the repository`;
    expect(await revert(spec, drillId, first, 'discard')).toEqual({ fault, mode: 'discard', alreadyDone: true, detail: kept });
    expect(await revert(spec, drillId, provisional(fault), 'discard')).toEqual({ fault, mode: 'discard', alreadyDone: true, detail: kept });
    expect(await withZk(zkConnect, (zk) => exists(zk, services))).toBeNull();
    const r1 = await revert(spec, drillId, first, 'restore');
    expect(r1).toMatchObject({ alreadyDone: false, detail: expect.stringContaining('16 created') });
    expect(await withZk(zkConnect, async (zk) => ({ s: await treeData(zk, services), d: await treeData(zk, dubbo) }))).toEqual(data);
    expect(await revert(spec, drillId, first, 'restore')).toMatchObject({ alreadyDone: true });
    expect(inventoryDiff(before, await inventory(spec, drillId))).toEqual([]);
  });
});

describe('backup-corrupt on a scratch repository', () => {
  const spec = scratchSpec(unique('drillbk'));
  const chroot = spec.zookeeper!.chroot;
  const repoPath = spec.repository!.path;
  const packs = () => hashes(join(repoPath, 'data'));
  const setIds = [unique('set-older'), unique('set-newest')];
  const choose = () => chooseBackupSet(spec, { require: { kind: 'parts', parts: ['zookeeper'] } });

  beforeAll(async () => {
    await withZk(zkConnect, (zk) => seedTree(zk, chroot, 'backup'));
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true });
    try {
      for (const [i, setId] of setIds.entries()) {
        if (i > 0) await withZk(zkConnect, (zk) => setData(zk, `${chroot}/config`, Buffer.from(`{"seed":"newer ${i}"}`)));
        await backupPart(spec, repo, { setId, tier: 'manual', parts: ['zookeeper'] }, 'zookeeper');
      }
    } finally {
      await repo.close();
    }
  });

  afterAll(async () => {
    await withZk(zkConnect, (zk) => deleteTree(zk, chroot));
    rmSync(repoPath, { recursive: true, force: true });
  });

  it('damages one chunk of the newest complete set only (the recovery falls back); restore writes the original bytes back', async () => {
    const drillId = unique('drill-bk');
    const fault: FaultSpec = { kind: 'backup-corrupt' };
    const whole = packs();
    expect((await choose()).set.setId).toBe(setIds[1]);

    const first = await apply(spec, drillId, fault);
    expect(first.corrupted).toMatchObject({ tier: 'primary', setId: setIds[1], offset: expect.any(Number) });
    expect(Buffer.from(first.corrupted!.original, 'base64').length).toBeGreaterThan(0);
    const damaged = packs();
    const changed = Object.keys(whole).filter((f) => whole[f] !== damaged[f]);
    expect(changed.map((f) => join(repoPath, 'data', f))).toEqual([first.corrupted!.file]);
    const chosen = await choose();
    expect(chosen.set.setId).toBe(setIds[0]);
    expect(chosen.rejected.map((r) => r.setId)).toEqual([setIds[1]]);
    expect(await apply(spec, drillId, fault)).toEqual(first);
    expect(packs()).toEqual(damaged);

    const r1 = await revert(spec, drillId, provisional(fault), 'restore');
    expect(r1).toMatchObject({ alreadyDone: false, detail: expect.stringContaining('wrote the original') });
    expect(packs()).toEqual(whole);
    expect((await choose()).set.setId).toBe(setIds[1]);
    expect(await revert(spec, drillId, first, 'restore')).toMatchObject({ alreadyDone: true });
    expect(packs()).toEqual(whole);
  });

  it('discard gives the bytes back too (a drill never leaves a damaged backup behind)', async () => {
    const drillId = unique('drill-bk');
    const whole = packs();
    const applied = await apply(spec, drillId, { kind: 'backup-corrupt' });
    expect(packs()).not.toEqual(whole);
    expect(await revert(spec, drillId, applied, 'discard')).toMatchObject({ mode: 'discard', alreadyDone: false });
    expect(packs()).toEqual(whole);
  });

  it('refuses a repository on object storage in one line', async () => {
    process.env.DRILL_TEST_S3_KEY = 'k';
    const s3 = parseSpec({ ...spec, repository: { path: 's3://drill-bucket/x', password: { file: labPasswordFile(topo) }, s3: { accessKeyId: { env: 'DRILL_TEST_S3_KEY' }, secretAccessKey: { env: 'DRILL_TEST_S3_KEY' } } } });
    const err = await applyFault(s3, unique('drill-bk'), { kind: 'backup-corrupt' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifeboatError);
    expect(err).toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/^the repository of .* is on object storage \(s3:\/\/drill-bucket\/x\): .*local repository allows$/) });
  });
});

/**
 * The broker faults cut short anywhere (a worker SIGKILLed between two renames), on a scratch broker
 * whose "process" is a file and whose control is the command adapter: nothing is ever lost, and the
 * revert finishes what was started.
 */
describe('broker faults cut short (a command-controlled scratch broker)', () => {
  // Made by the first seed(), removed in afterAll.
  const root = join(tmpdir(), unique('drill-scratch-broker'));
  const logDir = join(root, 'data');
  const pid = join(root, 'running');
  const spec = (kill: boolean): ClusterSpec =>
    parseSpec({
      name: 'scratch',
      kafka: { bootstrapServers: ['127.0.0.1:1'] },
      brokers: [{ id: 9, host: 'h9', logDirs: [logDir], configDir: root, control: { type: 'command', start: `touch ${pid}`, stop: `rm -f ${pid}`, status: `test -f ${pid}`, ...(kill ? { kill: `rm -f ${pid}` } : {}) } }],
    });
  const broker = spec(true).brokers[0]!;
  const fault: FaultSpec = { kind: 'broker-disk', brokerId: 9 };
  const files = { 'meta.properties': 'broker.id=9\n', 'orders-0/00000000000000000000.log': 'records', 'orders-1/00000000000000000000.log': 'more records' };
  const seed = () => {
    rmSync(logDir, { recursive: true, force: true });
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(dirname(join(logDir, f)), { recursive: true });
      writeFileSync(join(logDir, f), text);
    }
    writeFileSync(pid, '');
  };
  const original = () => Object.fromEntries(Object.entries(files).map(([f, t]) => [f, createHash('sha256').update(t).digest('hex')]));

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('an apply cut short after moving some entries finishes on its retry, and a restore brings them all back', async () => {
    seed();
    const drillId = unique('drill-cut');
    const aside = asideDirOf(logDir, drillId);
    // What the first attempt left: its marker, one entry moved, the broker stopped.
    writeFileSync(brokerMarkerFile(broker, drillId, 'broker-disk'), JSON.stringify({ drillId, fault, state: 'applying', wasRunning: true }));
    mkdirSync(aside);
    renameSync(join(logDir, 'orders-0'), join(aside, 'orders-0'));
    rmSync(pid);
    const a = await applyFault(spec(true), drillId, fault);
    expect(a).toMatchObject({ wasRunning: true, movedAside: [{ logDir, asideDir: aside }] });
    expect(readdirSync(logDir)).toEqual([]);
    expect(hashes(aside)).toEqual(original());
    const r = await revertFault(spec(true), drillId, provisional(fault), 'restore');
    expect(r.alreadyDone).toBe(false);
    expect(hashes(logDir)).toEqual(original());
    expect(existsSync(pid)).toBe(true);
  });

  it('an apply cut short before it finished is restored without touching what is left in the log dir', async () => {
    seed();
    const drillId = unique('drill-cut');
    writeFileSync(brokerMarkerFile(broker, drillId, 'broker-disk'), JSON.stringify({ drillId, fault, state: 'applying', wasRunning: true }));
    mkdirSync(asideDirOf(logDir, drillId));
    renameSync(join(logDir, 'orders-1'), join(asideDirOf(logDir, drillId), 'orders-1'));
    rmSync(pid);
    // The drill is stopped now: the revert runs on the half-applied fault.
    await revertFault(spec(true), drillId, provisional(fault), 'restore');
    expect(hashes(logDir)).toEqual(original());
    expect(existsSync(`${asideDirOf(logDir, drillId)}-replaced`)).toBe(false);
  });

  it('a restore cut short while moving the originals back finishes them and drops what the recovery wrote', async () => {
    seed();
    const drillId = unique('drill-cut');
    const aside = asideDirOf(logDir, drillId);
    await applyFault(spec(true), drillId, fault);
    // The recovery wrote, then the first restore attempt cleared it and had moved one original back.
    mkdirSync(`${aside}-replaced/orders-0`, { recursive: true });
    writeFileSync(`${aside}-replaced/orders-0/00000000000000000000.log`, 'what the recovery wrote');
    renameSync(join(aside, 'meta.properties'), join(logDir, 'meta.properties'));
    const m = JSON.parse(readFileSync(brokerMarkerFile(broker, drillId, 'broker-disk'), 'utf8')) as Record<string, unknown>;
    writeFileSync(brokerMarkerFile(broker, drillId, 'broker-disk'), JSON.stringify({ ...m, state: 'returning' }));
    const r = await revertFault(spec(true), drillId, provisional(fault), 'restore');
    expect(r.alreadyDone).toBe(false);
    expect(hashes(logDir)).toEqual(original());
    expect(existsSync(aside)).toBe(false);
    expect(existsSync(`${aside}-replaced`)).toBe(false);
  });

  /** The disk fault applied, its marker lost, and a file written to the log dir since (the recovery's). */
  const unmarkedWithLaterWrite = async () => {
    seed();
    const drillId = unique('drill-cut');
    await applyFault(spec(true), drillId, fault);
    rmSync(brokerMarkerFile(broker, drillId, 'broker-disk'));
    writeFileSync(join(logDir, 'written-later'), 'x');
    return { drillId, aside: asideDirOf(logDir, drillId) };
  };

  it('without its marker a restore still brings the originals back and keeps what it replaced, saying where', async () => {
    const { drillId, aside } = await unmarkedWithLaterWrite();
    const r = await revertFault(spec(true), drillId, provisional(fault), 'restore');
    expect(r.detail).toContain(`kept in ${aside}-replaced`);
    expect(hashes(logDir)).toEqual(original());
    expect(readFileSync(`${aside}-replaced/written-later`, 'utf8')).toBe('x');
    rmSync(`${aside}-replaced`, { recursive: true });
  });

  it('without its marker, a restore cut short after it cleared the log dir still keeps what it replaced on its retry', async () => {
    const { drillId, aside } = await unmarkedWithLaterWrite();
    // What the first restore attempt left when it died: the log dir moved to -replaced, its marker (kept: no marker before it).
    mkdirSync(`${aside}-replaced`);
    renameSync(join(logDir, 'written-later'), `${aside}-replaced/written-later`);
    writeFileSync(brokerMarkerFile(broker, drillId, 'broker-disk'), JSON.stringify({ drillId, fault, state: 'returning', wasRunning: true, keepReplaced: true }));
    const r = await revertFault(spec(true), drillId, provisional(fault), 'restore');
    expect(hashes(logDir)).toEqual(original());
    expect(readFileSync(`${aside}-replaced/written-later`, 'utf8')).toBe('x');
    expect(r.detail).toContain(`kept in ${aside}-replaced`);
    rmSync(`${aside}-replaced`, { recursive: true });
  });

  it('a kill without a kill command is a stop; a broker that was not running is left stopped by the revert', async () => {
    seed();
    const drillId = unique('drill-cut');
    const kill: FaultSpec = { kind: 'broker-kill', brokerId: 9 };
    expect(await applyFault(spec(false), drillId, kill)).toMatchObject({ wasRunning: true, detail: expect.stringMatching(/^broker 9 stopped \(command .*cannot kill\)$/) });
    expect(existsSync(pid)).toBe(false);
    expect(await revertFault(spec(false), drillId, provisional(kill), 'discard')).toMatchObject({ alreadyDone: false, detail: expect.stringContaining('broker 9 started') });
    expect(existsSync(pid)).toBe(true);

    rmSync(pid);
    const other = unique('drill-cut');
    expect(await applyFault(spec(true), other, kill)).toMatchObject({ wasRunning: false, detail: 'broker 9 not running before the drill' });
    expect(await revertFault(spec(true), other, provisional(kill), 'restore')).toMatchObject({ alreadyDone: true, detail: 'broker 9 did not run before the drill: left stopped' });
    expect(existsSync(pid)).toBe(false);
  });
});
