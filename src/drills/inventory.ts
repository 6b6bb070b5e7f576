/**
 * The drill target's inventory (issue 16): its topics (partitions, replication factor, the configs
 * set on them), its groups' committed offsets, the znodes of its chroot and registry roots (a hash
 * of each one's data) and the configs set dynamically on its brokers. Taken before and after a
 * drill; any difference (inventory.pure.ts) is a problem. A read: it writes nothing anywhere.
 */
import { createHash } from 'node:crypto';
import { type Admin, ConfigResourceTypes, ConfigSource } from 'kafkajs';
import { type ClusterSpec, registryRootsOf, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { reachableKafka, retryTransient, withAdmin } from '../kafka/admin';
import { exportMetadata } from '../kafka/metadata';
import { listTopicsChecked } from '../kafka/topicListing';
import type { ZkClient } from '../zookeeper/client';
import { withZkSession } from '../zookeeper/errors';
import { exportTree } from '../zookeeper/export';
import { joinRoot } from '../zookeeper/tree';
import { drillStreamTopic, isDrillStreamTopic } from './ids.pure';
import { kafkaZnodeValue, registryZnodeValue } from './inventory.pure';
import type { Inventory } from './records';
import { isOwnReaderGroup, isOwnScratchTopic } from '../kafka/ownGroups';
import { settleAll } from '../core/parallel';

export interface InventoryOptions {
  /** Topics left out besides every drill's write-stream topic and Lifeboat's probe scratch topics (always left out). */
  excludeTopics?: string[];
  signal?: AbortSignal;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A subtree's counted nodes, absolute path → value; nothing when the root does not exist. */
async function znodesUnder(zk: ZkClient, root: string, value: (rel: string, ephemeral: boolean, hash: string) => string | undefined, signal?: AbortSignal): Promise<Record<string, string>> {
  let exp;
  try {
    exp = await exportTree(zk, root, { signal });
  } catch (e) {
    // A deleted chroot is a fact the comparison reports (every node "removed"), not a failure.
    if (e instanceof LifeboatError && /does not exist/.test(e.message)) return {};
    throw e;
  }
  const out: Record<string, string> = {};
  for (const n of exp.nodes) {
    const v = value(n.path, n.ephemeral, sha256(n.data ? Buffer.from(n.data, 'base64') : Buffer.alloc(0)));
    if (v !== undefined) out[joinRoot(root, n.path)] = v;
  }
  return out;
}

/** The ZooKeeper part: the chroot (Kafka in ZooKeeper mode) and the registry's roots. */
async function readZnodes(spec: ClusterSpec, leftOut: (topic: string) => boolean, signal?: AbortSignal): Promise<Record<string, string>> {
  const zkc = spec.zookeeper;
  if (!zkc) return {};
  const roots: { root: string; value: (rel: string, ephemeral: boolean, hash: string) => string | undefined }[] = [];
  if (spec.kafka.mode === 'zookeeper') roots.push({ root: zkc.chroot || '/', value: (rel, eph, hash) => kafkaZnodeValue(rel, eph, hash, leftOut) });
  for (const r of registryRootsOf(spec)) roots.push({ root: r, value: (_rel, eph, hash) => registryZnodeValue(eph, hash) });
  if (roots.length === 0) return {};
  return withZkSession(zkc.connect, { auth: zkAuthOf(spec) }, async (zk) => Object.assign({}, ...(await settleAll(roots.map(({ root, value }) => znodesUnder(zk, root, value, signal))))) as Record<string, string>);
}

/** Configs set dynamically on each broker of the spec (per broker or cluster-wide), by broker id. */
async function readBrokerConfigs(spec: ClusterSpec, kafka: Awaited<ReturnType<typeof reachableKafka>>): Promise<Inventory['brokerConfigs']> {
  return withAdmin(kafka, spec.name, async (admin) => {
    const live = new Set((await retryTransient(() => admin.describeCluster())).brokers.map((b) => b.nodeId));
    // Each broker answers for its own configs: asked at once.
    const entries = await settleAll(
      spec.brokers.map(async (b): Promise<[string, Record<string, string>]> => {
        // A broker that is down has no configs to read: that it is down is what an inventory after a drill must show.
        if (!live.has(b.id)) return [String(b.id), { '(broker)': 'not live' }];
        const r = await retryTransient(() => admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: String(b.id) }], includeSynonyms: false }));
        const own: Record<string, string> = {};
        for (const c of r.resources[0]?.configEntries ?? []) {
          if (c.configSource !== ConfigSource.DYNAMIC_BROKER_CONFIG && c.configSource !== ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG) continue;
          // Kafka never returns a sensitive value; that it is set is all there is to compare.
          own[c.configName] = c.isSensitive || c.configValue === null ? '(sensitive)' : c.configValue;
        }
        return [String(b.id), own];
      }),
    );
    return Object.fromEntries(entries);
  });
}

/** How long an inventory waits for the brokers to list topics ZooKeeper has (topicListing.ts). */
const LISTING_WAIT_MS = 10_000;

/** The target's inventory now. */
export async function takeInventory(spec: ClusterSpec, drillId: string, opts: InventoryOptions = {}): Promise<Inventory> {
  const exclude = new Set([drillStreamTopic(drillId), ...(opts.excludeTopics ?? [])]);
  // The one rule for a topic that is not the target's: named (the drill's own stream, a caller's), any
  // drill's stream topic, a probe's scratch topic (the drill's own, or a verifyCluster running beside this).
  const leftOut = (topic: string) => exclude.has(topic) || isDrillStreamTopic(topic) || isOwnScratchTopic(topic);
  const kafka = await reachableKafka(spec, 'drill-inventory');
  // One broker answers the listing; one the controller has not told about the topics yet (just started,
  // as after a review's restart) lists none, which would read as every topic removed: checked against
  // ZooKeeper, which waits (bounded) for the topics it has. What is still missing is a difference.
  const listTopics = (admin: Admin) => listTopicsChecked(spec, admin, { relevant: (t) => !leftOut(t), signal: opts.signal, timeoutMs: LISTING_WAIT_MS, strict: false });
  // The three parts read different things (Kafka's metadata, each broker's configs, ZooKeeper): at once.
  const [md, brokerConfigs, znodes] = await settleAll([
    exportMetadata(kafka, { name: spec.name, includeInternal: true, excludeTopics: [...exclude], listTopics }),
    readBrokerConfigs(spec, kafka),
    readZnodes(spec, leftOut, opts.signal),
  ]);
  const topics: Inventory['topics'] = {};
  for (const t of md.topics) {
    if (leftOut(t.name)) continue;
    topics[t.name] = { partitions: t.partitions, replicationFactor: t.replicationFactor, configs: t.configs };
  }
  const groups: Inventory['groups'] = {};
  for (const g of md.groups) {
    // Lifeboat's own readers (a read-back, a probe running beside this) are not the target's groups.
    if (isOwnReaderGroup(g.groupId)) continue;
    const offsets = g.offsets.filter((o) => !leftOut(o.topic));
    // A group that only read topics left out is Lifeboat's, not the target's.
    if (offsets.length === 0 && g.offsets.length > 0) continue;
    groups[g.groupId] = Object.fromEntries(offsets.map((o) => [`${o.topic}/${o.partition}`, Number(o.offset)]));
  }
  return { takenAt: new Date().toISOString(), cluster: spec.name, topics, groups, znodes, brokerConfigs };
}
