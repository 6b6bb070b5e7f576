/**
 * Verdicts from facts (src/monitoring/health.pure.ts) and the alerts drawn from them
 * (src/monitoring/alerts.ts): "now" is the facts' own time, staleness is k × the expected
 * interval, a verification may trail a young set but a failed one is critical, a paused schedule
 * and a set without an off-site copy are warnings; every check is posted in both severities, the
 * one that fires and the other resolved, so a change of severity never leaves an alert behind.
 */
import { describe, expect, it } from 'vitest';
import { alertsOf } from '../../src/monitoring/alerts';
import { healthOf } from '../../src/monitoring/health.pure';
import type { BackupFacts, TierFacts } from '../../src/monitoring/types';

const AT = '2026-12-03T12:00:00.000Z';
const ago = (s: number) => new Date(Date.parse(AT) - s * 1000).toISOString();

function facts(over: { primary?: Partial<TierFacts>; offsite?: Partial<TierFacts> | null; schedule?: Partial<BackupFacts['schedule']> } = {}): BackupFacts {
  const primary: TierFacts = {
    tier: 'primary',
    medium: 'disk',
    offsite: false,
    location: '/r',
    reachable: true,
    sets: 2,
    lastSuccess: { setId: 'new', time: ago(600), parts: 3 },
    lastAttempt: { setId: 'new', time: ago(600), complete: true },
    lastVerified: { setId: 'new', time: ago(300), ok: true },
    hasNewest: true,
    copyLagSeconds: 0,
    ...over.primary,
  };
  const offsite: TierFacts = { tier: 'offsite', medium: 'nas', offsite: true, location: '/o', reachable: true, sets: 2, lastSuccess: { setId: 'new', time: ago(600), parts: 3 }, lastVerified: { setId: 'new', time: ago(300), ok: true }, hasNewest: true, copyLagSeconds: 0, ...over.offsite };
  return {
    cluster: 'c',
    gatheredAt: AT,
    expectedIntervalSeconds: 3600,
    schedule: { id: 'lifeboat-backup-c-hourly', exists: true, paused: false, intervalSeconds: 3600, ...over.schedule },
    tiers: over.offsite === null ? [primary] : [primary, offsite],
    failures: [],
  };
}

const check = (h: ReturnType<typeof healthOf>, name: string, tier?: string) => h.checks.find((c) => c.check === name && c.tier === tier);

