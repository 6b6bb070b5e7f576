/**
 * The target's inventory, the pure part: which ZooKeeper nodes count (Kafka's own volatile state
 * does not: leaders, ISRs, controller epochs move with every broker restart a drill causes) and the
 * differences between the inventory before a drill and after it. Each difference is a problem.
 */
import { KAFKA_OWNED_SUBTREES, KAFKA_REWRITTEN_NODES, kafkaOwnsZnode as kafkaOwnedByZookeeperRule } from '../zookeeper/kafkaOwned.pure';
import type { Inventory, InventoryDifference } from './records';

/** What an inventory keeps of a node whose data moves on its own: that it exists, not its content. */
export const PRESENCE_ONLY = 'present';

/**
 * Paths relative to a Kafka chroot that an inventory leaves out with everything below them: live
 * registrations, notifications Kafka consumes and deletes (config and ACL changes: the ACLs themselves,
 * /kafka-acl/…, count), pending admin requests, and the drill's
 * own ZooKeeper write stream (`<chroot>/lifeboat-drill/<drill>`).
 */
const DROPPED_SUBTREES = [...KAFKA_OWNED_SUBTREES, '/lifeboat-drill'];

/** Persistent nodes Kafka rewrites by itself (an election, a producer id block): presence only. */
const PRESENCE_ONLY_PATHS = KAFKA_REWRITTEN_NODES;

const under = (rel: string, root: string) => rel === root || rel.startsWith(`${root}/`);

/**
 * What the inventory records for one node of a Kafka chroot (path relative to it): the sha256 of its
 * data, PRESENCE_ONLY, or undefined when the node is left out (ephemeral or volatile). The nodes that
 * hold DROPPED subtrees themselves ("/brokers/ids", "/admin") count by presence: Kafka creates them once.
 */
export function kafkaZnodeValue(rel: string, ephemeral: boolean, dataHash: string, leftOut: (topic: string) => boolean = () => false): string | undefined {
  if (ephemeral) return undefined;
  // A topic left out of the inventory (a drill's stream, a probe's scratch topic) is left out of ZooKeeper's part too.
  const topic = /^\/(?:brokers|config)\/topics\/([^/]+)/.exec(rel)?.[1];
  if (topic !== undefined && leftOut(topic)) return undefined;
  for (const d of DROPPED_SUBTREES) {
    if (rel === d) return d === '/controller' || d === '/lifeboat-drill' ? undefined : PRESENCE_ONLY;
    if (under(rel, d)) return undefined;
  }
  if (PRESENCE_ONLY_PATHS.some((r) => r.test(rel))) return PRESENCE_ONLY;
  return dataHash;
}

/**
 * Nodes of a Kafka chroot that a running Kafka owns (path relative to the chroot): registrations,
 * elections and their epochs, partition states, notifications. A revert's import creates them when
 * they are missing and never rewrites or deletes them under a running cluster: an exported controller
 * epoch written back fails every later write of the controller that registered since.
 */
export function kafkaOwnsZnode(rel: string): boolean {
  return kafkaOwnedByZookeeperRule(rel) || under(rel, '/lifeboat-drill');
}

/** A registry root's nodes: everything persistent counts (instances are ephemeral and come and go with their services). */
export const registryZnodeValue = (ephemeral: boolean, dataHash: string): string | undefined => (ephemeral ? undefined : dataHash);

/** JSON with sorted keys: the same content always gives the same text. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

type Topic = Inventory['topics'][string];
const describeTopic = (t: Topic): string => {
  const configs = Object.entries(t.configs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return `${t.partitions} partition${t.partitions === 1 ? '' : 's'}, replication factor ${t.replicationFactor}${configs.length ? `, ${configs.join(', ')}` : ''}`;
};

/** Hashes are long; twelve hex digits tell two contents apart in a report. */
const short = (v: string): string => (v === PRESENCE_ONLY ? v : v.slice(0, 12));

function diffMaps(
  area: InventoryDifference['area'],
  before: Record<string, string>,
  after: Record<string, string>,
  out: InventoryDifference[],
  show: (v: string) => string = (v) => v,
): void {
  for (const key of Object.keys(before)) {
    if (!(key in after)) out.push({ area, key, change: 'removed', before: show(before[key]!) });
    else if (before[key] !== after[key]) out.push({ area, key, change: 'changed', before: show(before[key]!), after: show(after[key]!) });
  }
  for (const key of Object.keys(after)) if (!(key in before)) out.push({ area, key, change: 'added', after: show(after[key]!) });
}

/** Flattens nested maps to "outer/inner" keys (a group's offsets, a broker's configs). */
function flatten<T>(m: Record<string, Record<string, T>>, sep: string, show: (v: T) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [outer, inner] of Object.entries(m)) {
    // An entry with nothing inside still exists (a group without offsets, a broker without dynamic configs).
    if (Object.keys(inner).length === 0) out[outer] = '(none)';
    for (const [k, v] of Object.entries(inner)) out[`${outer}${sep}${k}`] = show(v);
  }
  return out;
}

const ORDER: InventoryDifference['area'][] = ['topics', 'groups', 'znodes', 'brokerConfigs'];

/** Topics Kafka creates by itself on first use (a group's first commit, a first transaction). */
const KAFKA_INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);
const INTERNAL_TOPIC_ZNODE = /\/(?:brokers|config)\/topics\/(__consumer_offsets|__transaction_state)(?:\/|$)/;

/**
 * Kafka creating an internal topic is not the drill's damage: the drill's own reader (its read-back,
 * its probe) is a cluster's first group on a fresh one. Losing or changing one still counts.
 */
const kafkaCreatedIt = (d: InventoryDifference): boolean =>
  d.change === 'added' && ((d.area === 'topics' && KAFKA_INTERNAL_TOPICS.has(d.key)) || (d.area === 'znodes' && INTERNAL_TOPIC_ZNODE.test(d.key)));

/**
 * Every difference between two inventories of the same cluster, by area then key: a topic, a group's
 * committed offset ("group topic/partition"), a znode (its data hash), a broker's dynamic config
 * ("broker key"). Identical inventories give [] (their times do not count); an internal topic Kafka
 * created meanwhile is not a difference.
 */
export function inventoryDiff(before: Inventory, after: Inventory): InventoryDifference[] {
  const out: InventoryDifference[] = [];
  const topics = (inv: Inventory) => Object.fromEntries(Object.entries(inv.topics).map(([k, t]) => [k, canonical(t)]));
  const topicText = (v: string) => describeTopic(JSON.parse(v) as Topic);
  diffMaps('topics', topics(before), topics(after), out, topicText);
  diffMaps('groups', flatten(before.groups, ' ', String), flatten(after.groups, ' ', String), out);
  diffMaps('znodes', before.znodes, after.znodes, out, short);
  diffMaps('brokerConfigs', flatten(before.brokerConfigs, ' ', String), flatten(after.brokerConfigs, ' ', String), out);
  return out.filter((d) => !kafkaCreatedIt(d)).sort((a, b) => ORDER.indexOf(a.area) - ORDER.indexOf(b.area) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** One line per difference, for the report and problems: "znodes /standby/config/topics/x changed (1a2b… → 3c4d…)". */
export function describeDifference(d: InventoryDifference): string {
  const what = d.change === 'changed' ? `changed (${d.before} → ${d.after})` : d.change === 'added' ? `added (${d.after})` : `removed (was ${d.before})`;
  return `${d.area} ${d.key} ${what}`;
}
