/**
 * Gathering a cluster's backup facts (src/monitoring/types.ts) from persisted state only: each
 * repository tier's backup sets (listed, nothing written, nothing created), the cluster's backup
 * schedules and failed backup runs in Temporal, and the verifications the backupMonitor workflow
 * recorded. Never "now" for a fact: every time in the facts is a set's own time or a recorded one.
 *
 * Where verifications are recorded: in the result of each completed `backupMonitor` run (its
 * LifeboatCluster search attribute names the cluster; a run over several clusters runs one child
 * per cluster). `/metrics` and `lifeboat backup health` read the newest runs' results here, so a
 * sampled read of the data is never repeated by a scrape, and nothing is written to a repository.
 */
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { type BackupSet, listBackupSets } from '../backup/parts';
import { repositoryTiers } from '../backup/tiers.pure';
import type { ClusterSpec } from '../config/spec';
import { isLifeboatError } from '../errors';
import { openRepositoryForSpec } from '../repository';
import type { LocalRepository } from '../repository/repo';
import { listBackupSchedules, type BackupScheduleState, scheduleId } from '../temporal/schedules';
import type { BackupMonitorResult } from '../../workflows/backupMonitor';
import type { BackupFacts, ScheduleFacts, TierFacts } from './types';

/** One repository tier as the monitor reads it. */
export interface MonitoredTier {
  name: string;
  medium: TierFacts['medium'];
  offsite: boolean;
  location: string;
  open(): Promise<LocalRepository>;
}

const quiet = (): void => undefined;

/** The spec's repository tiers in copy order (src/backup/tiers.pure.ts), each opened read-only (never created). */
export function monitoredTiers(spec: ClusterSpec): MonitoredTier[] {
  return repositoryTiers(spec).map((t) => ({
    name: t.name,
    medium: t.medium,
    offsite: t.offsite,
    location: t.location,
    open: () => openRepositoryForSpec(spec, t.name, { notice: quiet }),
  }));
}

/** A tier's verification and check as the monitor records them (the per-tier part of its result). */
export interface TierRecord {
  lastVerified?: TierFacts['lastVerified'];
  lastCheck?: TierFacts['lastCheck'];
}

export interface GatherOptions {
  /** A connected client: schedules, failed runs and recorded verifications. Without it those facts are unknown. */
  temporal?: Client;
  /** The expected interval between sets, instead of the schedule's or the spec's RPO (tests, the monitor's input). */
  expectedIntervalSeconds?: number;
  /** Verifications to use instead of the recorded ones, by tier (the monitor's own, just made). */
  records?: Record<string, TierRecord>;
  /** The gathering time (default: the clock); only `gatheredAt` uses it. */
  now?: Date;
}

/** The facts, plus what could not be asked (Temporal), which a verdict must not read as "no schedule". */
export interface GatheredFacts extends BackupFacts {
  temporal: { reachable: boolean; error?: string };
}

const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
const seconds = (a: string, b: string): number => Math.round((Date.parse(a) - Date.parse(b)) / 1000);

/**
 * What one tier's sets say (no comparison with the other tiers yet). The last success is the newest
 * complete set a scheduled backup made (tier hourly, daily, …): a set an operator took by hand (tier
 * manual, often a few parts: `--parts logdirs:1`) does not make the backups fresh while the scheduled
 * ones fail. A cluster with no scheduled set at all is judged by its manual ones. What a set covers
 * is the schedule's choice (metadata-only schedules exist), so it is not judged here.
 */
export function tierFactsOf(tier: Omit<MonitoredTier, 'open'>, sets: BackupSet[], storedBytes?: number): TierFacts {
  const complete = sets.filter((s) => s.complete);
  const scheduled = complete.filter((s) => s.tier !== 'manual');
  const newest = (scheduled.length ? scheduled : complete).at(-1);
  const attempt = sets.at(-1);
  const out: TierFacts = { tier: tier.name, medium: tier.medium, offsite: tier.offsite, location: tier.location, reachable: true, sets: sets.length };
  if (newest) {
    const snaps = Object.values(newest.snapshots);
    const end = Math.max(...snaps.map((s) => Date.parse(s.time) + s.summary.durationMs));
    out.lastSuccess = {
      setId: newest.setId,
      time: newest.time,
      parts: snaps.length,
      bytes: snaps.reduce((n, s) => n + s.summary.bytes, 0),
      durationSeconds: Math.max(0, Math.round((end - Date.parse(newest.time)) / 1000)),
    };
  }
  if (attempt) out.lastAttempt = { setId: attempt.setId, time: attempt.time, complete: attempt.complete };
  if (storedBytes !== undefined) out.storedBytes = storedBytes;
  return out;
}

