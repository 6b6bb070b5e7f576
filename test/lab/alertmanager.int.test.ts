/** The lab's two Alertmanagers: both run and take alerts on their API; stopped and started again quickly, status and health follow. */
import { describe, expect, it } from 'vitest';
import { alertmanagerReady, startAlertmanagers, stopAlertmanagers } from '../../lab/alertmanager';
import { labHealthy, labStatus } from '../../lab/lab';
import { alertmanagerUrls } from '../../lab/topology';
import { topo, unique } from '../support/lab';

describe('lab Alertmanagers', () => {
  it('run side by side, not clustered: an alert posted to one is in that one only', async () => {
    const status = labStatus(topo);
    expect(status.alertmanagers.map((a) => [a.url, a.running])).toEqual(alertmanagerUrls(topo).map((u) => [u, true]));
    const [am1, am2] = alertmanagerUrls(topo) as [string, string];
    const test = unique('lab-am');
    const now = new Date();
    const res = await fetch(`${am1}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: 'LabCheck', test }, startsAt: now.toISOString(), endsAt: new Date(now.getTime() + 60_000).toISOString() }]),
    });
    expect(res.status).toBe(200);
    const find = async (url: string) => ((await (await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent(`test="${test}"`)}`)).json()) as unknown[]).length;
    expect(await find(am1)).toBe(1);
    // No gossip between them: each member of an HA pair notifies on its own.
    expect(await find(am2)).toBe(0);
    const peers = (await (await fetch(`${am1}/api/v2/status`)).json()) as { cluster: { status: string } };
    expect(peers.cluster.status).toBe('disabled');
  });

  it('stop and start again within seconds; status and the health check follow', async () => {
    expect((await stopAlertmanagers(topo)).sort()).toEqual(['alertmanager-1', 'alertmanager-2']);
    expect(labStatus(topo).alertmanagers.every((a) => !a.running)).toBe(true);
    expect(await labHealthy(topo)).toBe(false);
    const t0 = Date.now();
    await startAlertmanagers(topo, () => {});
    expect(Date.now() - t0).toBeLessThan(10_000);
    for (const am of topo.alertmanager.instances) expect(await alertmanagerReady(am)).toBe(true);
    expect(await labHealthy(topo)).toBe(true);
  });
});
