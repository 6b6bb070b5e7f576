/**
 * drillNotifyActivity against the lab's real Alertmanagers: a drill phase is an info alert
 * LifeboatDrillRunning (labels cluster, drill, scenario, phase) firing in each Alertmanager's API; the
 * next phase replaces it (the earlier phase's alert resolved); the drill's end resolves it; an
 * Alertmanager that is down is counted, not thrown.
 */
import { type AddressInfo, createServer } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { drillControlActivities } from '../../activities/drillControl';
import { activityDeps } from '../../activities/deps';
import { alertmanagerUrls } from '../../lab/topology';
import type { ClusterSpec } from '../../src/config/spec';
import { endClusterAlerts } from '../support/alertmanager';
import { standbySpec, topo, unique } from '../support/lab';

interface LiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  endsAt: string;
  generatorURL?: string;
}

/** The drill's alerts Alertmanager shows (active, suppressed or unprocessed: resolved ones are not listed). */
async function live(url: string, drill: string): Promise<LiveAlert[]> {
  const res = await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent(`drill="${drill}"`)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as LiveAlert[];
}

describe('drillNotifyActivity', () => {
  const spec: ClusterSpec = { ...standbySpec(), name: unique('drnotify') };
  const urls = alertmanagerUrls(topo);
  const drillId = `drill-${spec.name}-cluster-lost-20261203T220000000Z`;
  const saved = process.env.LIFEBOAT_ALERTMANAGER_URLS;
  type Notify = ReturnType<typeof drillControlActivities>['drillNotifyActivity'];
  const notify = (input: Parameters<Notify>[0]) =>
    new MockActivityEnvironment({ workflowExecution: { workflowId: drillId, runId: 'run-1' } }).run(drillControlActivities(activityDeps()).drillNotifyActivity, input) as ReturnType<Notify>;

  afterAll(async () => {
    if (saved === undefined) delete process.env.LIFEBOAT_ALERTMANAGER_URLS;
    else process.env.LIFEBOAT_ALERTMANAGER_URLS = saved;
    await endClusterAlerts(spec.name);
  });

  it('posts the phase as an info alert to every Alertmanager of LIFEBOAT_ALERTMANAGER_URLS; it is in their API', async () => {
    process.env.LIFEBOAT_ALERTMANAGER_URLS = urls.join(',');
    const r = await notify({ spec, drillId, phase: 'prepare', summary: 'full drill of cluster-lost on the staging cluster: preparing' });
    expect(r).toEqual({ delivered: urls.length, alertmanagers: urls.length, errors: [] });
    for (const url of urls) {
      const alerts = await live(url, drillId);
      expect(alerts.map((a) => a.labels)).toEqual([
        { alertname: 'LifeboatDrillRunning', cluster: spec.name, drill: drillId, scenario: 'cluster-lost', phase: 'prepare', severity: 'info', source: 'lifeboat-drill' },
      ]);
      expect(alerts[0]!.annotations.summary).toBe('full drill of cluster-lost on the staging cluster: preparing');
      expect(alerts[0]!.status.state).not.toBe('resolved');
      expect(Date.parse(alerts[0]!.endsAt)).toBeGreaterThan(Date.now() + 3600_000);
    }
  });

  it('the next phase replaces it: one alert up, with the new phase (the scenario as given)', async () => {
    const r = await notify({ spec, drillId, phase: 'execute', scenario: 'cluster-lost', summary: 'recovering' });
    expect(r.delivered).toBe(urls.length);
    for (const url of urls) expect((await live(url, drillId)).map((a) => a.labels.phase)).toEqual(['execute']);
  });

  it('the end resolves it: nothing of the drill left up', async () => {
    const r = await notify({ spec, drillId, phase: 'review', summary: 'done, score 91', ended: true });
    expect(r.delivered).toBe(urls.length);
    for (const url of urls) expect(await live(url, drillId)).toEqual([]);
  });

  it('an Alertmanager that does not answer is counted with its reason; none configured is nothing to deliver', async () => {
    // A port nothing listens on: taken, then freed.
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const down = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((done) => server.close(done));
    const r = await notify({ spec, drillId, phase: 'prepare', summary: 's', ended: true, alertmanagers: [urls[0]!, down] });
    expect(r.delivered).toBe(1);
    expect(r.alertmanagers).toBe(2);
    expect(r.errors).toEqual([`${down}: ECONNREFUSED`]);
    process.env.LIFEBOAT_ALERTMANAGER_URLS = '';
    expect(await notify({ spec, drillId, phase: 'prepare', summary: 's' })).toEqual({ delivered: 0, alertmanagers: 0, errors: [] });
  });
});
