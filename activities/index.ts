/**
 * Every activity the worker registers, built from the worker's dependencies as Temporal's samples do:
 * `createActivities(deps)` (deps.ts). Each area's factory returns its activities; all of them pass
 * one boundary (errors.ts): the spec in the input validated, the worker's repository sessions in
 * scope, domain errors mapped to Temporal failures. Workflows import only the type:
 * `proxyActivities<LifeboatActivities>(…)` with `import type { LifeboatActivities } from '../activities'`.
 */
import { backupActivities } from './backup';
import { brokerActivities } from './brokers';
import { clusterActivities } from './cluster';
import type { ActivityDeps } from './deps';
import { allAtBoundary } from './errors';
import { drillControlActivities } from './drillControl';
import { drillFailoverActivities } from './drillFailover';
import { drillFaultActivities } from './drillFaults';
import { drillMeasureActivities } from './drillMeasure';
import { drillRecordActivities } from './drillRecords';
import { failbackActivities } from './failback';
import { failoverActivities } from './failover';
import { failoverDataActivities } from './failoverData';
import { promotionActivities } from './promotion';
import { migrationActivities } from './migration';
import { mirrorActivities } from './mirror';
import { monitoringActivities } from './monitoring';
import { offlineMigrationActivities } from './offlineMigration';
import { recoveryActivities } from './recovery';
import { registryOpsActivities } from './registryOps';
import { specActivities } from './specs';
import { verifyActivities } from './verify';

export { activityDeps, type ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return allAtBoundary(
    {
      ...specActivities(deps),
      ...verifyActivities(deps),
      ...brokerActivities(deps),
      ...clusterActivities(deps),
      ...backupActivities(deps),
      ...recoveryActivities(deps),
      ...mirrorActivities(deps),
      ...migrationActivities(deps),
      ...offlineMigrationActivities(deps),
      ...failoverActivities(deps),
      ...failoverDataActivities(deps),
      ...promotionActivities(deps),
      ...registryOpsActivities(deps),
      ...failbackActivities(deps),
      ...monitoringActivities(deps),
      ...drillControlActivities(deps),
      ...drillFaultActivities(deps),
      ...drillMeasureActivities(deps),
      ...drillRecordActivities(deps),
      ...drillFailoverActivities(deps),
    },
    deps,
  );
}

export type LifeboatActivities = ReturnType<typeof createActivities>;
