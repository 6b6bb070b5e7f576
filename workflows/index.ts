/** The worker's workflow bundle entry: every workflow Lifeboat registers. */
export { clusterProbe } from './probe';
export { brokerRecovery } from './brokerRecovery';
export { backup } from './backup';
export { fullClusterRecovery, restoreState, restoreData, verifyCluster } from './recovery';
export { mirror } from './mirror';
export { migration, offlineMigration } from './migration';
export { failover } from './failover';
export { failback } from './failback';
export { promotion } from './promotion';
export { registrySync } from './registrySync';
export { backupMonitor } from './backupMonitor';
export { drill } from './drill';
