/**
 * The off-site registry sync's shared vocabulary (pure: the workflow imports it): names, mappings
 * from source paths to destination paths, the safety rule that a sync never writes onto what it
 * reads, and the stats and status it reports.
 */

import type { ClusterSpec } from '../config/spec';

export const REGISTRY_SYNC_WORKFLOW = 'registrySync';
export const REGISTRY_SYNC_STATUS_QUERY = 'registrySyncStatus';
export const REGISTRY_SYNC_STOP_SIGNAL = 'registrySyncStop';
/** Sent by the running sync activity to its workflow: its newest stats (the status query's lag). */
export const REGISTRY_SYNC_PROGRESS_SIGNAL = 'registrySyncProgress';

/** The workflow ID (and the sync's id, which names its ledger): one sync per direction of a pair. */
export const registrySyncId = (source: string, target: string): string => `registry-sync-${source}-to-${target}`;

/** Where the destination copy goes when both sides share one ensemble (the lab): never the source paths. */
export const DEFAULT_SAME_ENSEMBLE_PREFIX = '/offsite';

export type EphemeralMode = 'held' | 'persistent';

export interface SyncMapping {
  /** Absolute source path (a registry root). */
  from: string;
  /** Absolute destination path. */
  to: string;
}

/** The servers of a connect string, normalized ("h:2181,h2/chroot" → ["h2:2181", "h:2181"]) plus its chroot. */
export function ensembleOf(connect: string): { servers: string[]; chroot: string } {
  const slash = connect.indexOf('/');
  const hosts = slash >= 0 ? connect.slice(0, slash) : connect;
  const servers = hosts
    .split(',')
    .filter(Boolean)
    .map((s) => (s.includes(':') ? s : `${s}:2181`).toLowerCase().replace(/^localhost:/, '127.0.0.1:'))
    .sort();
  return { servers, chroot: slash >= 0 ? connect.slice(slash).replace(/\/+$/, '') : '' };
}

/** Two connect strings reach the same ensemble when they share a server. */
export function sameEnsemble(a: string, b: string): boolean {
  const x = ensembleOf(a).servers;
  return ensembleOf(b).servers.some((s) => x.includes(s));
}

const within = (a: string, b: string): boolean => a === b || b === '/' || a.startsWith(`${b}/`);

/** `prefix` + each root ("/offsite" + "/services"); an empty prefix keeps the paths. */
export function prefixedMappings(roots: string[], prefix: string): SyncMapping[] {
  const p = prefix.replace(/\/+$/, '');
  return roots.map((from) => ({ from, to: `${p}${from}` }));
}

/**
 * Why these mappings are unsafe, or undefined: absolute paths, and on one ensemble no destination
 * inside (or around) any source, and the reverse: a sync must never write onto what it reads.
 */
export function mappingProblem(mappings: SyncMapping[], oneEnsemble: boolean): string | undefined {
  if (!mappings.length) return 'nothing to sync: the source spec names no registry root (registry.curator, registry.dubbo)';
  const abs = /^(\/[^/\s]+)+$/;
  for (const m of mappings) {
    if (!abs.test(m.from) || !abs.test(m.to)) return `"${m.from}" → "${m.to}": paths must be absolute ZooKeeper paths, not the root`;
  }
  if (!oneEnsemble) return undefined;
  for (const m of mappings) {
    for (const n of mappings) {
      if (within(m.to, n.from) || within(n.from, m.to)) {
        return `destination ${m.to} overlaps source ${n.from} on the same ZooKeeper ensemble: give a destination prefix (e.g. ${DEFAULT_SAME_ENSEMBLE_PREFIX})`;
      }
    }
  }
  return undefined;
}

/** The destination path of a source path, or undefined when no mapping covers it. */
export function mapPath(mappings: SyncMapping[], path: string): { mapping: SyncMapping; to: string } | undefined {
  for (const m of mappings) if (within(path, m.from)) return { mapping: m, to: `${m.to}${path.slice(m.from.length)}` };
  return undefined;
}

