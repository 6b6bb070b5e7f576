import { describe, expect, it } from 'vitest';
import {
  alertmanagerBody,
  canonicalTime,
  genericBody,
  grafanaBody,
  incidentKey,
  labelsFingerprint,
  type MatchRules,
  normalizeGeneric,
  normalizeWebhook,
  zodLine,
} from '../../src/server/alerts';
import { createHash } from 'node:crypto';

const rules: MatchRules = { labels: { lifeboat_action: 'failover' }, clusterLabel: 'lifeboat_cluster', clusters: ['primary'] };
const RECEIVED = '2026-12-03T16:00:00.000Z';

/** An Alertmanager v4 notification as the webhook sends it. */
const amBody = (alerts: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({
  receiver: 'lifeboat',
  status: 'firing',
  alerts,
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://am:9093',
  version: '4',
  groupKey: '{}:{alertname="KafkaDown"}',
  truncatedAlerts: 0,
  ...extra,
});
const firing = (labels: Record<string, string>, over: Record<string, unknown> = {}) => ({
  status: 'firing',
  labels,
  annotations: { summary: 'brokers down' },
  startsAt: '2026-12-03T15:00:00.123456789Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prom/graph',
  fingerprint: 'a1b2c3d4e5f60718',
  ...over,
});
const matching = { alertname: 'KafkaDown', lifeboat_action: 'failover', lifeboat_cluster: 'primary' };

describe('incident key', () => {
  it('is the first 16 hex digits of sha256(fingerprint + "\\n" + startsAt)', () => {
    const expected = createHash('sha256').update('a1b2c3d4e5f60718\n2026-12-03T15:00:00.123Z').digest('hex').slice(0, 16);
    expect(incidentKey('a1b2c3d4e5f60718', '2026-12-03T15:00:00.123Z')).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is the same for the same alert from two senders that format startsAt differently, new for a new startsAt', () => {
    const a = normalizeWebhook('alertmanager', alertmanagerBody.parse(amBody([firing(matching)])), rules, RECEIVED)[0]!;
    const b = normalizeWebhook('alertmanager', alertmanagerBody.parse(amBody([firing(matching, { startsAt: '2026-12-03T16:00:00.123+01:00' })])), rules, RECEIVED)[0]!;
    const c = normalizeWebhook('alertmanager', alertmanagerBody.parse(amBody([firing(matching, { startsAt: '2026-12-03T15:05:00Z' })])), rules, RECEIVED)[0]!;
    expect(a.act && b.act && c.act).toBe(true);
    if (!a.act || !b.act || !c.act) return;
    expect(a.alert.incident).toBe(b.alert.incident);
    expect(c.alert.incident).not.toBe(a.alert.incident);
    expect(a.workflowId).toBe(`failover-primary-${a.alert.incident}`);
    expect(canonicalTime('2026-12-03T15:00:00Z')).toBe('2026-12-03T15:00:00.000Z');
  });
});

describe('Alertmanager v4 body', () => {
  it('becomes an AlertEvent per matching alert, with the cluster from the cluster label', () => {
    const [n] = normalizeWebhook('alertmanager', alertmanagerBody.parse(amBody([firing(matching)])), rules, RECEIVED);
    expect(n).toEqual({
      act: true,
      workflowId: `failover-primary-${incidentKey('a1b2c3d4e5f60718', '2026-12-03T15:00:00.123Z')}`,
      alert: {
        source: 'alertmanager',
        cluster: 'primary',
        incident: incidentKey('a1b2c3d4e5f60718', '2026-12-03T15:00:00.123Z'),
        status: 'firing',
        alertname: 'KafkaDown',
        labels: matching,
        annotations: { summary: 'brokers down' },
        startsAt: '2026-12-03T15:00:00.123Z',
        receivedAt: RECEIVED,
        fingerprint: 'a1b2c3d4e5f60718',
        groupKey: '{}:{alertname="KafkaDown"}',
      },
    });
  });

  it('leaves alone alerts without the labels, without a cluster label, or for a cluster not allowed', () => {
    const out = normalizeWebhook(
      'alertmanager',
      alertmanagerBody.parse(
        amBody([
          firing({ alertname: 'DiskFull', lifeboat_cluster: 'primary' }),
          firing({ alertname: 'KafkaDown', lifeboat_action: 'failover' }),
          firing({ ...matching, lifeboat_cluster: 'other' }),
          firing({ ...matching, lifeboat_cluster: 'Bad Name' }),
          firing({ ...matching, lifeboat_action: 'page' }),
        ]),
      ),
      rules,
      RECEIVED,
    );
    expect(out.map((n) => n.act)).toEqual([false, false, false, false, false]);
    expect(out.map((n) => (n.act ? '' : n.reason))).toEqual([
      'labels do not match (lifeboat_action=failover)',
      'no "lifeboat_cluster" label',
      'cluster "other" is not in the allowed clusters (primary)',
      'cluster "Bad Name" is not a cluster spec name',
      'labels do not match (lifeboat_action=failover)',
    ]);
  });

  it('takes each alert\'s own status (a notification can mix firing and resolved)', () => {
    const out = normalizeWebhook('alertmanager', alertmanagerBody.parse(amBody([firing(matching), firing(matching, { status: 'resolved', endsAt: '2026-12-03T15:10:00Z' })])), rules, RECEIVED);
    expect(out.map((n) => (n.act ? n.alert.status : n.status))).toEqual(['firing', 'resolved']);
  });

  it('refuses other versions and malformed alerts with one line naming the field', () => {
    const v3 = alertmanagerBody.safeParse(amBody([firing(matching)], { version: '3' }));
    expect(v3.success).toBe(false);
    if (!v3.success) expect(zodLine(v3.error)).toMatch(/^version: /);
    const noStart = alertmanagerBody.safeParse(amBody([firing(matching, { startsAt: 'yesterday' })]));
    expect(noStart.success).toBe(false);
    if (!noStart.success) expect(zodLine(noStart.error)).toBe('alerts[0].startsAt: an RFC 3339 time such as 2026-12-03T15:00:00Z');
    const noAlerts = alertmanagerBody.safeParse({ version: '4', status: 'firing', groupKey: 'g' });
    expect(noAlerts.success).toBe(false);
    if (!noAlerts.success) expect(zodLine(noAlerts.error)).toMatch(/^alerts: /);
  });

  it('makes a fingerprint from the labels where the sender gives none (order does not matter)', () => {
    expect(labelsFingerprint({ a: '1', b: '2' })).toBe(labelsFingerprint({ b: '2', a: '1' }));
    expect(labelsFingerprint({ a: '1', b: '2' })).not.toBe(labelsFingerprint({ a: '1', b: '3' }));
    const [n] = normalizeWebhook('alertmanager', alertmanagerBody.parse(amBody([firing(matching, { fingerprint: undefined })])), rules, RECEIVED);
    expect(n!.act && n!.alert.fingerprint).toBe(labelsFingerprint(matching));
  });
});

describe('Grafana body', () => {
  it('is read like Alertmanager\'s (Grafana adds orgId, values, silenceURL)', () => {
    const body = grafanaBody.parse({
      receiver: 'lifeboat',
      status: 'firing',
      orgId: 1,
      alerts: [{ ...firing(matching), silenceURL: 'http://grafana/silence', dashboardURL: '', panelURL: '', values: { B: 1 }, valueString: "[ var='B' value=1 ]" }],
      groupLabels: {},
      commonLabels: matching,
      commonAnnotations: {},
      externalURL: 'http://grafana/',
      version: '1',
      groupKey: '{}:{}',
      truncatedAlerts: 0,
      title: '[FIRING:1] KafkaDown',
      state: 'alerting',
      message: '…',
    });
    const [n] = normalizeWebhook('grafana', body, rules, RECEIVED);
    expect(n!.act && n!.alert.source).toBe('grafana');
    expect(n!.act && n!.alert.cluster).toBe('primary');
  });
});

describe('generic body', () => {
  it('names the incident itself, or by labels and startsAt', () => {
    const own = normalizeGeneric(genericBody.parse({ cluster: 'primary', status: 'firing', incident: 'INC-42', summary: 'site down' }), rules, RECEIVED);
    expect(own).toMatchObject({ act: true, workflowId: 'failover-primary-INC-42', alert: { source: 'generic', incident: 'INC-42', annotations: { summary: 'site down' } } });
    const derived = normalizeGeneric(genericBody.parse({ cluster: 'primary', status: 'firing', startsAt: '2026-12-03T15:00:00Z', labels: { alertname: 'X' } }), rules, RECEIVED);
    expect(derived).toMatchObject({ act: true, alert: { alertname: 'X', labels: { alertname: 'X', lifeboat_cluster: 'primary' } } });
    const again = normalizeGeneric(genericBody.parse({ cluster: 'primary', status: 'resolved', startsAt: '2026-12-03T15:00:00.000Z', labels: { alertname: 'X' } }), rules, RECEIVED);
    expect('act' in again && again.act && 'act' in derived && derived.act && again.alert.incident === derived.alert.incident).toBe(true);
  });

  it('needs an incident or a startsAt, an allowed cluster, and nothing unknown', () => {
    expect(normalizeGeneric(genericBody.parse({ cluster: 'primary', status: 'firing' }), rules, RECEIVED)).toEqual({ error: 'give "incident" or "startsAt": one of them names the incident' });
    expect(normalizeGeneric(genericBody.parse({ cluster: 'elsewhere', status: 'firing', incident: 'x' }), rules, RECEIVED)).toMatchObject({ act: false, reason: 'cluster "elsewhere" is not in the allowed clusters (primary)' });
    const unknown = genericBody.safeParse({ cluster: 'primary', status: 'firing', incident: 'x', severity: 'P0' });
    expect(unknown.success).toBe(false);
    const badIncident = genericBody.safeParse({ cluster: 'primary', status: 'firing', incident: 'a b' });
    expect(badIncident.success).toBe(false);
    if (!badIncident.success) expect(zodLine(badIncident.error)).toMatch(/^incident: letters, digits/);
  });
});
