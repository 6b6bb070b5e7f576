/**
 * What a backup set can restore, judged by the parts it holds (pure: workflows use it too).
 * A full recovery of a cluster needs its state (ZooKeeper or the Kafka metadata), every broker's
 * configs and every broker's data (its log-dir copy, or the logical `topics` part). Retention keeps
 * sets by this, and recovery chooses by it: a set that covers less than another never replaces it.
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

/** Each need is a list of alternatives, any one of which meets it. */
function needsOf(req: SetRequirement, brokerIds: number[]): string[][] {
  if (req.kind === 'parts') return req.parts.map((p) => [p]);
  const ids = req.kind === 'broker' ? [req.brokerId] : brokerIds;
  return [...(req.kind === 'cluster' ? [STATE] : []), ...ids.map((id) => [`configs:${id}`]), ...ids.map((id) => [`logdirs:${id}`, 'topics'])];
}

/** `parts`: the parts a set holds (stored, not only planned); `brokerIds`: the spec's brokers. */
export function coverageOf(parts: string[], brokerIds: number[], req: SetRequirement = { kind: 'cluster' }): Coverage {
  const have = new Set(parts);
  const missing = needsOf(req, brokerIds)
    .filter((alternatives) => !alternatives.some((p) => have.has(p)))
    .map((alternatives) => alternatives.join(' or '));
  return { full: missing.length === 0, missing, covers: [...have].sort(comparePart) };
}

const ORDER = ['zookeeper', 'kafka-metadata', 'registry', 'configs', 'logdirs', 'topics', 'baseline'];

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

/** True when `a` holds every part `b` holds (then `a` can replace `b`). */
export function coversAll(a: string[], b: string[]): boolean {
  const have = new Set(a);
  return b.every((p) => have.has(p));
}

/**
 * Why a set does not meet a requirement, in one clause, e.g. "covers only configs:1; a full
 * recovery needs zookeeper or kafka-metadata, configs of brokers 2,3, and data (logdirs or topics)
 * of brokers 1,2,3".
 */
export function coverageGap(c: Coverage, req: SetRequirement = { kind: 'cluster' }): string {
  const covers = `covers ${c.covers.length ? `only ${c.covers.join(',')}` : 'nothing'}`;
  if (req.kind === 'parts') return `${covers}; the parts asked for also need ${c.missing.join(', ')}`;
  const configs = c.missing.filter((m) => m.startsWith('configs:')).map((m) => m.slice('configs:'.length));
  const data = c.missing.filter((m) => m.startsWith('logdirs:')).map((m) => m.split(' ')[0]!.slice('logdirs:'.length));
  const needs = [
    ...(c.missing.includes(STATE.join(' or ')) ? ['zookeeper or kafka-metadata'] : []),
    ...(configs.length ? [`configs of broker${configs.length > 1 ? 's' : ''} ${configs.join(',')}`] : []),
    ...(data.length ? [`data (logdirs or topics) of broker${data.length > 1 ? 's' : ''} ${data.join(',')}`] : []),
  ];
  const what = req.kind === 'broker' ? `a recovery of broker ${req.brokerId}` : 'a full recovery';
  const list = needs.length > 1 ? `${needs.slice(0, -1).join(', ')}, and ${needs.at(-1)}` : needs[0];
  return `${covers}; ${what} needs ${list}`;
}

/** The parts a set's requirement restores when an operator names them (`--parts`): validated elsewhere. */
export const requirementOf = (parts: string[] | undefined): SetRequirement => (parts?.length ? { kind: 'parts', parts } : { kind: 'cluster' });
