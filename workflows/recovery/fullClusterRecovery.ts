/**
 * fullClusterRecovery — the seed's full-cluster order, as a parent of child workflows that other
 * procedures (failover, migration, drills) run on their own:
 *
 *   choose the newest set that covers the cluster and verifies (its data read) → approval →
 *   stop brokers → restoreState (ZooKeeper, registry, configs) → restoreData (log dirs, start,
 *   serving, or topics once serving; preferred leaders) → verifyCluster (set, baseline, probe) → report
 *
 * A set whose data turns out corrupt during restoreState or restoreData (before the brokers start)
 * is dropped: the parent chooses the set before it and runs both children again (IDs
 * `<parent>/restore-state-<n>`, `<parent>/restore-data-<n>`); the report keeps every attempt of a
 * step. With `parts`, only those parts are restored (a set that holds them may be partial) and
 * the other restore steps are skipped. The children's steps, checks and problems are this report's.
 *
 * The repository tiers are the fallback chain: a set from a tier after the primary (the primary
 * missing, unreadable or without a set that verifies) is restored from that tier, and the report
 * says so (a problem line, and the choose-set step's detail).
 */
import { requirementOf } from '../../src/backup/coverage.pure';
import { adoptWork, dataWork, recoverySteps, skippedByParts } from '../../src/recovery/plan.pure';
import { fromTierDetail, fromTierProblem, specReadingFrom } from '../../src/backup/tiers.pure';
import { adoptDetail, chosenSetDetail, stopBrokersDetail } from '../../src/report/details.pure';
import { type DataCheck, rpoMs, type RunReport } from '../../src/report/report.pure';
import { setCompletedAt } from '../../src/backup/setTimes.pure';
import { type ClusterRef, resolveCluster } from '../support/cluster';
import { RunTracker } from '../support/tracker';
import { restoreData, restoreDataId } from './restoreData';
import { restoreState, restoreStateId } from './restoreState';
import { checkRecoverable, type Chosen, control, failureOf, LONG, onHost } from './support';
import { verifyCluster, verifyClusterId } from './verifyCluster';

export interface FullClusterRecoveryInput extends ClusterRef {
  /** A backup set id (or unique prefix); default: the newest complete set that covers the cluster and verifies. */
  setId?: string;
  /**
   * Restore only these parts (e.g. ["configs:1"]); the set must hold them. Without it the set must
   * cover a full recovery, and a partial set (`setId`) is refused.
   */
  parts?: string[];
  /** How much of the set's log-dir and topics data is read before the approval: a sample (default) or all. */
  verifyData?: 'sample' | 'all';
  /** When the cluster was lost (for RPO); defaults to the start of the run. */
  failureTime?: string;
  /** ZooKeeper restore mode: overwrite (default: puts back what the set has, deletes nothing) or mirror. */
  zkMode?: 'overwrite' | 'mirror';
  /** Where to write the registry's static address files (one per service), if the set has a registry. */
  registryFallbackDir?: string;
  dryRun?: boolean;
  autoApprove?: boolean;
  approvalTimeoutMinutes?: number;
}

const MAX_FALLBACKS = 3;

