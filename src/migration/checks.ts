/** Pre-checks of an online migration (read only). */
import type { ClusterSpec } from '../config/spec';

export interface MigrationSelection { topics?: string[]; pattern?: string }
export interface Check { name: string; ok: boolean; detail: string }
export interface PrecheckResult {
  checks: Check[];
  problems: string[];
  topics: { topic: string; partitions: number; records: number; bytes: number }[];
  groups: string[];
  sourceClusterId: string;
  targetClusterId: string;
}

export async function migrationPrechecks(_source: ClusterSpec, _target: ClusterSpec, _sel: MigrationSelection, _opts: { signal?: AbortSignal } = {}): Promise<PrecheckResult> {
  throw new Error('not yet');
}
