/**
 * fullClusterRecovery — the seed's full-cluster order: choose the newest backup set that covers
 * the cluster (state and every broker's data) and verifies, its data read → (approval) → stop brokers → restore ZooKeeper → restore configs → restore log dirs → start
 * brokers → wait until serving → preferred leaders → verify against the set → report.
 * A set whose data turns out corrupt during the restore is dropped and the restore starts again
 * from ZooKeeper with the set before it; the report says so. With `parts`, only those parts are
 * restored (a set that holds them may be partial) and the other restore steps are skipped.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { ClusterSpec } from '../src/config/spec';
import { requirementOf } from '../src/backup/coverage.pure';
import { invalidParts } from '../src/backup/plan.pure';
import { type DataCheck, rpoMs, type RunReport } from '../src/report/report.pure';
import { RunTracker } from './support/tracker';

export interface FullClusterRecoveryInput {
  spec: ClusterSpec;
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

type Chosen = Awaited<ReturnType<typeof activities.chooseBackupSetActivity>>;

const control = proxyActivities<typeof activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});
const MAX_FALLBACKS = 3;

/** A set without log-dir copies but with topics is restored record by record once the brokers serve. */
const logical = (set: Chosen['set']): boolean => set.snapshots.topics !== undefined && !Object.keys(set.snapshots).some((p) => p.startsWith('logdirs:'));

const isCorrupt = (e: unknown): boolean =>
  e instanceof ActivityFailure && e.cause instanceof ApplicationFailure && e.cause.type === 'CorruptBackup';

