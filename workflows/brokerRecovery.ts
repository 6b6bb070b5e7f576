/**
 * brokerRecovery — the seed's single-broker case: check that the rest of the cluster is serving,
 * list what the failed broker carries, (optionally restore its log dirs), start it on its host,
 * wait until it is back in every ISR, give it back its preferred leaderships, verify, report.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { LifeboatActivities } from '../activities';
import { fromTierDetail, fromTierProblem, specReadingFrom } from '../src/backup/tiers.pure';
import { brokerLogDirSnapshot } from '../src/recovery/plan.pure';
import { brokerLogDirsDetail } from '../src/report/details.pure';
import type { DataCheck, RunReport } from '../src/report/report.pure';
import { hostTaskQueue } from '../src/temporal/taskQueues.pure';
import { type ClusterRef, resolveCluster } from './support/cluster';
import { failureOf, upCheck, VERIFY_PROBE_TIMEOUT_MS } from './recovery/support';
import { RunTracker } from './support/tracker';

export interface BrokerRecoveryInput extends ClusterRef {
  brokerId: number;
  /** When the broker was lost (for RPO); defaults to the start of the run. */
  failureTime?: string;
  dryRun?: boolean;
  autoApprove?: boolean;
  approvalTimeoutMinutes?: number;
  /**
   * Restore the broker's log dirs from the newest backup set when its disks are lost (no
   * meta.properties): it then only fetches what changed since, instead of everything. Default true.
   */
  restoreLostLogDirs?: boolean;
  /**
   * Brokers lost together with this one that recoveries after this one bring back (a drill's
   * brokers-lost runs one brokerRecovery per broker): the verify does not count them as missing,
   * nor the partitions under-replicated or offline only through them.
   */
  alsoLost?: number[];
}

const control = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});
const slow = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

