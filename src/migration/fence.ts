/** The write fence on a migration's source. */
import type { ClusterSpec } from '../config/spec';

export interface AclEntry { resourceType: 'TOPIC'; resourceName: string; patternType: 'LITERAL'; principal: string; host: string; operation: string; permission: 'ALLOW' | 'DENY' }
export interface FenceRecord { cluster: string; topics: string[]; acls: AclEntry[]; at: string }

export async function fenceWrites(_source: ClusterSpec, _topics: string[], _opts: { dryRun?: boolean } = {}): Promise<FenceRecord> {
  throw new Error('not yet');
}

export async function unfenceWrites(_source: ClusterSpec, _fence: FenceRecord): Promise<void> {
  throw new Error('not yet');
}

export async function awaitFence(_source: ClusterSpec, _fence: FenceRecord, _opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  throw new Error('not yet');
}
