import type { ClusterSpec } from '../../config/spec';
import type { DiskGroups } from './types';

export async function groupOffsetsFromDisk(_s: ClusterSpec, _b: number[], _g: string[], _o: { topics?: string[]; offsetsPartitions?: number; signal?: AbortSignal }): Promise<DiskGroups> {
  throw new Error('not built yet');
}
