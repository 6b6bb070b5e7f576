/**
 * The backup monitor's alerts, raised and resolved by posting to Alertmanager's API v2
 * (`POST <url>/api/v2/alerts`), to every Alertmanager given (an HA pair deduplicates by labels).
 *
 * Stateless: every run posts every check, firing (endsAt = now + ttl, so an alert no run renews
 * ends by itself) or resolved (endsAt = now). Alertmanager notifies a resolved alert only when it
 * notified it firing, so posting the resolved ones of healthy checks costs nothing. An alert's
 * identity is its labels: alertname (by check), cluster, tier (when the check is about one),
 * severity, source="lifeboat-backup-monitor", plus the labels the monitor's input adds. A check's
 * severity can change (a missing verification is a warning, a failed one critical), so both
 * severities of a check are posted: the one that fires, and the other one resolved.
 */
import { LifeboatError } from '../errors';
import type { BackupHealth, CheckName, HealthCheck } from './types';

/** By check; the names of the shipped Prometheus rules (monitoring/) where one means the same, so Alertmanager groups and inhibits them together. */
export const ALERT_NAMES: Record<CheckName, string> = {
  fresh: 'LifeboatBackupStale',
  verified: 'LifeboatBackupUnverified',
  offsite: 'LifeboatBackupNotOffsite',
  scheduled: 'LifeboatBackupNotScheduled',
  protected: 'LifeboatBackupNotProtected',
  reachable: 'LifeboatBackupTierUnreachable',
};

export const ALERT_SOURCE = 'lifeboat-backup-monitor';

/** One alert as Alertmanager's API v2 takes it (postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

export interface AlertOptions {
  /** Labels added to every alert (routing). */
  labels?: Record<string, string>;
  /** Seconds a firing alert stays up when no later run renews it. */
  ttlSeconds: number;
  /** The time of posting (default: the clock). */
  now?: Date;
  /** A link back to the monitor run (the Temporal UI), as each alert's generatorURL. */
  generatorURL?: string;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Evidence as `key=value` pairs in one annotation (Alertmanager's annotations are flat strings). */
const evidenceText = (c: HealthCheck): string =>
  Object.entries(c.evidence)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');

/** Every check of a health as alerts: the firing severity firing, the other severity resolved. Pure. */
export function alertsOf(health: BackupHealth, opts: AlertOptions): PostableAlert[] {
  for (const k of Object.keys(opts.labels ?? {})) {
    if (!LABEL_NAME.test(k)) throw new LifeboatError('InvalidInput', `alert label "${k}" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)`);
  }
  const now = opts.now ?? new Date();
  const at = now.toISOString();
  // A resolved alert still needs a start before its end.
  const before = new Date(now.getTime() - 1000).toISOString();
  const until = new Date(now.getTime() + opts.ttlSeconds * 1000).toISOString();
  const out: PostableAlert[] = [];
  for (const c of health.checks) {
    for (const severity of ['warning', 'critical'] as const) {
      const firing = !c.ok && c.severity === severity;
      out.push({
        labels: {
          ...opts.labels,
          alertname: ALERT_NAMES[c.check],
          cluster: health.cluster,
          ...(c.tier ? { tier: c.tier } : {}),
          severity,
          source: ALERT_SOURCE,
        },
        annotations: {
          summary: c.summary,
          evidence: evidenceText(c),
          verdict: health.verdict,
          checked_at: health.at,
        },
        startsAt: firing ? at : before,
        endsAt: firing ? until : at,
        ...(opts.generatorURL ? { generatorURL: opts.generatorURL } : {}),
      });
    }
  }
  return out;
}

export interface AlertDelivery {
  url: string;
  cluster: string;
  ok: boolean;
  firing: number;
  resolved: number;
  error?: string;
}

/** The Alertmanagers of LIFEBOAT_ALERTMANAGER_URLS (comma-separated base URLs). */
export function alertmanagersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.LIFEBOAT_ALERTMANAGER_URLS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Posts the alerts to each Alertmanager; one entry per Alertmanager, never throws for one that fails. */
export async function postAlerts(urls: string[], cluster: string, alerts: PostableAlert[], timeoutMs = 10_000): Promise<AlertDelivery[]> {
  const now = Date.now();
  const firing = alerts.filter((a) => Date.parse(a.endsAt) > now).length;
  const counts = { firing, resolved: alerts.length - firing };
  return Promise.all(
    urls.map(async (raw): Promise<AlertDelivery> => {
      const url = `${raw.replace(/\/+$/, '')}/api/v2/alerts`;
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts), signal: AbortSignal.timeout(timeoutMs) });
        if (res.ok) return { url: raw, cluster, ok: true, ...counts };
        const text = (await res.text().catch(() => '')).split('\n')[0]!.slice(0, 200);
        return { url: raw, cluster, ok: false, ...counts, error: `HTTP ${res.status}${text ? `: ${text}` : ''}` };
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        return { url: raw, cluster, ok: false, ...counts, error: cause ?? (e as Error).message };
      }
    }),
  );
}
