/**
 * Names a drill's parts share (pure: workflows import it): its workflow ID, the queries its
 * activities and the CLI ask, the stream topic and the search attribute kind.
 */

/** Workflow ID of a drill: drill-<cluster>-<scenario>-<UTC time or the schedule's time>. */
export const drillWorkflowId = (cluster: string, scenario: string, at: string): string => `drill-${cluster}-${scenario}-${at.replace(/[^0-9TZ]/g, '')}`;

/** The drill's own write-stream topic (excluded from the inventory, deleted at the end). */
export const drillStreamTopic = (drillId: string): string => `${DRILL_STREAM_PREFIX}${drillId.replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 249);
const DRILL_STREAM_PREFIX = 'lifeboat-drill-';
/**
 * Any drill's stream topic (Lifeboat's namespace: dropStream deletes nothing else). The inventory leaves
 * them all out: one an earlier drill failed to drop is not the target's either.
 */
export const isDrillStreamTopic = (topic: string): boolean => topic.startsWith(DRILL_STREAM_PREFIX);

/** Asked by the write stream: true once the drill wants it to stop and return its log. */
export const DRILL_STREAM_STOP_QUERY = 'drillStreamStop';
/** Signal from the write stream: every partition (and its znode) holds an acknowledged write; the faults may go. */
export const DRILL_STREAM_SEEDED_SIGNAL = 'drillStreamSeeded';
/** The drill's status (phase, steps, faults applied and reverted). */
export const DRILL_STATUS_QUERY = 'drillStatus';
/** Signal: stop the drill now and revert (what `lifeboat drill stop` sends; --all to every running drill). */
export const DRILL_STOP_SIGNAL = 'drillStop';

/** LifeboatKind search attribute value of drill runs (lists them for `drill stop --all`). */
export const DRILL_KIND = 'drill';

/** The drills' lock of a cluster (src/drills/lock.ts): one drill at a time, taken atomically. */
export const DRILL_LOCK_WORKFLOW_TYPE = 'drillLock';
export const drillLockWorkflowId = (cluster: string): string => `lock-drill-${cluster}`;
