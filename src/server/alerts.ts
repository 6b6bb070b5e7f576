/**
 * What the alert receiver accepts, as zod schemas, and how each body becomes AlertEvents: one per
 * alert, with the cluster from the configured label, the incident key, and whether it matches the
 * operator's labels and allow-list. Pure (no I/O): the routes and the tests share it.
 *
 * Incident key = the first 16 hex digits of sha256(fingerprint + "\n" + startsAt). Alertmanager's
 * fingerprint hashes the alert's labels and its startsAt is kept across retries and by both members of
 * an HA pair, so every copy of one incident names the same workflow; a new incident of the same alert
 * (a new startsAt) names a new one.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AlertEvent } from '../failover/types';
import { failoverWorkflowId } from '../failover/ids.pure';
import { CLUSTER_NAME } from '../config/spec';

const labelMap = z.record(z.string(), z.string());
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an RFC 3339 time such as 2026-12-03T15:00:00Z');

/** One alert of a webhook notification (Alertmanager v4 and Grafana share it). */
const webhookAlert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: labelMap,
  annotations: labelMap.default({}),
  startsAt: isoTime,
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

/** Alertmanager's webhook body, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export const alertmanagerBody = z.looseObject({
  version: z.literal('4'),
  receiver: z.string().optional(),
  status: z.enum(['firing', 'resolved']),
  groupKey: z.string(),
  truncatedAlerts: z.number().optional(),
  groupLabels: labelMap.optional(),
  commonLabels: labelMap.optional(),
  commonAnnotations: labelMap.optional(),
  externalURL: z.string().optional(),
  alerts: z.array(webhookAlert),
});
export type AlertmanagerBody = z.infer<typeof alertmanagerBody>;

/** Grafana's webhook contact point: Alertmanager's shape plus orgId, values, silenceURL… (version "1"). */
export const grafanaBody = z.looseObject({
  version: z.string().optional(),
  receiver: z.string().optional(),
  status: z.enum(['firing', 'resolved']),
  orgId: z.number().optional(),
  groupKey: z.string().optional(),
  alerts: z.array(webhookAlert),
});
export type GrafanaBody = z.infer<typeof grafanaBody>;

/** Incidents given by the caller name a workflow: the characters a workflow ID keeps readable. */
const incidentName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-" (at most 64)');

/**
 * The generic JSON (docs/cli.md "serve"): one alert, for senders without a webhook format of their
 * own. `incident` names the incident; without it the key is derived from the labels and startsAt, so
 * one of the two is required.
 */
export const genericBody = z.strictObject({
  cluster: z.string().min(1),
  status: z.enum(['firing', 'resolved']),
  incident: incidentName.optional(),
  summary: z.string().optional(),
  labels: labelMap.optional(),
  startsAt: isoTime.optional(),
});
export type GenericBody = z.infer<typeof genericBody>;

export type Route = 'alertmanager' | 'grafana' | 'generic';

/** What the operator lets act: labels every alert must carry, the label naming the cluster, the clusters. */
export interface MatchRules {
  labels: Record<string, string>;
  clusterLabel: string;
  clusters: string[];
}

export const DEFAULT_MATCH_LABELS: Record<string, string> = { lifeboat_action: 'failover' };
export const DEFAULT_CLUSTER_LABEL = 'lifeboat_cluster';

/** One alert of a request: an AlertEvent to act on, or why it is left alone. */
export type Normalized =
  | { act: true; alert: AlertEvent; workflowId: string }
  | { act: false; reason: string; alertname?: string; fingerprint?: string; cluster?: string; status: 'firing' | 'resolved' };

export const incidentKey = (fingerprint: string, startsAt: string): string =>
  createHash('sha256').update(`${fingerprint}\n${startsAt}`).digest('hex').slice(0, 16);

