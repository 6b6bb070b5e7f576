/**
 * The backupMonitor workflow on the lab, end to end: a real backup set grows older than
 * staleFactor × the expected interval, the monitor posts its alert to the lab's two real
 * Alertmanagers, and they deliver it to a webhook this test runs (the lab routes alerts labelled
 * lifeboat_test_webhook="true" there); a fresh backup and the next monitor run resolve it, and the
 * run's verification of the newest set is what gatherBackupFacts later reads back from Temporal.
 * The expected interval is the input's (10 s, stale after 20 s) so the test takes a minute.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_WEBHOOK_LABEL, testWebhookPort } from '../../lab/alertmanager';
import { alertmanagerUrls } from '../../lab/topology';
import type { ClusterSpec } from '../../src/config/spec';
import { poll } from '../../src/core/poll';
import { gatherBackupFacts } from '../../src/monitoring/facts';
import { TASK_QUEUE, temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import type { BackupResult } from '../../workflows/backup';
import type { BackupMonitorResult } from '../../workflows/backupMonitor';
import { primarySpec, topo, unique } from '../support/lab';

interface Notified {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  endsAt: string;
}

describe('backupMonitor workflow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-monitor-'));
  const lab = primarySpec();
  const spec: ClusterSpec = {
    ...lab,
    name: unique('mon'),
    repository: { ...lab.repository!, path: join(dir, 'repo') },
    offsiteRepository: { ...lab.offsiteRepository!, path: join(dir, 'offsite') },
  };
  const settings = temporalSettings();
  const received: Notified[] = [];
  let webhook: Server;
  let workers: RunningWorkers;
  let running: Promise<void>;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        try {
          received.push(...(JSON.parse(body) as { alerts: Notified[] }).alerts);
        } catch {
          /* not a notification */
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => webhook.listen(testWebhookPort(topo), '127.0.0.1', r));
    workers = await createWorkers({ settings, hosts: spec.brokers.map((b) => b.host) });
    running = workers.run();
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
  });

  afterAll(async () => {
    // Whatever still fires for this test's cluster ends now (the Alertmanagers are shared by later tests).
    for (const url of alertmanagerUrls(topo)) {
      const res = await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent(`cluster="${spec.name}"`)}`).catch(() => undefined);
      const live = ((await res?.json().catch(() => [])) ?? []) as { labels: Record<string, string>; startsAt: string }[];
      const now = new Date().toISOString();
      const ended = live.map((a) => ({ labels: a.labels, startsAt: a.startsAt, endsAt: now }));
      if (ended.length) await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ended) }).catch(() => undefined);
    }
    await connection?.close();
    workers?.shutdown();
    await running;
    await new Promise((r) => webhook?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const backup = () =>
    client.workflow.execute('backup', {
      taskQueue: TASK_QUEUE,
      workflowId: unique(`backup-${spec.name}`),
      args: [{ spec, tier: 'hourly', parts: ['kafka-metadata'], skipRetention: true }],
    }) as Promise<BackupResult>;

  const monitor = () =>
    client.workflow.execute('backupMonitor', {
      taskQueue: TASK_QUEUE,
      workflowId: unique(`backupMonitor-${spec.name}`),
      args: [{ specs: [spec], expectedIntervalSeconds: 10, policy: { staleFactor: 2 }, alertmanagers: alertmanagerUrls(topo), labels: { [TEST_WEBHOOK_LABEL]: 'true' }, alertTtlSeconds: 600 }],
    }) as Promise<BackupMonitorResult>;

  const staleAlert = (status: Notified['status']) => () =>
    received.find((a) => a.status === status && a.labels.alertname === 'LifeboatBackupStale' && a.labels.cluster === spec.name && a.labels.tier === 'primary');

  it('a stale backup raises an alert that Alertmanager delivers to the webhook; a fresh backup resolves it', async () => {
    const first = await backup();
    expect(first.report.outcome).toBe('succeeded');
    const setTime = Date.parse((await gatherBackupFacts(spec)).tiers[0]!.lastSuccess!.time);
    // Older than 2 × 10 s: stale by the input's interval.
    await poll(() => Date.now() > setTime + 21_000 || undefined, { timeoutMs: 60_000, intervalMs: 250, what: 'the set to age past the stale limit' });

    const stale = await monitor();
    const h = stale.clusters[0]!;
    expect(h.cluster).toBe(spec.name);
    expect(h.verdict).toBe('failing');
    const fresh = h.checks.find((c) => c.check === 'fresh' && c.tier === 'primary')!;
    expect(fresh).toMatchObject({ ok: false, severity: 'critical', evidence: { setId: first.setId, limitSeconds: 20 } });
    // The set itself reads back: only its age is wrong.
    expect(h.facts.tiers[0]!.lastVerified).toMatchObject({ setId: first.setId, ok: true });
    expect(h.checks.find((c) => c.check === 'offsite' && c.tier === 'offsite')).toMatchObject({ ok: true });
    expect(stale.alerts.map((d) => d.ok)).toEqual([true, true]);

    const firing = await poll(staleAlert('firing'), { timeoutMs: 60_000, intervalMs: 200, what: 'the webhook to receive the stale alert' });
    expect(firing.labels).toMatchObject({ severity: 'critical', source: 'lifeboat-backup-monitor', [TEST_WEBHOOK_LABEL]: 'true' });
    expect(firing.annotations.summary).toContain(`newest complete set of ${spec.name} in primary is`);
    expect(firing.annotations.evidence).toContain(`setId=${first.setId}`);

    const second = await backup();
    expect(second.report.outcome).toBe('succeeded');
    const ok = await monitor();
    const h2 = ok.clusters[0]!;
    expect(h2.checks.find((c) => c.check === 'fresh' && c.tier === 'primary')).toMatchObject({ ok: true, evidence: { setId: second.setId } });
    expect(h2.facts.tiers[0]!.lastVerified).toMatchObject({ setId: second.setId, ok: true });
    const resolved = await poll(staleAlert('resolved'), { timeoutMs: 60_000, intervalMs: 200, what: 'the webhook to receive the resolved stale alert' });
    // Ended by the run, long before the firing alert's own end (its TTL of 600 s).
    expect(Date.parse(resolved.endsAt)).toBeLessThan(Date.parse(firing.endsAt) - 500_000);

    // The run's verification is the record: the facts read it back from Temporal without reading the data again.
    const facts = await poll(
      async () => {
        const f = await gatherBackupFacts(spec, { temporal: client });
        return f.tiers[0]!.lastVerified?.setId === second.setId ? f : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: "the monitor run's verification in Temporal's visibility" },
    );
    expect(facts.temporal.reachable).toBe(true);
    expect(facts.tiers[0]!.lastVerified!.ok).toBe(true);
    expect(facts.tiers[0]!.lastCheck).toMatchObject({ ok: true, problems: 0 });
    expect(facts.schedule.exists).toBe(false);
  }, 180_000);
});
