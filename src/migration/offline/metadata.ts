/**
 * The moved topics' ZooKeeper metadata under the target's chroot, written while the target's
 * brokers are stopped: /config/topics/<t> (the source's overrides), /brokers/topics/<t> (the new
 * assignment, the source's topic id), and each partition's state (leader = first target replica,
 * ISR = all of them, leader epoch = the source's + 1 so the epoch history in the copied
 * leader-epoch-checkpoint stays monotonic). One ZooKeeper transaction per topic.
 *
 * The topic's literal ACLs (/kafka-acl/Topic/<t>) come along, read by the target's authorizer when
 * it starts; where the target already has ACLs under that name, they stay and the source's are not written.
 *
 * Topic ids stay: the copied partition.metadata files carry them, so keeping them needs no rewrite
 * of any copied file, and clients that cached an id (fetch by topic id) see the same topic. The
 * plan refuses an id the target already uses.
 *
 * Idempotent: a topic written by an earlier attempt (same topic id) is written again; one with
 * another id is the target's own and is never touched. `removeMigratedMetadata` takes them away again.
 */
import { type ClusterSpec, zkAuthOf } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { ACL, chrootPath, create, exists, getACL, getData, Id, multi, type MultiOp, Permission, withZk, type ZkClient } from '../../zookeeper/client';
import { deleteTree } from '../../zookeeper/deleteTree';
import type { OfflinePlan } from './plan';

const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

async function controllerEpoch(zk: ZkClient, chroot: string | undefined): Promise<number> {
  const path = chrootPath(chroot, '/controller_epoch');
  if (!(await exists(zk, path))) return 1;
  return Number((await getData(zk, path)).data?.toString() ?? '1') || 1;
}

const ignoreNodeExists = (e: unknown) => {
  if ((e as { code?: string }).code !== 'NODE_EXISTS') throw e;
};

