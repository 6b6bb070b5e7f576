/**
 * The backupMonitor workflow on the lab, end to end: a real backup set grows older than
 * staleFactor × the expected interval, the monitor posts its alert to the lab's two real
 * Alertmanagers, and they deliver it to a webhook this test runs (the lab routes alerts labelled
 * lifeboat_test_webhook="true" there); a fresh backup and the next monitor run resolve it, and the
 * run's verification of the newest set is what gatherBackupFacts later reads back from Temporal.
 * The expected interval is the input's (10 s, stale after 20 s) so the test takes a minute.
 * Then the other facts Temporal holds: a paused backup schedule, a failed backup run by its
 * reason, and the monitor's own schedule installed and removed by the CLI.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TEST_WEBHOOK_LABEL, testWebhookPort } from '../../lab/alertmanager';
import { alertmanagerUrls } from '../../lab/topology';
import type { ClusterSpec } from '../../src/config/spec';
import { poll } from '../../src/core/poll';
import { gatherBackupFacts } from '../../src/monitoring/facts';
import { monitorScheduleId } from '../../src/monitoring/schedule';
import { TASK_QUEUE } from '../../src/temporal/connection';
import { applyBackupSchedules, deleteSchedule, findSchedule, pauseSchedule, planSchedules, scheduleId } from '../../src/temporal/schedules';
import { LIFEBOAT_CLUSTER } from '../../src/temporal/searchAttributes';
import type { BackupResult } from '../../workflows/backup';
import type { BackupMonitorResult } from '../../workflows/backupMonitor';
import { lifeboat } from '../support/cli';
import { primarySpec, topo, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';
import { endClusterAlerts } from '../support/alertmanager';

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
  const received: Notified[] = [];
  let webhook: Server;
  let temporal: TestWorkers;
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
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
    client = temporal.client;
  });

  afterAll(async () => {
    // Whatever still fires for this test's cluster ends now (the Alertmanagers are shared by later tests).
    await endClusterAlerts(spec.name);
    await temporal?.stop();
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
    // Ended by the second run (Alertmanager's webhook says 0001-01-01 while an alert fires), not by its TTL of 600 s.
    expect(firing.endsAt).toMatch(/^0001-01-01T00:00:00/);
    expect(Date.parse(resolved.endsAt)).toBeGreaterThan(Date.parse(h.at));
    expect(Date.parse(resolved.endsAt)).toBeLessThan(Date.now() + 1000);

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

  it('facts from Temporal: a paused backup schedule with its note and interval, failed backup runs by reason; the monitor schedule from the CLI', async () => {
    const id = scheduleId(spec.name, 'hourly');
    try {
      await applyBackupSchedules(client, spec.name, planSchedules(spec, { tiers: ['hourly'] }));
      await pauseSchedule(client, id, 'paused by the monitor test');
      // A scheduled run carries the cluster from its start (as schedules set it), even one that fails at once.
      const failing = await client.workflow.start('backup', {
        taskQueue: TASK_QUEUE,
        workflowId: unique(`backup-${spec.name}-failing`),
        args: [{ spec, parts: ['logdirs:99'] }],
        typedSearchAttributes: [{ key: LIFEBOAT_CLUSTER, value: spec.name }],
      });
      await expect(failing.result()).rejects.toThrow();
      const facts = await poll(
        async () => {
          const f = await gatherBackupFacts(spec, { temporal: client });
          return f.failures.length ? f : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'the failed backup run in visibility' },
      );
      expect(facts.failures).toEqual([{ reason: 'InvalidInput', count: 1 }]);
      expect(facts.schedule).toMatchObject({ id, exists: true, paused: true, note: 'paused by the monitor test', intervalSeconds: 3600 });
      expect(facts.expectedIntervalSeconds).toBe(3600);
    } finally {
      await deleteSchedule(client, id).catch(() => undefined);
    }

    const file = join(dir, `${spec.name}.yaml`);
    writeFileSync(file, stringify(spec));
    const installed = await lifeboat('backup', 'health', '--spec', file, '--schedule', '--every', '5', '--json');
    expect(installed.code).toBe(0);
    expect(JSON.parse(installed.stdout)).toMatchObject({ id: monitorScheduleId(spec.name), action: 'create' });
    try {
      const d = (await findSchedule(client, monitorScheduleId(spec.name)))!;
      expect(d.action.workflowType).toBe('backupMonitor');
      expect(d.spec.intervals).toEqual([{ every: 300_000, offset: 0 }]);
      expect((d.action as unknown as { args: [{ alertTtlSeconds: number; specs: { name: string }[] }] }).args[0]).toMatchObject({ alertTtlSeconds: 900, specs: [{ name: spec.name }] });
      const again = await lifeboat('backup', 'health', '--spec', file, '--schedule', '--every', '5', '--json');
      expect(JSON.parse(again.stdout)).toMatchObject({ action: 'unchanged' });
    } finally {
      const removed = await lifeboat('backup', 'health', '--spec', file, '--unschedule');
      expect(removed.code).toBe(0);
    }
    expect(await findSchedule(client, monitorScheduleId(spec.name))).toBeUndefined();
  }, 120_000);
});
