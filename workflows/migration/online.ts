/**
 * migration — online migration of topics, consumer groups and clients from one cluster to another
 * with a gated cut-over (ID migrate-<source>-to-<target>):
 *
 *   pre-checks → backup set of the source (child `backup`: state and configs) → mirror (child
 *   `mirror`, ID mirror-<source>-to-<target>) until caught up → plan (fence, group moves, hook dry
 *   runs; a dry run ends here) → approval → cut-over: fence writes on the source (the window
 *   starts) → wait until every broker refuses them and no transaction is open → drain the mirror →
 *   translate and commit every group's offsets on the target → client-switch hooks (the window
 *   ends) → verify → done.
 *
 * Until "done" a `rollback` signal, a rejection or a failed step puts things back: the mirror is
 * stopped, the hooks that ran are reverted (to the values read by their dry run, before anything
 * changed), the fence is removed (every ACL it planned or made), and the report lists what was put
 * back and what was not (and, when hooks ran, the records switched clients wrote to the target,
 * which stay there). "done" is the point of no return: the source is left fenced (read-only on the
 * migrated topics), the clients on the target. The selection's topics are read again before the
 * fence and before the hooks: one created since the pre-checks rolls the cut-over back.
 *
 * A mirror of the same pair already running (started with `lifeboat mirror start`) is refused, not
 * taken over: the migration needs the mirror's result (its final positions) as its child, and
 * stopping that mirror first loses nothing (its positions are on the target; the child resumes
 * from them).
 */
import {
  ApplicationFailure,
  CancellationScope,
  type ChildWorkflowHandle,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  sleep,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { LifeboatActivities } from '../../activities';
import type { PrimaryFence } from '../../src/failover/data/types';
import type { MirrorTopicPlan } from '../../src/kafka/mirror';
import { mirrorPair, mirrorWorkflowId, sameCluster, selectionProblem } from '../../src/kafka/mirrorRun.pure';
import type { AclEntry, FenceRecord, GroupMove, HookOutcome, MigrationSelection, PrecheckResult } from '../../src/migration';
import {
  type GroupOutcome,
  groupOutcomes,
  MIGRATION_ROLLBACK_SIGNAL,
  MIGRATION_STATUS_QUERY,
  type MigrationPhase,
  type MigrationRollbackInput,
  type MigrationStatus,
  targetWritesLine,
} from '../../src/migration/onlineRun.pure';
import type { DataCheck, RunReport } from '../../src/report/report.pure';
import { backup } from '../backup';
import { mirror, mirrorDrainSignal, mirrorStopSignal } from '../mirror';
import { failureOf } from '../recovery/support';
import { type ClusterRef, resolveCluster } from '../support/cluster';
import { RunTracker } from '../support/tracker';

export type { MigrationStatus } from '../../src/migration/onlineRun.pure';

export interface MigrationInput {
  /** The cluster migrated from: `{ "cluster": "primary" }` or `{ "spec": {...} }`. */
  source: ClusterRef;
  /** The cluster migrated to (its spec's `clientSwitch` hooks switch the clients). */
  target: ClusterRef;
  selection: MigrationSelection;
  /** Pre-checks and the plan only (fence, group moves, hook dry runs): nothing is changed. */
  dryRun?: boolean;
  /** Approve the cut-over up front (otherwise `lifeboat approve <id>`). */
  autoApprove?: boolean;
  /** No answer within this (default 60) takes the safe path: rolled back, the source untouched. */
  approvalTimeoutMinutes?: number;
  /** A group still active on the source at cut-over: wait for it (default) or skip it (named in the report). */
  activeGroups?: 'wait' | 'skip';
  /** How long to wait for active groups (default 2; the source's writes are fenced meanwhile). */
  groupWaitMinutes?: number;
  /** No backup set of the source first (default: one, of its state and configs). */
  skipBackup?: boolean;
  /** Caught up: lag at most this many records in all (default 1000) before the plan and approval. */
  maxLagRecords?: number;
  /** Give up waiting for the mirror to catch up after this (default 240). */
  catchUpTimeoutMinutes?: number;
  /** The drain must finish within this (default 120 s): else rolled back (an unreachable target). */
  drainTimeoutSeconds?: number;
  /** The mirror child's shards and round length (defaults 4 and 5 s). */
  shards?: number;
  roundSeconds?: number;
  /**
   * A write fence on the target (a failback's: the old primary, fenced since the failover), lifted at
   * the cut-over just before the hooks, so the switched clients write at once; put back on a rollback.
   */
  targetFence?: PrimaryFence;
}

export interface MigrationResult {
  status: MigrationStatus;
  /** Dry run: the topics the mirror would create or extend on the target. */
  mirrorPlan?: MirrorTopicPlan[];
  report: RunReport;
}

export const migrationStatusQuery = defineQuery<MigrationStatus>(MIGRATION_STATUS_QUERY);
export const migrationRollbackSignal = defineSignal<[MigrationRollbackInput?]>(MIGRATION_ROLLBACK_SIGNAL);

/** Runs started before the cut-over asked for the selection's topics again replay without it. */
const SELECTION_RECHECK_PATCH = 'migration-selection-recheck';
/** Rollbacks of runs started before they looked for the switched clients' writes on the target replay without it. */
const TARGET_WRITES_PATCH = 'migration-rollback-target-writes';
/** Runs started before a target fence could be lifted at the cut-over replay without it. */
const TARGET_FENCE_PATCH = 'migration-lift-target-fence';

/** Reads and plans: a few attempts (a blip), then the failure. */
const reads = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 4 },
});