export interface SyncStats {
  startedAt: string;
  state: 'starting' | 'full-diff' | 'watching' | 'source-missing' | 'stopped';
  /** Source notifications received (before coalescing). */
  eventsSeen: number;
  /** Destination writes (creates + updates + deletes). */
  changesApplied: number;
  creates: number;
  updates: number;
  deletes: number;
  /** Changes the other direction of a two-way sync wrote: not sent back. */
  echoesSkipped: number;
  batches: number;
  fullDiffs: number;
  lastFullDiffAt?: string;
  /** Writes the last full diff needed (what the watches had missed, or the start's catch-up). */
  lastFullDiffRepairs?: number;
  lastFullDiffMs?: number;
  /** Age of the oldest source change not applied yet (0 when caught up), as of `at`. */
  lagMs: number;
  /** Source change → destination write, the slowest of the last batch. */
  lastBatchLagMs?: number;
  lastAppliedAt?: string;
  pending: number;
  /** Whether the source uses a persistent recursive watch (ZooKeeper 3.6+) or only full diffs. */
  watch: 'recursive' | 'full-diff-only';
  at: string;
}

export interface RegistrySyncStatus {
  syncId: string;
  source: string;
  target: string;
  mappings: SyncMapping[];
  ephemerals: EphemeralMode;
  state: 'starting' | 'running' | 'stopping' | 'stopped';
  startedAt: string;
  /** Runs so far (continue-as-new). */
  runs: number;
  /** The running activity's newest stats (its progress signal), with the lag as of that moment. */
  stats?: SyncStats;
  /** Seconds since those stats were sent (the query's answer ages). */
  statsAgeMs?: number;
  stop?: { by: string; reason?: string; at: string };
}

export function statsText(s: SyncStats): string {
  return (
    `${s.state}, lag ${s.lagMs} ms (${s.pending} pending), ${s.changesApplied} writes (${s.creates} created, ${s.updates} updated, ${s.deletes} deleted) ` +
    `from ${s.eventsSeen} source changes in ${s.batches} batches, ${s.echoesSkipped} echoes skipped; ` +
    `${s.fullDiffs} full diffs${s.lastFullDiffAt ? ` (last ${s.lastFullDiffAt}: ${s.lastFullDiffRepairs ?? 0} repairs in ${s.lastFullDiffMs ?? 0} ms)` : ''}; watch: ${s.watch}`
  );
}

export interface SyncPlan {
  syncId: string;
  /** The opposite direction's id: its writes on this sync's source are echoes. */
  peerId: string;
  mappings: SyncMapping[];
  prefix: string;
  sameEnsemble: boolean;
}

/**
 * What a sync from `source`'s registry to `target`'s ZooKeeper writes where: each registry root under
 * `prefix` on the target's ensemble (default: none across ensembles, /offsite on a shared one).
 * Throws one line when it cannot be done safely.
 */
export function syncPlan(source: ClusterSpec, target: ClusterSpec, prefix?: string): SyncPlan {
  const from = source.zookeeper?.connect;
  const to = target.zookeeper?.connect;
  if (!from) throw new SyncPlanError(`cluster spec ${source.name} has no zookeeper section: no registry to sync`);
  if (!to) throw new SyncPlanError(`cluster spec ${target.name} has no zookeeper section: nowhere to sync the registry to`);
  const roots = [source.registry?.curator, source.registry?.dubbo].filter((r): r is string => typeof r === 'string');
  const same = sameEnsemble(from, to);
  const p = prefix ?? (same ? DEFAULT_SAME_ENSEMBLE_PREFIX : '');
  if (p && !/^(\/[^/\s]+)+$/.test(p)) throw new SyncPlanError(`destination prefix "${p}" is not an absolute ZooKeeper path such as ${DEFAULT_SAME_ENSEMBLE_PREFIX}`);
  const mappings = prefixedMappings(roots, p);
  const bad = mappingProblem(mappings, same);
  if (bad) throw new SyncPlanError(`registry sync ${source.name} → ${target.name}: ${bad}`);
  return { syncId: registrySyncId(source.name, target.name), peerId: registrySyncId(target.name, source.name), mappings, prefix: p, sameEnsemble: same };
}

/** A plan that cannot be carried out (the workflow maps it to a non-retryable InvalidInput). */
export class SyncPlanError extends Error {
  readonly type = 'InvalidInput';
}
