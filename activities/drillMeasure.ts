/** A drill's measurements (issue 16): the write stream and its read-back (RPO), the independent probe (RTO). Thin: src/drills/stream.ts. */
import type { ClusterSpec } from '../src/config/spec';
import { LifeboatError } from '../src/errors';
import type { StreamLog } from '../src/drills/records';
import type { PartitionEvidence, ZookeeperEvidence } from '../src/drills/types';
import type { ActivityDeps } from './deps';

const notYet = (what: string) => new LifeboatError('InvalidInput', `${what} is not built yet`);

export function drillMeasureActivities(_deps: ActivityDeps) {
  return {
    /** Creates the stream topic if missing (idempotent). */
    async drillStreamTopicActivity(_input: { spec: ClusterSpec; drillId: string; partitions?: number }): Promise<{ topic: string; partitions: number; replicationFactor: number }> {
      throw notYet('drillStreamTopicActivity');
    },
    /**
     * Writes sequence-numbered records (acks=all) and a ZooKeeper node until the drill's workflow
     * answers true to its DRILL_STREAM_STOP_QUERY; heartbeats its acks, resumes from them.
     */
    async drillWriteStreamActivity(_input: { spec: ClusterSpec; drillId: string; topic: string; intervalMs?: number; zookeeper?: boolean }): Promise<StreamLog> {
      throw notYet('drillWriteStreamActivity');
    },
    /** Reads the stream back after recovery: per partition the last ack before the fault and the intact run. */
    async drillReadBackActivity(_input: { spec: ClusterSpec; log: StreamLog; faultAt: string }): Promise<{ partitions: PartitionEvidence[]; zookeeper?: ZookeeperEvidence }> {
      throw notYet('drillReadBackActivity');
    },
    /** One independent probe (produce and consume on a probe topic, and ZooKeeper answers); never throws for a down cluster: green false. */
    async drillProbeActivity(_input: { spec: ClusterSpec; timeoutMs?: number }): Promise<{ green: boolean; at: string; detail: string }> {
      throw notYet('drillProbeActivity');
    },
    /** Deletes the stream topic (the drill's own; after the inventory is compared). */
    async drillDropStreamActivity(_input: { spec: ClusterSpec; topic: string }): Promise<void> {
      throw notYet('drillDropStreamActivity');
    },
  };
}
