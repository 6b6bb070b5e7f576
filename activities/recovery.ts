/** Recovery activities: thin wrappers over src/recovery (typed progress heartbeats; the boundary maps errors). */
import type { SetRequirement } from '../src/backup/coverage.pure';
import type { VerifyData } from '../src/backup/coverageData';
import type { BackupSet } from '../src/backup/parts';
import type { ClusterSpec } from '../src/config/spec';
import type { BrokerDisk } from '../src/recovery/adopt.pure';
import { type AdoptResult, adoptTopics, readDiskTopics } from '../src/recovery/adopt';
import { type BrokerDiskState, brokerDiskState, stopBrokerAndWait } from '../src/recovery/brokers';
import { type ChosenSet, chooseBackupSet } from '../src/recovery/choose';
import { type LogDirRestoreResult, restoreBrokerLogDirs } from '../src/recovery/data';
import { waitForServing } from '../src/recovery/serving';
import { type ConfigRestoreResult, restoreConfigs, restoreZookeeper, type ZkRestoreResult } from '../src/recovery/state';
import { verifyAgainstSet, verifyBaseline } from '../src/recovery/verify';
import type { DataCheck } from '../src/report/report.pure';
import type { RestoreMode } from '../src/zookeeper/restore';
import { type RegistryRecovery, recoverRegistry } from '../src/recovery/registry';
import { type LogicalRestoreResult, restoreTopicsFromSet } from '../src/recovery/logical';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

const broker = (id: number) => `broker ${id}`;

/** The repositories these steps open (through src/recovery's withRepo) come from the worker's sessions: see errors.ts. */
export function recoveryActivities(_deps: ActivityDeps) {
  return {
    async chooseBackupSetActivity(input: {
      spec: ClusterSpec;
      setId?: string;
      exclude?: string[];
      /** What the set must cover (default: a full recovery of the cluster). */
      require?: SetRequirement;
      /** How much of the log-dir and topics data to read before choosing (default: a sample). */
      verifyData?: VerifyData;
    }): Promise<ChosenSet> {
      const phase = 'choose-set';
      return withHeartbeat({ phase }, (beat) =>
        chooseBackupSet(input.spec, { setId: input.setId, exclude: input.exclude, require: input.require, verifyData: input.verifyData, onProgress: (m) => beat({ phase, subject: m }) }),
      );
    },

    async stopBrokerActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<{ wasRunning: boolean }> {
      return withHeartbeat({ phase: 'stop broker', subject: broker(input.brokerId) }, (_beat, signal) => stopBrokerAndWait(input.spec, input.brokerId, { signal }));
    },

    async restoreZookeeperActivity(input: { spec: ClusterSpec; snapshotId: string; mode?: RestoreMode }): Promise<ZkRestoreResult> {
      const phase = 'restore-zookeeper';
      return withHeartbeat({ phase, unit: 'znodes' }, (beat) =>
        restoreZookeeper(input.spec, input.snapshotId, { mode: input.mode, onProgress: (done, total) => beat({ phase, done, total, unit: 'znodes' }) }),
      );
    },

    async restoreConfigsActivity(input: { spec: ClusterSpec; brokerId: number; snapshotId: string }): Promise<ConfigRestoreResult> {
      return withHeartbeat({ phase: 'restore-configs', subject: broker(input.brokerId) }, () => restoreConfigs(input.spec, input.brokerId, input.snapshotId));
    },

    async restoreLogDirsActivity(input: { spec: ClusterSpec; brokerId: number; snapshotId: string }): Promise<LogDirRestoreResult> {
      const phase = 'restore-logdirs';
      const subject = broker(input.brokerId);
      return withHeartbeat({ phase, subject, unit: 'bytes' }, (beat) =>
        restoreBrokerLogDirs(input.spec, input.brokerId, input.snapshotId, { onProgress: (p) => beat({ phase, subject, done: p.bytes, unit: 'bytes' }) }),
      );
    },

    async waitForServingActivity(input: { spec: ClusterSpec; timeoutMs?: number }): Promise<{ brokers: number[]; partitions: number }> {
      const phase = 'wait for serving';
      return withHeartbeat({ phase }, (beat, signal) =>
        waitForServing(input.spec, {
          timeoutMs: input.timeoutMs,
          signal,
          onProgress: (p) => beat({ phase, done: p.brokers.length, total: input.spec.brokers.length, unit: 'brokers', subject: `${p.offline} partitions offline` }),
        }),
      );
    },

    async verifyAgainstSetActivity(input: { spec: ClusterSpec; set: BackupSet; groupsTranslated?: boolean }): Promise<DataCheck[]> {
      return withHeartbeat({ phase: 'verify' }, (_beat, signal) => verifyAgainstSet(input.spec, input.set, { groupsTranslated: input.groupsTranslated, signal }));
    },

    /** On the broker's host: the partition directories of its log dirs (topic id, newest leader epoch). */
    async readDiskTopicsActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<BrokerDisk> {
      return withHeartbeat({ phase: 'adopt-topics', subject: broker(input.brokerId) }, () => readDiskTopics(input.spec, input.brokerId));
    },

    /** The disks' topics that the restored ZooKeeper lacks, registered again (brokers stopped). */
    async adoptTopicsActivity(input: { spec: ClusterSpec; disks: BrokerDisk[] }): Promise<AdoptResult> {
      return withHeartbeat({ phase: 'adopt-topics' }, () => adoptTopics(input.spec, input.disks));
    },

    async brokerDiskStateActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<BrokerDiskState> {
      return brokerDiskState(input.spec, input.brokerId);
    },

    async verifyBaselineActivity(input: { spec: ClusterSpec; set: BackupSet }): Promise<{ checks: DataCheck[]; problems: string[] }> {
      const phase = 'verify-baseline';
      let done = 0;
      return withHeartbeat({ phase, unit: 'topics' }, (beat) => verifyBaseline(input.spec, input.set, (topic) => beat({ phase, done: done++, unit: 'topics', subject: topic })));
    },

    async recoverRegistryActivity(input: { spec: ClusterSpec; snapshotId: string; fallbackDir?: string }): Promise<RegistryRecovery> {
      return withHeartbeat({ phase: 'restore-registry' }, () => recoverRegistry(input.spec, input.snapshotId, { fallbackDir: input.fallbackDir }));
    },

    async restoreTopicsFromSetActivity(input: { spec: ClusterSpec; set: BackupSet }): Promise<LogicalRestoreResult> {
      const phase = 'restore-topics';
      return withHeartbeat({ phase, unit: 'records' }, (beat) =>
        restoreTopicsFromSet(input.spec, input.set, { onProgress: (p) => beat({ phase, done: p.totalRecords, unit: 'records', subject: p.target }) }),
      );
    },
  };
}