/** A stable fingerprint of a label set where the sender gives none (sorted name=value lines, sha256). */
export const labelsFingerprint = (labels: Record<string, string>): string =>
  createHash('sha256')
    .update(
      Object.keys(labels)
        .sort()
        .map((k) => `${k}=${labels[k]}`)
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 16);

/** startsAt as one canonical text (ISO, milliseconds, UTC): senders format the same instant differently. */
export const canonicalTime = (t: string): string => new Date(Date.parse(t)).toISOString();

/** Cluster names become part of a workflow ID; spec names are lower-case letters, digits and "-". */

function checkCluster(cluster: string | undefined, rules: MatchRules): string | undefined {
  if (!cluster) return `no "${rules.clusterLabel}" label`;
  if (!CLUSTER_NAME.test(cluster)) return `cluster "${cluster}" is not a cluster spec name`;
  if (!rules.clusters.includes(cluster)) return `cluster "${cluster}" is not in the allowed clusters (${rules.clusters.join(', ')})`;
  return undefined;
}

/** The webhook alerts (Alertmanager or Grafana) as AlertEvents or reasons to leave them alone. */
export function normalizeWebhook(
  source: 'alertmanager' | 'grafana',
  body: { alerts: z.infer<typeof webhookAlert>[]; groupKey?: string },
  rules: MatchRules,
  receivedAt: string,
): Normalized[] {
  return body.alerts.map((a) => {
    const fingerprint = a.fingerprint || labelsFingerprint(a.labels);
    const alertname = a.labels.alertname;
    const cluster = a.labels[rules.clusterLabel];
    const missing = Object.entries(rules.labels).filter(([k, v]) => a.labels[k] !== v);
    if (missing.length) {
      return { act: false, status: a.status, alertname, fingerprint, cluster, reason: `labels do not match (${missing.map(([k, v]) => `${k}=${v}`).join(', ')})` };
    }
    const bad = checkCluster(cluster, rules);
    if (bad) return { act: false, status: a.status, alertname, fingerprint, cluster, reason: bad };
    const startsAt = canonicalTime(a.startsAt);
    const incident = incidentKey(fingerprint, startsAt);
    const alert: AlertEvent = {
      source,
      cluster: cluster!,
      incident,
      status: a.status,
      ...(alertname ? { alertname } : {}),
      labels: a.labels,
      annotations: a.annotations,
      startsAt,
      receivedAt,
      fingerprint,
      ...(body.groupKey ? { groupKey: body.groupKey } : {}),
    };
    return { act: true, alert, workflowId: failoverWorkflowId(alert.cluster, incident) };
  });
}

/** The generic JSON as an AlertEvent (its cluster is the intent: only the allow-list applies). */
export function normalizeGeneric(body: GenericBody, rules: MatchRules, receivedAt: string): Normalized | { error: string } {
  const labels = { ...(body.labels ?? {}), [rules.clusterLabel]: body.cluster };
  const fingerprint = labelsFingerprint(labels);
  const bad = checkCluster(body.cluster, rules);
  if (bad) return { act: false, status: body.status, fingerprint, cluster: body.cluster, reason: bad };
  if (!body.incident && !body.startsAt) return { error: 'give "incident" or "startsAt": one of them names the incident' };
  const startsAt = body.startsAt ? canonicalTime(body.startsAt) : receivedAt;
  const incident = body.incident ?? incidentKey(fingerprint, startsAt);
  const alert: AlertEvent = {
    source: 'generic',
    cluster: body.cluster,
    incident,
    status: body.status,
    ...(labels.alertname ? { alertname: labels.alertname } : {}),
    labels,
    annotations: body.summary ? { summary: body.summary } : {},
    startsAt,
    receivedAt,
    fingerprint,
  };
  return { act: true, alert, workflowId: failoverWorkflowId(alert.cluster, incident) };
}

/** A zod error as one line: the first problem with its path ("alerts[0].startsAt: …"). */
export function zodLine(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid body';
  const path = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
  return `${path || 'body'}: ${issue.message}${more}`;
}
