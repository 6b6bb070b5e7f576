/**
 * Retention policy (pure): which snapshots a policy keeps, and why. Same rules as restic's forget:
 * walking from newest to oldest, each keep-<period> rule keeps the newest snapshot of each of its
 * next N periods (hour/day/ISO week/month/year, in UTC) that has a snapshot; keep-last keeps the N
 * newest; keep-within keeps everything within a duration of the newest; keep-tag keeps tagged ones.
 * Snapshots are grouped by cluster: a policy applies to each cluster separately.
 * A drill record (tag DRILL_RECORD_TAG, src/drills/history.ts) is always kept and takes no rule's
 * slot: the drills' history must outlive every retention policy. A drill fault's pre-fault export
 * (tags PRE_FAULT_TAG and drill:<id>, src/drills/faults.ts: the only copy of a chroot or registry
 * while the fault is applied) is kept the same way until that drill's record is among the snapshots
 * (saved after every revert); a forget that cannot see the record keeps it.
 */
import { LifeboatError } from '../errors';

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** e.g. "24h", "7d", "1y2M" (y, M=month, w, d, h, m=minute) */
  keepWithin?: string;
  keepTags?: string[];
}

/** The tag of a DR drill's record (component drill): kept whatever the policy says. */
export const DRILL_RECORD_TAG = 'drill';

export const isDrillRecord = (s: { tags: readonly string[]; components?: readonly string[] }): boolean =>
  s.tags.includes(DRILL_RECORD_TAG) && (s.components === undefined || s.components.includes(DRILL_RECORD_TAG));

/** The tag of a drill fault's export of what it is about to delete (src/drills/faults.ts faultSnapshotTags). */
export const PRE_FAULT_TAG = 'pre-fault';

const drillIdOf = (s: { tags: readonly string[] }): string | undefined => s.tags.find((t) => t.startsWith(`${DRILL_RECORD_TAG}:`))?.slice(DRILL_RECORD_TAG.length + 1);

/**
 * The drill whose fault a snapshot is the pre-fault export of, while that drill has no record among
 * `recorded` (cluster + "\0" + drill id): its fault may be applied, the export the only copy.
 */
function heldPreFault(s: PolicySnapshot, recorded: Set<string>): string | undefined {
  if (!s.tags.includes(PRE_FAULT_TAG) || isDrillRecord(s)) return undefined;
  const id = drillIdOf(s);
  // A pre-fault export without a drill id is not one a drill can be sure of finding again: kept too.
  if (id === undefined) return '(unnamed)';
  return recorded.has(`${s.cluster}\0${id}`) ? undefined : id;
}

export interface PolicySnapshot {
  id: string;
  time: string;
  cluster: string;
  tags: string[];
}