/** The cut-over's steps: quick, retried quickly (a killed worker costs the heartbeat timeout). */
const cut = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '5 seconds', maximumAttempts: 6 },
});

/** Putting back: tried longer (the source left fenced is worse than a slow rollback). */
const putBack = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '15 seconds', maximumAttempts: 20 },
});

/** A rollback asked for (signal) while the run waited or between cut-over steps. */
class RollbackRequested extends Error {
  constructor() {
    super('rollback requested');
    this.name = 'RollbackRequested';
  }
}

/** The union of two fences' ACLs (what the dry run planned and what the fence reported making). */
function fenceUnion(a: FenceRecord | undefined, b: FenceRecord | undefined): FenceRecord | undefined {
  if (!a) return b;
  if (!b) return a;
  const key = (x: AclEntry) => JSON.stringify([x.resourceType, x.resourceName, x.patternType, x.principal, x.host, x.operation, x.permission]);
  const acls = new Map<string, AclEntry>();
  for (const x of [...a.acls, ...b.acls]) acls.set(key(x), x);
  return { ...b, topics: [...new Set([...a.topics, ...b.topics])], acls: [...acls.values()] };
}

export async function migration(input: MigrationInput): Promise<MigrationResult> {
  const src = await resolveCluster(input.source ?? {});
  const dst = await resolveCluster(input.target ?? {});
  const same = sameCluster(src.spec, dst.spec, 'migration');
  if (same) throw ApplicationFailure.nonRetryable(same, 'InvalidInput');
  const bad = selectionProblem(input.selection, 'migration');
  if (bad) throw ApplicationFailure.nonRetryable(bad, 'InvalidInput');
  const source = src.spec;
  const target = dst.spec;
  const selection = input.selection;
  const dryRun = input.dryRun ?? false;
  const pair = mirrorPair(source.name, target.name);
  const mirrorId = mirrorWorkflowId(source.name, target.name);
  const hooks = target.clientSwitch ?? [];
  const workflowId = workflowInfo().workflowId;

  const t = new RunTracker(
    'migration',
    source.name,
    [
      { name: 'prechecks', title: `Pre-checks of ${source.name} → ${target.name}` },
      { name: 'backup', title: `Backup set of ${source.name} (state and configs)` },
      { name: 'mirror', title: `Mirror to ${target.name} until caught up` },
      { name: 'plan', title: 'Plan the cut-over: fence, group moves, hook dry runs' },
      { name: 'fence', title: `Fence writes on ${source.name} (the window starts)` },
      { name: 'drain', title: 'Drain the mirror to the fenced end' },
      { name: 'groups', title: `Translate and commit consumer group offsets on ${target.name}` },
      { name: 'hooks', title: `Switch the clients (${hooks.length} hooks; the window ends)` },
      { name: 'verify', title: 'Verify: counts, SHA-256, group positions, probe' },
    ],
    dryRun,
    src.source,
  );

  const st: MigrationStatus = {
    workflowId,
    source: source.name,
    target: target.name,
    phase: 'starting',
    pointOfNoReturn: false,
    mirrorWorkflowId: mirrorId,
    topics: [],
    groups: [],
    sourceLeft: 'writable',
  };
  const phase = (p: MigrationPhase) => {
    st.phase = p;
  };
  let rollbackAsked: MigrationRollbackInput | undefined;
  setHandler(migrationStatusQuery, () => st);
  setHandler(migrationRollbackSignal, (r) => {
    if (st.pointOfNoReturn || rollbackAsked) return;
    rollbackAsked = { by: r?.by ?? 'unknown', reason: r?.reason ?? 'asked for' };
  });

  /** A wait a rollback signal may cut short (read-only activities and timers only). */
  const unlessRolledBack = <T>(fn: () => Promise<T>): Promise<T> =>
    CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      const watch = new CancellationScope();
      void watch
        .run(async () => {
          await condition(() => rollbackAsked !== undefined);
          scope.cancel();
        })
        .catch(() => undefined);
      try {
        return await fn();
      } catch (e) {
        if (isCancellation(e) && rollbackAsked) throw new RollbackRequested();
        throw e;
      } finally {
        watch.cancel();
      }
    });
  const checkRollback = () => {
    if (rollbackAsked) throw new RollbackRequested();
  };

  // Pre-checks: read only; problems refuse the migration before anything starts.
  phase('prechecks');
  const pre: PrecheckResult = await t.step('prechecks', () => reads.migrationPrechecksActivity({ source, target, selection }), (p) => `${p.topics.length} topics, ${p.groups.length} groups; ${p.checks.filter((c) => c.ok).length}/${p.checks.length} checks ok${p.problems.length ? `; ${p.problems.length} problems` : ''}`);
  st.topics = pre.topics;
  st.groups = pre.groups;
  st.prechecks = pre.checks;
  st.warnings = pre.warnings ?? [];
  const topics = pre.topics.map((x) => x.topic);
  if (!topics.length) {
    const msg = `migration of ${source.name} → ${target.name} refused: the selection matches no topic on ${source.name}`;
    if (!dryRun) throw ApplicationFailure.nonRetryable(msg, 'InvalidInput');
    t.problem(msg);
  }
  if (pre.problems.length && !dryRun) {
    phase('failed');
    throw ApplicationFailure.nonRetryable(`migration of ${source.name} → ${target.name} refused: ${pre.problems.join('; ')}`, 'InvalidInput');
  }
  if (!dryRun && !input.skipBackup && !source.repository) {
    throw ApplicationFailure.nonRetryable(`the source spec ${source.name} has no repository section: a migration backs up the source first (add one, or skip the backup by choice)`, 'InvalidSpec');
  }

  let fencePlan: FenceRecord | undefined;
  let moves: GroupMove[] = [];
  let hookPlan: HookOutcome[] = [];

  /** The plan of the cut-over, read only: fence as planned, group moves as translated now, hook dry runs. */
  const planCutOver = async (): Promise<string> => {
    fencePlan = await reads.fenceWritesActivity({ source, topics, dryRun: true });
    st.fencePlan = fencePlan;
    try {
      moves = pre.groups.length ? await reads.translateGroupsActivity({ source, target, pair, groups: pre.groups, topics }) : [];
      st.moves = moves;
    } catch (e) {
      t.problem(`group moves cannot be previewed yet: ${failureOf(e).message}`);
    }
    hookPlan = [];
    for (let i = 0; i < hooks.length; i++) hookPlan.push(await reads.runSwitchHookActivity({ source, target, index: i, dryRun: true }));
    st.hookPlan = hookPlan;
    const failed = hookPlan.filter((h) => !h.ok);
    if (failed.length && !dryRun) throw ApplicationFailure.nonRetryable(`client-switch hook #${failed[0]!.index + 1} (${failed[0]!.type}) fails its dry run: ${failed[0]!.detail}`, 'HookFailed');
    for (const h of failed) t.problem(`client-switch hook #${h.index + 1} (${h.type}) fails its dry run: ${h.detail}`);
    const untranslated = moves.reduce((n, m) => n + m.untranslated.length, 0);
    return `fence ${fencePlan.acls.length} ACLs on ${fencePlan.topics.length} topics; ${moves.length} groups (${untranslated} partitions not translatable yet); ${hookPlan.length} hooks dry-run${failed.length ? `, ${failed.length} FAIL` : ' ok'}`;
  };

  if (dryRun) {
    phase('planning');
    t.skip('backup', 'dry run');
    const mirrorPlan = await t.step('mirror', () => reads.planMirrorActivity({ source, target, selection, dryRun: true }), (p) => `would create or extend ${p.filter((x) => x.action !== 'exists').length} of ${p.length} topics on ${target.name}`);
    await t.step('plan', planCutOver, (d) => d);
    for (const s of t.steps) if (s.status === 'pending') t.skip(s.name, 'dry run');
    for (const p of pre.problems) t.problem(p);
    phase('planned');
    t.finish('planned');
    return { status: st, mirrorPlan, report: t.report('planned', { checks: pre.checks.map((c) => ({ subject: c.name, expected: 'ok', actual: c.ok ? 'ok' : c.detail, ok: c.ok })) }) };
  }

  // The backup set: the source's state and configs (its data goes over by the mirror).
  phase('backup');
  if (input.skipBackup) t.skip('backup', 'skipped by choice');
  else {
    const parts = [...(source.zookeeper ? ['zookeeper'] : []), 'kafka-metadata', ...(source.registry && source.zookeeper ? ['registry'] : []), ...source.brokers.map((b) => `configs:${b.id}`)];
    await t.step(
      'backup',
      () => executeChild(backup, { workflowId: `${workflowId}-backup`, args: [{ spec: source, specSource: src.source, tier: 'manual', parts, skipRetention: true, skipOffsite: true }] }),
      (r) => `set ${r.setId}: ${r.parts.map((p) => p.part).join(', ')}`,
    );
  }

  // The mirror, as a child: its result is the drain's final positions.
  phase('mirroring');
  let mirrorHandle: ChildWorkflowHandle<typeof mirror>;
  try {
    mirrorHandle = await startChild(mirror, {
      workflowId: mirrorId,
      args: [{ source: { spec: source, specSource: src.source }, target: { spec: target, specSource: dst.source }, selection, shards: input.shards ?? 4, roundSeconds: input.roundSeconds ?? 5, roundsPerRun: 100 }],
    });
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) {
      throw ApplicationFailure.nonRetryable(`a mirror ${mirrorId} already runs: stop it first (lifeboat mirror stop ${mirrorId}) — the migration runs its own, which resumes from the positions on ${target.name}, nothing is copied twice`, 'UnsafeTarget');
    }
    throw e;
  }
  let mirrorRunning = true;
  const mirrorEnded = mirrorHandle.result().then(
    (r) => {
      mirrorRunning = false;
      return { result: r, error: undefined as unknown };
    },
    (e: unknown) => {
      mirrorRunning = false;
      return { result: undefined, error: e };
    },
  );
  /** The mirror ended before it was asked to drain: a failure of the migration. */
  const mirrorEndedEarly = mirrorEnded.then((m) => {
    throw m.error ?? ApplicationFailure.nonRetryable(`the mirror ${mirrorId} ended before the cut-over (${m.result?.status.state}): ${m.result?.report.problems.join('; ') || 'see its report'}`, 'UnsafeTarget');
  });
  mirrorEndedEarly.catch(() => undefined);

  let fenceAttempted = false;
  let fence: FenceRecord | undefined;
  const hooksRan: HookOutcome[] = [];
  let committed: GroupMove[] = [];
  let skippedActive: string[] = [];
  let approvedAt: number | undefined;
  let windowStart: number | undefined;
  let drainAsked = false;

  try {
    await t.step(
      'mirror',
      () =>
        unlessRolledBack(() =>
          Promise.race([
            mirrorEndedEarly,
            reads.awaitMirrorCatchUpActivity.executeWithOptions(
              { startToCloseTimeout: `${input.catchUpTimeoutMinutes ?? 240} minutes`, heartbeatTimeout: '30 seconds', retry: { initialInterval: '1 second', maximumInterval: '10 seconds' } },
              [{ source, target, pair, topics: pre.topics.map((x) => ({ topic: x.topic, partitions: x.partitions })), maxLagRecords: input.maxLagRecords ?? 1000 }],
            ),
          ]),
        ),
      (c) => {
        st.lagRecords = c.lagRecords;
        return `caught up: lag ${c.lagRecords} records over ${c.partitions} partitions`;
      },
    );

    phase('planning');
    await t.step('plan', () => unlessRolledBack(planCutOver), (d) => d);
    checkRollback();

    phase('awaiting-approval');
    const question =
      `cut over ${source.name} → ${target.name}: fence writes on ${topics.length} topics of ${source.name} (${topics.slice(0, 5).join(', ')}${topics.length > 5 ? ', …' : ''}), ` +
      `drain, move ${moves.length} groups, run ${hooks.length} client-switch hooks?`;
    try {
      await unlessRolledBack(() => t.approve('fence', question, { autoApprove: input.autoApprove ?? false, timeoutMs: (input.approvalTimeoutMinutes ?? 60) * 60_000 }));
    } finally {
      t.withdrawApproval();
    }
    approvedAt = Date.now();

    // Cut-over. From here a rollback signal is honoured between steps (a step half done is never left so).
    phase('cut-over');
    // A topic the selection takes that the pre-checks did not see would be mirrored and drained, but left
    // writable on the source (the fence, the groups and the verification take the pre-checks' topics).
    const topicsChecked = patched(SELECTION_RECHECK_PATCH);
    const noNewTopics = async (since: string) => {
      const now = await cut.selectedTopicsActivity({ source, selection });
      const added = now.filter((x) => !topics.includes(x));
      if (added.length) {
        throw ApplicationFailure.nonRetryable(
          `${added.length} topic(s) created on ${source.name} since ${since} match the selection: ${added.slice(0, 5).join(', ')}${added.length > 5 ? ', …' : ''} — the cut-over fences only the topics it checked; run the migration again (the mirror resumes from its positions, nothing is copied twice)`,
          'UnsafeTarget',
        );
      }
    };
    await t.step(
      'fence',
      async () => {
        if (topicsChecked) await noNewTopics('the pre-checks');
        fencePlan = await cut.fenceWritesActivity({ source, topics, dryRun: true });
        st.fencePlan = fencePlan;
        windowStart = Date.now();
        st.windowStartedAt = new Date(windowStart).toISOString();
        fenceAttempted = true;
        st.sourceLeft = 'fenced';
        fence = await cut.fenceWritesActivity({ source, topics });
        st.fence = fence;
        const waited = await cut.awaitFenceActivity({ source, fence, timeoutMs: 60_000 });
        const settled = await cut.awaitSourceSettledActivity({ source, topics, timeoutMs: 60_000 });
        return { waited, settled: settled.waitedMs };
      },
      (r) => `${fence?.acls.length ?? 0} ACLs on ${topics.length} topics; every broker refused writes after ${r.waited} ms; no open transaction after ${r.settled} ms`,
    );
    checkRollback();

    await t.step(
      'drain',
      async () => {
        drainAsked = true;
        await mirrorHandle.signal(mirrorDrainSignal, { by: workflowId, reason: 'cut-over: the source is fenced' });
        const timeoutMs = (input.drainTimeoutSeconds ?? 120) * 1000;
        const ended = await Promise.race([mirrorEnded, sleep(timeoutMs).then(() => undefined)]);
        if (!ended) throw ApplicationFailure.nonRetryable(`the mirror did not drain within ${timeoutMs / 1000} s (is ${target.name} reachable? see ${mirrorId})`, 'Unreachable');
        if (ended.error) throw ended.error;
        const s = ended.result!.status;
        if (s.state !== 'drained' || s.totals.lagRecords !== 0 || s.dataLost.length) {
          throw ApplicationFailure.nonRetryable(`the mirror did not drain to lag 0 (${s.state}, lag ${s.totals.lagRecords}, ${s.dataLost.length} partitions with data lost)`, 'UnsafeTarget');
        }
        st.lagRecords = 0;
        // Configs held back while copying (timestamp settings) hold on the target from now on.
        const deferred = await cut.applyDeferredConfigsActivity({ target, plans: ended.result!.plan });
        return { ...s, deferred };
      },
      (s) => `${s.totals.partitions} partitions at the source's fenced end, ${s.totals.records} records copied in all; drain ${s.drain?.durationMs ?? '?'} ms${s.deferred ? `; held-back configs applied to ${s.deferred} topics` : ''}`,
    );
    checkRollback();

    await t.step(
      'groups',
      async () => {
        let groups = pre.groups;
        if (groups.length) {
          const waitUntil = Date.now() + (input.groupWaitMinutes ?? 2) * 60_000;
          for (;;) {
            const active = (await cut.groupStatesActivity({ cluster: source, groups })).filter((g) => g.members > 0).map((g) => g.group);
            if (!active.length) break;
            if (input.activeGroups === 'skip') {
              skippedActive = active;
              groups = groups.filter((g) => !active.includes(g));
              t.problem(`groups active on ${source.name} at cut-over, skipped by choice (their offsets were not moved): ${active.join(', ')}`);
              break;
            }
            if (Date.now() > waitUntil) throw ApplicationFailure.nonRetryable(`groups still active on ${source.name} after ${input.groupWaitMinutes ?? 2} min: ${active.join(', ')} — stop their consumers, or skip them by choice`, 'UnsafeTarget');
            t.setProgress({ phase: `waiting for groups active on ${source.name}: ${active.join(', ')}`, subject: source.name });
            // Every second here is write unavailability: ask again soon.
            await unlessRolledBack(() => sleep(500));
          }
        }
        moves = groups.length ? await cut.translateGroupsActivity({ source, target, pair, groups, topics }) : [];
        st.moves = moves;
        const untranslated = moves.flatMap((m) => m.untranslated.map((u) => `${m.group} ${u.topic}/${u.partition}@${u.sourceOffset} (${u.reason})`));
        if (untranslated.length) throw ApplicationFailure.nonRetryable(`group offsets that cannot be translated exactly: ${untranslated.slice(0, 5).join(', ')}${untranslated.length > 5 ? ` and ${untranslated.length - 5} more` : ''}`, 'UnsafeTarget');
        // One activity per group, all at once (the window is open meanwhile); each is idempotent and
        // refuses its group if active there.
        committed = (await Promise.all(moves.map((m) => cut.commitGroupsActivity({ target, moves: [m] })))).flat();
        st.groupOutcomes = groupOutcomes(moves, committed, skippedActive);
        return st.groupOutcomes;
      },
      (g) => `${g.filter((x) => !x.skippedActive).length} groups moved (re-read ${g.reduce((n, x) => n + x.reRead, 0)}, skipped ${g.reduce((n, x) => n + x.skipped, 0)})${skippedActive.length ? `; ${skippedActive.length} active groups skipped` : ''}`,
    );
    checkRollback();

    await t.step(
      'hooks',
      async () => {
        // Created while the fence went up, the drain or the groups' wait: not fenced, so the source may still take their writes.
        if (topicsChecked) await noNewTopics('the fence went up');
        // The target takes writes before the clients move to it (a failback's old primary, fenced since the failover).
        if (input.targetFence && patched(TARGET_FENCE_PATCH)) {
          // Set first: a lift that removed some ACLs and then failed is put back whole by the rollback.
          st.targetFenceLeft = 'lifted';
          await cut.unfencePrimaryActivity({ primary: target, fence: input.targetFence });
          st.targetFenceLiftedAt = new Date().toISOString();
        }
        for (let i = 0; i < hooks.length; i++) {
          const out = await cut.runSwitchHookActivity({ source, target, index: i });
          hooksRan.push(out);
          st.hooks = [...hooksRan];
          if (!out.ok) throw ApplicationFailure.nonRetryable(`client-switch hook #${i + 1} (${out.type}) failed: ${out.detail}`, 'HookFailed');
        }
        const end = Date.now();
        st.windowEndedAt = new Date(end).toISOString();
        st.writeUnavailableMs = end - windowStart!;
        return hooksRan;
      },
      (h) => `${h.length} hooks ran; write-unavailability window ${st.writeUnavailableMs} ms`,
    );
    checkRollback();

    phase('verifying');
    const verified = await t.step('verify', () => cut.verifyMigrationActivity.executeWithOptions({ startToCloseTimeout: '2 hours', heartbeatTimeout: '30 seconds', retry: { maximumAttempts: 3 } }, [{ source, target, pair, topics, moves }]), (v) => `${v.checks.filter((c) => c.ok).length}/${v.checks.length} checks ok`);
    st.checks = verified.checks;
    if (verified.problems.length) throw ApplicationFailure.nonRetryable(`verification failed: ${verified.problems.join('; ')}`, 'CorruptBackup');
    checkRollback();
  } catch (e) {
    return rollBack(e);
  }

  // The point of no return.
  st.pointOfNoReturn = true;
  st.cutOverMs = Date.now() - approvedAt!;
  phase('done');
  t.finish('done');
  return { status: st, report: t.report('succeeded', { rtoMs: st.cutOverMs, checks: doneChecks() }) };

  function doneChecks(): DataCheck[] {
    const checks: DataCheck[] = [];
    for (const g of st.groupOutcomes ?? []) {
      if (g.skippedActive) continue;
      checks.push({ subject: `group ${g.group}: records re-read`, expected: 0, actual: g.reRead, ok: g.reRead === 0 });
      checks.push({ subject: `group ${g.group}: records skipped`, expected: 0, actual: g.skipped, ok: g.skipped === 0 });
    }
    for (const c of st.checks ?? []) checks.push({ subject: c.name, expected: 'ok', actual: c.ok ? 'ok' : c.detail, ok: c.ok });
    if (st.writeUnavailableMs !== undefined) checks.push({ subject: 'write-unavailability window (ms, fence → hooks)', expected: '≤ 5000', actual: st.writeUnavailableMs, ok: st.writeUnavailableMs <= 5000 });
    checks.push({ subject: `source ${source.name} left`, expected: 'fenced (read-only on the migrated topics)', actual: st.sourceLeft, ok: st.sourceLeft === 'fenced' });
    return checks;
  }

  /** Puts back what the cut-over changed; the report says what was and what was not. */
  async function rollBack(e: unknown): Promise<MigrationResult> {
    const requested = e instanceof RollbackRequested;
    const failure = requested ? { type: 'RollbackRequested', message: `rollback asked by ${rollbackAsked?.by}: ${rollbackAsked?.reason}` } : failureOf(e);
    const type = failure.type ?? 'Error';
    st.cause = { type, message: failure.message };
    phase('rolling-back');
    if (!requested) t.problem(`stopped: ${failure.message}`);
    const putBackLines: string[] = [];
    const notPutBack: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      // Hooks, last first, back to what their dry run read before anything changed.
      if (hooksRan.length) {
        // A hook retried after a killed attempt reads its own new value as "previous" and "changed
        // nothing": what its dry run read before the cut-over is put back, whatever the attempt said.
        const outcomes = hooksRan.map((o) => {
          const planned = hookPlan.find((h) => h.index === o.index);
          const prev = planned && planned.previous !== undefined ? { previous: planned.previous, ...(planned.previousEncoding ? { previousEncoding: planned.previousEncoding } : {}) } : {};
          return { ...o, ...prev, dryRun: false, changed: true };
        });
        try {
          const reverted = await putBack.revertSwitchHooksActivity({ source, target, outcomes });
          for (const r of reverted) (r.ok ? putBackLines : notPutBack).push(`client-switch hook #${r.index + 1} (${r.type}) reverted: ${r.detail}`);
        } catch (err) {
          notPutBack.push(`client-switch hooks NOT reverted (${hooksRan.map((h) => `#${h.index + 1}`).join(', ')}): ${failureOf(err).message}`);
        }
      }
      // The fence: every ACL it planned or reported (a fence killed half way is removed whole).
      if (fenceAttempted) {
        const all = fenceUnion(fencePlan, fence);
        if (all) {
          try {
            await putBack.unfenceWritesActivity({ source, fence: all });
            st.sourceLeft = 'writable';
            putBackLines.push(`writes allowed again on ${source.name}: the fence's ${all.acls.length} ACLs on ${all.topics.length} topics removed`);
          } catch (err) {
            st.sourceLeft = 'unknown';
            notPutBack.push(`the fence on ${source.name} was NOT removed (${all.acls.length} ACLs on ${all.topics.join(', ')}): ${failureOf(err).message} — remove them by hand (kafka-acls --remove) or roll back again`);
          }
        }
      }
      // The target's own fence, lifted for the switched clients: back, now that they are pointed at the source again.
      if (st.targetFenceLeft === 'lifted' && input.targetFence) {
        try {
          const back = await putBack.fencePrimaryActivity({ primary: target, topics: input.targetFence.topics });
          st.targetFenceLeft = 'fenced';
          putBackLines.push(`${target.name}'s write fence put back on ${input.targetFence.topics.length} topics (lifted for the switched clients${st.targetFenceLiftedAt ? ` at ${st.targetFenceLiftedAt}` : ', in part'})`);
          // Every broker refuses the clients' writes before they are counted (a fence through ZooKeeper takes a moment).
          await putBack.awaitFenceActivity({ source: target, fence: back, timeoutMs: 30_000 }).catch((err: unknown) => {
            putBackLines.push(`not every broker of ${target.name} refused writes within 30 s of the fence (${failureOf(err).message}): the count below may miss the last ones`);
          });
        } catch (err) {
          st.targetFenceLeft = 'unknown';
          notPutBack.push(`${target.name}'s write fence was NOT put back (${failureOf(err).message}): its clients may write where nobody reads — fence it again (DENY WRITE User:* on ${input.targetFence.topics.join(', ')})`);
        }
      }
      // What switched clients wrote to the target is there only: named, never dropped. Read after the
      // unfence, so that an unreachable target does not keep the returning clients from writing.
      if (hooksRan.length && patched(TARGET_WRITES_PATCH)) {
        try {
          const line = targetWritesLine(source.name, target.name, await reads.targetWritesActivity({ source, target, topics }));
          if (line) notPutBack.push(line);
          else putBackLines.push(`no records written to ${target.name} past the mirror's copies since the clients switched`);
        } catch (err) {
          notPutBack.push(`records written to ${target.name} since the clients switched were not looked for (${failureOf(err).message}): compare its ends with the mirror's positions before the clients use ${source.name} again`);
        }
      }
      // The mirror last (it only copies to the target): stopped; one stuck on an unreachable target
      // ends with this run (a child is terminated when its parent closes).
      if (mirrorRunning) {
        await mirrorHandle.signal(mirrorStopSignal, { by: workflowId, reason: 'migration rolled back' }).catch(() => undefined);
        const ended = await Promise.race([mirrorEnded, sleep(30_000).then(() => undefined)]);
        putBackLines.push(ended ? `mirror ${mirrorId} stopped (its positions stay on ${target.name})` : `mirror ${mirrorId} terminated with this run (it did not stop within 30 s; its positions stay on ${target.name})`);
      } else if (!drainAsked) putBackLines.push(`mirror ${mirrorId} had ended`);
      if (committed.length) putBackLines.push(`group offsets committed on ${target.name} stay (${committed.map((g) => g.group).join(', ')}): no client uses ${target.name} yet`);
    });
    st.rollback = { by: rollbackAsked?.by ?? workflowId, reason: rollbackAsked?.reason ?? failure.message, putBack: putBackLines, notPutBack };
    for (const n of notPutBack) t.problem(`NOT PUT BACK: ${n}`);
    phase(notPutBack.length ? 'failed' : 'rolled-back');
    t.finish(notPutBack.length ? 'rollback incomplete' : 'rolled back');
    const outcome: RunReport['outcome'] = type === 'ApprovalRejected' ? 'rejected' : 'failed';
    const checks: DataCheck[] = [{ subject: `source ${source.name} left`, expected: 'writable', actual: st.sourceLeft, ok: st.sourceLeft === 'writable' }];
    return { status: st, report: t.report(outcome, { checks }) };
  }
}

export type { GroupOutcome };
