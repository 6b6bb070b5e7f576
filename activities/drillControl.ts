/** A drill's control-plane activities (issue 16): other drills running on the same cluster, and notifying people. */
import { Context } from '@temporalio/activity';
import type { ClusterSpec } from '../src/config/spec';
import { runningDrills, notifyDrill } from '../src/drills/control';
import { releaseDrillLock, takeDrillLock } from '../src/drills/lock';
import { SCENARIOS } from '../src/drills/records';
import { alertmanagersFromEnv } from '../src/monitoring/alerts';
import { temporalSettings, workflowUiLink } from '../src/temporal/connection';
import type { ActivityDeps } from './deps';

/** The scenario a drill ID names (drill-<cluster>-<scenario>-<time>), for a caller that did not pass it. */
export function scenarioOfDrillId(drillId: string): string {
  const found = [...SCENARIOS].sort((a, b) => b.length - a.length).find((s) => drillId.includes(`-${s}-`) || drillId.endsWith(`-${s}`));
  return found ?? 'unknown';
}

export function drillControlActivities(_deps: ActivityDeps) {
  return {
    /**
     * Workflow IDs of other drills running on the cluster (Temporal visibility: LifeboatKind=drill,
     * LifeboatCluster, running), oldest first; the asking drill itself left out.
     */
    /** Takes the cluster's drill lock for this drill's run (src/drills/lock.ts); a lock whose drill ended is taken over. */
    async drillLockActivity(input: { cluster: string; holder: string; holderRunId: string }) {
      return takeDrillLock(Context.current().client, input);
    },
    /** Ends the cluster's drill lock if this drill's run holds it. */
    async drillUnlockActivity(input: { cluster: string; holder: string; holderRunId: string }): Promise<boolean> {
      return releaseDrillLock(Context.current().client, input.cluster, input.holder);
    },
    async drillOthersRunningActivity(input: { cluster: string; selfWorkflowId: string }): Promise<string[]> {
      const drills = await runningDrills(Context.current().client, input.cluster);
      return drills.map((d) => d.workflowId).filter((id) => id !== input.selfWorkflowId);
    },
    /**
     * Tells people a drill phase began or ended: an info alert LifeboatDrillRunning (labels cluster,
     * drill, scenario, phase) to the Alertmanagers of LIFEBOAT_ALERTMANAGER_URLS (or `alertmanagers`),
     * resolved (endsAt now) when `ended`. Never fails the drill for an Alertmanager that is down:
     * `delivered` counts the Alertmanagers that took it, `errors` says why the others did not.
     */
    async drillNotifyActivity(input: {
      spec: ClusterSpec;
      drillId: string;
      phase: string;
      summary: string;
      ended?: boolean;
      scenario?: string;
      alertmanagers?: string[];
    }): Promise<{ delivered: number; alertmanagers: number; errors: string[] }> {
      const urls = input.alertmanagers ?? alertmanagersFromEnv();
      const { workflowExecution } = Context.current().info;
      const deliveries = await notifyDrill(urls, {
        cluster: input.spec.name,
        drillId: input.drillId,
        scenario: input.scenario ?? scenarioOfDrillId(input.drillId),
        phase: input.phase,
        summary: input.summary,
        ended: input.ended,
        generatorURL: workflowExecution ? workflowUiLink(temporalSettings(), workflowExecution.workflowId, workflowExecution.runId) : undefined,
      });
      return {
        delivered: deliveries.filter((d) => d.ok).length,
        alertmanagers: urls.length,
        errors: deliveries.filter((d) => !d.ok).map((d) => `${d.url}: ${d.error ?? 'failed'}`),
      };
    },
  };
}
