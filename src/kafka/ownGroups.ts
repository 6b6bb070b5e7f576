/**
 * Consumer groups Lifeboat's own short-lived readers join: a topic read (restore checks, a drill's
 * read-back) and a probe's round trip. They are not an operator's: each is deleted when its read
 * ends, and what looks at a cluster's groups (a migration's cut-over check, a drill's inventory)
 * leaves them out, so a read running beside it is not taken for a group of the cluster's.
 */
export const READER_GROUP_PREFIX = 'lifeboat-read-';
export const PROBE_GROUP_PREFIX = 'lifeboat-probe-';

export const isOwnReaderGroup = (groupId: string): boolean => groupId.startsWith(READER_GROUP_PREFIX) || groupId.startsWith(PROBE_GROUP_PREFIX);

/** The scratch topics of Lifeboat's probes (a drill's, verifyCluster's): made and deleted by each probe. */
export const PROBE_TOPIC_PREFIX = 'lifeboat-probe-';
export const isOwnScratchTopic = (topic: string): boolean => topic.startsWith(PROBE_TOPIC_PREFIX);
