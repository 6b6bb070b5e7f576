/**
 * Every activity the worker registers. Workflows import this module as a *type* only
 * (`import type * as activities from '../activities'`).
 */
export { produceConsumeProbeActivity } from './verify';
export { startBrokerActivity } from './brokers';
export { clusterHealthActivity, brokerPartitionsActivity, waitForIsrActivity, preferredLeaderElectionActivity } from './cluster';
export { backupPartActivity, retentionActivity, copyOffsiteActivity, listBackupSetsActivity } from './backup';
export {
  chooseBackupSetActivity,
  stopBrokerActivity,
  restoreZookeeperActivity,
  restoreConfigsActivity,
  restoreLogDirsActivity,
  waitForServingActivity,
  verifyAgainstSetActivity,
  brokerDiskStateActivity,
  verifyBaselineActivity,
  recoverRegistryActivity,
  restoreTopicsFromSetActivity,
} from './recovery';
