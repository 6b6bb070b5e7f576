// The mirror engine: copies record batches from a source cluster to a target cluster with exact offsets,
// keeping its durable state on the target. (Stub: the contract's signatures; the engine follows.)
import type { ClusterSpec } from '../../config/spec';

export interface MirrorSelection { topics?: string[]; pattern?: string }
export interface MirrorTopicPlan { topic: string; partitions: number; configs: Record<string, string>; action: 'create' | 'exists' | 'add-partitions' }
export interface ShardWork { topic: string; partitions: number[] }
export interface PartitionPosition {
  topic: string; partition: number;
  /** Next source offset to copy. */ next: number;
  /** Source end (last stable offset) seen at the last read. */ sourceEnd: number;
  /** 'identical': every copied record has its source offset on the target; 'mapped': an exact per-batch offset map holds. */
  mode: 'identical' | 'mapped';
  records: number; bytes: number;
  /** Time of the newest copied record (ms), for lag in seconds. */ lastTimestamp?: number;
}
export interface ShardResult { positions: PartitionPosition[]; caughtUp: boolean }

export function planMirror(_source: ClusterSpec, _target: ClusterSpec, _sel: MirrorSelection,
  _opts?: { dryRun?: boolean; signal?: AbortSignal }): Promise<MirrorTopicPlan[]> {
  return Promise.reject(new Error('planMirror: not yet'));
}
export function mirrorShard(_source: ClusterSpec, _target: ClusterSpec, _pair: string, _work: ShardWork,
  _opts: { until: 'caught-up' | number; signal?: AbortSignal; onProgress?: (p: PartitionPosition[]) => void }): Promise<ShardResult> {
  return Promise.reject(new Error('mirrorShard: not yet'));
}
export function mirrorPositions(_source: ClusterSpec, _target: ClusterSpec, _pair: string, _work?: ShardWork[]): Promise<PartitionPosition[]> {
  return Promise.reject(new Error('mirrorPositions: not yet'));
}
export function translateMirroredOffset(_target: ClusterSpec, _pair: string, _topic: string, _partition: number,
  _sourceOffset: number): Promise<number | undefined> {
  return Promise.reject(new Error('translateMirroredOffset: not yet'));
}
