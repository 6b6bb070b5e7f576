/** Recovery from backup sets: the full-cluster parent and the children it (and others) run. */
export { fullClusterRecovery, type FullClusterRecoveryInput } from './fullClusterRecovery';
export { restoreState, type RestoreStateInput } from './restoreState';
export { restoreData, type RestoreDataInput } from './restoreData';
export { verifyCluster, type VerifyClusterInput } from './verifyCluster';
