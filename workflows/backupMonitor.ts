/**
 * backupMonitor (issue 15), run on a Temporal Schedule (`lifeboat backup health --schedule`): per
 * cluster, the backup facts of every repository tier (activities/monitoring.ts), a verification of
 * each tier's newest complete set (structure and a random sampled share of its data), the verdicts
 * (src/monitoring/health.pure.ts), and alerts raised and resolved by posting to Alertmanager's API.
 * The run's result is the record of its verifications: `/metrics` and `lifeboat backup health` read
 * the newest completed run of the cluster (LifeboatCluster) instead of reading the data again.
 * Several clusters: one child run per cluster, so every cluster's record is found the same way.
 */
import { ApplicationFailure, executeChild, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { LifeboatActivities } from '../activities';
import type { ClusterSpec } from '../src/config/spec';
import type { AlertDelivery } from '../src/monitoring/alerts';
import { healthOf, policyOf } from '../src/monitoring/health.pure';
import type { BackupHealth, MonitorPolicy } from '../src/monitoring/types';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND, LIFEBOAT_STEP } from '../src/temporal/searchAttributes';
import { type ClusterRef, resolveCluster } from './support/cluster';

export interface BackupMonitorInput {
  /** Clusters by name: specs the worker was started with. */
  clusters?: string[];
  /** Clusters by spec (what the CLI sends). */
  specs?: ClusterSpec[];
  policy?: Partial<MonitorPolicy>;
  /** The interval a set is expected in, instead of the schedule's (or the spec's RPO). */
  expectedIntervalSeconds?: number;
  /** Alertmanager base URLs (default: the worker's LIFEBOAT_ALERTMANAGER_URLS, comma-separated). */
  alertmanagers?: string[];
  /** Labels added to every alert (routing in Alertmanager). */
  labels?: Record<string, string>;
  /** How long a raised alert stays firing when no later run renews it (default 3600 s). */
  alertTtlSeconds?: number;
  /** Verdicts only: no alerts posted. */
  noAlerts?: boolean;
}

export interface BackupMonitorResult {
  clusters: BackupHealth[];
  /** One entry per Alertmanager and cluster. */
  alerts: AlertDelivery[];
}

const facts = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 3 },
});
const verify = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 3 },
});
const alerts = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
});

const message = (e: unknown): string => {
  let m = e instanceof Error ? e.message : String(e);
  for (let c = (e as { cause?: unknown }).cause; c; c = (c as { cause?: unknown }).cause) if (c instanceof Error && c.message) m = c.message;
  return m.split('\n')[0]!;
};

export async function backupMonitor(input: BackupMonitorInput): Promise<BackupMonitorResult> {
  const refs: ClusterRef[] = [...(input.clusters ?? []).map((cluster) => ({ cluster })), ...(input.specs ?? []).map((spec) => ({ spec }))];
  let policy: MonitorPolicy;
  try {
    policy = policyOf(input.policy);
  } catch (e) {
    throw ApplicationFailure.nonRetryable(message(e), 'InvalidInput');
  }
  if (!refs.length) throw ApplicationFailure.nonRetryable('the input names no cluster: give { "clusters": ["<name>"] } (specs the worker was started with) or { "specs": [...] }', 'InvalidInput');
  if (refs.length > 1) {
    upsertSearchAttributes([{ key: LIFEBOAT_KIND, value: 'backupMonitor' }]);
    const out: BackupMonitorResult = { clusters: [], alerts: [] };
    for (const ref of refs) {
      const name = ref.cluster ?? ref.spec!.name;
      const r = await executeChild(backupMonitor, {
        workflowId: `${workflowInfo().workflowId}-${name}`,
        args: [{ ...input, clusters: ref.cluster ? [ref.cluster] : [], specs: ref.spec ? [ref.spec] : [] }],
      });
      out.clusters.push(...r.clusters);
      out.alerts.push(...r.alerts);
    }
    return out;
  }

  const { spec } = await resolveCluster(refs[0]!);
  const step = (value: string) => upsertSearchAttributes([{ key: LIFEBOAT_STEP, value }]);
  upsertSearchAttributes([
    { key: LIFEBOAT_CLUSTER, value: spec.name },
    { key: LIFEBOAT_KIND, value: 'backupMonitor' },
    { key: LIFEBOAT_STEP, value: 'facts' },
  ]);
  const gathered = await facts.gatherBackupFactsActivity({ spec, expectedIntervalSeconds: input.expectedIntervalSeconds });

  step('verify');
  for (const t of gathered.tiers) {
    if (!t.reachable || !t.lastSuccess) continue;
    try {
      const r = await verify.verifyBackupSetActivity({ spec, tier: t.tier, setId: t.lastSuccess.setId, sampleFraction: policy.sampleFraction });
      t.lastVerified = r.lastVerified;
      t.lastCheck = r.lastCheck;
    } catch (e) {
      // Not read (locked by a prune, gone meanwhile): the recorded verification stands, the verdict says how old it is.
      t.error = `verification not done: ${message(e)}`;
    }
  }

  const health = healthOf(gathered, policy);
  let delivered: AlertDelivery[] = [];
  if (!input.noAlerts) {
    step('alerts');
    delivered = await alerts
      .postBackupAlertsActivity({
        health,
        alertmanagers: input.alertmanagers,
        labels: input.labels,
        ttlSeconds: input.alertTtlSeconds ?? 3600,
        run: { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId },
      })
      // Undelivered alerts are recorded (and the run's step says so); the verifications are still the record.
      .catch((e: unknown): AlertDelivery[] => [{ url: '', cluster: spec.name, ok: false, firing: 0, resolved: 0, error: message(e) }]);
  }
  step(delivered.some((d) => !d.ok) ? 'alerts-undelivered' : health.verdict);
  return { clusters: [health], alerts: delivered };
}
