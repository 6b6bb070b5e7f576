import type { ClusterSpec } from '../../config/spec';
import type { DiskPartitions, PartitionOffset } from './types';

export async function partitionEndsFromDisk(_s: ClusterSpec, _b: number[], _t: string[], _o: { from?: PartitionOffset[]; cuts?: PartitionOffset[]; signal?: AbortSignal }): Promise<DiskPartitions> {
  throw new Error('not built yet');
}
