/**
 * What a running ZooKeeper-mode Kafka owns in its chroot (paths relative to the chroot): live
 * registrations, elections and their epochs, partition states, notifications it consumes and deletes,
 * pending admin requests, the producer id block and the feature node. An import into the chroot of a
 * running cluster creates such a node when it is missing and never rewrites or deletes it: an exported
 * controller epoch written back fails every later write of the controller that registered since
 * ("Controller epoch zkVersion check fails"), an exported partition state contradicts the live leader.
 */

/** Subtrees (each with the node itself) a running Kafka writes and deletes on its own. */
export const KAFKA_OWNED_SUBTREES = ['/controller', '/brokers/ids', '/admin', '/isr_change_notification', '/log_dir_event_notification', '/config/changes', '/kafka-acl-changes', '/kafka-acl-extended-changes'];

/** Persistent nodes a running Kafka rewrites by itself (an election, a producer id block, a leader change). */
export const KAFKA_REWRITTEN_NODES = [/^\/controller_epoch$/, /^\/latest_producer_id_block$/, /^\/feature$/, /^\/brokers\/topics\/[^/]+\/partitions\/[^/]+\/state$/];

const under = (rel: string, root: string) => rel === root || rel.startsWith(`${root}/`);

/** Requests and notifications Kafka consumes and deletes (each a node of its own under these, or the request node itself). */
const CONSUMED_PARENTS = ['/admin/delete_topics', '/isr_change_notification', '/log_dir_event_notification', '/config/changes', '/kafka-acl-changes', '/kafka-acl-extended-changes'];
const CONSUMED_NODES = ['/admin/reassign_partitions', '/admin/preferred_replica_election'];

/**
 * A pending request or notification (a topic deletion, a reassignment, an ISR change, a config change):
 * once the running Kafka has consumed it, creating it again from an export would replay it (a topic
 * deleted twice, an old reassignment run again). Never created under a running Kafka.
 */
export function kafkaConsumesZnode(rel: string): boolean {
  return CONSUMED_PARENTS.some((p) => rel.startsWith(`${p}/`)) || CONSUMED_NODES.some((n) => under(rel, n));
}

export function kafkaOwnsZnode(rel: string): boolean {
  return KAFKA_OWNED_SUBTREES.some((d) => under(rel, d)) || KAFKA_REWRITTEN_NODES.some((r) => r.test(rel));
}

/** A Kafka runs on the chroot: a broker's registration or the controller's election is a live ephemeral node there. */
export function liveKafkaIn(nodes: readonly { path: string; ephemeral: boolean }[]): boolean {
  return nodes.some((n) => n.ephemeral && (n.path === '/controller' || /^\/brokers\/ids\/\d+$/.test(n.path)));
}