export async function brokerRecovery(input: BrokerRecoveryInput): Promise<RunReport> {
  const { spec, source } = await resolveCluster(input);
  const { brokerId } = input;
  const broker = spec.brokers.find((b) => b.id === brokerId);
  if (!broker) throw ApplicationFailure.nonRetryable(`spec ${spec.name} has no broker ${brokerId}`, 'InvalidInput');
  const t = new RunTracker(
    'brokerRecovery',
    spec.name,
    [
      { name: 'check-cluster', title: 'Check the other brokers' },
      { name: 'plan', title: `List the partitions broker ${brokerId} carries` },
      { name: 'restore-logdirs', title: `Restore broker ${brokerId}'s log dirs if its disks are lost`, host: broker.host },
      { name: 'start-broker', title: `Start broker ${brokerId}`, host: broker.host },
      { name: 'wait-isr', title: `Wait until broker ${brokerId} is back in every ISR` },
      { name: 'preferred-election', title: 'Preferred leader election' },
      { name: 'verify', title: 'Verify (health, produce/consume probe)' },
    ],
    input.dryRun ?? false,
    source,
  );
  const checks: DataCheck[] = [];

  const health = await t.step('check-cluster', () => control.clusterHealthActivity({ spec }), (h) => `brokers up: ${h.brokers.join(', ') || 'none'}`);
  const others = health.brokers.filter((b) => b !== brokerId);
  if (others.length === 0 || health.controller === null) {
    t.problem(`no other broker of ${spec.name} is serving: this is a full-cluster failure, run fullClusterRecovery`);
    throw ApplicationFailure.nonRetryable(`no other broker of ${spec.name} is serving; use fullClusterRecovery`, 'UnsafeTarget');
  }
  // A killed broker stays registered until its ZooKeeper session expires, so registration says
  // little; starting is idempotent, so we always start and then wait for the ISR.

  const plan = await t.step(
    'plan',
    () => control.brokerPartitionsActivity({ spec, brokerId }),
    (p) => `${p.replicaOf} replicas, preferred leader of ${p.preferredLeaderOf.length}, ${p.offlineWithoutIt} offline without it`,
  );
  if (plan.offlineWithoutIt > 0) t.problem(`${plan.offlineWithoutIt} partitions are offline until broker ${brokerId} returns`);

  const report = (outcome: RunReport['outcome']): RunReport => {
    const ended = new Date().toISOString();
    return t.report(outcome, {
      rtoMs: outcome === 'succeeded' ? Date.parse(ended) - Date.parse(input.failureTime ?? t.startedAt) : undefined,
      objectives: spec.objectives,
      checks,
    });
  };

  if (t.dryRun) {
    for (const s of ['restore-logdirs', 'start-broker', 'wait-isr', 'preferred-election', 'verify']) t.skip(s, 'dry run');
    t.finish('planned');
    return report('planned');
  }

  const onHost = { taskQueue: hostTaskQueue(broker.host), startToCloseTimeout: '4 hours', heartbeatTimeout: '20 seconds' };
  const disk = await slow.brokerDiskStateActivity.executeWithOptions(onHost, [{ spec, brokerId }]);
  if (disk.lost.length === 0) t.skip('restore-logdirs', `log dirs intact (${disk.partitions} partition dirs)`);
  else if (input.restoreLostLogDirs === false || !spec.repository) {
    t.skip('restore-logdirs', `${disk.lost.join(', ')} lost; ${spec.repository ? 'restore not requested' : 'no repository in the spec'}: the broker re-replicates everything`);
  } else {
    await t.approve('restore-logdirs', `restore broker ${brokerId}'s lost log dirs (${disk.lost.join(', ')}) from the newest backup set?`, {
      autoApprove: input.autoApprove ?? false,
      timeoutMs: (input.approvalTimeoutMinutes ?? 30) * 60_000,
    });
    await t.step(
      'restore-logdirs',
      async () => {
        // The newest set that holds this broker's log-dir copy and whose data reads back intact.
        let chosen;
        try {
          chosen = await slow.chooseBackupSetActivity({ spec, require: { kind: 'broker', brokerId } });
        } catch (e) {
          const cause = e instanceof ActivityFailure && e.cause instanceof ApplicationFailure ? e.cause : undefined;
          if (cause?.type !== 'CorruptBackup' && cause?.type !== 'SnapshotNotFound') throw e;
          t.problem(`no backup set can restore broker ${brokerId}'s log dirs: ${cause.message}`);
          return `no usable copy of broker ${brokerId} in the repository: it re-replicates everything`;
        }
        if (chosen.fromTier) t.problem(fromTierProblem(chosen.set.setId, chosen.fromTier));
        for (const r of chosen.rejected) t.problem(`backup set ${r.setId} of ${r.time} was not used for broker ${brokerId}: ${r.reason}`);
        // Chosen because it holds this broker's copy (require: broker).
        const snapshotId = brokerLogDirSnapshot(chosen.set, brokerId)!;
        await slow.stopBrokerActivity.executeWithOptions(onHost, [{ spec, brokerId }]);
        // Read where it was chosen (a tier after the primary on a fallback).
        const r = await slow.restoreLogDirsActivity.executeWithOptions(onHost, [{ spec: specReadingFrom(spec, chosen.fromTier?.tier), brokerId, snapshotId }]);
        return brokerLogDirsDetail(r, chosen.set) + fromTierDetail(chosen);
      },
      (d) => d,
    );
  }

  await t.step(
    'start-broker',
    () => slow.startBrokerActivity.executeWithOptions({ taskQueue: hostTaskQueue(broker.host), startToCloseTimeout: '5 minutes' }, [{ spec, brokerId }]),
    () => `started on ${broker.host}`,
  );
  const isr = await t.step('wait-isr', () => slow.waitForIsrActivity({ spec, brokerId, alsoLost: input.alsoLost }), (r) => `in sync on ${r.partitions} partitions`);
  checks.push({ subject: `broker ${brokerId} in ISR`, expected: isr.partitions, actual: isr.partitions, ok: true });

  await t.step(
    'preferred-election',
    () => control.preferredLeaderElectionActivity({ spec, partitions: plan.preferredLeaderOf }),
    (r) => `${r.elected} partitions`,
  );

  await t.step('verify', async () => {
    const after = await control.clusterHealthActivity({ spec });
    // Bounded: a probe that cannot read back is a failed check, not ten retries of a minute each.
    const probe = await upCheck.produceConsumeProbeActivity({ spec, records: 30, timeoutMs: VERIFY_PROBE_TIMEOUT_MS }).catch((e: unknown) => ({ produced: 30, consumed: `failed (${failureOf(e).message})`, ok: false }));
    const pending = (input.alsoLost ?? []).filter((id) => id !== brokerId && !after.brokers.includes(id));
    const expected = spec.brokers.length - pending.length;
    // A partition missing only replicas of brokers still to be recovered is not this recovery's to fix.
    const notThrough = (p: { replicas: number[]; isr: number[] }) => p.replicas.some((r) => !p.isr.includes(r) && !pending.includes(r));
    const offline = after.offline.filter((p) => !p.replicas.some((r) => pending.includes(r)));
    // Nor one without a leader that waits for such a broker (its ISR there): this broker cannot join it yet (as wait-isr).
    const waitsOnPending = (p: { leader: number; replicas: number[] }) => p.leader < 0 && p.replicas.some((r) => pending.includes(r));
    const under = after.underReplicated.filter((p) => notThrough(p) && !waitsOnPending(p));
    checks.push({ subject: 'brokers registered', expected, actual: after.brokers.length, ok: after.brokers.length === expected });
    checks.push({ subject: 'offline partitions', expected: 0, actual: offline.length, ok: offline.length === 0 });
    checks.push({ subject: 'under-replicated partitions', expected: 0, actual: under.length, ok: under.length === 0 });
    checks.push({ subject: 'produce/consume probe', expected: probe.produced, actual: probe.consumed, ok: probe.ok });
    const bad = checks.filter((c) => !c.ok);
    for (const c of bad) t.problem(`verification: ${c.subject} expected ${c.expected}, got ${c.actual}`);
    return bad.length;
  }, (bad) => (bad ? `${bad} checks failed` : 'all checks passed'));

  const outcome = checks.every((c) => c.ok) ? 'succeeded' : 'failed';
  t.finish(outcome);
  return report(outcome);
}
