/** Backup-set vocabulary shared by workflows and activities (pure: no I/O). */
import type { ClusterSpec } from '../config/spec';

export type BackupTier = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'manual';
export const TIERS: BackupTier[] = ['hourly', 'daily', 'weekly', 'monthly', 'manual'];

/** zookeeper, kafka-metadata, topics, configs:<broker id>, logdirs:<broker id> */
export const PART_PATTERN = /^(zookeeper|kafka-metadata|topics|configs:\d+|logdirs:\d+)$/;

export const brokerOfPart = (part: string): number | undefined => (part.includes(':') ? Number(part.split(':')[1]) : undefined);

/** The parts a spec's full backup has: state, then every broker's configs and log dirs. */
export function defaultParts(spec: ClusterSpec, opts: { logdirs?: boolean; topics?: boolean } = {}): string[] {
  const parts: string[] = [];
  if (spec.zookeeper) parts.push('zookeeper');
  parts.push('kafka-metadata');
  for (const b of spec.brokers) parts.push(`configs:${b.id}`);
  if (opts.logdirs ?? true) for (const b of spec.brokers) parts.push(`logdirs:${b.id}`);
  if (opts.topics) parts.push('topics');
  return parts;
}

/** Parts that are malformed or name a broker the spec does not have. */
export function invalidParts(spec: ClusterSpec, parts: string[]): string[] {
  return parts.filter((p) => {
    const b = brokerOfPart(p);
    return !PART_PATTERN.test(p) || (b !== undefined && !spec.brokers.some((x) => x.id === b));
  });
}
