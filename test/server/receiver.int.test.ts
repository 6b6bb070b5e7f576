/**
 * The alert receiver on the lab: the lab's two Alertmanagers (real, not clustered: both notify)
 * → `lifeboat serve`'s routes (in this process, on the lab's receiver port, with the lab's token
 * file) → Temporal → the real `failover` workflow in an in-process worker. The failing primary is a
 * ghost cluster (brokers and ZooKeeper on loopback ports nothing listens on, standby = the lab's
 * standby, no mirror to it): a run confirms the outage, escalates and waits at its approval gate, where
 * duplicates join it and a resolved alert stands it down. Nothing here can promote: every run is
 * stood down or terminated before the test ends.
 */
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadResolvedSpec, specCatalog } from '../../src/config/catalog';
import { clusterSpecSchema } from '../../src/config/spec';
import { FAILOVER_RESOLVED_SIGNAL, FAILOVER_STATUS_QUERY, failoverWorkflowId } from '../../src/failover/ids.pure';
import { buildReceiver } from '../../src/server/app';
import { hmacSignature } from '../../src/server/auth';
import { incidentKey } from '../../src/server/alerts';
import type { ServerConfig } from '../../src/server/config';
import { connectTemporal, type TemporalClient } from '../../src/temporal/runs';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { alertmanagerUrls, findCluster } from '../../lab/topology';
import { topo, unique } from '../support/lab';

const ghost = unique('ghost');
const token = readFileSync(topo.alertmanager.tokenFile, 'utf8').trim();
const HMAC_SECRET = 'receiver-test-hmac';
const receiverUrl = `http://127.0.0.1:${topo.alertmanager.receiverPort}`;
const [am1, am2] = alertmanagerUrls(topo) as [string, string];

/** The audit log, kept in memory: what the receiver did with each alert, and who sent it. */
type AuditLine = { event: string; route?: string; agent?: string; action?: string; workflowId?: string; runId?: string; status?: string; cluster?: string };
const audit: AuditLine[] = [];
const auditLog = pino(
  { base: null },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      audit.push(JSON.parse(chunk.toString()) as AuditLine);
      cb();
    },
  }),
);

let t: TemporalClient;
let workers: RunningWorkers;
let running: Promise<void>;
let receiver: FastifyInstance;
/** Every workflow a test may have started: terminated if still running at the end. */
const started = new Set<string>();
/** Alerts posted to the Alertmanagers: resolved at the end, so they do not notify later receivers. */
const posted: { labels: Record<string, string>; startsAt: string }[] = [];

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  const [b1, b2, zk] = [await closedPort(), await closedPort(), await closedPort()];
  const spec = clusterSpecSchema.parse({
    name: ghost,
    kafka: { bootstrapServers: [`127.0.0.1:${b1}`, `127.0.0.1:${b2}`] },
    zookeeper: { connect: `127.0.0.1:${zk}`, chroot: `/${ghost}` },
    standby: 'standby',
    // One probe confirms it (nothing answers); with no mirror to the standby the decision escalates and the
    // run waits at its approval gate (pre-promotion) until a resolved alert or the cleanup ends it.
    failover: { confirmProbes: 1 },
  });
  const catalog = specCatalog([{ spec, source: { name: ghost, digest: 'test', file: '(receiver.int.test.ts)' } }, loadResolvedSpec(findCluster(topo, 'standby').specFile)]);
  t = await connectTemporal();
  workers = await createWorkers({ settings: t.settings, specs: catalog });
  running = workers.run();
  const config: ServerConfig = {
    listen: `127.0.0.1:${topo.alertmanager.receiverPort}`,
    token,
    hmac: { secret: HMAC_SECRET, skewSeconds: 300, header: 'X-Grafana-Alerting-Signature', timestampHeader: 'X-Grafana-Alerting-Timestamp', routes: ['grafana'] },
    match: { labels: { lifeboat_action: 'failover' }, clusterLabel: 'lifeboat_cluster', clusters: [ghost] },
    // Generous: 100 requests at once on a loaded 2-core machine; a 503 here would be a retry for Alertmanager, a failure for the test.
    temporalTimeoutMs: 30_000,
  };
  receiver = buildReceiver({ config, client: t.client, audit: auditLog });
  await receiver.listen({ host: '127.0.0.1', port: topo.alertmanager.receiverPort });
}, 180_000);

