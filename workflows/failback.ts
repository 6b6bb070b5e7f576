/**
 * failback — brings the clients back from the standby to the repaired old primary after a
 * failover (ID failback-<standby>-to-<primary>):
 *
 *   checks (old primary healthy, the forward mirror stopped) → fence the old primary's mirrored
 *   topics for applications where the failover did not (they stay fenced until the end) → the
 *   divergent tail (records on the old primary past the mirror's position) counted exactly and
 *   copied to quarantine topics on the standby, never dropped → the reverse mirror's positions
 *   seeded over the primary's existing log (offsets mapped) → child `migration` standby → primary
 *   (reverse mirror until caught up, gated cut-over: approval, the standby fenced, groups translated,
 *   the old primary's fence lifted, the PRIMARY spec's client-switch hooks, verify) → report.
 *
 * A dry run stops after the counts and the plan: nothing is written anywhere. A migration that
 * rolls back leaves the clients on the standby and the old primary fenced (nothing lost: run the
 * failback again; the quarantine and the seed are kept and not written twice).
 */
import { ApplicationFailure, executeChild, patched, proxyActivities, setHandler, defineQuery, workflowInfo } from '@temporalio/workflow';
import type { LifeboatActivities } from '../activities';
import type { PrimaryFence } from '../src/failover/data/types';
import { FAILBACK_STATUS_QUERY, type FailbackStatus, failbackMigrationId, tailTotals, type TailPartition } from '../src/failover/failback/run.pure';
import type { DataCheck, RunReport } from '../src/report/report.pure';
import { migration, type MigrationResult } from './migration/online';
import { failureOf } from './recovery/support';
import { type ClusterRef, resolveCluster } from './support/cluster';
import { RunTracker } from './support/tracker';

export interface FailbackInput {
  /** The old primary, repaired: `{ "cluster": "primary" }` or `{ "spec": {...} }`. */
  primary: ClusterRef;
  /** The standby the clients use now; default the primary spec's `standby`. */
  standby?: ClusterRef;
  /** Only these mirrored topics (default: every topic the mirror primary → standby copied). */
  topics?: string[];
  /** Counts and the plan only: nothing is written. */
  dryRun?: boolean;
  /** Approve the cut-over back up front (otherwise `lifeboat approve <failback-id>-migration`). */
  autoApprove?: boolean;
  approvalTimeoutMinutes?: number;
  /** No backup set of the standby before the cut-over (default: one when its spec has a repository). */
  skipBackup?: boolean;
  /** The reverse mirror's shards and round length (migration defaults). */
  shards?: number;
  roundSeconds?: number;
  maxLagRecords?: number;
}

export interface FailbackResult {
  status: FailbackStatus;
  report: RunReport;
}

export const failbackStatusQuery = defineQuery<FailbackStatus>(FAILBACK_STATUS_QUERY);

/** Failbacks started before the promotion hold existed replay without its release. */
const PROMOTION_RELEASE_PATCH = 'failback-promotion-release';
/** Failbacks started before the migration could lift the primary's fence at its cut-over replay without it. */
const UNFENCE_AT_CUT_OVER_PATCH = 'failback-unfence-at-cut-over';

const reads = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 4 },
});

/** Writes that must finish (the quarantine, the seed, the fence): idempotent, retried long. */
const writes = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '15 seconds', maximumAttempts: 20, nonRetryableErrorTypes: ['InvalidInput', 'UnsafeTarget', 'DataLost', 'InvalidSpec'] },
});

