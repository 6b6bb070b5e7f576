/**
 * What a backup set can restore, judged by the parts it holds (pure: workflows use it too).
 * A full recovery of a cluster needs its state (ZooKeeper or the Kafka metadata) and every
 * broker's data (its log-dir copy, or the logical `topics` part); configs it restores when the set
 * has them (a host's own stay otherwise). A broker recovery needs that broker's log-dir copy.
 * Recovery chooses by this, and retention keeps by it: besides each tier's newest full set, a set
 * stays until a newer one holds every part it holds (configs included), so nothing is lost to a
 * narrower backup.
 */

/** What a set has to hold to be chosen: the whole cluster, one broker, or the parts an operator named. */
export type SetRequirement = { kind: 'cluster' } | { kind: 'broker'; brokerId: number } | { kind: 'parts'; parts: string[] };

export interface Coverage {
  /** True when the set meets the requirement (by default: a full recovery of the cluster). */
  full: boolean;
  /** Each need the set does not meet, alternatives joined by " or " (e.g. "logdirs:2 or topics"). */
  missing: string[];
  /** The parts the set holds, sorted. */
  covers: string[];
}

const STATE = ['zookeeper', 'kafka-metadata'];

/** A logical topics part of the topics an operator named (`backup --topics`): not every broker's data. */
export const SELECTED_TOPICS = 'topics-selected';

/** Each need is a list of alternatives, any one of which meets it. */
function needsOf(req: SetRequirement, brokerIds: number[]): string[][] {
  // Named parts restore what they hold: a topics part of some topics (topics-selected) is one too.
  if (req.kind === 'parts') return req.parts.map((p) => (p === 'topics' ? ['topics', SELECTED_TOPICS] : [p]));
  // A broker recovery restores the broker's log dirs; a logical topics backup cannot do that.
  if (req.kind === 'broker') return [[`logdirs:${req.brokerId}`]];
  return [STATE, ...brokerIds.map((id) => [`logdirs:${id}`, 'topics'])];
}

/** `parts`: the parts a set holds (stored, not only planned); `brokerIds`: the spec's brokers. */
export function coverageOf(parts: string[], brokerIds: number[], req: SetRequirement = { kind: 'cluster' }): Coverage {
  const have = new Set(parts);
  const missing = needsOf(req, brokerIds)
    .filter((alternatives) => !alternatives.some((p) => have.has(p)))
    .map((alternatives) => alternatives.join(' or '));
  return { full: missing.length === 0, missing, covers: [...have].sort(comparePart) };
}

const ORDER = ['zookeeper', 'kafka-metadata', 'registry', 'configs', 'logdirs', 'topics', SELECTED_TOPICS, 'baseline'];

/** The backup's own order: state first, then per-broker parts by broker id. */
function comparePart(a: string, b: string): number {
  const [an, ai] = a.split(':');
  const [bn, bi] = b.split(':');
  return an === bn ? Number(ai ?? 0) - Number(bi ?? 0) : ORDER.indexOf(an!) - ORDER.indexOf(bn!);
}

/** "full" or "partial: configs:1,configs:2" (for listings and retention plans). */
export function coverageLabel(c: Coverage): string {
  return c.full ? 'full' : `partial: ${c.covers.join(',') || 'nothing'}`;
}

/** True when `a` holds every part `b` holds (then `a` can replace `b`); every topic's data holds some topics' too. */
export function coversAll(a: string[], b: string[]): boolean {
  const have = new Set(a);
  return b.every((p) => have.has(p) || (p === SELECTED_TOPICS && have.has('topics')));
}

/**
 * Why a set does not meet a requirement, in one clause, e.g. "covers only configs:1; a full
 * recovery needs zookeeper or kafka-metadata, and data (logdirs or topics) of brokers 1,2,3".
 */
export function coverageGap(c: Coverage, req: SetRequirement = { kind: 'cluster' }): string {
  const covers = `covers ${c.covers.length ? `only ${c.covers.join(',')}` : 'nothing'}`;
  if (req.kind === 'parts') return `${covers}; the parts asked for also need ${c.missing.join(', ')}`;
  if (req.kind === 'broker') return `${covers}; a recovery of broker ${req.brokerId} needs its log-dir copy (logdirs:${req.brokerId})`;
  const data = c.missing.filter((m) => m.startsWith('logdirs:')).map((m) => m.split(' ')[0]!.slice('logdirs:'.length));
  const needs = [
    ...(c.missing.includes(STATE.join(' or ')) ? ['zookeeper or kafka-metadata'] : []),
    ...(data.length ? [`data (logdirs or topics) of broker${data.length > 1 ? 's' : ''} ${data.join(',')}`] : []),
  ];
  return `${covers}; a full recovery needs ${needs.join(', and ')}`;
}

/** The parts a set's requirement restores when an operator names them (`--parts`): validated elsewhere. */
export const requirementOf = (parts: string[] | undefined): SetRequirement => (parts?.length ? { kind: 'parts', parts } : { kind: 'cluster' });