export async function writeTargetMetadata(target: ClusterSpec, plan: OfflinePlan): Promise<{ topics: number; partitions: number; rewritten: number; keptAcls: string[] }> {
  const tz = target.zookeeper;
  if (!tz) throw new LifeboatError('InvalidSpec', `the target spec ${target.name} has no zookeeper section`);
  const at = (p: string) => chrootPath(tz.chroot, p);
  return withZk(
    tz.connect,
    async (zk) => {
      const epoch = await controllerEpoch(zk, tz.chroot);
      // The ACLs Kafka gave the parents (open, or creator-only with zookeeper.set.acl).
      const aclOf = async (p: string) => ((await exists(zk, p)) ? (await getACL(zk, p)).acl : OPEN);
      const topicAcl = await aclOf(at('/brokers/topics'));
      const configAcl = await aclOf(at('/config/topics'));
      let partitions = 0;
      let rewritten = 0;
      const keptAcls: string[] = [];
      for (const t of plan.topics) {
        const assignment = JSON.parse(t.assignment) as Record<string, unknown>;
        const data = {
          ...assignment,
          partitions: Object.fromEntries(t.partitions.map((p) => [String(p.partition), p.targetReplicas])),
          adding_replicas: {},
          removing_replicas: {},
        };
        const states = t.partitions.map((p) => {
          const src = p.state ? (JSON.parse(p.state) as Record<string, unknown>) : { version: 1, leader_epoch: -1 };
          return {
            partition: p.partition,
            state: { ...src, controller_epoch: epoch, leader: p.targetReplicas[0], leader_epoch: Number(src.leader_epoch ?? -1) + 1, isr: p.targetReplicas },
          };
        });
        const config = t.config ?? JSON.stringify({ version: 1, config: {} });
        const topicPath = at(`/brokers/topics/${t.name}`);
        const existing = await exists(zk, topicPath);
        if (existing) {
          const id = (JSON.parse((await getData(zk, topicPath)).data?.toString() ?? '{}') as { topic_id?: string }).topic_id;
          if (id !== t.topicId) throw new LifeboatError('UnsafeTarget', `${target.name} has its own topic ${t.name} (id ${id}): it is never overwritten`);
          // An earlier attempt wrote it: write every node again.
          const ops: MultiOp[] = [{ op: 'setData', path: topicPath, data: json(data) }];
          const cfgPath = at(`/config/topics/${t.name}`);
          ops.unshift((await exists(zk, cfgPath)) ? { op: 'setData', path: cfgPath, data: Buffer.from(config) } : { op: 'create', path: cfgPath, data: Buffer.from(config), acl: configAcl });
          if (!(await exists(zk, `${topicPath}/partitions`))) ops.push({ op: 'create', path: `${topicPath}/partitions`, data: null, acl: topicAcl });
          for (const s of states) {
            const pPath = `${topicPath}/partitions/${s.partition}`;
            if (!(await exists(zk, pPath))) ops.push({ op: 'create', path: pPath, data: null, acl: topicAcl });
            ops.push((await exists(zk, `${pPath}/state`)) ? { op: 'setData', path: `${pPath}/state`, data: json(s.state) } : { op: 'create', path: `${pPath}/state`, data: json(s.state), acl: topicAcl });
          }
          await multi(zk, ops);
          rewritten++;
        } else {
          const cfgPath = at(`/config/topics/${t.name}`);
          // A config node without a topic (left by a deleted topic) is replaced by the source's.
          const ops: MultiOp[] = [
            (await exists(zk, cfgPath)) ? { op: 'setData', path: cfgPath, data: Buffer.from(config) } : { op: 'create', path: cfgPath, data: Buffer.from(config), acl: configAcl },
            { op: 'create', path: topicPath, data: json(data), acl: topicAcl },
            { op: 'create', path: `${topicPath}/partitions`, data: null, acl: topicAcl },
          ];
          for (const s of states) {
            ops.push({ op: 'create', path: `${topicPath}/partitions/${s.partition}`, data: null, acl: topicAcl });
            ops.push({ op: 'create', path: `${topicPath}/partitions/${s.partition}/state`, data: json(s.state), acl: topicAcl });
          }
          await multi(zk, ops);
        }
        partitions += states.length;
        if (t.acl) {
          const aclPath = at(`/kafka-acl/Topic/${t.name}`);
          for (const parent of ['/kafka-acl', '/kafka-acl/Topic']) if (!(await exists(zk, at(parent)))) await create(zk, at(parent), null, topicAcl).catch(ignoreNodeExists);
          if (!(await exists(zk, aclPath))) await create(zk, aclPath, Buffer.from(t.acl), topicAcl).catch(ignoreNodeExists);
          else if ((await getData(zk, aclPath)).data?.toString() !== t.acl) keptAcls.push(t.name);
        }
      }
      return { topics: plan.topics.length, partitions, rewritten, keptAcls };
    },
    { auth: zkAuthOf(target) },
  );
}

/**
 * Removes the moved topics' nodes from the target's ZooKeeper where they carry the plan's topic id
 * (a failed migration's metadata, with the target stopped); the target's own topics stay.
 */
export async function removeMigratedMetadata(target: ClusterSpec, plan: Pick<OfflinePlan, 'topics'>): Promise<string[]> {
  const tz = target.zookeeper!;
  const at = (p: string) => chrootPath(tz.chroot, p);
  return withZk(
    tz.connect,
    async (zk) => {
      const removed: string[] = [];
      for (const t of plan.topics) {
        const topicPath = at(`/brokers/topics/${t.name}`);
        if (!(await exists(zk, topicPath))) continue;
        const id = (JSON.parse((await getData(zk, topicPath)).data?.toString() ?? '{}') as { topic_id?: string }).topic_id;
        if (id !== t.topicId) continue;
        await deleteTree(zk, topicPath);
        await deleteTree(zk, at(`/config/topics/${t.name}`));
        removed.push(t.name);
      }
      return removed;
    },
    { auth: zkAuthOf(target) },
  );
}
