/** The worker's workflow bundle entry: every workflow Lifeboat registers. */
export { clusterProbe } from './probe';
export { brokerRecovery } from './brokerRecovery';
export { backup } from './backup';
export { fullClusterRecovery, restoreState, restoreData, verifyCluster } from './recovery';
export { mirror } from './mirror';
export { migration, offlineMigration } from './migration';
export { failover } from './failover';
export { failback } from './failback';
// The promotion hold and the drill lock: the same workflow under the types their IDs are started with.
export { hold as promotion, hold as drillLock } from './hold';
export { registrySync } from './registrySync';
export { backupMonitor } from './backupMonitor';
export { drill } from './drill';
