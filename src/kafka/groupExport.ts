/**
 * Every consumer group of a cluster with its committed offsets, as the export and a drill's
 * inventory read them.
 */
import type { Admin } from 'kafkajs';
import type { GroupExport } from './metadataTypes';
import { retryTransient } from './admin';
import { listGroupsSteadily } from './groupCoordinators';

/** How long group calls ride out a coordinator that moves or loads (brokers just restarted). */
export const GROUP_RETRY = { timeoutMs: 60_000 };

/** Every group with its committed offsets: the listing while the coordinators hold still (see listGroupsSteadily). */
export async function readGroups(admin: Admin, warnings: string[]): Promise<GroupExport[]> {
  const listing = await listGroupsSteadily(admin, GROUP_RETRY);
  warnings.push(...listing.warnings);
  const { groups } = listing;
  // Group calls go to the group's coordinator, which moves and reloads after a broker restart
  // (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS outlast kafkajs's own retries).
  if (groups.length === 0) return [];
  const ids = groups.map((g) => g.groupId).sort();
  const described = new Map((await retryTransient(() => admin.describeGroups(ids), GROUP_RETRY)).groups.map((g) => [g.groupId, g]));
  const out: GroupExport[] = [];
  for (const groupId of ids) {
    const d = described.get(groupId);
    const committed = await retryTransient(() => admin.fetchOffsets({ groupId }), GROUP_RETRY);
    const offsets = committed
      .flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: String(p.offset), metadata: p.metadata ?? null })))
      .filter((o) => Number(o.offset) >= 0)
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    out.push({ groupId, state: d?.state ?? 'Unknown', protocolType: d?.protocolType ?? groups.find((g) => g.groupId === groupId)!.protocolType, members: d?.members.length ?? 0, offsets });
  }
  return out;
}

