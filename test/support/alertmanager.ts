/**
 * The lab's Alertmanagers as tests leave them: they are shared by every later test, so what a test's
 * cluster still has firing is ended (posted again with endsAt now) in its afterAll.
 */
import { alertmanagerUrls } from '../../lab/topology';
import { topo } from './lab';

/** Ends every alert labelled cluster=`cluster` in both lab Alertmanagers (best effort: never throws). */
export async function endClusterAlerts(cluster: string): Promise<void> {
  for (const url of alertmanagerUrls(topo)) {
    const res = await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent(`cluster="${cluster}"`)}`).catch(() => undefined);
    const live = ((await res?.json().catch(() => [])) ?? []) as { labels: Record<string, string>; startsAt: string }[];
    const now = new Date().toISOString();
    const ended = live.map((a) => ({ labels: a.labels, startsAt: a.startsAt, endsAt: now }));
    if (ended.length) await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ended) }).catch(() => undefined);
  }
}
