/**
 * The Prometheus exposition of backup facts (`lifeboat serve` → GET /metrics), with prom-client.
 *
 * Better than Velero's metrics in three ways that matter to alerting:
 * - Every timestamp is the facts' own (a set's time, a verification's time), never "now" and never
 *   the time the exporter started: a restarted `lifeboat serve` changes nothing an alert sees.
 * - The expected interval is exported per cluster (lifeboat_backup_expected_interval_seconds), so
 *   one rule judges freshness for every cluster, whatever its schedule.
 * - The registry is rebuilt on every scrape from the facts of the specs watched now: a deleted
 *   schedule, tier or cluster spec leaves no series behind (Prometheus marks them stale at once).
 * What is not known is not exported (an unreachable tier has no last-success series rather than a 0,
 * so "stale" and "never run" never fire on a tier nobody could read; "unreachable" does).
 * Metric names and the rules that use them: docs/monitoring.md, monitoring/lifeboat-backup.rules.yml.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { PartitionState } from '../kafka/mirror/state';
import type { BackupFacts, TierFacts } from './types';

/** One watched spec's outcome: its facts, or why they could not be gathered. */
export type WatchedFacts =
  | { spec: string; cluster: string; facts: WatchedBackupFacts; gatherSeconds?: number; mirror?: MirrorLag[] | { error: string } }
  | { spec: string; cluster?: string; error: string; gatherSeconds?: number };

/**
 * A mirror whose durable state this watched cluster holds (it is the mirror's target; src/kafka/mirror/state.ts),
 * per pair and topic, from the positions the mirror wrote: nothing is asked of the source.
 */
export interface MirrorLag {
  pair: string;
  topic: string;
  partitions: number;
  /** Σ (source end − next source offset) as each partition's position last saw the source. */
  lagRecords: number;
  /** The oldest of the partitions' last position writes (ms): how current these figures are. */
  positionAt: number;
  /** Newest record timestamp mirrored (ms), when known. */
  lastRecordAt?: number;
}

/** Facts as gatherBackupFacts returns them: with whether Temporal answered (without it, schedule and failures are unknown). */
export type WatchedBackupFacts = BackupFacts & { temporal?: { reachable: boolean; error?: string } };

const seconds = (iso: string): number => Date.parse(iso) / 1000;
const flag = (b: boolean): number => (b ? 1 : 0);

/** 3-2-1 of the newest complete set of the first tier: which tiers hold it, on how many media, how many off-site. */
export function protectionFromFacts(tiers: TierFacts[]): { copies: number; media: number; offsite: number; protected: boolean } | undefined {
  const first = tiers[0];
  if (!first?.reachable || !first.lastSuccess) return undefined;
  const newest = first.lastSuccess.setId;
  const holding = tiers.filter((t, i) => t.reachable && (i === 0 || (t.hasNewest ?? t.lastSuccess?.setId === newest)));
  const media = new Set(holding.map((t) => t.medium)).size;
  const offsite = holding.filter((t) => t.offsite).length;
  return { copies: holding.length, media, offsite, protected: media >= 2 && offsite >= 1 };
}

/**
 * Time of the newest set held on at least 2 media and 1 off-site tier (3-2-1), from each reachable
 * tier's newest complete set: sets are copied down the tiers in order, so a tier whose newest set is
 * at time t holds the sets of the first tier up to t (a lagging copy has an older newest).
 */
export function lastProtectedTime(tiers: TierFacts[]): number | undefined {
  const first = tiers[0]?.reachable && tiers[0].lastSuccess ? seconds(tiers[0].lastSuccess.time) : undefined;
  // A tier the facts say holds the first tier's newest set holds it whatever its own newest's time.
  const held = tiers
    .filter((t) => t.reachable && t.lastSuccess)
    .map((t) => ({ t, at: Math.max(seconds(t.lastSuccess!.time), t.hasNewest && first !== undefined ? first : -Infinity) }));
  for (const at of [...new Set(held.map((h) => h.at))].sort((a, b) => b - a)) {
    const holding = held.filter((h) => h.at >= at).map((h) => h.t);
    if (new Set(holding.map((t) => t.medium)).size >= 2 && holding.some((t) => t.offsite)) return at;
  }
  return undefined;
}

