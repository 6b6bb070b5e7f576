/** A drill's record in the repository, its history and report (issue 16). Thin: src/drills/history.ts, src/drills/report.pure.ts. */
import type { ClusterSpec } from '../src/config/spec';
import { LifeboatError } from '../src/errors';
import type { DrillRecord } from '../src/drills/records';
import type { ActivityDeps } from './deps';

const notYet = (what: string) => new LifeboatError('InvalidInput', `${what} is not built yet`);

export function drillRecordActivities(_deps: ActivityDeps) {
  return {
    /** Stores the record (and its Markdown and HTML report) in the cluster's repository; idempotent by drill id. */
    async drillSaveRecordActivity(_input: { spec: ClusterSpec; record: DrillRecord }): Promise<{ snapshot: string }> {
      throw notYet('drillSaveRecordActivity');
    },
    /** The cluster's earlier drill records, oldest first (the open problems the next drill carries). */
    async drillHistoryActivity(_input: { spec: ClusterSpec; limit?: number }): Promise<DrillRecord[]> {
      throw notYet('drillHistoryActivity');
    },
  };
}