afterAll(async () => {
  // Resolved in the Alertmanagers (endsAt now), so their repeats do not reach a later receiver.
  const now = new Date().toISOString();
  await Promise.all([am1, am2].map((u) => postToAlertmanager(u, posted.map((p) => ({ ...p, endsAt: now }))).catch(() => {})));
  await receiver?.close();
  for (const id of started) {
    await t.client.workflow
      .getHandle(id)
      .terminate('receiver test cleanup')
      .catch(() => {});
  }
  workers?.shutdown();
  await running;
  await t?.close();
}, 120_000);

const labelsOf = (extra: Record<string, string> = {}) => ({ alertname: 'KafkaClusterDown', lifeboat_action: 'failover', lifeboat_cluster: ghost, test: unique('alert'), ...extra });

async function postToAlertmanager(url: string, alerts: { labels: Record<string, string>; startsAt: string; endsAt?: string }[]): Promise<void> {
  if (!alerts.length) return;
  const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts.map((a) => ({ annotations: { summary: 'brokers down' }, ...a }))) });
  if (!res.ok) throw new Error(`${url}/api/v2/alerts answered ${res.status}: ${await res.text()}`);
}

/** The fingerprint an Alertmanager gave the alert with these labels. */
async function fingerprintIn(url: string, labels: Record<string, string>): Promise<string> {
  return until(`the alert in ${url}`, async () => {
    const res = await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent(`test="${labels.test}"`)}`);
    const alerts = (await res.json()) as { fingerprint: string }[];
    return alerts[0]?.fingerprint;
  });
}

/** Alertmanager's webhook body (version 4) for one alert, as it would send it. */
const webhookBody = (labels: Record<string, string>, startsAt: string, fingerprint: string, status: 'firing' | 'resolved' = 'firing') =>
  JSON.stringify({
    receiver: 'lifeboat',
    status,
    alerts: [{ status, labels, annotations: { summary: 'brokers down' }, startsAt, endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : new Date().toISOString(), generatorURL: '', fingerprint }],
    groupLabels: {},
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://test',
    version: '4',
    groupKey: `{}:{test="${labels.test}"}`,
    truncatedAlerts: 0,
  });

const post = (route: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${receiverUrl}/v1/alerts/${route}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body });

/** Executions of a workflow ID in Temporal's visibility (every run, open or closed). */
async function executions(workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const w of t.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(w.runId);
  return runs;
}

async function exists(workflowId: string): Promise<boolean> {
  try {
    await t.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}

/** Audit lines of one workflow ID that came from an Alertmanager (its User-Agent). */
const fromAlertmanager = (workflowId: string, status = 'firing') => audit.filter((l) => l.workflowId === workflowId && l.status === status && /^Alertmanager\//.test(l.agent ?? ''));

describe('lifeboat serve with the lab Alertmanagers and Temporal', () => {
  it('one incident, posted 100 times at once and through both Alertmanagers, starts exactly one failover', async () => {
    const labels = labelsOf();
    const startsAt = new Date(Date.now() - 5000).toISOString();
    posted.push({ labels, startsAt });
    await Promise.all([postToAlertmanager(am1, [{ labels, startsAt }]), postToAlertmanager(am2, [{ labels, startsAt }])]);
    // The direct copies carry the fingerprint Alertmanager gives the alert (a hash of its labels).
    const fingerprint = await fingerprintIn(am1, labels);
    expect(await fingerprintIn(am2, labels)).toBe(fingerprint);
    const workflowId = failoverWorkflowId(ghost, incidentKey(fingerprint, startsAt));
    started.add(workflowId);
    const body = webhookBody(labels, startsAt, fingerprint);
    const answers = await Promise.all(Array.from({ length: 100 }, () => post('alertmanager', body).then(async (r) => ({ code: r.status, json: (await r.json()) as { results: { action: string; workflowId: string; runId?: string }[] } }))));
    expect(answers.map((a) => a.code)).toEqual(Array(100).fill(200));
    expect(new Set(answers.map((a) => a.json.results[0]!.workflowId))).toEqual(new Set([workflowId]));
    // Both Alertmanagers delivered it too (group_wait 0s; a delivery can take a poll or a retry).
    await until('both Alertmanagers to deliver the alert', () => (fromAlertmanager(workflowId).length >= 2 ? true : undefined), 90_000);
    const lines = audit.filter((l) => l.workflowId === workflowId && l.event === 'alert');
    expect(lines.filter((l) => l.action === 'started')).toHaveLength(1);
    expect(lines.every((l) => ['started', 'signalled', 'already-handled'].includes(l.action!))).toBe(true);
    // One run: every answer that named a run named the same one, and Temporal lists one execution.
    const desc = await t.client.workflow.getHandle(workflowId).describe();
    expect(new Set(lines.flatMap((l) => (l.runId ? [l.runId] : [])))).toEqual(new Set([desc.runId]));
    expect(await until('the run in visibility', async () => ((await executions(workflowId)).length ? executions(workflowId) : undefined))).toEqual([desc.runId]);
  });

  it('a bad token is 401 and starts nothing', async () => {
    const labels = labelsOf();
    const startsAt = new Date().toISOString();
    const fingerprint = 'feedfacecafebeef';
    const workflowId = failoverWorkflowId(ghost, incidentKey(fingerprint, startsAt));
    const res = await post('alertmanager', webhookBody(labels, startsAt, fingerprint), { authorization: 'Bearer not-the-token' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'unauthorized: wrong bearer token' });
    const none = await post('alertmanager', webhookBody(labels, startsAt, fingerprint), { authorization: '' });
    expect(none.status).toBe(401);
    expect(await exists(workflowId)).toBe(false);
    expect(audit.some((l) => l.workflowId === workflowId)).toBe(false);
  });

  it('Grafana with HMAC: a good signature starts the failover; a bad one or an old timestamp is 401 and starts nothing', async () => {
    const grafana = (labels: Record<string, string>, startsAt: string, fingerprint: string) =>
      JSON.stringify({ ...JSON.parse(webhookBody(labels, startsAt, fingerprint)), version: '1', orgId: 1, title: '[FIRING:1] KafkaClusterDown', state: 'alerting' });
    const signed = (body: string, secret: string, ts: string) => ({ 'X-Grafana-Alerting-Timestamp': ts, 'X-Grafana-Alerting-Signature': hmacSignature(secret, ts, body), 'User-Agent': 'Grafana/12.0' });
    const now = String(Math.floor(Date.now() / 1000));
    const cases = [
      { name: 'good', secret: HMAC_SECRET, ts: now, code: 200 },
      { name: 'bad', secret: 'wrong-secret', ts: now, code: 401 },
      { name: 'old', secret: HMAC_SECRET, ts: String(Number(now) - 3600), code: 401 },
    ];
    for (const c of cases) {
      const startsAt = new Date().toISOString();
      const fingerprint = `0000${c.name}`.padEnd(16, '0');
      const workflowId = failoverWorkflowId(ghost, incidentKey(fingerprint, startsAt));
      const body = grafana(labelsOf(), startsAt, fingerprint);
      const res = await post('grafana', body, signed(body, c.secret, c.ts));
      expect(res.status, c.name).toBe(c.code);
      if (c.code === 200) {
        started.add(workflowId);
        expect(await res.json()).toMatchObject({ results: [{ action: 'started', workflowId }] });
        expect(await exists(workflowId)).toBe(true);
      } else {
        expect(await exists(workflowId), c.name).toBe(false);
      }
    }
  });

  it('alerts without the labels are 202, audited, and start nothing (direct and through Alertmanager)', async () => {
    const labels = labelsOf({ lifeboat_action: 'page-someone' });
    const startsAt = new Date().toISOString();
    const fingerprint = 'abcdefabcdef0001';
    const res = await post('alertmanager', webhookBody(labels, startsAt, fingerprint));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ results: [{ action: 'ignored', reason: 'labels do not match (lifeboat_action=failover)' }] });
    expect(await exists(failoverWorkflowId(ghost, incidentKey(fingerprint, startsAt)))).toBe(false);
    // A cluster outside the allow-list, through an Alertmanager.
    const other = labelsOf({ lifeboat_cluster: 'primary' });
    posted.push({ labels: other, startsAt });
    await postToAlertmanager(am1, [{ labels: other, startsAt }]);
    const amFingerprint = await fingerprintIn(am1, other);
    const line = await until('the ignored alert in the audit log', () => audit.find((l) => l.cluster === 'primary' && l.action === 'ignored' && /^Alertmanager\//.test(l.agent ?? '')), 90_000);
    expect(line).toMatchObject({ event: 'alert', route: 'alertmanager', reason: `cluster "primary" is not in the allowed clusters (${ghost})` });
    expect(await exists(failoverWorkflowId('primary', incidentKey(amFingerprint, startsAt)))).toBe(false);
  });

  it('resolved through both Alertmanagers: the waiting failover gets failoverResolved and stands down', async () => {
    const labels = labelsOf();
    const startsAt = new Date(Date.now() - 1000).toISOString();
    posted.push({ labels, startsAt });
    await Promise.all([postToAlertmanager(am1, [{ labels, startsAt }]), postToAlertmanager(am2, [{ labels, startsAt }])]);
    const fingerprint = await fingerprintIn(am1, labels);
    const workflowId = failoverWorkflowId(ghost, incidentKey(fingerprint, startsAt));
    started.add(workflowId);
    await until('the failover to start', () => (audit.some((l) => l.workflowId === workflowId && l.action === 'started') ? true : undefined), 90_000);
    const handle = t.client.workflow.getHandle(workflowId);
    // Waiting for an approver (escalated: no mirror to the standby) when the alert resolves.
    type Status = { phase: string; outcome?: string; resolved?: { at: string; effect: string } };
    const before = await until(
      'the run to wait at its approval gate',
      async () => {
        const st = await handle.query<Status>(FAILOVER_STATUS_QUERY).catch(() => undefined);
        return st && !['starting', 'confirming', 'deciding', 'assessing'].includes(st.phase) ? st : undefined;
      },
      150_000,
    );
    expect(before.phase).toBe('awaiting-approval');
    const endsAt = new Date().toISOString();
    await Promise.all([postToAlertmanager(am1, [{ labels, startsAt, endsAt }]), postToAlertmanager(am2, [{ labels, startsAt, endsAt }])]);
    await until('a resolved notification from an Alertmanager', () => (fromAlertmanager(workflowId, 'resolved').length >= 1 ? true : undefined), 90_000);
    expect(fromAlertmanager(workflowId, 'resolved')[0]!.action).toBe('resolved-signalled');
    // The signal is in the run's history (Temporal appends a signal that arrives during a workflow task when the
    // task completes), and the run stood down before anything changed.
    const signals = async () => ((await handle.fetchHistory()).events ?? []).flatMap((e) => (e.workflowExecutionSignaledEventAttributes?.signalName ? [e.workflowExecutionSignaledEventAttributes.signalName] : []));
    await until('failoverResolved in the run\'s history', async () => ((await signals()).includes(FAILOVER_RESOLVED_SIGNAL) ? true : undefined), 60_000);
    await until('the run to end', async () => ((await handle.describe()).status.name !== 'RUNNING' ? true : undefined), 120_000);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    const after = await handle.query<Status>(FAILOVER_STATUS_QUERY);
    expect(after).toMatchObject({ phase: 'stood-down', outcome: 'stood down', resolved: { effect: 'stood down' } });
    // A later resolved copy (the other Alertmanager, a retry) finds no running run: 202, nothing started.
    const late = await post('alertmanager', webhookBody(labels, startsAt, fingerprint, 'resolved'));
    expect(late.status).toBe(202);
    expect(await late.json()).toMatchObject({ results: [{ action: 'resolved-no-run' }] });
    // And a firing copy of the ended incident starts nothing again.
    const again = await post('alertmanager', webhookBody(labels, startsAt, fingerprint));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ results: [{ action: 'already-handled' }] });
    expect(await executions(workflowId)).toHaveLength(1);
  });
});