/** The mirror positions a target holds, summed per pair and topic. */
export function mirrorLagOf(positions: Iterable<PartitionState>): MirrorLag[] {
  const by = new Map<string, MirrorLag>();
  for (const p of positions) {
    const key = `${p.pair}\u0000${p.topic}`;
    const m = by.get(key) ?? { pair: p.pair, topic: p.topic, partitions: 0, lagRecords: 0, positionAt: p.at };
    m.partitions++;
    m.lagRecords += Math.max(0, p.sourceEnd - p.next);
    m.positionAt = Math.min(m.positionAt, p.at);
    if (p.lastTimestamp !== undefined) m.lastRecordAt = Math.max(m.lastRecordAt ?? 0, p.lastTimestamp);
    by.set(key, m);
  }
  return [...by.values()].sort((a, b) => a.pair.localeCompare(b.pair) || a.topic.localeCompare(b.topic));
}

/** A registry holding exactly the series of `watched` (a fresh one per scrape). */
export function metricsRegistry(watched: WatchedFacts[]): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers: [registry] });
  const C = ['cluster'];
  const T = ['cluster', 'tier'];

  const factsUp = gauge('lifeboat_backup_facts_up', '1 when the facts of the watched spec were gathered on this scrape, 0 when not (lifeboat_backup_facts_error says why)', ['cluster', 'spec']);
  const factsError = gauge('lifeboat_backup_facts_error', 'The facts of a watched spec could not be gathered (the reason in the label; 1 per failing spec)', ['cluster', 'spec', 'reason']);
  const gatherSeconds = gauge('lifeboat_backup_facts_gather_duration_seconds', 'How long gathering the facts of the spec took on this scrape', ['cluster', 'spec']);
  const gatheredAt = gauge('lifeboat_backup_facts_timestamp_seconds', 'When the facts were gathered', C);
  const interval = gauge('lifeboat_backup_expected_interval_seconds', "How often the cluster's backup is expected (its Temporal schedule's interval, else the spec's objectives.rpoMinutes)", C);
  const scheduleInfo = gauge('lifeboat_backup_schedule_info', "The cluster's backup schedule in Temporal (only while it exists); paused=true|false, noted=true when the pause carries a note", ['cluster', 'schedule', 'paused', 'noted']);
  const scheduleExists = gauge('lifeboat_backup_schedule_exists', "1 when the cluster's backup schedule exists in Temporal, 0 when it does not", C);
  const failures = new Counter({ name: 'lifeboat_backup_failures_total', help: "Failed backup runs of the cluster by reason, as Temporal's retained history counts them", labelNames: ['cluster', 'reason'], registers: [registry] });
  const failedRuns = new Counter({ name: 'lifeboat_backup_failed_runs_total', help: 'Failed backup runs of the cluster, all reasons (present, 0, before the first failure: a first failure shows as an increase)', labelNames: C, registers: [registry] });
  const temporalUp = gauge('lifeboat_backup_temporal_up', "1 when Temporal answered for the cluster's schedule and runs on this scrape, 0 when not (then neither is exported)", C);
  const tierInfo = gauge('lifeboat_backup_tier_info', 'A repository tier of the cluster (medium: disk|nas|object|archive; offsite: true|false)', ['cluster', 'tier', 'medium', 'offsite']);
  const reachable = gauge('lifeboat_backup_tier_reachable', '1 when the tier could be opened and listed on this scrape, 0 when not', T);
  const sets = gauge('lifeboat_backup_sets', "Backup sets of the cluster in the tier (complete or not)", T);
  const lastSuccess = gauge('lifeboat_backup_last_success_timestamp_seconds', 'Time of the newest complete backup set in the tier (when it was taken)', T);
  const lastSuccessBytes = gauge('lifeboat_backup_last_success_size_bytes', 'Size of the newest complete backup set', T);
  const lastSuccessDuration = gauge('lifeboat_backup_last_success_duration_seconds', 'How long the newest complete backup set took', T);
  const lastSuccessParts = gauge('lifeboat_backup_last_success_parts', 'Parts of the newest complete backup set', T);
  const lastAttempt = gauge('lifeboat_backup_last_attempt_timestamp_seconds', 'Time of the newest backup set in the tier, complete or not', T);
  const lastAttemptComplete = gauge('lifeboat_backup_last_attempt_complete', '1 when the newest backup set in the tier is complete, 0 when it is partial (running or failed)', T);
  const verified = gauge('lifeboat_backup_last_verified_timestamp_seconds', 'Time of the newest verification (structure and a sampled read of the data) that succeeded, when the newest recorded one did', T);
  const verification = gauge('lifeboat_backup_last_verification_timestamp_seconds', 'Time of the newest recorded verification of a set in the tier, whatever its outcome', T);
  const verificationOk = gauge('lifeboat_backup_last_verification_success', '1 when the newest recorded verification succeeded, 0 when it found a problem', T);
  const newestVerified = gauge('lifeboat_backup_newest_set_verified', "1 when the newest recorded verification is of the tier's newest complete set and succeeded, else 0", T);
  const stored = gauge('lifeboat_backup_repository_stored_bytes', 'Bytes the repository stores (packs)', T);
  const hasNewest = gauge('lifeboat_backup_tier_has_newest', "1 when the tier holds the first tier's newest complete set, 0 when its copy lags", T);
  const copyLag = gauge('lifeboat_backup_copy_lag_seconds', "Seconds between the first tier's newest complete set and the tier's own newest (0 when it has it)", T);
  const checkAt = gauge('lifeboat_backup_repository_check_timestamp_seconds', 'Time of the last recorded repository check', T);
  const checkOk = gauge('lifeboat_backup_repository_check_success', '1 when the last recorded repository check passed', T);
  const checkProblems = gauge('lifeboat_backup_repository_check_problems', 'Problems the last recorded repository check found', T);
  const copies = gauge('lifeboat_backup_newest_copies', "Tiers holding the first tier's newest complete set", C);
  const media = gauge('lifeboat_backup_newest_media', "Distinct media holding the first tier's newest complete set", C);
  const offsite = gauge('lifeboat_backup_newest_offsite_copies', "Off-site tiers holding the first tier's newest complete set", C);
  const lastProtected = gauge('lifeboat_backup_last_protected_timestamp_seconds', 'Time of the newest backup set held on at least 2 media and 1 off-site tier (3-2-1)', C);
  const protectedG = gauge('lifeboat_backup_protected', "1 when the first tier's newest complete set is on at least 2 media and 1 off-site (3-2-1), else 0", C);

  const M = ['cluster', 'pair', 'topic'];
  const mirrorUp = gauge('lifeboat_mirror_state_up', "1 when the mirror state on this cluster (a mirror's target) could be read on this scrape, 0 when not", C);
  const mirrorLag = gauge('lifeboat_mirror_lag_records', "Records of the source not yet mirrored, as the mirror's positions last saw the source's end", M);
  const mirrorAt = gauge('lifeboat_mirror_position_timestamp_seconds', "The oldest of the topic's partitions' last mirror position writes: how current the lag is", M);
  const mirrorLast = gauge('lifeboat_mirror_last_record_timestamp_seconds', 'Timestamp of the newest record mirrored', M);
  const mirrorPartitions = gauge('lifeboat_mirror_partitions', 'Partitions of the topic the mirror holds a position for', M);

  for (const w of watched) {
    const cluster = w.cluster ?? '';
    if (w.gatherSeconds !== undefined) gatherSeconds.set({ cluster, spec: w.spec }, w.gatherSeconds);
    if ('error' in w) {
      factsUp.set({ cluster, spec: w.spec }, 0);
      factsError.set({ cluster, spec: w.spec, reason: w.error }, 1);
      continue;
    }
    factsUp.set({ cluster, spec: w.spec }, 1);
    const f = w.facts;
    gatheredAt.set({ cluster }, seconds(f.gatheredAt));
    interval.set({ cluster }, f.expectedIntervalSeconds);
    // Unknown is not "none": without Temporal, no schedule and no failure series (not a 0 that would alert).
    const temporalKnown = f.temporal?.reachable ?? true;
    if (f.temporal) temporalUp.set({ cluster }, flag(f.temporal.reachable));
    if (temporalKnown) {
      scheduleExists.set({ cluster }, flag(f.schedule.exists));
      if (f.schedule.exists) scheduleInfo.set({ cluster, schedule: f.schedule.id, paused: String(f.schedule.paused), noted: String(f.schedule.paused && !!f.schedule.note) }, 1);
      for (const { reason, count } of f.failures) failures.inc({ cluster, reason }, count);
      failedRuns.inc({ cluster }, f.failures.reduce((n, x) => n + x.count, 0));
    }
    for (const t of f.tiers) {
      const l = { cluster, tier: t.tier };
      tierInfo.set({ ...l, medium: t.medium, offsite: String(t.offsite) }, 1);
      reachable.set(l, flag(t.reachable));
      // What an unreachable tier holds is not known: nothing about it is exported but that.
      if (!t.reachable) continue;
      sets.set(l, t.sets);
      if (t.lastSuccess) {
        lastSuccess.set(l, seconds(t.lastSuccess.time));
        lastSuccessParts.set(l, t.lastSuccess.parts);
        if (t.lastSuccess.bytes !== undefined) lastSuccessBytes.set(l, t.lastSuccess.bytes);
        if (t.lastSuccess.durationSeconds !== undefined) lastSuccessDuration.set(l, t.lastSuccess.durationSeconds);
      }
      if (t.lastAttempt) {
        lastAttempt.set(l, seconds(t.lastAttempt.time));
        lastAttemptComplete.set(l, flag(t.lastAttempt.complete));
      }
      if (t.lastVerified) {
        verification.set(l, seconds(t.lastVerified.time));
        verificationOk.set(l, flag(t.lastVerified.ok));
        if (t.lastVerified.ok) verified.set(l, seconds(t.lastVerified.time));
      }
      if (t.lastSuccess) newestVerified.set(l, flag(!!t.lastVerified?.ok && t.lastVerified.setId === t.lastSuccess.setId));
      if (t.storedBytes !== undefined) stored.set(l, t.storedBytes);
      if (t.hasNewest !== undefined) hasNewest.set(l, flag(t.hasNewest));
      if (t.copyLagSeconds !== undefined) copyLag.set(l, t.copyLagSeconds);
      if (t.lastCheck) {
        checkAt.set(l, seconds(t.lastCheck.time));
        checkOk.set(l, flag(t.lastCheck.ok));
        checkProblems.set(l, t.lastCheck.problems);
      }
    }
    if (w.mirror && 'error' in w.mirror) mirrorUp.set({ cluster }, 0);
    else if (w.mirror?.length) {
      mirrorUp.set({ cluster }, 1);
      for (const m of w.mirror) {
        const l = { cluster, pair: m.pair, topic: m.topic };
        mirrorLag.set(l, m.lagRecords);
        mirrorAt.set(l, m.positionAt / 1000);
        mirrorPartitions.set(l, m.partitions);
        if (m.lastRecordAt !== undefined) mirrorLast.set(l, m.lastRecordAt / 1000);
      }
    }
    const protectedAt = lastProtectedTime(f.tiers);
    if (protectedAt !== undefined) lastProtected.set({ cluster }, protectedAt);
    const p = protectionFromFacts(f.tiers);
    if (p) {
      copies.set({ cluster }, p.copies);
      media.set({ cluster }, p.media);
      offsite.set({ cluster }, p.offsite);
      protectedG.set({ cluster }, flag(p.protected));
    }
  }
  return registry;
}

/** The exposition text of `watched` and its content type. */
export async function renderMetrics(watched: WatchedFacts[]): Promise<{ contentType: string; body: string }> {
  const registry = metricsRegistry(watched);
  return { contentType: registry.contentType, body: await registry.metrics() };
}