export async function fullClusterRecovery(input: FullClusterRecoveryInput): Promise<RunReport> {
  const { spec } = input;
  if (spec.brokers.length === 0) throw ApplicationFailure.nonRetryable(`cluster spec ${spec.name} lists no brokers`, 'InvalidSpec');
  if (!spec.repository) throw ApplicationFailure.nonRetryable(`cluster spec ${spec.name} has no repository section`, 'InvalidSpec');
  const asked = input.parts?.length ? input.parts : undefined;
  const badParts = asked ? invalidParts(spec, asked) : [];
  if (badParts.length) throw ApplicationFailure.nonRetryable(`parts that cannot be restored for ${spec.name}: ${badParts.join(', ')}`, 'InvalidInput');
  /** Whether a part is to be restored (every part, unless the operator named some). */
  const wanted = (part: string) => !asked || asked.includes(part);
  const notAsked = `not among the parts asked for (${asked?.join(',')})`;
  const started = new Date().toISOString();
  const failureTime = input.failureTime ?? started;
  const onHost = (brokerId: number) => `lifeboat-host-${spec.brokers.find((b) => b.id === brokerId)!.host}`;
  const hostCall = { startToCloseTimeout: '4 hours', heartbeatTimeout: '20 seconds', retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 } };
  const each = <T>(fn: (id: number) => Promise<T>) => Promise.all(spec.brokers.map((b) => fn(b.id)));

  const t = new RunTracker(
    'fullClusterRecovery',
    spec.name,
    [
      { name: 'choose-set', title: asked ? `Choose the newest backup set that holds ${asked.join(',')} and verifies` : 'Choose the newest backup set that covers the cluster and verifies' },
      { name: 'stop-brokers', title: `Stop brokers ${spec.brokers.map((b) => b.id).join(', ')}` },
      { name: 'restore-zookeeper', title: `Restore ZooKeeper ${spec.zookeeper?.chroot || '/'}` },
      { name: 'restore-registry', title: 'Restore the service registry (persistent nodes; instances re-register)' },
      { name: 'restore-configs', title: 'Restore broker configs' },
      { name: 'restore-data', title: 'Restore log dirs (a set of log-dir copies)' },
      { name: 'start-brokers', title: 'Start brokers' },
      { name: 'wait-serving', title: 'Wait until every broker serves and no partition is offline' },
      { name: 'restore-topics', title: 'Restore topics, critical first, and group offsets (a set of logical topic backups)' },
      { name: 'preferred-election', title: 'Preferred leader election' },
      { name: 'verify', title: 'Verify against the backup set (topics, offsets, groups, probe)' },
    ],
    input.dryRun ?? false,
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
      snapshot: chosen ? { id: chosen.set.setId, time: chosen.set.time, fallbackFrom } : undefined,
      checks,
    });

  const choose = async () => {
    chosen = await t.step(
      'choose-set',
      () => {
        const args = { spec, setId: input.setId, exclude: rejectedSets, require: requirementOf(asked), verifyData: input.verifyData };
        // Reading all of a large set's data can take longer than the control activities' 10 minutes.
        return input.verifyData === 'all'
          ? control.chooseBackupSetActivity.executeWithOptions({ startToCloseTimeout: '4 hours', heartbeatTimeout: '20 seconds', retry: hostCall.retry }, [args])
          : control.chooseBackupSetActivity(args);
      },
      (c) =>
        `set ${c.set.setId} of ${c.set.time} (${c.set.parts.length} parts${c.coverage ? `, ${c.coverage}` : ''})` +
        (c.dataRead ? `; data read (${c.dataRead.mode}): ${c.dataRead.chunksRead} of ${c.dataRead.chunks} chunks, ${(c.dataRead.bytesRead / 1e6).toFixed(1)} MB, ${c.dataRead.packsChecked} pack headers` : '') +
        (c.rejected.length ? `, ${c.rejected.length} newer set(s) passed over` : ''),
    );
    for (const r of chosen.rejected) {
      if (rejectedSets.includes(r.setId)) continue;
      fallbackFrom ??= r.setId;
      rejectedSets.push(r.setId);
      t.problem(`backup set ${r.setId} of ${r.time} was not used: ${r.reason}; fell back to ${chosen.set.setId}`);
    }
    return chosen;
  };
  await choose();
  // Steps of parts the operator did not ask for are skipped whatever the set holds.
  if (asked) {
    if (!wanted('zookeeper')) t.skip('restore-zookeeper', notAsked);
    if (!wanted('registry')) t.skip('restore-registry', notAsked);
    if (!spec.brokers.some((b) => wanted(`configs:${b.id}`))) t.skip('restore-configs', notAsked);
    if (!spec.brokers.some((b) => wanted(`logdirs:${b.id}`))) t.skip('restore-data', notAsked);
    if (!wanted('topics')) t.skip('restore-topics', notAsked);
  }

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

  await t.step('stop-brokers', () => each((id) => control.stopBrokerActivity.executeWithOptions({ ...hostCall, taskQueue: onHost(id) }, [{ spec, brokerId: id }])), (r) =>
    `${r.filter((x) => x.wasRunning).length} were running`,
  );

  // ZooKeeper, configs and data come from one set; corruption found on the way means another set.
  for (let attempt = 0; ; attempt++) {
    const set = chosen!.set;
    try {
      if (!wanted('zookeeper')) t.skip('restore-zookeeper', notAsked);
      else if (set.snapshots.zookeeper) {
        await t.step('restore-zookeeper', () => control.restoreZookeeperActivity({ spec, snapshotId: set.snapshots.zookeeper!.id, mode: input.zkMode }), (r) =>
          `${r.created} created, ${r.updated} updated, ${r.deleted} deleted${r.preRestoreSnapshot ? `; what was there kept as ${r.preRestoreSnapshot.slice(0, 12)}` : ''}`,
        );
      } else t.skip('restore-zookeeper', 'the set has no ZooKeeper part');
      const reg = set.snapshots.registry;
      if (!wanted('registry')) t.skip('restore-registry', notAsked);
      else if (reg) {
        await t.step('restore-registry', () => control.recoverRegistryActivity({ spec, snapshotId: reg.id, fallbackDir: input.registryFallbackDir }), (r) =>
          `${r.services} services, ${r.created} nodes created; ${r.awaitingReregistration} instances wait for their services to register again${r.fallbackFiles.length ? `; static address files in ${input.registryFallbackDir}` : ''}`,
        );
      } else t.skip('restore-registry', 'the set has no registry part');
      if (!spec.brokers.some((b) => wanted(`configs:${b.id}`))) t.skip('restore-configs', notAsked);
      else await t.step(
        'restore-configs',
        () => each((id) => {
          const snap = wanted(`configs:${id}`) ? set.snapshots[`configs:${id}`] : undefined;
          return snap
            ? control.restoreConfigsActivity.executeWithOptions({ ...hostCall, taskQueue: onHost(id) }, [{ spec, brokerId: id, snapshotId: snap.id }])
            : Promise.resolve(undefined);
        }),
        (r) => `${r.filter((x) => x?.action === 'restored').length} restored, ${r.filter((x) => x?.action === 'unchanged').length} unchanged`,
      );
      if (!spec.brokers.some((b) => wanted(`logdirs:${b.id}`))) t.skip('restore-data', notAsked);
      else if (logical(set)) t.skip('restore-data', 'the set holds topics, not log-dir copies: restored once the brokers serve');
      else await t.step(
        'restore-data',
        () => each((id) => {
          const snap = wanted(`logdirs:${id}`) ? set.snapshots[`logdirs:${id}`] : undefined;
          return snap
            ? control.restoreLogDirsActivity.executeWithOptions({ ...hostCall, taskQueue: onHost(id) }, [{ spec, brokerId: id, snapshotId: snap.id }])
            : Promise.resolve(undefined);
        }),
        (r) => {
          const done = r.filter((x) => x !== undefined);
          const resumed = done.reduce((n, x) => n + x!.resumedFiles, 0);
          return `${done.reduce((n, x) => n + x!.files, 0)} files, ${(done.reduce((n, x) => n + x!.bytes, 0) / 1e6).toFixed(1)} MB; previous contents moved aside on ${done.filter((x) => x!.movedAside.length).length} broker(s)${resumed ? `; ${resumed} files already restored by an interrupted attempt` : ''}`;
        },
      );
      break;
    } catch (e) {
      if (!isCorrupt(e) || attempt >= MAX_FALLBACKS || input.setId) throw e;
      const reason = e instanceof ActivityFailure && e.cause ? e.cause.message : String(e);
      rejectedSets.push(set.setId);
      fallbackFrom ??= set.setId;
      t.problem(`backup set ${set.setId} is corrupt (${reason}): restoring again from the set before it`);
      await choose();
    }
  }

  await t.step('start-brokers', () => each((id) => control.startBrokerActivity.executeWithOptions({ ...hostCall, taskQueue: onHost(id), startToCloseTimeout: '10 minutes' }, [{ spec, brokerId: id }])), () =>
    `${spec.brokers.length} started`,
  );
  const serving = await t.step('wait-serving', () => control.waitForServingActivity({ spec }), (s) => `${s.brokers.length} brokers, ${s.partitions} partitions online`);

  const isLogical = logical(chosen!.set) && wanted('topics');
  let logicalChecks: DataCheck[] = [];
  if (isLogical) {
    const r = await t.step('restore-topics', () => control.restoreTopicsFromSetActivity({ spec, set: chosen!.set }), (x) =>
      `${x.records} records${x.writtenNow < x.records ? ` (${x.records - x.writtenNow} written by an earlier attempt)` : ''}, ${x.groupsSet} consumer groups set through the offset map ${x.offsetMapFile}`,
    );
    logicalChecks = r.checks;
  } else if (wanted('topics')) t.skip('restore-topics', 'the log dirs hold the data');

  const health = await control.clusterHealthActivity({ spec });
  await t.step('preferred-election', () => control.preferredLeaderElectionActivity({ spec, partitions: health.notPreferred.map((p) => ({ topic: p.topic, partition: p.partition })) }), (r) =>
    `${r.elected} partitions`,
  );

  // Checked against what was restored: with `parts`, the set's other parts say nothing about the cluster.
  const restored = asked ? { ...chosen!.set, snapshots: Object.fromEntries(Object.entries(chosen!.set.snapshots).filter(([p]) => asked.includes(p))) } : chosen!.set;
  const verifiedAt = await t.step('verify', async () => {
    const data = [...logicalChecks, ...(await control.verifyAgainstSetActivity({ spec, set: restored, groupsTranslated: isLogical }))];
    const baseline = await control.verifyBaselineActivity({ spec, set: restored });
    data.push(...baseline.checks);
    for (const p of baseline.problems) t.problem(p);
    const probe = await control.produceConsumeProbeActivity({ spec, records: 30 });
    checks.push(...data);
    checks.push({ subject: 'brokers serving', expected: spec.brokers.length, actual: serving.brokers.length, ok: serving.brokers.length === spec.brokers.length });
    checks.push({ subject: 'produce/consume probe', expected: probe.produced, actual: probe.consumed, ok: probe.ok });
    for (const c of checks.filter((x) => !x.ok)) t.problem(`verification: ${c.subject} expected ${c.expected}, got ${c.actual}`);
    return new Date().toISOString();
  }, () => (checks.every((c) => c.ok) ? 'all checks passed' : `${checks.filter((c) => !c.ok).length} checks failed`));

  const outcome = checks.every((c) => c.ok) ? 'succeeded' : 'failed';
  t.finish(outcome);
  return report(outcome, outcome === 'succeeded' ? verifiedAt : undefined);
}
