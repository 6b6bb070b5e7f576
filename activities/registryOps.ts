/**
 * Registry operations a failover (or an operator) runs: set and read the registry's degradation level
 * (src/registry/degrade.ts). The off-site registry sync's long-running activity joins them (sync.ts).
 */
import { Context } from '@temporalio/activity';
import { type ClusterSpec, zkAuthOf } from '../src/config/spec';
import { LifeboatError } from '../src/errors';
import { type DegradationLevel, type DegradationState, readDegradation, setDegradation } from '../src/registry/degrade';
import { runRegistrySync } from '../src/registry/sync';
import { type EphemeralMode, REGISTRY_SYNC_PROGRESS_SIGNAL, statsText, SyncPlanError, syncPlan, type SyncStats } from '../src/registry/sync.pure';
import type { ActivityDeps } from './deps';
import { checkedSpec } from './errors';
import { withHeartbeat } from './heartbeat';

export interface RegistryDegradeInput {
  /** The cluster whose registry is degraded: its spec, or its name among the worker's specs. */
  spec?: ClusterSpec;
  cluster?: string;
  level: DegradationLevel;
  by: string;
  reason?: string;
  /** Levels 3-4: where the static address files go, on the worker that runs this. */
  fallbackDir?: string;
  /** Level 4: critical services (names or regular expressions); default the spec's registry.critical. */
  critical?: string[];
  /** Levels 3-4: a registry snapshot ref instead of the newest. */
  snapshot?: string;
  dryRun?: boolean;
}

export interface RegistrySyncActivityInput {
  source: ClusterSpec;
  target: ClusterSpec;
  /** Destination prefix (default: none across ensembles, /offsite on a shared one). */
  prefix?: string;
  ephemerals?: EphemeralMode;
  /** The reverse direction runs too (see RegistrySyncOptions.twoWay). */
  twoWay?: boolean;
  debounceMs?: number;
  fullDiffSeconds?: number;
  /** Return (for the workflow to continue as new) at this time, ms since the epoch. */
  until: number;
  /** Progress signals to the workflow at most this often (default 3 s; every 30 s while nothing changes). */
  reportSeconds?: number;
}

function specOf(deps: ActivityDeps, input: { spec?: ClusterSpec; cluster?: string }): ClusterSpec {
  if (input.spec) return checkedSpec(input.spec);
  if (input.cluster) return deps.specs.get(input.cluster).spec;
  return checkedSpec(undefined);
}

export function registryOpsActivities(deps: ActivityDeps) {
  return {
    /** Moves the registry to a degradation level (idempotent; 0 lifts everything back exactly). */
    async registryDegradeActivity(input: RegistryDegradeInput): Promise<DegradationState> {
      const spec = specOf(deps, input);
      return withHeartbeat({ phase: `registry degradation → level ${input.level}${input.dryRun ? ' (dry run)' : ''}`, subject: spec.name }, () =>
        setDegradation({ spec, level: input.level, by: input.by, reason: input.reason, fallbackDir: input.fallbackDir, critical: input.critical, snapshot: input.snapshot, dryRun: input.dryRun }),
      );
    },

    /**
     * The off-site registry sync, running until `until` or cancelled (the workflow's stop). Heartbeats
     * its stats (lag, writes, last full diff) and signals them to its workflow, whose status query
     * shows them. A retry (a killed worker) starts with a full diff: nothing is lost or doubled.
     */
    async registrySyncActivity(input: RegistrySyncActivityInput): Promise<SyncStats> {
      const source = checkedSpec(input.source);
      const target = checkedSpec(input.target);
      let plan;
      try {
        plan = syncPlan(source, target, input.prefix);
      } catch (e) {
        if (e instanceof SyncPlanError) throw new LifeboatError('InvalidInput', e.message);
        throw e;
      }
      const ctx = Context.current();
      const workflowId = ctx.info.workflowExecution?.workflowId;
      const everyMs = Math.max(0.5, input.reportSeconds ?? 3) * 1000;
      let sentAt = 0;
      let sentKey = '';
      let sending: Promise<unknown> = Promise.resolve();
      const send = (s: SyncStats) => {
        const key = `${s.state}/${s.eventsSeen}/${s.changesApplied}/${s.fullDiffs}/${s.pending}`;
        const now = Date.now();
        if (!workflowId || now - sentAt < everyMs || (key === sentKey && now - sentAt < 30_000)) return;
        sentAt = now;
        sentKey = key;
        // Best effort: a lost progress signal only makes the status query's stats older.
        sending = sending.then(() => ctx.client.workflow.getHandle(workflowId).signal(REGISTRY_SYNC_PROGRESS_SIGNAL, s)).catch(() => undefined);
      };
      return withHeartbeat({ phase: 'registry sync: starting (full diff first)', subject: `${source.name} → ${target.name}` }, async (beat, signal) => {
        const stats = await runRegistrySync({
          syncId: plan.syncId,
          peerId: plan.peerId,
          source: { connect: source.zookeeper!.connect, auth: zkAuthOf(source) },
          dest: { connect: target.zookeeper!.connect, auth: zkAuthOf(target) },
          mappings: plan.mappings,
          ephemerals: input.ephemerals ?? 'held',
          twoWay: input.twoWay ?? false,
          debounceMs: input.debounceMs,
          fullDiffEveryMs: input.fullDiffSeconds !== undefined ? input.fullDiffSeconds * 1000 : undefined,
          until: input.until,
          signal,
          onStats: (s) => {
            const details = { phase: `registry sync: ${s.state}, lag ${s.lagMs} ms`, done: s.changesApplied, unit: 'writes', subject: statsText(s), sync: s };
            beat(details);
            send(s);
          },
        });
        sentAt = 0;
        sentKey = '';
        send(stats);
        await sending;
        return stats;
      });
    },

    /** The registry's current degradation (a read: changes nothing). */
    async registryDegradationActivity(input: { spec?: ClusterSpec; cluster?: string }): Promise<DegradationState> {
      return readDegradation(specOf(deps, input));
    },
  };
}
