import type { ClusterSpec } from '../../config/spec';
import type { PrimaryFence } from './types';

export async function fencePrimary(_s: ClusterSpec, _t: string[], _o: { dryRun?: boolean }): Promise<PrimaryFence> {
  throw new Error('not built yet');
}
export async function unfencePrimary(_s: ClusterSpec, _f: PrimaryFence): Promise<void> {
  throw new Error('not built yet');
}
