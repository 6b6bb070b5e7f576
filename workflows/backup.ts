/**
 * backup — one backup set of a cluster: ZooKeeper and Kafka metadata on the control queue, each
 * broker's configs and log dirs on its host's queue, then the complete set copied down the
 * repository tiers (off-site, then `tiers[]` in order; src/backup/tiers.pure.ts), then retention in
 * each tier by its own policy. Every part and copy is idempotent (a retried part returns the
 * snapshot it already stored, a copy skips what is there), so a worker killed at any point costs
 * only the step it was in. A tier whose copy fails is named in the report; the set is still good.
 */
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import type { LifeboatActivities } from '../activities';
export type { BackupInput, BackupResult, BackupTier } from '../src/backup/plan.pure';
import { type BackupInput, type BackupResult, backupSetIdOf, brokerOfPart, defaultParts, invalidParts } from '../src/backup/plan.pure';
import { copyDetail, copyStepOf, copyStepTitle, copyTiers, OFFSITE_TIER, PRIMARY_TIER, tiersRetentionDetail } from '../src/backup/tiers.pure';
import { backupPartDetail } from '../src/report/details.pure';
import { hostTaskQueue } from '../src/temporal/taskQueues.pure';
import { type ClusterRef, resolveCluster } from './support/cluster';
import { RunTracker } from './support/tracker';

/** The backup's input with its cluster by spec or by name (`{ "cluster": "primary" }`). */
export type BackupWorkflowInput = Omit<BackupInput, 'spec'> & ClusterRef;

const state = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Reset runs started before it reported their set without checking it still held the parts done before the reset (replayed so). */
const BACKUP_RESET_PARTS_PATCH = 'backup-reset-parts-rechecked';

