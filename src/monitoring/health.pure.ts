/**
 * Verdicts from backup facts (pure: the backupMonitor workflow, `lifeboat backup health` and tests
 * share it). "Now" is the facts' own `gatheredAt`, so the same facts always give the same verdicts.
 *
 * - reachable: each tier's repository could be opened and listed.
 * - fresh: each tier's newest complete set is younger than staleFactor × the expected interval
 *   (the interval comes from the backup schedule, else the spec's RPO, else the monitor's input).
 * - verified: the newest complete set read back (structure + a sampled share of its data); a set
 *   younger than the stale limit may trail the last good verification of an older one.
 * - offsite: an off-site tier holds the first tier's newest set (a copy in progress is allowed
 *   while that set is younger than one expected interval).
 * - scheduled: the cluster has a backup schedule in Temporal and it is not paused.
 * - protected: 3-2-1 for the newest set: complete copies on two media, one of them off-site.
 *
 * Severities: a problem of the first tier (where backups are written) is critical, of a later tier
 * a warning; a failed verification is critical anywhere; schedule and 3-2-1 problems are warnings
 * (freshness turns critical when they matter). Verdict: failing on any critical, else degraded on
 * any warning, else healthy.
 */
import { protectionOf } from '../backup/tiers.pure';
import type { BackupFacts, BackupHealth, CheckName, HealthCheck, MonitorPolicy, TierFacts } from './types';

export const DEFAULT_POLICY: MonitorPolicy = { staleFactor: 2, sampleFraction: 0.02 };

/** Facts as gathered (src/monitoring/facts.ts adds whether Temporal answered). */
export type FactsInput = BackupFacts & { temporal?: { reachable: boolean; error?: string } };

export function policyOf(p: Partial<MonitorPolicy> | undefined): MonitorPolicy {
  const staleFactor = p?.staleFactor ?? DEFAULT_POLICY.staleFactor;
  const sampleFraction = p?.sampleFraction ?? DEFAULT_POLICY.sampleFraction;
  if (!(staleFactor > 0)) throw new Error(`staleFactor must be positive, got ${staleFactor}`);
  if (!(sampleFraction >= 0 && sampleFraction <= 1)) throw new Error(`sampleFraction must be between 0 and 1, got ${sampleFraction}`);
  return { staleFactor, sampleFraction };
}

