/**
 * restoreData — the brokers' data from a backup set, until the cluster serves it. The set decides
 * the path (src/recovery/plan.pure.ts, dataWork): log-dir copies are put back on each (stopped)
 * broker's host before the brokers start; topics (a logical set) are produced back record by record,
 * critical first, once the brokers serve, and the consumer groups' offsets are set through the
 * offset map. Either way it ends with every broker started, serving, and leading its preferred
 * partitions; its report's checks are the logical restore's record counts.
 *
 * One workflow for both paths because its callers want "the data back and served", whatever the set
 * holds: fullClusterRecovery (after restoreState, brokers already stopped: `brokersStopped`), and a
 * drill or failover alone (it then stops the brokers itself before replacing log dirs).
 */
import { workflowInfo } from '@temporalio/workflow';
import { specReadingFrom } from '../../src/backup/tiers.pure';
import { dataWork, recoverySteps } from '../../src/recovery/plan.pure';
import { logDirsDetail, stopBrokersDetail, topicsDetail } from '../../src/report/details.pure';
import type { DataCheck, RunReport } from '../../src/report/report.pure';
import { setCompletedAt } from '../../src/backup/setTimes.pure';
import { type ClusterRef, resolveCluster } from '../support/cluster';
import { RunTracker } from '../support/tracker';
import { checkRecoverable, chooseStepIfNeeded, control, onHost, requiredSet, type RunOptions, type SetRef } from './support';

export interface RestoreDataInput extends ClusterRef, SetRef, RunOptions {
  /** Restore only these of the set's parts (logdirs:<broker>, topics); default: all it holds. */
  parts?: string[];
  /** The caller stopped every broker already (fullClusterRecovery): no stop step here. */
  brokersStopped?: boolean;
}

export async function restoreData(input: RestoreDataInput): Promise<RunReport> {
  const resolved = await resolveCluster(input);
  const source = resolved.source;
  // Reassigned once the set is known: a set chosen in a tier after the primary is read there.
  let spec = resolved.spec;
  checkRecoverable(spec, input.parts);
  const stopHere = !input.brokersStopped;
  const t = new RunTracker(
    'restoreData',
    spec.name,
    [...chooseStepIfNeeded(input, input.parts), ...(stopHere ? [recoverySteps.stop(spec)] : []), ...recoverySteps.data()],
    input.dryRun ?? false,
    source,
  );
  const checks: DataCheck[] = [];
  try {
    const set = await requiredSet(t, spec, input, input.parts);
    spec = specReadingFrom(spec, set.readFrom);
    const snapshot = { id: set.setId, time: set.time, completedAt: setCompletedAt(set) };
    const work = dataWork(spec, set, input.parts);
    if (work.logdirs.skip) t.skip('restore-data', work.logdirs.skip);
    if (work.topics.skip) t.skip('restore-topics', work.topics.skip);
    // Topics go into serving brokers: nothing to stop for them.
    if (stopHere && !work.logdirs.run) t.skip('stop-brokers', 'no log dirs to replace: the brokers keep running');
    if (t.dryRun) {
      for (const s of t.steps) if (s.status === 'pending') t.skip(s.name, 'dry run');
      t.finish('planned');
      return t.report('planned', { snapshot });
    }
    await t.approve(
      stopHere && work.logdirs.run ? 'stop-brokers' : t.steps.find((s) => s.status === 'pending')!.name,
      work.logdirs.run
        ? `replace the log dirs of ${spec.name}'s brokers ${work.logdirs.run.map((c) => c.brokerId).join(', ')} with set ${set.setId} (${set.time})? What is there is moved aside.`
        : `restore the data of ${spec.name} from set ${set.setId} (${set.time}) and start its brokers?`,
      { autoApprove: input.autoApprove ?? false, timeoutMs: (input.approvalTimeoutMinutes ?? 30) * 60_000 },
    );
    const copies = work.logdirs.run;
    if (copies) {
      if (stopHere) {
        await t.step('stop-brokers', () => Promise.all(spec.brokers.map((b) => control.stopBrokerActivity.executeWithOptions(onHost(b.host), [{ spec, brokerId: b.id }]))), stopBrokersDetail);
      }
      await t.step(
        'restore-data',
        () => Promise.all(copies.map((c) => control.restoreLogDirsActivity.executeWithOptions(onHost(c.host), [{ spec, brokerId: c.brokerId, snapshotId: c.snapshotId }]))),
        logDirsDetail,
      );
    }
    await t.step(
      'start-brokers',
      () => Promise.all(spec.brokers.map((b) => control.startBrokerActivity.executeWithOptions(onHost(b.host, '10 minutes'), [{ spec, brokerId: b.id }]))),
      () => `${spec.brokers.length} started`,
    );
    await t.step('wait-serving', () => control.waitForServingActivity({ spec }), (s) => `${s.brokers.length} brokers, ${s.partitions} partitions online`);
    const topics = work.topics.run;
    if (topics) {
      const r = await t.step('restore-topics', () => control.restoreTopicsFromSetActivity({ spec, set: topics }), topicsDetail);
      checks.push(...r.checks);
    }
    const health = await control.clusterHealthActivity({ spec });
    await t.step(
      'preferred-election',
      () => control.preferredLeaderElectionActivity({ spec, partitions: health.notPreferred.map((p) => ({ topic: p.topic, partition: p.partition })) }),
      (r) => `${r.elected} partitions`,
    );
    for (const c of checks.filter((x) => !x.ok)) t.problem(`verification: ${c.subject} expected ${c.expected}, got ${c.actual}`);
    const outcome = checks.every((c) => c.ok) ? 'succeeded' : 'failed';
    t.finish(outcome);
    return t.report(outcome, { snapshot, checks });
  } finally {
    await t.settle();
  }
}

/** The workflow ID of a parent's n-th restoreData (n counts the set fallbacks from 1). */
export const restoreDataId = (attempt: number): string => `${workflowInfo().workflowId}/restore-data-${attempt}`;