export interface PolicyResult<T extends PolicySnapshot> {
  keep: { snapshot: T; reasons: string[] }[];
  remove: T[];
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** ISO-8601 week ("2024-W15"), in UTC. */
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day); // the Thursday of this week decides its year
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86400000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${pad(week)}`;
}

const BUCKETS: [keyof RetentionPolicy, string, (d: Date) => string][] = [
  ['keepHourly', 'hourly', (d) => d.toISOString().slice(0, 13)],
  ['keepDaily', 'daily', (d) => d.toISOString().slice(0, 10)],
  ['keepWeekly', 'weekly', isoWeek],
  ['keepMonthly', 'monthly', (d) => d.toISOString().slice(0, 7)],
  ['keepYearly', 'yearly', (d) => d.toISOString().slice(0, 4)],
];

/** The instant `duration` before `from` (calendar arithmetic in UTC). */
export function subtractDuration(from: Date, duration: string): Date {
  if (!/^(\d+[yMwdhm])+$/.test(duration)) throw new LifeboatError('InvalidInput', `invalid duration "${duration}" (e.g. 24h, 7d, 1y6M)`);
  const d = new Date(from.getTime());
  for (const [, n, unit] of duration.matchAll(/(\d+)([yMwdhm])/g)) {
    const v = Number(n);
    if (unit === 'y') d.setUTCFullYear(d.getUTCFullYear() - v);
    else if (unit === 'M') d.setUTCMonth(d.getUTCMonth() - v);
    else if (unit === 'w') d.setUTCDate(d.getUTCDate() - 7 * v);
    else if (unit === 'd') d.setUTCDate(d.getUTCDate() - v);
    else if (unit === 'h') d.setTime(d.getTime() - v * 3600_000);
    else d.setTime(d.getTime() - v * 60_000);
  }
  return d;
}

export function isEmptyPolicy(p: RetentionPolicy): boolean {
  return !p.keepLast && !p.keepHourly && !p.keepDaily && !p.keepWeekly && !p.keepMonthly && !p.keepYearly && !p.keepWithin && !p.keepTags?.length;
}

export function applyPolicy<T extends PolicySnapshot>(snapshots: T[], policy: RetentionPolicy): PolicyResult<T> {
  if (isEmptyPolicy(policy)) throw new LifeboatError('InvalidInput', 'no retention rule given: refusing to forget every snapshot (use --keep-* options)');
  const result: PolicyResult<T> = { keep: [], remove: [] };
  const byCluster = new Map<string, T[]>();
  const recorded = new Set(snapshots.filter((s) => isDrillRecord(s) && drillIdOf(s) !== undefined).map((s) => `${s.cluster}\0${drillIdOf(s)!}`));
  for (const s of snapshots) {
    const held = heldPreFault(s, recorded);
    // Never forgotten, and not counted against keep-last or the periods (a drill is not a backup).
    if (isDrillRecord(s)) result.keep.push({ snapshot: s, reasons: ['drill record (never forgotten)'] });
    else if (held !== undefined) result.keep.push({ snapshot: s, reasons: [`pre-fault export of drill ${held} (kept until the drill's record is saved)`] });
    else byCluster.set(s.cluster, [...(byCluster.get(s.cluster) ?? []), s]);
  }
  for (const group of byCluster.values()) {
    const newestFirst = [...group].sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
    const within = policy.keepWithin && newestFirst[0] ? subtractDuration(new Date(newestFirst[0].time), policy.keepWithin).toISOString() : undefined;
    const left = new Map<string, number>(BUCKETS.map(([k]) => [k, (policy[k] as number | undefined) ?? 0]));
    const last = new Map<string, string>();
    let lastLeft = policy.keepLast ?? 0;
    for (const s of newestFirst) {
      const reasons: string[] = [];
      const date = new Date(s.time);
      if (lastLeft > 0) {
        lastLeft--;
        reasons.push('last');
      }
      for (const [key, label, bucketOf] of BUCKETS) {
        if ((left.get(key) ?? 0) <= 0) continue;
        const b = bucketOf(date);
        if (last.get(key) !== b) {
          last.set(key, b);
          left.set(key, left.get(key)! - 1);
          reasons.push(label);
        }
      }
      if (within && s.time >= within) reasons.push(`within ${policy.keepWithin}`);
      const tag = policy.keepTags?.find((t) => s.tags.includes(t));
      if (tag) reasons.push(`tag ${tag}`);
      if (reasons.length) result.keep.push({ snapshot: s, reasons });
      else result.remove.push(s);
    }
  }
  return result;
}

/**
 * Removes the snapshot files a policy does not keep (exclusive lock). Data goes at the next prune.
 * A snapshot a kept one builds on (`parent`: an incremental ZooKeeper or topics export) stays, as
 * do the parents of `keptOutside` (snapshots kept by other rules, e.g. backup sets' parts).
 */
export async function forget<T extends PolicySnapshot & { parent?: string }>(
  repo: { exclusive<R>(purpose: string, fn: () => Promise<R>): Promise<R>; backend: { remove(kind: 'snapshots', name: string): Promise<void> }; dropCached(id: string): void },
  snapshots: T[],
  policy: RetentionPolicy,
  opts: { dryRun?: boolean; keptOutside?: { id: string; parent?: string }[] } = {},
): Promise<PolicyResult<T>> {
  const plan = applyPolicy(snapshots, policy);
  const removing = new Map(plan.remove.map((s) => [s.id, s]));
  const byId = new Map<string, { id: string; parent?: string }>([...(opts.keptOutside ?? []), ...snapshots].map((s) => [s.id, s]));
  const seen = new Set<string>();
  for (const kept of [...plan.keep.map((k) => k.snapshot), ...(opts.keptOutside ?? [])]) {
    for (let child = kept, p = kept.parent; p && !seen.has(p); child = byId.get(p) ?? { id: p }, p = byId.get(p)?.parent) {
      seen.add(p);
      const s = removing.get(p);
      if (!s) continue;
      removing.delete(p);
      plan.keep.push({ snapshot: s, reasons: [`parent of ${child.id.slice(0, 12)}`] });
    }
  }
  plan.remove = plan.remove.filter((s) => removing.has(s.id));
  if (opts.dryRun || plan.remove.length === 0) return plan;
  await repo.exclusive('forget', async () => {
    for (const s of plan.remove) {
      await repo.backend.remove('snapshots', s.id);
      repo.dropCached(s.id);
    }
  });
  return plan;
}
