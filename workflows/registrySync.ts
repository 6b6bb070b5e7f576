/**
 * registrySync — the off-site registry sync (seed 004 §4.3): the source cluster's registry trees kept
 * in sync with the target's ZooKeeper (by default the source spec's `standby`), one run per direction
 * (ID registry-sync-<source>-to-<target>). The work is one long-running heartbeating activity
 * (src/registry/sync.ts: recursive watch, coalesced bursts, periodic full diff, origin ledger); a
 * killed worker's activity is retried on any worker and starts with a full diff. The activity signals
 * its stats (lag, writes, last full diff) every few seconds: the `registrySyncStatus` query answers
 * with them. The run continues as new after `runHours` or `progressPerRun` progress signals (history
 * stays bounded); a held ephemeral is created again by the next run's session within its first full
 * diff. `registrySyncStop` ends it: the activity is cancelled and the run completes with its status.
 */
import { ActivityCancellationType, ApplicationFailure, CancellationScope, condition, continueAsNew, defineQuery, defineSignal, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { LifeboatActivities } from '../activities';
import {
  type EphemeralMode,
  REGISTRY_SYNC_PROGRESS_SIGNAL,
  REGISTRY_SYNC_STATUS_QUERY,
  REGISTRY_SYNC_STOP_SIGNAL,
  type RegistrySyncStatus,
  SyncPlanError,
  syncPlan,
  type SyncPlan,
  type SyncStats,
} from '../src/registry/sync.pure';
import { type ClusterRef, resolveCluster } from './support/cluster';

export interface RegistrySyncInput {
  /** The cluster whose registry is read (spec.registry roots, spec.zookeeper.connect). */
  source: ClusterRef;
  /** Where it is written; default the source spec's `standby`. */
  target?: ClusterRef;
  /** Destination prefix (default: none across ensembles, /offsite when both share one). */
  prefix?: string;
  /** Ephemeral instances: held by the sync's own session (default) or written persistent. */
  ephemerals?: EphemeralMode;
  /** The reverse direction (registry-sync-<target>-to-<source>) runs too: see src/registry/sync.ts. */
  twoWay?: boolean;
  debounceMs?: number;
  /** Full diff every this many seconds (default 60). */
  fullDiffSeconds?: number;
  /** Continue as new after this long (default 12 h). */
  runHours?: number;
  /** ...or after this many progress signals (default 2000). */
  progressPerRun?: number;
  /** Set by the run itself when it continues as new. */
  carried?: { startedAt: string; runs: number; stats?: SyncStats };
}

export const registrySyncStatusQuery = defineQuery<RegistrySyncStatus>(REGISTRY_SYNC_STATUS_QUERY);
export const registrySyncStopSignal = defineSignal<[{ by?: string; reason?: string }?]>(REGISTRY_SYNC_STOP_SIGNAL);
export const registrySyncProgressSignal = defineSignal<[SyncStats]>(REGISTRY_SYNC_PROGRESS_SIGNAL);

export async function registrySync(input: RegistrySyncInput): Promise<RegistrySyncStatus> {
  const src = await resolveCluster(input.source ?? {});
  const standby = src.spec.standby;
  if (!input.target && !standby) throw ApplicationFailure.nonRetryable(`cluster spec ${src.spec.name} names no standby: give the target cluster`, 'InvalidInput');
  const dst = await resolveCluster(input.target ?? { cluster: standby });
  let plan: SyncPlan;
  try {
    plan = syncPlan(src.spec, dst.spec, input.prefix);
  } catch (e) {
    if (e instanceof SyncPlanError) throw ApplicationFailure.nonRetryable(e.message, 'InvalidInput');
    throw e;
  }
  const runHours = Math.max(0.001, input.runHours ?? 12);
  const progressPerRun = Math.max(1, Math.floor(input.progressPerRun ?? 2000));
  const startedAt = input.carried?.startedAt ?? new Date().toISOString();
  const runs = (input.carried?.runs ?? 0) + 1;
  let stats = input.carried?.stats;
  let statsAt = Date.now();
  let progress = 0;
  let state: RegistrySyncStatus['state'] = 'starting';
  let stop: RegistrySyncStatus['stop'];

  setHandler(registrySyncStatusQuery, () => ({
    syncId: plan.syncId,
    source: src.spec.name,
    target: dst.spec.name,
    mappings: plan.mappings,
    ephemerals: input.ephemerals ?? 'held',
    state,
    startedAt,
    runs,
    ...(stats ? { stats, statsAgeMs: Date.now() - statsAt } : {}),
    ...(stop ? { stop } : {}),
  }));
  setHandler(registrySyncStopSignal, (s) => {
    stop ??= { by: s?.by ?? 'unknown', ...(s?.reason ? { reason: s.reason } : {}), at: new Date().toISOString() };
    if (state !== 'stopped') state = 'stopping';
  });
  setHandler(registrySyncProgressSignal, (s) => {
    stats = s;
    statsAt = Date.now();
    progress++;
    if (state === 'starting') state = 'running';
  });

  // A service: an unreachable ensemble is retried until it is back (visible in the activity's last
  // failure); a bad plan (InvalidInput) fails at once.
  const syncing = proxyActivities<LifeboatActivities>({
    startToCloseTimeout: `${Math.ceil(runHours * 60) + 60} minutes`,
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

  let ended = false;
  const scope = new CancellationScope();
  const running = scope
    .run(() =>
      syncing.registrySyncActivity({
        source: src.spec,
        target: dst.spec,
        ...(input.prefix !== undefined ? { prefix: input.prefix } : {}),
        ephemerals: input.ephemerals ?? 'held',
        ...(input.twoWay ? { twoWay: true } : {}),
        ...(input.debounceMs !== undefined ? { debounceMs: input.debounceMs } : {}),
        ...(input.fullDiffSeconds !== undefined ? { fullDiffSeconds: input.fullDiffSeconds } : {}),
        until: Date.now() + runHours * 3_600_000,
      }),
    )
    .then(
      (s) => {
        stats = s;
        statsAt = Date.now();
      },
      (e: unknown) => {
        if (!isCancellation(e)) throw e;
      },
    )
    .finally(() => {
      ended = true;
    });

  await condition(() => ended || stop !== undefined || progress >= progressPerRun);
  if (!ended) {
    scope.cancel();
  }
  await running;
  if (stop) {
    state = 'stopped';
    if (stats) stats = { ...stats, state: 'stopped' };
    return { syncId: plan.syncId, source: src.spec.name, target: dst.spec.name, mappings: plan.mappings, ephemerals: input.ephemerals ?? 'held', state, startedAt, runs, ...(stats ? { stats } : {}), stop };
  }
  return continueAsNew<typeof registrySync>({
    ...input,
    source: { spec: src.spec, specSource: src.source },
    target: { spec: dst.spec, specSource: dst.source },
    carried: { startedAt, runs, ...(stats ? { stats } : {}) },
  });
}
