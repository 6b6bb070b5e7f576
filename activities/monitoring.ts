/** Backup monitoring's activities (issue 15): facts, verification of the newest set, alerts to Alertmanager. Thin. */
import { listBackupSets } from '../src/backup/parts';
import type { ClusterSpec } from '../src/config/spec';
import { LifeboatError } from '../src/errors';
import { type AlertDelivery, alertmanagersFromEnv, alertsOf, postAlerts } from '../src/monitoring/alerts';
import { type GatheredFacts, gatherBackupFacts, monitoredTiers } from '../src/monitoring/facts';
import type { BackupHealth } from '../src/monitoring/types';
import { type SetVerification, verifySet } from '../src/monitoring/verify';
import { temporalSettings, workflowUiLink } from '../src/temporal/connection';
import { connectTemporal } from '../src/temporal/runs';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export function monitoringActivities(_deps: ActivityDeps) {
  return {
    /** The cluster's backup facts (tiers, schedule, failed runs, recorded verifications) from persisted state. */
    async gatherBackupFactsActivity(input: { spec: ClusterSpec; expectedIntervalSeconds?: number }): Promise<GatheredFacts> {
      let t: Awaited<ReturnType<typeof connectTemporal>> | undefined;
      try {
        t = await connectTemporal();
      } catch {
        /* facts say Temporal was not reachable */
      }
      try {
        return await gatherBackupFacts(input.spec, { temporal: t?.client, expectedIntervalSeconds: input.expectedIntervalSeconds });
      } finally {
        await t?.close().catch(() => undefined);
      }
    },

    /** Verifies one tier's set (structure + a random sampled share of its data); a damaged set is a result, not a failure. */
    async verifyBackupSetActivity(input: { spec: ClusterSpec; tier: string; setId: string; sampleFraction: number }): Promise<Omit<SetVerification, 'problems'>> {
      const tier = monitoredTiers(input.spec).find((t) => t.name === input.tier);
      if (!tier) throw new LifeboatError('InvalidInput', `cluster spec ${input.spec.name} has no repository tier "${input.tier}"`);
      return withHeartbeat({ phase: 'verify', subject: `${input.tier} set ${input.setId}` }, async (beat, signal) => {
        const repo = await tier.open();
        try {
          const set = (await listBackupSets(repo, input.spec.name)).find((s) => s.setId === input.setId);
          if (!set) throw new LifeboatError('SnapshotNotFound', `backup set ${input.setId} of ${input.spec.name} is no longer in ${tier.location} (removed by retention?)`);
          const { problems: _problems, ...r } = await verifySet(repo, set, {
            fraction: input.sampleFraction,
            signal,
            onProgress: (m) => beat({ phase: 'verify', subject: `${input.tier}: ${m}` }),
          });
          return r;
        } finally {
          await repo.close();
        }
      });
    },

    /** Raises and resolves the health's alerts in every Alertmanager (the input's, else LIFEBOAT_ALERTMANAGER_URLS). */
    async postBackupAlertsActivity(input: {
      health: BackupHealth;
      alertmanagers?: string[];
      labels?: Record<string, string>;
      ttlSeconds: number;
      run?: { workflowId: string; runId: string };
    }): Promise<AlertDelivery[]> {
      const urls = input.alertmanagers?.length ? input.alertmanagers : alertmanagersFromEnv();
      if (!urls.length) {
        return [{ url: '', cluster: input.health.cluster, ok: false, firing: 0, resolved: 0, error: 'no Alertmanager: set LIFEBOAT_ALERTMANAGER_URLS where the worker runs, or give alertmanagers in the input' }];
      }
      const generatorURL = input.run ? workflowUiLink(temporalSettings(), input.run.workflowId, input.run.runId) : undefined;
      const alerts = alertsOf(input.health, { labels: input.labels, ttlSeconds: input.ttlSeconds, generatorURL });
      const out = await postAlerts(urls, input.health.cluster, alerts);
      // Every Alertmanager failed: a retry may reach one (the monitor must not fail silently).
      if (out.every((d) => !d.ok)) throw new LifeboatError('Unreachable', `no Alertmanager took the alerts: ${out.map((d) => `${d.url}: ${d.error}`).join('; ')}`);
      return out;
    },
  };
}