/** Copy lag of every tier against the first one's newest complete set (in place). */
export function compareTiers(tiers: TierFacts[], holders: Map<string, Set<string>>): void {
  const first = tiers[0]?.lastSuccess;
  if (!first) return;
  for (const t of tiers) {
    if (!t.reachable) continue;
    t.hasNewest = holders.get(t.tier)?.has(first.setId) ?? false;
    if (t.hasNewest) t.copyLagSeconds = 0;
    else if (t.lastSuccess) t.copyLagSeconds = Math.max(0, seconds(first.time, t.lastSuccess.time));
  }
}

async function tierFacts(tier: MonitoredTier, cluster: string): Promise<{ facts: TierFacts; complete: Set<string> }> {
  let repo: LocalRepository | undefined;
  try {
    repo = await tier.open();
    const sets = await listBackupSets(repo, cluster);
    const stored = await repo.storedBytes().catch(() => undefined);
    return { facts: tierFactsOf(tier, sets, stored), complete: new Set(sets.filter((s) => s.complete).map((s) => s.setId)) };
  } catch (e) {
    const why = isLifeboatError(e) ? e.message : `${tier.location}: ${oneLine(e)}`;
    return { facts: { tier: tier.name, medium: tier.medium, offsite: tier.offsite, location: tier.location, reachable: false, error: why, sets: 0 }, complete: new Set() };
  } finally {
    await repo?.close().catch(quiet);
  }
}

/** Seconds of a standard backup tier's period (when the live schedule gives no next times). */
const TIER_PERIOD: Record<string, number> = { hourly: 3600, daily: 86_400, weekly: 7 * 86_400, monthly: 31 * 86_400 };

/** The schedule that says how often sets come: the most frequent one that runs, else the most frequent one. */
export function scheduleFactsOf(cluster: string, states: BackupScheduleState[]): ScheduleFacts {
  const s = states.find((x) => !x.paused) ?? states[0];
  if (!s) return { id: scheduleId(cluster, 'hourly'), exists: false, paused: false };
  const [a, b] = s.nextRuns;
  const interval = a && b ? seconds(b, a) : TIER_PERIOD[s.tier];
  return { id: s.id, exists: true, paused: s.paused, ...(s.paused && s.note ? { note: s.note } : {}), ...(interval ? { intervalSeconds: interval } : {}) };
}

/**
 * What closed runs said, by run ID: a closed run never changes, and /metrics gathers the facts on
 * every scrape. Bounded (oldest entries dropped first).
 */
class ClosedRuns<T> {
  private readonly map = new Map<string, T>();
  constructor(private readonly max: number) {}
  async get(runId: string, read: () => Promise<T>): Promise<T> {
    if (this.map.has(runId)) return this.map.get(runId)!;
    const v = await read();
    if (v === undefined) return v; // not read (a transient error): asked again next time
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(runId, v);
    return v;
  }
}
const reasons = new ClosedRuns<string>(10_000);
const monitorResults = new ClosedRuns<BackupMonitorResult | undefined>(1_000);

/** Why a closed run did not complete: its failure's Lifeboat type, else its status. */
async function failureReason(client: Client, workflowId: string, runId: string, status: string): Promise<string> {
  if (status !== 'FAILED') return status.toLowerCase().replace(/_/g, '-');
  return reasons.get(runId, async () => {
    try {
      await client.workflow.getHandle(workflowId, runId).result();
      return 'failed';
    } catch (e) {
      if (!(e instanceof WorkflowFailedError)) throw e;
      let type: string | undefined;
      for (let c = e as { type?: unknown; cause?: unknown } | undefined; c; c = c.cause as typeof c) if (typeof c.type === 'string' && c.type) type = c.type;
      return type ?? 'failed';
    }
  });
}

