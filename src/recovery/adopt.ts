/**
 * The recovery's adopt-topics step (the decision is src/recovery/adopt.pure.ts): after ZooKeeper
 * was restored from a set while the brokers keep their log dirs, the topics their disks hold and
 * the restored ZooKeeper lacks (or knows with another id, or with fewer partitions) are registered
 * again, with the brokers stopped: the controller that starts next loads them as it finds them.
 *
 * `readDiskTopics` runs on the broker's host (its log dirs); `adoptTopics` on the control queue
 * (ZooKeeper). Both run again without harm: a topic registered by an earlier attempt is in
 * ZooKeeper with the disks' id and is not planned again.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { ACL, chrootPath, exists, getACL, getChildren, getData, Id, multi, type MultiOp, Permission, type ZkClient } from '../zookeeper/client';
import { withZkSession } from '../zookeeper/errors';
import { type AdoptTopic, adoptionPlan, type BrokerDisk, type DiskPartition, lastLeaderEpoch, parsePartitionMetadata, type ZkTopic } from './adopt.pure';

const PARTITION_DIR = /^(.+)-(\d+)$/;
/** Directories being deleted, moved or left as strays are not the broker's partitions. */
const SKIP_DIR = /[.-](delete|future|stray)$/;

/** Every partition directory in the broker's log dirs, with its topic id and newest leader epoch. */
export async function readDiskTopics(spec: ClusterSpec, brokerId: number): Promise<BrokerDisk> {
  const b = spec.brokers.find((x) => x.id === brokerId);
  if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  const partitions: DiskPartition[] = [];
  for (const dir of b.logDirs) {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const m = PARTITION_DIR.exec(e.name);
      if (!e.isDirectory() || !m || SKIP_DIR.test(e.name)) continue;
      const read = (f: string) => readFile(join(dir, e.name, f), 'utf8').catch(() => '');
      const [meta, epochs] = await Promise.all([read('partition.metadata'), read('leader-epoch-checkpoint')]);
      partitions.push({ topic: m[1]!, partition: Number(m[2]), topicId: parsePartitionMetadata(meta), lastEpoch: lastLeaderEpoch(epochs) });
    }
  }
  return { brokerId, partitions };
}

export interface AdoptResult {
  /** Topics registered again, each with how (missing, other-id, more-partitions) and its partitions. */
  adopted: { name: string; kind: AdoptTopic['kind']; partitions: number }[];
  problems: string[];
}

const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

async function zkTopics(zk: ZkClient, at: (p: string) => string): Promise<Record<string, ZkTopic>> {
  const names = await getChildren(zk, at('/brokers/topics')).catch(() => [] as string[]);
  const out: Record<string, ZkTopic> = {};
  for (const n of names) {
    const raw = (await getData(zk, at(`/brokers/topics/${n}`))).data?.toString() ?? '{}';
    const d = JSON.parse(raw) as { topic_id?: string; partitions?: Record<string, number[]> };
    out[n] = { topicId: d.topic_id, partitions: d.partitions ?? {} };
  }
  return out;
}

/** Registers the disks' topics that ZooKeeper lacks (the brokers stopped); one ZooKeeper transaction per topic. */
export async function adoptTopics(spec: ClusterSpec, disks: BrokerDisk[]): Promise<AdoptResult> {
  const zkc = spec.zookeeper;
  if (!zkc) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no zookeeper section`);
  const at = (p: string) => chrootPath(zkc.chroot, p);
  return withZkSession(zkc.connect, { auth: zkAuthOf(spec) }, async (zk) => {
    const plan = adoptionPlan(await zkTopics(zk, at), disks);
    if (!plan.topics.length) return { adopted: [], problems: plan.problems };
    const aclOf = async (p: string) => ((await exists(zk, p)) ? (await getACL(zk, p)).acl : OPEN);
    const topicAcl = await aclOf(at('/brokers/topics'));
    const configAcl = await aclOf(at('/config/topics'));
    const epochPath = at('/controller_epoch');
    const controllerEpoch = (await exists(zk, epochPath)) ? Number((await getData(zk, epochPath)).data?.toString() ?? '1') || 1 : 1;
    const put = async (ops: MultiOp[], path: string, data: Buffer, acl: typeof OPEN) => {
      ops.push((await exists(zk, path)) ? { op: 'setData', path, data } : { op: 'create', path, data, acl });
    };
    for (const t of plan.topics) {
      const topicPath = at(`/brokers/topics/${t.name}`);
      const ops: MultiOp[] = [];
      if (t.config) await put(ops, at(`/config/topics/${t.name}`), json({ version: 1, config: t.config }), configAcl);
      const had = (await exists(zk, topicPath)) ? (JSON.parse((await getData(zk, topicPath)).data?.toString() ?? '{}') as Record<string, unknown>) : {};
      // Kafka's own key order (partitions, topic_id, adding_replicas, removing_replicas, version), or the order the znode had: the same bytes as Kafka would write.
      const topicData = { partitions: t.assignment, topic_id: t.topicId, adding_replicas: {}, removing_replicas: {}, version: 3 };
      await put(ops, topicPath, json(Object.keys(had).length ? { ...had, ...topicData } : topicData), topicAcl);
      if (!(await exists(zk, `${topicPath}/partitions`))) ops.push({ op: 'create', path: `${topicPath}/partitions`, data: null, acl: topicAcl });
      for (const p of t.partitions) {
        const pPath = `${topicPath}/partitions/${p.partition}`;
        if (!(await exists(zk, pPath))) ops.push({ op: 'create', path: pPath, data: null, acl: topicAcl });
        const state = { controller_epoch: controllerEpoch, leader: p.replicas[0], version: 1, leader_epoch: p.leaderEpoch, isr: p.replicas };
        await put(ops, `${pPath}/state`, json(state), topicAcl);
      }
      // Another id's partitions beyond what the disks hold go (they belonged to the topic the set knew).
      if (t.kind === 'other-id') {
        for (const n of await getChildren(zk, `${topicPath}/partitions`).catch(() => [] as string[])) {
          if (n in t.assignment) continue;
          const pPath = `${topicPath}/partitions/${n}`;
          if (await exists(zk, `${pPath}/state`)) ops.push({ op: 'remove', path: `${pPath}/state` });
          ops.push({ op: 'remove', path: pPath });
        }
      }
      await multi(zk, ops);
    }
    return { adopted: plan.topics.map((t) => ({ name: t.name, kind: t.kind, partitions: t.partitions.length })), problems: plan.problems };
  });
}
