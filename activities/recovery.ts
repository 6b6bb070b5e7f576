/** Full-cluster recovery activities: thin wrappers over src/recovery (heartbeats, error mapping). */
import { heartbeat } from '@temporalio/activity';
import type { SetRequirement } from '../src/backup/coverage.pure';
import type { VerifyData } from '../src/backup/coverageData';
import type { BackupSet } from '../src/backup/parts';
import type { ClusterSpec } from '../src/config/spec';
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
import { checkedSpec, mapped } from './errors';
import { withHeartbeat } from './heartbeat';

export async function chooseBackupSetActivity(input: {
  spec: ClusterSpec;
  setId?: string;
  exclude?: string[];
  /** What the set must cover (default: a full recovery of the cluster). */
  require?: SetRequirement;
  /** How much of the log-dir and topics data to read before choosing (default: a sample). */
  verifyData?: VerifyData;
}): Promise<ChosenSet> {
  return mapped(() =>
    withHeartbeat({ step: 'choose-set' }, (beat) =>
      chooseBackupSet(checkedSpec(input.spec), { setId: input.setId, exclude: input.exclude, require: input.require, verifyData: input.verifyData, onProgress: (m) => beat({ step: 'choose-set', m }) }),
    ),
  );
}

export async function stopBrokerActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<{ wasRunning: boolean }> {
  return mapped(() => withHeartbeat({ step: 'stop', broker: input.brokerId }, () => stopBrokerAndWait(checkedSpec(input.spec), input.brokerId)));
}

export async function restoreZookeeperActivity(input: { spec: ClusterSpec; snapshotId: string; mode?: RestoreMode }): Promise<ZkRestoreResult> {
  return mapped(() =>
    withHeartbeat({ step: 'restore-zookeeper' }, (beat) =>
      restoreZookeeper(checkedSpec(input.spec), input.snapshotId, { mode: input.mode, onProgress: (done, total) => beat({ step: 'restore-zookeeper', done, total }) }),
    ),
  );
}

export async function restoreConfigsActivity(input: { spec: ClusterSpec; brokerId: number; snapshotId: string }): Promise<ConfigRestoreResult> {
  return mapped(() => withHeartbeat({ step: 'restore-configs', broker: input.brokerId }, () => restoreConfigs(checkedSpec(input.spec), input.brokerId, input.snapshotId)));
}

export async function restoreLogDirsActivity(input: { spec: ClusterSpec; brokerId: number; snapshotId: string }): Promise<LogDirRestoreResult> {
  return mapped(() =>
    withHeartbeat({ step: 'restore-logdirs', broker: input.brokerId }, (beat) =>
      restoreBrokerLogDirs(checkedSpec(input.spec), input.brokerId, input.snapshotId, { onProgress: (p) => beat({ step: 'restore-logdirs', broker: input.brokerId, ...p }) }),
    ),
  );
}

export async function waitForServingActivity(input: { spec: ClusterSpec; timeoutMs?: number }): Promise<{ brokers: number[]; partitions: number }> {
  return mapped(() => waitForServing(checkedSpec(input.spec), { timeoutMs: input.timeoutMs, onProgress: (p) => heartbeat(p) }));
}

export async function verifyAgainstSetActivity(input: { spec: ClusterSpec; set: BackupSet; groupsTranslated?: boolean }): Promise<DataCheck[]> {
  return mapped(() => withHeartbeat({ step: 'verify' }, () => verifyAgainstSet(checkedSpec(input.spec), input.set, { groupsTranslated: input.groupsTranslated })));
}

export async function brokerDiskStateActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<BrokerDiskState> {
  return mapped(() => brokerDiskState(checkedSpec(input.spec), input.brokerId));
}

export async function verifyBaselineActivity(input: { spec: ClusterSpec; set: BackupSet }): Promise<{ checks: DataCheck[]; problems: string[] }> {
  return mapped(() => withHeartbeat({ step: 'verify-baseline' }, (beat) => verifyBaseline(checkedSpec(input.spec), input.set, (topic) => beat({ step: 'verify-baseline', topic }))));
}

export async function recoverRegistryActivity(input: { spec: ClusterSpec; snapshotId: string; fallbackDir?: string }): Promise<RegistryRecovery> {
  return mapped(() => withHeartbeat({ step: 'restore-registry' }, () => recoverRegistry(checkedSpec(input.spec), input.snapshotId, { fallbackDir: input.fallbackDir })));
}

export async function restoreTopicsFromSetActivity(input: { spec: ClusterSpec; set: BackupSet }): Promise<LogicalRestoreResult> {
  return mapped(() =>
    withHeartbeat({ step: 'restore-topics' }, (beat) =>
      restoreTopicsFromSet(checkedSpec(input.spec), input.set, { onProgress: (p) => beat({ step: 'restore-topics', topic: p.target, records: p.totalRecords }) }),
    ),
  );
}
