/**
 * Offline migration activities: thin wrappers over src/migration/offline (typed progress
 * heartbeats; the boundary maps errors). The host ones run on a broker's host queue. Each is
 * idempotent: the plan and capture only read, the restore resumes (a marker lists what it created),
 * the metadata write and the group commit set the same values again.
 */
import type { ClusterSpec } from '../src/config/spec';
import {
  captureSource,
  commitCapturedOffsets,
  type CopyPlan,
  logDirBytes,
  type OfflinePlan,
  type PartitionCopy,
  planCopies,
  planOfflineMigration,
  restoreMigratedPartitions,
  type SourceCapture,
  type TargetRestoreResult,
  verifyTarget,
  writeTargetMetadata,
} from '../src/migration/offline';
import type { BrokerMap } from '../src/migration/offline/plan.pure';
import type { DataCheck } from '../src/report/report.pure';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';
import { checkedSpec } from './errors';

export function offlineMigrationActivities(_deps: ActivityDeps) {
  return {
    async offlinePlanActivity(input: { source: ClusterSpec; target: ClusterSpec; brokerMap?: BrokerMap }): Promise<OfflinePlan> {
      const [source, target] = [checkedSpec(input.source), checkedSpec(input.target)];
      return withHeartbeat({ phase: 'plan', subject: `${source.name} → ${target.name}` }, () => planOfflineMigration(source, target, { brokerMap: input.brokerMap }));
    },

    /** On the broker's host: bytes of its partition directories. */
    async logDirBytesActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<{ brokerId: number; bytes: number; partitions: Record<string, number> }> {
      return withHeartbeat({ phase: 'measure log dirs', subject: `broker ${input.brokerId}` }, () => logDirBytes(input.spec, input.brokerId));
    },

    async captureSourceActivity(input: { source: ClusterSpec; topics: string[]; groups: string[] }): Promise<SourceCapture> {
      const source = checkedSpec(input.source);
      const phase = 'fingerprint source';
      let done = 0;
      return withHeartbeat({ phase, total: input.topics.length, unit: 'topics' }, (beat, signal) =>
        captureSource(source, input.topics, input.groups, { signal, onProgress: (topic) => beat({ phase, done: done++, total: input.topics.length, unit: 'topics', subject: topic }) }),
      );
    },

    async planCopiesActivity(input: { source: ClusterSpec; setId: string; plan: OfflinePlan }): Promise<CopyPlan> {
      const source = checkedSpec(input.source);
      return withHeartbeat({ phase: 'plan copies', subject: `set ${input.setId}` }, () => planCopies(source, input.setId, input.plan));
    },

    /** On the target broker's host: the partitions it receives, from the source's repository. */
    async restoreMigratedPartitionsActivity(input: {
      source: ClusterSpec;
      target: ClusterSpec;
      brokerId: number;
      migration: { id: string; targetClusterId: string; copies: PartitionCopy[] };
    }): Promise<TargetRestoreResult> {
      const [source, target] = [checkedSpec(input.source), checkedSpec(input.target)];
      const phase = 'restore partitions';
      const subject = `broker ${input.brokerId} of ${target.name}`;
      return withHeartbeat({ phase, subject, unit: 'bytes' }, (beat, signal) =>
        restoreMigratedPartitions(source, target, input.brokerId, input.migration, { signal, onProgress: (p) => beat({ phase, subject, done: p.bytes, unit: 'bytes' }) }),
      );
    },

    async writeTargetMetadataActivity(input: { target: ClusterSpec; plan: OfflinePlan }): Promise<{ topics: number; partitions: number; rewritten: number; keptAcls: string[] }> {
      const target = checkedSpec(input.target);
      return withHeartbeat({ phase: 'write ZooKeeper metadata', subject: target.name }, () => writeTargetMetadata(target, input.plan));
    },

    async commitGroupOffsetsActivity(input: { target: ClusterSpec; capture: SourceCapture }): Promise<{ groups: number; partitions: number }> {
      const target = checkedSpec(input.target);
      return withHeartbeat({ phase: 'commit group offsets', total: input.capture.groups.length, unit: 'groups' }, () => commitCapturedOffsets(target, input.capture.groups));
    },

    async verifyOfflineMigrationActivity(input: { target: ClusterSpec; capture: SourceCapture; ends: Record<string, Record<string, number>> }): Promise<{ checks: DataCheck[]; problems: string[] }> {
      const target = checkedSpec(input.target);
      return withHeartbeat({ phase: 'verify', subject: target.name }, (_beat, signal) => verifyTarget(target, { capture: input.capture, ends: input.ends }, { signal }));
    },
  };
}
