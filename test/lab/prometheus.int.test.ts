/**
 * The lab's real Prometheus scrapes a real `lifeboat serve` (bin/lifeboat, its /metrics watching a
 * directory of specs) on the receiver port, with Lifeboat's shipped rules loaded: a real backup set
 * is fresh at first (exported with its own time, no alert), then older than 2 × the cluster's
 * expected interval (its spec's RPO, 12 s: stale after 24 s), and LifeboatBackupStale fires, reaches
 * the lab's Alertmanagers and through them lifeboat serve's webhook. The spec removed from the
 * directory, the cluster's series are gone at the next scrape and the alert resolves: nothing is
 * left behind for a cluster no longer watched.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusUrl } from '../../lab/prometheus';
import { alertmanagerUrls, receiverListen } from '../../lab/topology';
import type { ClusterSpec } from '../../src/config/spec';
import { poll } from '../../src/core/poll';
import { TASK_QUEUE } from '../../src/temporal/connection';
import type { BackupResult } from '../../workflows/backup';
import { LIFEBOAT_BIN } from '../support/cli';
import { primarySpec, topo, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';
import { endClusterAlerts } from '../support/alertmanager';

const PROM = prometheusUrl(topo.prometheus);
const INTERVAL_SECONDS = 12;

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

async function promQuery(query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${PROM}/api/v1/query?query=${encodeURIComponent(query)}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`Prometheus query ${query}: ${JSON.stringify(body)}`);
  return body.data.result;
}

async function promAlerts(cluster: string): Promise<PromAlert[]> {
  const res = await fetch(`${PROM}/api/v1/alerts`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { data: { alerts: PromAlert[] } };
  return body.data.alerts.filter((a) => a.labels.cluster === cluster);
}

describe('lab Prometheus scraping lifeboat serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-prom-'));
  const specsDir = join(dir, 'specs');
  const lab = primarySpec();
  const spec: ClusterSpec = {
    ...lab,
    name: unique('met'),
    repository: { ...lab.repository!, path: join(dir, 'repo') },
    offsiteRepository: { ...lab.offsiteRepository!, path: join(dir, 'offsite') },
    objectives: { ...lab.objectives, rpoMinutes: INTERVAL_SECONDS / 60 },
  };
  const specFile = join(specsDir, `${spec.name}.yaml`);
  let serve: ChildProcess | undefined;
  let serveOut = '';
  let temporal: TestWorkers;
  let client: Client;

  beforeAll(async () => {
    mkdirSync(specsDir, { recursive: true });
    writeFileSync(specFile, stringify(spec));
    const config = join(dir, 'receiver.yaml');
    writeFileSync(
      config,
      stringify({ listen: receiverListen(topo), token: { file: topo.alertmanager.tokenFile }, clusters: [spec.name], metrics: { specs: [specsDir], cacheSeconds: 0 } }),
    );
    serve = spawn(LIFEBOAT_BIN, ['serve', '--config', config], { env: { ...process.env, NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    serve.stdout!.on('data', (d: Buffer) => (serveOut += d.toString()));
    serve.stderr!.on('data', (d: Buffer) => (serveOut += d.toString()));
    await poll(() => serveOut.includes('"event":"listening"') || (serve!.exitCode !== null ? Promise.reject(new Error(`lifeboat serve exited: ${serveOut}`)) : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'lifeboat serve to listen',
    });
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
    client = temporal.client;
  });

  afterAll(async () => {
    // Whatever still fires for this test's cluster ends now (the Alertmanagers are shared by later tests).
    await endClusterAlerts(spec.name);
    // The Alertmanagers' resolved notifications go to this serve, not to the next test's receiver.
    await poll(() => serveOut.includes('"status":"resolved"') || undefined, { timeoutMs: 15_000, intervalMs: 250, what: 'resolved notifications' }).catch(() => undefined);
    serve?.kill('SIGTERM');
    if (serve && serve.exitCode === null) await new Promise((r) => serve!.once('exit', r));
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a fresh backup is exported with its own time and raises nothing; once stale, LifeboatBackupStale fires and reaches Alertmanager; the spec removed, its series and alert are gone', async () => {
    const backup = (await client.workflow.execute('backup', {
      taskQueue: TASK_QUEUE,
      workflowId: unique(`backup-${spec.name}`),
      args: [{ spec, tier: 'hourly', parts: ['kafka-metadata'], skipRetention: true }],
    })) as BackupResult;
    expect(backup.report.outcome).toBe('succeeded');

    // Scraped: the set's own time and the cluster's expected interval (its RPO: no schedule exists).
    const sel = `{cluster="${spec.name}",tier="primary"}`;
    const [success] = await poll(async () => {
      const r = await promQuery(`lifeboat_backup_last_success_timestamp_seconds${sel}`);
      return r.length ? r : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250, what: 'Prometheus to scrape the set from lifeboat serve' });
    const setTime = Number(success!.value[1]);
    expect(success!.metric.job).toBe('lifeboat');
    expect(Math.abs(setTime * 1000 - Date.now())).toBeLessThan(2 * INTERVAL_SECONDS * 1000);
    expect((await promQuery(`lifeboat_backup_expected_interval_seconds{cluster="${spec.name}"}`))[0]!.value[1]).toBe(String(INTERVAL_SECONDS));
    expect((await promQuery(`lifeboat_backup_temporal_up{cluster="${spec.name}"}`))[0]!.value[1]).toBe('1');

    // Fresh: nothing fires while the set is younger than 2 × the interval (rules run every second).
    if (Date.now() / 1000 < setTime + 2 * INTERVAL_SECONDS - 3) {
      const early = await promAlerts(spec.name);
      expect(early.filter((a) => a.labels.alertname === 'LifeboatBackupStale')).toEqual([]);
    }

    // Stale: the rule fires for the primary tier, with the age as its value.
    const stale = await poll(async () => (await promAlerts(spec.name)).find((a) => a.labels.alertname === 'LifeboatBackupStale' && a.labels.tier === 'primary' && a.state === 'firing'), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'LifeboatBackupStale to fire in Prometheus',
    });
    expect(stale.labels.severity).toBe('critical');
    expect(Number(stale.value)).toBeGreaterThan(2 * INTERVAL_SECONDS);
    expect(stale.annotations.summary).toMatch(new RegExp(`^${spec.name}: the newest complete backup in tier primary is [\\d.]+s old$`));
    expect(stale.annotations.description).toContain(`Backups of ${spec.name} are expected every ${INTERVAL_SECONDS}s`);
    expect(Date.now() / 1000).toBeGreaterThan(setTime + 2 * INTERVAL_SECONDS);
    // No false alert: Prometheus' own record of the alert (ALERTS, pending or firing) starts only once the set was due.
    const range = await fetch(
      `${PROM}/api/v1/query_range?query=${encodeURIComponent(`ALERTS{alertname="LifeboatBackupStale",cluster="${spec.name}"}`)}&start=${Math.floor(setTime) - 5}&end=${Math.ceil(Date.now() / 1000)}&step=1`,
    );
    const series = ((await range.json()) as { data: { result: { values: [number, string][] }[] } }).data.result;
    expect(series.length).toBeGreaterThan(0);
    const first = Math.min(...series.flatMap((r) => r.values.map(([t]) => t)));
    expect(first).toBeGreaterThan(setTime + 2 * INTERVAL_SECONDS);

    // Nothing else fires: a new cluster without a schedule or a verification yet is given its time ("for").
    const firing = new Set((await promAlerts(spec.name)).filter((a) => a.state === 'firing').map((a) => a.labels.alertname));
    expect([...firing].filter((n) => n !== 'LifeboatBackupStale' && n !== 'LifeboatBackupNotProtected')).toEqual([]);

    // Sent to both lab Alertmanagers, which deliver it to lifeboat serve (no failover label: ignored, audited).
    for (const url of alertmanagerUrls(topo)) {
      await poll(
        async () => {
          const res = await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent(`cluster="${spec.name}"`)}&filter=${encodeURIComponent('alertname="LifeboatBackupStale"')}`);
          const live = (await res.json()) as { labels: Record<string, string>; status: { state: string } }[];
          return live.find((a) => a.labels.tier === 'primary' && a.status.state === 'active');
        },
        { timeoutMs: 30_000, intervalMs: 500, what: `the stale alert in ${url}` },
      );
    }
    const audited = await poll(
      () =>
        serveOut
          .split('\n')
          .filter((l) => l.includes('"event":"alert"'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.alertname === 'LifeboatBackupStale' && l.action === 'ignored' && l.status === 'firing'),
      { timeoutMs: 30_000, intervalMs: 250, what: "lifeboat serve to receive the stale alert from Alertmanager" },
    );
    expect(String(audited.agent)).toMatch(/^Alertmanager\//);

    // No longer watched: its series vanish at the next scrape and the alert resolves.
    rmSync(specFile);
    await poll(async () => ((await promQuery(`lifeboat_backup_last_success_timestamp_seconds{cluster="${spec.name}"}`)).length === 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: "the removed cluster's series to go",
    });
    expect(await promQuery(`{__name__=~"lifeboat_backup_.+",cluster="${spec.name}"}`)).toEqual([]);
    await poll(async () => ((await promAlerts(spec.name)).length === 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 500, what: "the removed cluster's alerts to resolve" });
  }, 150_000);
});
