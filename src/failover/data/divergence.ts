import type { ClusterSpec } from '../../config/spec';
import type { DiskGroups, DiskPartitions, FailoverDivergence, FailoverGroupMove } from './types';

export async function failoverDivergence(_p: ClusterSpec, _s: ClusterSpec, _o: { topics?: string[]; disk?: DiskPartitions[]; diskGroups?: DiskGroups[]; signal?: AbortSignal }): Promise<FailoverDivergence> {
  throw new Error('not built yet');
}
export async function failoverGroupMoves(_p: ClusterSpec, _s: ClusterSpec, _g: string[], _o: { topics?: string[]; diskGroups?: DiskGroups[]; disk?: DiskPartitions[]; signal?: AbortSignal }): Promise<FailoverGroupMove[]> {
  throw new Error('not built yet');
}