describe('backup health', () => {
  it('fresh, verified, off-site, scheduled and on two media with one off-site: healthy', () => {
    const h = healthOf(facts());
    expect(h.verdict).toBe('healthy');
    expect(h.checks.every((c) => c.ok && c.severity === 'ok')).toBe(true);
    expect(h.checks.map((c) => `${c.check}:${c.tier ?? ''}`).sort()).toEqual(
      ['fresh:offsite', 'fresh:primary', 'offsite:offsite', 'protected:', 'reachable:offsite', 'reachable:primary', 'scheduled:', 'verified:offsite', 'verified:primary'].sort(),
    );
  });

  it('older than k × the interval is stale: critical in the first tier, with the evidence', () => {
    const old = { lastSuccess: { setId: 'old', time: ago(7201), parts: 3 }, lastVerified: { setId: 'old', time: ago(7000), ok: true } };
    const h = healthOf(facts({ primary: old, offsite: old }));
    expect(h.verdict).toBe('failing');
    expect(check(h, 'fresh', 'primary')).toMatchObject({ ok: false, severity: 'critical', evidence: { setId: 'old', ageSeconds: 7201, limitSeconds: 7200, staleFactor: 2, expectedIntervalSeconds: 3600 } });
    expect(check(h, 'fresh', 'offsite')).toMatchObject({ ok: false, severity: 'warning' });
    // k = 3: the same facts are fresh.
    expect(healthOf(facts({ primary: old, offsite: old }), { staleFactor: 3 }).verdict).toBe('healthy');
    expect(() => healthOf(facts(), { staleFactor: 0 })).toThrow(/staleFactor must be positive/);
  });

  it('a failed verification of the newest set is critical; a young set may trail a good one; none recorded is a warning', () => {
    const failed = healthOf(facts({ primary: { lastVerified: { setId: 'new', time: ago(10), ok: false, detail: '1 problem(s): pack x is missing' } } }));
    expect(check(failed, 'verified', 'primary')).toMatchObject({ ok: false, severity: 'critical', summary: expect.stringContaining('pack x is missing') });
    expect(failed.verdict).toBe('failing');
    const trailing = healthOf(facts({ primary: { lastVerified: { setId: 'older', time: ago(4000), ok: true } } }));
    expect(check(trailing, 'verified', 'primary')).toMatchObject({ ok: true, summary: expect.stringContaining('not verified yet') });
    const none = healthOf(facts({ primary: { lastVerified: undefined } }));
    expect(check(none, 'verified', 'primary')).toMatchObject({ ok: false, severity: 'warning', evidence: { lastVerifiedSetId: 'none' } });
    expect(none.verdict).toBe('degraded');
  });

  it('a paused schedule, a missing off-site copy of an old set and one medium only are warnings', () => {
    const paused = healthOf(facts({ schedule: { paused: true, note: 'disk swap, back Monday' } }));
    expect(check(paused, 'scheduled')).toMatchObject({ ok: false, severity: 'warning', summary: expect.stringContaining('"disk swap, back Monday"') });
    expect(paused.verdict).toBe('degraded');

    const lagging = healthOf(
      facts({ primary: { lastSuccess: { setId: 'new', time: ago(5000), parts: 3 }, lastVerified: { setId: 'new', time: ago(10), ok: true } }, offsite: { hasNewest: false, copyLagSeconds: 86_400, lastSuccess: { setId: 'old', time: ago(91_400), parts: 3 } } }),
    );
    expect(check(lagging, 'offsite', 'offsite')).toMatchObject({ ok: false, severity: 'warning', evidence: { hasNewest: false, copyLagSeconds: 86_400 } });
    expect(check(lagging, 'protected')).toMatchObject({ ok: false, summary: expect.stringMatching(/one medium \(disk\).*no copy off-site/) });

    const alone = healthOf(facts({ offsite: null }));
    expect(check(alone, 'offsite')).toMatchObject({ ok: false, summary: expect.stringContaining('no off-site tier') });
  });

  it('alerts: each check in both severities, firing until now + ttl or resolved now, labels and evidence', () => {
    const h = healthOf(facts({ primary: { lastSuccess: { setId: 'old', time: ago(9000), parts: 3 } } }));
    const now = new Date(AT);
    const alerts = alertsOf(h, { ttlSeconds: 600, now, labels: { team: 'kafka' } });
    expect(alerts).toHaveLength(2 * h.checks.length);
    const stale = alerts.filter((a) => a.labels.alertname === 'LifeboatBackupStale' && a.labels.tier === 'primary');
    expect(stale.map((a) => [a.labels.severity, a.endsAt])).toEqual([
      ['warning', AT],
      ['critical', new Date(Date.parse(AT) + 600_000).toISOString()],
    ]);
    expect(stale[1]!.labels).toEqual({ team: 'kafka', alertname: 'LifeboatBackupStale', cluster: 'c', tier: 'primary', severity: 'critical', source: 'lifeboat-backup-monitor' });
    expect(stale[1]!.annotations.evidence).toContain('setId=old');
    expect(stale[1]!.annotations.evidence).toContain('ageSeconds=9000');
    // Resolved ones start before they end (Alertmanager refuses an alert that ends before it starts).
    for (const a of alerts) expect(Date.parse(a.startsAt)).toBeLessThan(Date.parse(a.endsAt));
    expect(() => alertsOf(h, { ttlSeconds: 60, labels: { 'bad-label': 'x' } })).toThrow(/not a Prometheus label name/);
  });
});