/** Failed backup runs of the cluster by reason (the newest 50 read for their reason, older ones by status). */
export async function backupFailures(client: Client, cluster: string): Promise<{ reason: string; count: number }[]> {
  const counts = new Map<string, number>();
  let n = 0;
  const query = `WorkflowType = 'backup' AND LifeboatCluster = '${cluster}' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed' AND ExecutionStatus != 'ContinuedAsNew'`;
  for await (const w of client.workflow.list({ query })) {
    const reason = n++ < 50 ? await failureReason(client, w.workflowId, w.runId, w.status.name) : w.status.name.toLowerCase().replace(/_/g, '-');
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].map(([reason, count]) => ({ reason, count })).sort((x, y) => x.reason.localeCompare(y.reason));
}

/**
 * The verifications and checks the newest completed backupMonitor runs of the cluster recorded, by
 * tier (the newest of each; up to `runs` runs read).
 */
export async function recordedVerifications(client: Client, cluster: string, runs = 5): Promise<Record<string, TierRecord>> {
  const out: Record<string, TierRecord> = {};
  let n = 0;
  for await (const w of client.workflow.list({ query: `WorkflowType = 'backupMonitor' AND LifeboatCluster = '${cluster}' AND ExecutionStatus = 'Completed'` })) {
    if (n++ >= runs) break;
    const result = await monitorResults.get(w.runId, async () => {
      try {
        return (await client.workflow.getHandle(w.workflowId, w.runId).result()) as BackupMonitorResult;
      } catch {
        return undefined;
      }
    });
    for (const h of result?.clusters ?? []) {
      if (h.cluster !== cluster) continue;
      for (const t of h.facts.tiers) {
        const r = (out[t.tier] ??= {});
        if (t.lastVerified && (!r.lastVerified || t.lastVerified.time > r.lastVerified.time)) r.lastVerified = t.lastVerified;
        if (t.lastCheck && (!r.lastCheck || t.lastCheck.time > r.lastCheck.time)) r.lastCheck = t.lastCheck;
      }
    }
  }
  return out;
}

/**
 * The cluster's backup facts. Tiers that cannot be opened are `reachable: false` with the reason;
 * without Temporal (no client, or it does not answer) the schedule, failures and recorded
 * verifications are unknown and `temporal.reachable` says so.
 */
export async function gatherBackupFacts(spec: ClusterSpec, opts: GatherOptions = {}): Promise<GatheredFacts> {
  const gatheredAt = (opts.now ?? new Date()).toISOString();
  const tiers = monitoredTiers(spec);
  const read = await Promise.all(tiers.map((t) => tierFacts(t, spec.name)));
  const facts = read.map((r) => r.facts);
  compareTiers(facts, new Map(read.map((r) => [r.facts.tier, r.complete])));

  let schedule: ScheduleFacts = { id: scheduleId(spec.name, 'hourly'), exists: false, paused: false };
  let failures: BackupFacts['failures'] = [];
  let records = opts.records;
  let temporal: GatheredFacts['temporal'] = { reachable: false, error: 'no Temporal connection given' };
  if (opts.temporal) {
    try {
      schedule = scheduleFactsOf(spec.name, await listBackupSchedules(opts.temporal, spec.name));
      failures = await backupFailures(opts.temporal, spec.name);
      records ??= await recordedVerifications(opts.temporal, spec.name);
      temporal = { reachable: true };
    } catch (e) {
      temporal = { reachable: false, error: `Temporal: ${oneLine(e)}` };
    }
  }
  for (const t of facts) {
    const r = records?.[t.tier];
    if (r?.lastVerified) t.lastVerified = r.lastVerified;
    if (r?.lastCheck) t.lastCheck = r.lastCheck;
  }
  const expected = opts.expectedIntervalSeconds ?? (schedule.exists ? schedule.intervalSeconds : undefined) ?? Math.max(1, Math.round(spec.objectives.rpoMinutes * 60));
  return { cluster: spec.name, gatheredAt, expectedIntervalSeconds: expected, schedule, tiers: facts, failures, temporal };
}