export async function backup(input: BackupWorkflowInput): Promise<BackupResult> {
  const { spec, source } = await resolveCluster(input);
  const tier = input.tier ?? 'manual';
  const parts = input.parts?.length ? input.parts : defaultParts(spec);
  const bad = invalidParts(spec, parts);
  if (bad.length) throw ApplicationFailure.nonRetryable(`unknown backup parts for ${spec.name}: ${bad.join(', ')}`, 'InvalidInput');
  if (!spec.repository) throw ApplicationFailure.nonRetryable(`cluster spec ${spec.name} has no repository section`, 'InvalidSpec');

  // The run the execution started as: a reset's new run goes on writing the same set (its run id would
  // start another, and leave both incomplete). Equal to the run id for every run that was not reset.
  const setId = backupSetIdOf(workflowInfo().originalExecutionRunId);
  const set = { setId, tier, parts };
  const hostOf = (p: string) => spec.brokers.find((b) => b.id === brokerOfPart(p))?.host;
  const tiers = copyTiers(spec);
  const t = new RunTracker(
    'backup',
    spec.name,
    [
      ...parts.map((p) => ({ name: p, title: `Back up ${p}`, host: hostOf(p) })),
      // Without an offsiteRepository the step stays, skipped (as before tiers).
      ...(spec.offsiteRepository ? [] : [{ name: 'offsite', title: 'Copy the set off-site' }]),
      ...tiers.map((x) => ({ name: copyStepOf(x.name), title: copyStepTitle(x) })),
      { name: 'retention', title: 'Retention by the tier policy, then prune' },
    ],
    input.dryRun ?? false,
    source,
  );
  const results: BackupResult['parts'] = [];

  if (t.dryRun) {
    for (const s of t.steps) t.skip(s.name, 'dry run');
    t.finish('planned');
    return { setId, tier, parts: [], report: t.report('planned') };
  }

  const options = { incremental: input.incremental, logdirMode: input.logdirMode, topics: input.topics };
  const takePart = (part: string) => {
    const host = hostOf(part);
    // ZooKeeper parts heartbeat on a shorter timeout: the SDK sends heartbeats at most every 0.8 of
    // it, and "waiting for ZooKeeper …" should reach the status line well within its 15 s connect wait.
    const zk = part === 'zookeeper' || part === 'registry';
    const run = () =>
      host
        ? state.backupPartActivity.executeWithOptions({ taskQueue: hostTaskQueue(host), startToCloseTimeout: '4 hours', heartbeatTimeout: '20 seconds' }, [{ spec, set, part, options }])
        : zk
          ? state.backupPartActivity.executeWithOptions({ heartbeatTimeout: '10 seconds' }, [{ spec, set, part, options }])
          : state.backupPartActivity({ spec, set, part, options });
    return t.step(part, run, backupPartDetail);
  };
  /** Each part's time (a part taken again has its new one): the set's time is the earliest. */
  const partTimes = new Map<string, string>();
  const took = (part: string, r: Awaited<ReturnType<typeof takePart>>) => {
    partTimes.set(part, r.time);
    const result = { part, snapshot: r.snapshot, bytes: r.bytes, newBytes: r.newBytes, reused: r.reused, summary: r.summary };
    const i = results.findIndex((x) => x.part === part);
    if (i < 0) results.push(result);
    else results[i] = result;
  };
  // A reset run has the parts done before its reset point from history, not from the repository: retention
  // may have removed them meanwhile (the failed run's set was incomplete and no running backup's). Where the
  // run goes on live (patched is false while the history before the reset replays), those are taken again, in
  // the plan's order, before the next part (the baseline reads the log-dir parts); without it the run would
  // report a set the repository does not hold.
  const info = workflowInfo();
  let rechecked = info.runId === info.originalExecutionRunId;
  const retakeRemoved = async (done: string[]) => {
    if (rechecked || !patched(BACKUP_RESET_PARTS_PATCH)) return;
    rechecked = true;
    if (!done.length) return;
    for (const part of await state.backupSetMissingPartsActivity({ spec, setId, parts: done })) {
      t.problem(`part ${part} of set ${setId} was no longer in the repository when this reset run went on (retention removed it while the run had failed): taken again`);
      took(part, await takePart(part));
    }
  };
  // State first (ZooKeeper is the reference point the log dirs are read against), then hosts.
  for (const [i, part] of parts.entries()) {
    await retakeRemoved(parts.slice(0, i));
    took(part, await takePart(part));
  }
  await retakeRemoved(parts);
  const time = [...partTimes.values()].reduce<string | undefined>((a, b) => (a && a < b ? a : b), undefined);

  // Down the tiers first: nothing old is removed before the new set is safe in two places.
  if (!spec.offsiteRepository) t.skip('offsite', 'no offsiteRepository in the spec');
  const copied: string[] = [];
  for (const x of tiers) {
    const step = copyStepOf(x.name);
    if (input.skipOffsite) {
      t.skip(step, 'skipped by request');
      continue;
    }
    try {
      await t.step(step, () => (x.name === OFFSITE_TIER ? state.copyOffsiteActivity({ spec, setId }) : state.copySetToTierActivity({ spec, setId, tier: x.name })), copyDetail);
      copied.push(x.name);
    } catch {
      const why = t.steps.find((st) => st.name === step)?.detail ?? 'failed';
      t.problem(`set ${setId} was not copied to tier ${x.name} (${x.location}): ${why}; the set is good in the other tiers, and stays missing from ${x.name} until it is copied there (lifeboat repo copy --spec <cluster.yaml> --to-tier ${x.name}; a later backup copies only its own set)`);
    }
  }

  if (input.skipRetention) t.skip('retention', 'skipped by request');
  else if (tiers.length && !input.skipOffsite && copied.length === 0) {
    t.skip('retention', 'no tier after the primary received the set: nothing old is removed while it is in one place');
  } else {
    // A tier the copy failed for keeps what it has (its newest set is older than the others').
    const only = [PRIMARY_TIER, ...(input.skipOffsite ? tiers.map((x) => x.name) : copied)];
    await t.step('retention', () => state.retentionActivity(tiers.length ? { spec, only } : { spec }), tiersRetentionDetail);
  }
  t.finish('succeeded');
  return { setId, tier, parts: results, time, report: t.report('succeeded') };
}