export async function fullClusterRecovery(input: FullClusterRecoveryInput): Promise<RunReport> {
  const { spec, source } = await resolveCluster(input);
  const asked = input.parts?.length ? input.parts : undefined;
  checkRecoverable(spec, asked);
  const started = new Date().toISOString();
  const failureTime = input.failureTime ?? started;

  const t = new RunTracker(
    'fullClusterRecovery',
    spec.name,
    [recoverySteps.choose(asked), recoverySteps.stop(spec), ...recoverySteps.state(spec), recoverySteps.adopt(), ...recoverySteps.data(), ...recoverySteps.verify()],
    input.dryRun ?? false,
    source,
  );
  const checks: DataCheck[] = [];
  const rejectedSets: string[] = [];
  let chosen: Chosen | undefined;
  let fallbackFrom: string | undefined;

  const report = (outcome: RunReport['outcome'], verifiedAt?: string): RunReport =>
    t.report(outcome, {
      rtoMs: verifiedAt ? Date.parse(verifiedAt) - Date.parse(failureTime) : undefined,
      rpoMs: chosen && outcome === 'succeeded' ? rpoMs(failureTime, chosen.set.time) : undefined,
      objectives: spec.objectives,
      snapshot: chosen ? { id: chosen.set.setId, time: chosen.set.time, completedAt: setCompletedAt(chosen.set), fallbackFrom } : undefined,
      checks,
    });

  const choose = async (): Promise<Chosen> => {
    const args = { spec, setId: input.setId, exclude: rejectedSets, require: requirementOf(asked), verifyData: input.verifyData };
    const c = await t.step(
      'choose-set',
      // Reading all of a large set's data can take longer than the control activities' 10 minutes.
      () => (input.verifyData === 'all' ? control.chooseBackupSetActivity.executeWithOptions(LONG, [args]) : control.chooseBackupSetActivity(args)),
      (x) => chosenSetDetail(x) + fromTierDetail(x),
    );
    if (c.fromTier) t.problem(fromTierProblem(c.set.setId, c.fromTier));
    for (const r of c.rejected) {
      if (rejectedSets.includes(r.setId)) continue;
      fallbackFrom ??= r.setId;
      rejectedSets.push(r.setId);
      t.problem(`backup set ${r.setId} of ${r.time} was not used: ${r.reason}; fell back to ${c.set.setId}`);
    }
    chosen = c;
    return c;
  };
  await choose();
  // Steps of parts the operator did not ask for are skipped whatever the set holds.
  for (const s of skippedByParts(spec, asked)) t.skip(s.name, s.reason);

  if (t.dryRun) {
    for (const s of t.steps) if (s.status === 'pending') t.skip(s.name, 'dry run');
    t.finish('planned');
    return report('planned');
  }

  await t.approve(
    'stop-brokers',
    `stop every broker of ${spec.name} and restore ${asked ? asked.join(', ') : 'ZooKeeper, configs and log dirs'} from set ${chosen!.set.setId} (${chosen!.set.time})?`,
    { autoApprove: input.autoApprove ?? false, timeoutMs: (input.approvalTimeoutMinutes ?? 30) * 60_000 },
  );

  await t.step('stop-brokers', () => Promise.all(spec.brokers.map((b) => control.stopBrokerActivity.executeWithOptions(onHost(b.host), [{ spec, brokerId: b.id }]))), stopBrokersDetail);

  // State and data come from one set; corruption found before the brokers start means another set.
  // The children run with the parent's approval (autoApprove) and the spec it resolved.
  for (let attempt = 1; ; attempt++) {
    const set = chosen!.set;
    // The children read the set where it was chosen (a tier after the primary on a fallback).
    const common = { spec: specReadingFrom(spec, chosen!.fromTier?.tier), specSource: source, parts: asked, autoApprove: true };
    try {
      await t.child(restoreState, restoreStateId(attempt), { ...common, set, zkMode: input.zkMode, registryFallbackDir: input.registryFallbackDir });
      // ZooKeeper from the set, disks newer than it: their topics registered again before a broker starts.
      const adopt = adoptWork(spec, set, asked);
      if (adopt.run) {
        const keep = adopt.run;
        const r = await t.step(
          'adopt-topics',
          async () => {
            const disks = await Promise.all(keep.map((id) => control.readDiskTopicsActivity.executeWithOptions(onHost(spec.brokers.find((b) => b.id === id)!.host), [{ spec, brokerId: id }])));
            return control.adoptTopicsActivity({ spec, disks });
          },
          adoptDetail,
        );
        for (const p of r.problems) t.problem(p);
      } else t.skip('adopt-topics', adopt.skip);
      const data = await t.child(restoreData, restoreDataId(attempt), { ...common, set, brokersStopped: true });
      checks.push(...data.checks);
      break;
    } catch (e) {
      const failure = failureOf(e);
      // Once the brokers have started, a restore from another set would pull the state from under them.
      const beforeStart = t.statusOf('start-brokers') !== 'done';
      if (failure.type !== 'CorruptBackup' || !beforeStart || attempt > MAX_FALLBACKS || input.setId) throw e;
      rejectedSets.push(set.setId);
      fallbackFrom ??= set.setId;
      t.problem(`backup set ${set.setId} is corrupt (${failure.message}): restoring again from the set before it`);
      await choose();
    }
  }

  const set = chosen!.set;
  const groupsTranslated = dataWork(spec, set, asked).topics.run !== undefined;
  const verified = await t.child(verifyCluster, verifyClusterId(), { spec: specReadingFrom(spec, chosen!.fromTier?.tier), specSource: source, set, parts: asked, groupsTranslated });
  checks.push(...verified.checks);
  const verifiedAt = t.steps.find((s) => s.name === 'verify')?.endedAt;

  const outcome = checks.every((c) => c.ok) ? 'succeeded' : 'failed';
  t.finish(outcome);
  return report(outcome, outcome === 'succeeded' ? verifiedAt : undefined);
}