export async function failback(input: FailbackInput): Promise<FailbackResult> {
  const p = await resolveCluster(input.primary ?? {});
  const standbyRef: ClusterRef = input.standby ?? (p.spec.standby ? { cluster: p.spec.standby } : {});
  if (!standbyRef.spec && !standbyRef.cluster) throw ApplicationFailure.nonRetryable(`no standby given and the spec ${p.spec.name} names none: give the standby the clients use now`, 'InvalidInput');
  const s = await resolveCluster(standbyRef);
  const primary = p.spec;
  const standby = s.spec;
  if (primary.name === standby.name) throw ApplicationFailure.nonRetryable(`primary and standby are both "${primary.name}": failback needs two clusters`, 'InvalidInput');
  const dryRun = input.dryRun ?? false;
  const workflowId = workflowInfo().workflowId;
  const migrationId = failbackMigrationId(workflowId);
  const pairInput = { primary, standby, ...(input.topics ? { topics: input.topics } : {}) };

  const t = new RunTracker(
    'failback',
    primary.name,
    [
      { name: 'checks', title: `Checks: ${primary.name} healthy, the mirror ${primary.name} → ${standby.name} stopped` },
      { name: 'fence', title: `Fence ${primary.name}'s mirrored topics for applications (kept until the end)` },
      { name: 'quarantine', title: `Divergent tail of ${primary.name} → quarantine topics on ${standby.name}` },
      { name: 'seed', title: `Reverse mirror ${standby.name} → ${primary.name}: positions over ${primary.name}'s log` },
      { name: 'migration', title: `Migration ${standby.name} → ${primary.name} (reverse mirror, gated cut-over)` },
      { name: 'unfence', title: `Lift the failover fence on ${primary.name}` },
    ],
    dryRun,
    p.source,
  );
  const st: FailbackStatus = { workflowId, primary: primary.name, standby: standby.name, phase: 'checks', dryRun, migrationWorkflowId: migrationId, problems: t.problems };
  setHandler(failbackStatusQuery, () => st);

  const fail = (message: string, type: string): never => {
    st.phase = 'failed';
    throw ApplicationFailure.nonRetryable(message, type);
  };

  // 1. Checks.
  const checks = await t.step('checks', () => reads.failbackChecksActivity(pairInput), (c) => `${c.checks.filter((x) => x.ok).length}/${c.checks.length} ok; ${c.topics.length} mirrored topics${c.unfenced.length ? `; ${c.unfenced.length} not fenced yet` : ''}`);
  st.checks = checks;
  for (const w of checks.warnings) t.problem(w);
  if (checks.problems.length) {
    if (!dryRun) fail(`failback ${standby.name} → ${primary.name} refused: ${checks.problems.join('; ')}`, 'InvalidInput');
    for (const x of checks.problems) t.problem(x);
  }
  const topics = checks.topics.map((x) => x.topic);
  const scoped = { ...pairInput, topics };

  // 2. The fence: the failover's, or set now (same shape); its record is what the end removes.
  st.phase = 'fence';
  let fence: PrimaryFence | undefined;
  if (topics.length) {
    fence = await t.step(
      'fence',
      async () => {
        // The failover's fence (EX): set even where it is already (idempotent: the same ACLs), so the record names them all.
        const f = await writes.fencePrimaryActivity({ primary, topics, ...(dryRun ? { dryRun: true } : {}) });
        if (!dryRun && checks.unfenced.length) await writes.awaitFenceActivity({ source: primary, fence: f, timeoutMs: 120_000 });
        return f;
      },
      (f) => (checks.unfenced.length ? `${dryRun ? 'would fence' : 'fenced'} ${checks.unfenced.join(', ')} (${f.acls.length} ACLs in all)` : `already fenced by the failover (${f.acls.length} ACLs)`),
    );
    st.fence = fence;
    st.fencedBy = checks.unfenced.length ? 'failback' : 'failover';
  } else t.skip('fence', 'no mirrored topic');

  // 3. The divergent tail.
  st.phase = 'quarantine';
  const tail: TailPartition[] = topics.length
    ? await t.step('quarantine', () => writes.failbackQuarantineActivity({ ...scoped, dryRun }), (x) => {
        const n = tailTotals(x);
        return `${n.records} records past the mirror's position over ${x.filter((y) => y.records).length} of ${n.partitions} partitions${dryRun ? ' (counted, nothing written)' : `; ${n.quarantined} in quarantine`}${n.lost ? `; ${n.lost} LOST to retention` : ''}`;
      })
    : [];
  if (!topics.length) t.skip('quarantine', 'no mirrored topic');
  st.tail = tail;
  for (const x of tail) {
    if (x.lost) t.problem(`${x.topic}-${x.partition}: offsets ${x.lost.from}..${x.lost.to - 1} of the divergent tail were deleted by retention on ${primary.name} before they could be quarantined`);
    if (!dryRun && x.quarantined !== x.records) fail(`${x.topic}-${x.partition}: ${x.records} records in the divergent tail [${x.from}, ${x.to}) but ${x.quarantined} in ${x.quarantineTopic}: stopped before the cut-over back`, 'DataLost');
  }

  // 4. The reverse mirror's positions.
  st.phase = 'seed';
  if (topics.length) {
    st.seed = await t.step('seed', () => writes.failbackSeedActivity({ ...scoped, dryRun }), (x) => `${x.length} partitions: ${x.filter((y) => y.action !== 'kept').length} ${dryRun ? 'would be seeded' : 'seeded'}, ${x.filter((y) => y.action === 'kept').length} kept`);
  } else t.skip('seed', 'no mirrored topic');

  if (dryRun) {
    t.skip('migration', 'dry run');
    t.skip('unfence', 'dry run');
    st.phase = 'planned';
    t.finish('planned');
    return { status: st, report: t.report('planned', { checks: tailChecks(tail, true) }) };
  }

  // 5. The way back: a migration standby → primary. It lifts the primary's fence itself, just before
  // the hooks move the clients there (before, the primary stayed fenced through the migration's verify).
  st.phase = 'migration';
  const liftAtCutOver = fence !== undefined && patched(UNFENCE_AT_CUT_OVER_PATCH);
  const result: MigrationResult = await t.step(
    'migration',
    async () => {
      const r = await executeChild(migration, {
        workflowId: migrationId,
        args: [
          {
            source: { spec: standby, ...(s.source ? { specSource: s.source } : {}) },
            target: { spec: primary, ...(p.source ? { specSource: p.source } : {}) },
            selection: { topics },
            autoApprove: input.autoApprove ?? false,
            skipBackup: input.skipBackup ?? !standby.repository,
            ...(input.approvalTimeoutMinutes !== undefined ? { approvalTimeoutMinutes: input.approvalTimeoutMinutes } : {}),
            ...(input.shards !== undefined ? { shards: input.shards } : {}),
            ...(input.roundSeconds !== undefined ? { roundSeconds: input.roundSeconds } : {}),
            ...(input.maxLagRecords !== undefined ? { maxLagRecords: input.maxLagRecords } : {}),
            ...(liftAtCutOver ? { targetFence: fence } : {}),
          },
        ],
      });
      st.migration = r.status;
      return r;
    },
    (r) => `${r.status.phase}${r.status.writeUnavailableMs !== undefined ? `; write-unavailability ${r.status.writeUnavailableMs} ms` : ''}${r.status.cause ? `: ${r.status.cause.message}` : ''}`,
  ).catch((e: unknown) => {
    const f = failureOf(e);
    // The child may have lifted the primary's fence for its hooks before it failed (or was terminated): said, not assumed.
    const lifted = liftAtCutOver ? ` (unless the migration had lifted its fence for the hooks: check ${primary.name}'s ACLs)` : '';
    return fail(`the migration ${migrationId} failed: ${f.message} — the clients stay on ${standby.name}, ${primary.name} stays fenced${lifted}`, f.type ?? 'UnsafeTarget');
  });
  if (result.status.phase !== 'done') {
    // Fenced, unless the migration lifted the fence for its hooks and could not put it back.
    st.primaryLeft = result.status.targetFenceLeft === 'unknown' || result.status.targetFenceLeft === 'lifted' ? 'unknown' : 'fenced';
    for (const n of result.status.rollback?.notPutBack ?? []) t.problem(`the migration ${migrationId} did not put back: ${n}`);
    t.problem(`the migration ${migrationId} ended ${result.status.phase}${result.status.cause ? ` (${result.status.cause.message})` : ''}: the clients stay on ${standby.name}, ${primary.name} ${st.primaryLeft === 'fenced' ? 'stays fenced' : 'may NOT be fenced (see above): fence it'}; the quarantine and the reverse mirror's positions are kept (run the failback again)`);
    t.skip('unfence', 'the migration did not finish');
    st.phase = 'failed';
    t.finish('failed');
    const outcome: RunReport['outcome'] = result.report.outcome === 'rejected' ? 'rejected' : 'failed';
    return { status: st, report: t.report(outcome, { checks: tailChecks(tail, false) }) };
  }

  // 6. The old primary takes writes again (the migration fenced the standby at its cut-over).
  st.phase = 'unfence';
  if (fence && result.status.targetFenceLiftedAt) {
    await t.step('unfence', async () => result.status.targetFenceLiftedAt!, (at) => `${fence!.acls.length} ACLs removed on ${fence!.topics.length} topics of ${primary.name} by the migration at its cut-over (${at}), before its hooks`);
  } else if (fence) {
    await t.step('unfence', () => writes.unfencePrimaryActivity({ primary, fence: fence! }), () => `${fence!.acls.length} ACLs removed on ${fence!.topics.length} topics of ${primary.name}`);
  } else t.skip('unfence', 'nothing fenced');
  st.primaryLeft = 'writable';
  // The failover's promotion hold ends with the way back: a later incident of the primary may fail over again.
  if (patched(PROMOTION_RELEASE_PATCH)) {
    await writes
      .releasePromotionActivity({ primary: primary.name, end: { by: workflowId, reason: `failed back from ${standby.name}`, standby: standby.name } })
      .then((r) => {
        if (!r.released && r.why === 'held by another') t.problem(`the promotion hold of ${primary.name} is ${r.held.holder}'s, to ${r.held.standby}, not this failback's: left as it is`);
      })
      .catch((e: unknown) => t.problem(`the promotion hold of ${primary.name} could not be ended (${failureOf(e).message}): end it with lifeboat failover release --cluster ${primary.name}, or no failover of ${primary.name} will promote`));
  }
  st.phase = 'done';
  t.finish('done');
  const checksOut: DataCheck[] = [
    ...tailChecks(tail, false),
    ...result.report.checks,
    { subject: `${primary.name} left`, expected: 'writable', actual: st.primaryLeft, ok: true },
    { subject: `${standby.name} left`, expected: 'fenced (read-only on the migrated topics)', actual: result.status.sourceLeft, ok: result.status.sourceLeft === 'fenced' },
  ];
  return { status: st, report: t.report('succeeded', { checks: checksOut, ...(result.report.rtoMs !== undefined ? { rtoMs: result.report.rtoMs } : {}) }) };
}

function tailChecks(tail: TailPartition[], dryRun: boolean): DataCheck[] {
  return tail
    .filter((x) => x.records > 0 || x.lost)
    .map((x) => ({
      subject: `divergent tail ${x.topic}-${x.partition} [${x.from}, ${x.to}) → ${x.quarantineTopic}`,
      expected: dryRun ? `${x.records} records to quarantine` : x.records,
      actual: dryRun ? 'not written (dry run)' : x.quarantined,
      ok: dryRun || (x.quarantined === x.records && !x.lost),
    }));
}
