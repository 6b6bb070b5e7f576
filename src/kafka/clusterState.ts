/**
 * Who is alive and who leads what, read where it is still readable during an outage.
 *
 * In ZooKeeper mode the controller's own state is in ZooKeeper (/brokers/ids, /controller,
 * /brokers/topics/<t>/partitions/<p>/state), and reading it keeps working when partitions are
 * offline. Through the Kafka protocol that is not so: kafkajs refuses a whole metadata answer
 * if a single partition has no leader, which is exactly the state a recovery has to look at.
 * KRaft clusters are read through the admin client (with retries through elections).
 */
import type { Kafka } from 'kafkajs';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { chrootPath, getChildren, getData, type ZkClient } from '../zookeeper/client';
import { withZkSession, zkFailure } from '../zookeeper/errors';
import { type PartitionState, partitionStates, reachableKafka, retryTransient, withAdmin } from './admin';

export interface ClusterState {
  brokers: number[];
  controller: number | null;
  partitions: PartitionState[];
}

const zkMode = (spec: ClusterSpec): spec is ClusterSpec & { zookeeper: NonNullable<ClusterSpec['zookeeper']> } =>
  spec.kafka.mode === 'zookeeper' && spec.zookeeper !== undefined;

export async function readClusterState(spec: ClusterSpec, opts: { topics?: string[]; kafka?: Kafka } = {}): Promise<ClusterState> {
  if (zkMode(spec)) {
    return withZkSession(spec.zookeeper.connect, { auth: zkAuthOf(spec), timeoutMs: 10_000 }, (zk) => readFromZk(zk, spec.zookeeper.chroot, opts.topics));
  }
  return withAdmin(opts.kafka ?? (await reachableKafka(spec, 'health')), spec.name, async (admin) => {
    const cluster = await retryTransient(() => admin.describeCluster());
    return {
      brokers: cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b),
      controller: cluster.controller,
      partitions: await partitionStates(admin, opts.topics, { cluster: spec.name }),
    };
  });
}

async function readFromZk(zk: ZkClient, chroot: string, only?: string[]): Promise<ClusterState> {
  const at = (p: string) => chrootPath(chroot, p);
  const json = async <T>(p: string): Promise<T | null> => {
    try {
      const { data } = await getData(zk, at(p));
      return data ? (JSON.parse(data.toString('utf8')) as T) : null;
    } catch (e) {
      if ((e as { code?: string }).code === 'NO_NODE') return null;
      throw zkFailure(e, `reading ${at(p)}`);
    }
  };
  const children = async (p: string): Promise<string[]> => {
    try {
      return await getChildren(zk, at(p));
    } catch (e) {
      if ((e as { code?: string }).code === 'NO_NODE') return [];
      throw zkFailure(e, `listing ${at(p)}`);
    }
  };

  const [ids, controller, listed, deleting] = await Promise.all([
    children('/brokers/ids'),
    json<{ brokerid: number }>('/controller'),
    only ? Promise.resolve(only) : children('/brokers/topics'),
    only ? Promise.resolve([] as string[]) : children('/admin/delete_topics'),
  ]);
  // The whole cluster leaves out a topic queued for deletion: it is going away, not offline (its
  // partitions have no leader while the deletion waits for every replica's broker; a probe's scratch
  // topic deleted while a broker was down held a brokers-lost recovery in wait-isr for minutes and
  // failed its verify). Topics asked for by name are read as they are.
  const allTopics = listed.filter((t) => !deleting.includes(t));
  // Requests are pipelined on the one session: one round trip per topic, then one per partition.
  const perTopic = await Promise.all(
    allTopics.map(async (topic) => {
      const assignment = await json<{ partitions: Record<string, number[]> }>(`/brokers/topics/${topic}`);
      if (!assignment) return [];
      return Promise.all(
        Object.entries(assignment.partitions).map(async ([p, replicas]): Promise<PartitionState> => {
          const state = await json<{ leader: number; isr: number[] }>(`/brokers/topics/${topic}/partitions/${p}/state`);
          return { topic, partition: Number(p), leader: state?.leader ?? -1, replicas, isr: state?.isr ?? [] };
        }),
      );
    }),
  );
  const partitions = perTopic.flat().sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return { brokers: ids.map(Number).sort((a, b) => a - b), controller: controller?.brokerid ?? null, partitions };
}