/** "3h 5m", "42s": ages for people. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const ageOf = (facts: BackupFacts, time: string): number => Math.round((Date.parse(facts.gatheredAt) - Date.parse(time)) / 1000);

export function healthOf(facts: FactsInput, given?: Partial<MonitorPolicy>): BackupHealth {
  const policy = policyOf(given);
  const limit = Math.round(policy.staleFactor * facts.expectedIntervalSeconds);
  const checks: HealthCheck[] = [];
  const add = (check: CheckName, tier: string | undefined, ok: boolean, bad: 'warning' | 'critical', summary: string, evidence: HealthCheck['evidence']) =>
    checks.push({ check, ...(tier !== undefined ? { tier } : {}), ok, severity: ok ? 'ok' : bad, summary, evidence });
  const first = facts.tiers[0];
  const levelOf = (t: TierFacts): 'warning' | 'critical' => (t === first ? 'critical' : 'warning');
  const where = (t: TierFacts) => `tier ${t.tier} (${t.location})`;

  if (!first) {
    add('reachable', undefined, false, 'critical', `cluster ${facts.cluster} has no repository: add a repository section to its spec`, { tiers: 0 });
  }
  for (const t of facts.tiers) {
    add('reachable', t.tier, t.reachable, levelOf(t), t.reachable ? `${where(t)} can be read` : `${where(t)} cannot be read: ${t.error ?? 'unknown error'}`, {
      location: t.location,
      ...(t.error ? { error: t.error } : {}),
    });
    if (!t.reachable) continue;

    // fresh
    const base = { expectedIntervalSeconds: facts.expectedIntervalSeconds, staleFactor: policy.staleFactor, limitSeconds: limit };
    if (!t.lastSuccess) {
      const attempt = t.lastAttempt ? `; the newest attempt, set ${t.lastAttempt.setId} of ${t.lastAttempt.time}, is incomplete` : '';
      add('fresh', t.tier, false, levelOf(t), `${where(t)} holds no complete backup set of ${facts.cluster}${attempt}: run a backup and check why the scheduled ones do not finish`, {
        ...base,
        sets: t.sets,
        ...(t.lastAttempt ? { lastAttemptSetId: t.lastAttempt.setId, lastAttemptTime: t.lastAttempt.time } : {}),
      });
    } else {
      const age = ageOf(facts, t.lastSuccess.time);
      const ok = age < limit;
      add(
        'fresh',
        t.tier,
        ok,
        levelOf(t),
        ok
          ? `newest complete set in ${t.tier} is ${duration(age)} old (limit ${duration(limit)})`
          : `newest complete set of ${facts.cluster} in ${t.tier} is ${duration(age)} old, more than ${policy.staleFactor} × the expected interval of ${duration(facts.expectedIntervalSeconds)}: backups are not arriving (see failed runs and the schedule)`,
        { ...base, setId: t.lastSuccess.setId, setTime: t.lastSuccess.time, ageSeconds: age, ...(t.lastAttempt && !t.lastAttempt.complete ? { lastAttemptIncomplete: t.lastAttempt.setId } : {}) },
      );

      // verified
      const v = t.lastVerified;
      const current = v?.setId === t.lastSuccess.setId;
      if (v && !v.ok && current) {
        add('verified', t.tier, false, 'critical', `newest set ${v.setId} in ${t.tier} failed verification at ${v.time}: ${v.detail ?? 'see the monitor run'}; run lifeboat repo check and take a new backup`, {
          setId: v.setId,
          verifiedAt: v.time,
          ok: false,
          ...(v.detail ? { detail: v.detail } : {}),
        });
      } else if (v && current) {
        add('verified', t.tier, true, 'critical', `newest set ${v.setId} in ${t.tier} verified at ${v.time}`, { setId: v.setId, verifiedAt: v.time, ok: true, ...(v.detail ? { detail: v.detail } : {}) });
      } else {
        // Verification trails the backups: a young set may wait for the next monitor run.
        const trailing = Boolean(v?.ok) && age < limit;
        add(
          'verified',
          t.tier,
          trailing,
          v && !v.ok ? 'critical' : 'warning',
          trailing
            ? `newest set ${t.lastSuccess.setId} in ${t.tier} not verified yet; the previous one (${v!.setId}) verified at ${v!.time}`
            : v && !v.ok
              ? `the last verification in ${t.tier} (set ${v.setId}, ${v.time}) failed: ${v.detail ?? ''}; the newest set ${t.lastSuccess.setId} has not been verified`
              : `newest set ${t.lastSuccess.setId} in ${t.tier} has not been verified${v ? ` (last verified: set ${v.setId} at ${v.time})` : ' (no verification recorded: is the backupMonitor schedule installed?)'}`,
          { setId: t.lastSuccess.setId, ...(v ? { lastVerifiedSetId: v.setId, lastVerifiedAt: v.time, lastVerifiedOk: v.ok } : { lastVerifiedSetId: 'none' }) },
        );
      }
    }
  }

  // offsite
  const offsite = facts.tiers.filter((t) => t.offsite);
  const newest = first?.lastSuccess;
  if (!offsite.length) {
    add('offsite', undefined, false, 'warning', `cluster ${facts.cluster} has no off-site tier: add offsiteRepository (or a tier with offsite: true) to its spec`, { offsiteTiers: 0 });
  } else if (newest) {
    // The off-site copy follows each backup: it may take up to one interval, not k of them.
    const young = ageOf(facts, newest.time) < facts.expectedIntervalSeconds;
    for (const t of offsite) {
      if (!t.reachable) continue;
      const ok = Boolean(t.hasNewest) || young;
      add(
        'offsite',
        t.tier,
        ok,
        'warning',
        t.hasNewest
          ? `off-site tier ${t.tier} holds the newest set ${newest.setId}`
          : ok
            ? `off-site tier ${t.tier} does not hold the newest set ${newest.setId} yet (copy pending, the set is ${duration(ageOf(facts, newest.time))} old)`
            : `off-site tier ${t.tier} lacks the newest set ${newest.setId}${t.copyLagSeconds !== undefined ? `: its newest is ${duration(t.copyLagSeconds)} older` : ': it holds no complete set'}; check the backups' off-site step`,
        { newestSetId: newest.setId, hasNewest: Boolean(t.hasNewest), ...(t.copyLagSeconds !== undefined ? { copyLagSeconds: t.copyLagSeconds } : {}) },
      );
    }
  }

  // scheduled
  const s = facts.schedule;
  if (facts.temporal && !facts.temporal.reachable) {
    add('scheduled', undefined, false, 'warning', `the backup schedule of ${facts.cluster} is unknown: ${facts.temporal.error ?? 'Temporal not reachable'}`, { schedule: s.id, known: false });
  } else if (!s.exists) {
    add('scheduled', undefined, false, 'warning', `cluster ${facts.cluster} has no backup schedule: lifeboat schedule apply --spec <its spec>`, { schedule: s.id, exists: false });
  } else {
    add(
      'scheduled',
      undefined,
      !s.paused,
      'warning',
      s.paused ? `backup schedule ${s.id} is paused${s.note ? ` ("${s.note}")` : ' with no note saying why'}: lifeboat schedule unpause` : `backup schedule ${s.id} runs${s.intervalSeconds ? ` every ${duration(s.intervalSeconds)}` : ''}`,
      { schedule: s.id, exists: true, paused: s.paused, ...(s.note ? { note: s.note } : {}), ...(s.intervalSeconds ? { intervalSeconds: s.intervalSeconds } : {}) },
    );
  }

  // protected (3-2-1) for the first tier's newest set
  if (newest) {
    const holding = facts.tiers.filter((t) => t.reachable && (t === first || t.hasNewest)).map((t) => t.tier);
    const p = protectionOf(holding, facts.tiers.map((t) => ({ name: t.tier, medium: t.medium, offsite: t.offsite })));
    add(
      'protected',
      undefined,
      p.protected,
      'warning',
      p.protected ? `newest set ${newest.setId} is on ${p.media.join(' and ')}, off-site in ${p.offsite.join(', ')}` : `newest set ${newest.setId} is not protected: ${p.missing}`,
      { setId: newest.setId, copies: p.copies, media: p.media.join(','), offsite: p.offsite.join(',') || 'none' },
    );
  }

  const verdict = checks.some((c) => c.severity === 'critical') ? 'failing' : checks.some((c) => c.severity === 'warning') ? 'degraded' : 'healthy';
  return { cluster: facts.cluster, at: facts.gatheredAt, verdict, checks, facts };
}
