/** A drill's record in the repository, its history and report (issue 16). Thin: src/drills/history.ts, src/drills/report.pure.ts. */
import type { ClusterSpec } from '../src/config/spec';
import { LifeboatError } from '../src/errors';
import type { DrillRecord } from '../src/drills/records';
import { copyDrillRecordsDown, holdsDrillRecords, listDrillRecords, openDrillRecords, saveDrillRecord, type TierCopy } from '../src/drills/history';
import { openRepositoryForSpec } from '../src/repository';
import type { ActivityDeps } from './deps';

export function drillRecordActivities(deps: ActivityDeps) {
  return {
    /**
     * Stores the record (and its Markdown and HTML report) in the cluster's repository, idempotent by
     * drill id, then copies the cluster's drill records down the spec's other tiers (each tier's
     * outcome in `tiers`; a tier that fails is named there, not thrown: the next save catches it up).
     */
    async drillSaveRecordActivity(input: { spec: ClusterSpec; record: DrillRecord }): Promise<{ snapshot: string; tiers: TierCopy[] }> {
      const { spec, record } = input;
      if (record?.cluster !== spec.name) {
        throw new LifeboatError('InvalidInput', `drill record ${record?.id} is of cluster ${JSON.stringify(record?.cluster)}, not of ${spec.name} whose repository it would go to`);
      }
      // A writer: the record may be the first thing this repository holds.
      const repo = await openRepositoryForSpec(spec, 'primary', { create: true, sessions: deps.repositories });
      try {
        const { snapshot } = await saveDrillRecord(repo, record);
        // The result (in the run's history) names a tier that failed.
        const tiers = await copyDrillRecordsDown(spec, repo, { sessions: deps.repositories });
        return { snapshot, tiers };
      } finally {
        await repo.close();
      }
    },
    /**
     * The cluster's earlier drill records, oldest first (the open problems the next drill carries):
     * from the primary, else the first tier after it that holds them.
     */
    async drillHistoryActivity(input: { spec: ClusterSpec; limit?: number }): Promise<DrillRecord[]> {
      let repo;
      try {
        ({ repo } = await openDrillRecords(input.spec, { sessions: deps.repositories, has: holdsDrillRecords(input.spec.name) }));
      } catch (e) {
        // No repository yet: no drill was recorded (a read creates nothing).
        if (e instanceof LifeboatError && e.type === 'RepositoryNotFound') return [];
        throw e;
      }
      try {
        return (await listDrillRecords(repo, input.spec.name, { limit: input.limit })).records;
      } finally {
        await repo.close();
      }
    },
  };
}
