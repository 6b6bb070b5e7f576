/** Backup-set vocabulary shared by workflows and activities (pure: no I/O). */
import type { ClusterSpec } from '../config/spec';
import type { RunReport } from '../report/report.pure';

export type BackupTier = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'manual';
export const TIERS: BackupTier[] = ['hourly', 'daily', 'weekly', 'monthly', 'manual'];

/** zookeeper, kafka-metadata, topics, baseline, registry, configs:<broker id>, logdirs:<broker id> */
export const PART_PATTERN = /^(zookeeper|kafka-metadata|topics|baseline|registry|configs:\d+|logdirs:\d+)$/;

/** A backup set's id: its workflow run's id, without dashes, its first 16 hex digits (retention asks Temporal which run). */
export const backupSetIdOf = (runId: string): string => runId.replace(/-/g, '').slice(0, 16);

/** The set an offline migration's run writes its source's parts to (retention asks Temporal which runs go on). */
export const offlineMigrationSetIdOf = (runId: string): string => `offline-${backupSetIdOf(runId)}`;

export const brokerOfPart = (part: string): number | undefined => (part.includes(':') ? Number(part.split(':')[1]) : undefined);

/** The parts a spec's full backup has: state, then every broker's configs and log dirs. */
export function defaultParts(spec: ClusterSpec, opts: { logdirs?: boolean; topics?: boolean } = {}): string[] {
  const parts: string[] = [];
  if (spec.zookeeper) parts.push('zookeeper');
  parts.push('kafka-metadata');
  if (spec.registry && spec.zookeeper) parts.push('registry');
  for (const b of spec.brokers) parts.push(`configs:${b.id}`);
  if (opts.logdirs ?? true) for (const b of spec.brokers) parts.push(`logdirs:${b.id}`);
  if (opts.topics) parts.push('topics');
  // Last: it fingerprints what the log-dir copies hold, for the recovery's verification.
  parts.push('baseline');
  return parts;
}

/** Parts that are malformed or name a broker the spec does not have. */
export function invalidParts(spec: ClusterSpec, parts: string[]): string[] {
  return parts.filter((p) => {
    const b = brokerOfPart(p);
    return !PART_PATTERN.test(p) || (b !== undefined && !spec.brokers.some((x) => x.id === b));
  });
}

export interface BackupInput {
  spec: ClusterSpec;
  tier?: BackupTier;
  /** Default: zookeeper, kafka-metadata, configs:<id> and logdirs:<id> of every broker. */
  parts?: string[];
  /** ZooKeeper and topics parts build on the newest earlier snapshot (log dirs dedupe anyway). */
  incremental?: boolean;
  logdirMode?: 'hot' | 'cold';
  /** Topics of the logical `topics` part (default: all but internal and disposable). */
  topics?: string[];
  /** Skip retention and the off-site copy (e.g. a drill's one-off backup). */
  skipRetention?: boolean;
  skipOffsite?: boolean;
  dryRun?: boolean;
}

export interface BackupResult {
  setId: string;
  tier: BackupTier;
  parts: { part: string; snapshot: string; bytes: number; newBytes: number; reused: boolean; summary: string }[];
  /** The point the set represents: the start of its first part. */
  time?: string;
  report: RunReport;
}
