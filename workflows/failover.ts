/**
 * failover — the seed's decision tree (004 §6.3) run for one alert on one primary (ID
 * failover-<cluster>-<incident>, see src/failover/ids.pure.ts):
 *
 *   confirm (direct probes of Kafka and ZooKeeper × policy.confirmProbes) → classify and decide
 *   (src/failover/decide.pure.ts) → repair in place within the budget when decided (child
 *   brokerRecovery, or starting stopped brokers), then confirm and decide again (repaired: no
 *   failover) → data elsewhere and the standby ready (its mirror, the newest verified backup set)
 *   → decide → approval (N different approvers; the timeout escalates, proceeds or stands down per
 *   policy) → promote: stop the mirror, fence the old primary (the point of no return), records
 *   not mirrored per partition, groups moved to the standby → registry degraded while the clients
 *   switch (the standby spec's clientSwitch hooks) → verify (probe on the standby, the groups'
 *   positions) → degradation lifted → report with RTO (alert received → first record consumed on
 *   the standby) and its parts, and RPO as exact records not mirrored per partition.
 *
 * More firing alerts of the incident (`failoverAlert`) are recorded and counted, never start
 * anything. A resolved alert (`failoverResolved`) before promotion stands the run down (nothing
 * changed); after, it is only recorded. Before the point of no return any failure stands down
 * cleanly; after it the run goes on and names what failed. Every activity can run again (a worker
 * killed anywhere costs a retry; promotion steps use short heartbeat timeouts).
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifeboatActivities } from '../activities';
import type { ClusterSpec } from '../src/config/spec';
import { decide, describeProbe } from '../src/failover/decide.pure';
import { FAILOVER_ALERT_SIGNAL, FAILOVER_RESOLVED_SIGNAL, FAILOVER_STATUS_QUERY, heldBySelf, heldLine } from '../src/failover/ids.pure';
import { failoverPolicy } from '../src/failover/policy.pure';
import { type FailoverOutcome, type FailoverPhase, type FailoverRunInput, type FailoverStatus, notMirroredTotal, rtoOf, summarizeProbe } from '../src/failover/run.pure';
import type { AlertEvent, BackupObservation, ClusterObservation, DecisionResult, FailoverPolicy, Observations, StandbyObservation } from '../src/failover/types';
import { mirrorWorkflowId } from '../src/kafka/mirrorRun.pure';
import { groupOutcomes } from '../src/migration/onlineRun.pure';
import type { GroupMove, HookOutcome } from '../src/migration';
import type { DataCheck, RunReport } from '../src/report/report.pure';
import { hostTaskQueue } from '../src/temporal/taskQueues.pure';
import { brokerRecovery } from './brokerRecovery';
import { exactData } from './failover/data';
import { mirrorStopSignal } from './mirror';
import { failureOf } from './recovery/support';
import { type ClusterRef, resolveCluster } from './support/cluster';
import { RunTracker } from './support/tracker';

export type { FailoverRunInput, FailoverStatus } from '../src/failover/run.pure';

export interface FailoverResult {
  status: FailoverStatus;
  /** Everything the decision looked at (every probe, the standby, the backup set, the repair). */
  observations: Observations;
  /** Every firing alert the run saw (the first 50). */
  alerts: AlertEvent[];
  report: RunReport;
}

export const failoverStatusQuery = defineQuery<FailoverStatus>(FAILOVER_STATUS_QUERY);
export const failoverAlertSignal = defineSignal<[AlertEvent]>(FAILOVER_ALERT_SIGNAL);
export const failoverResolvedSignal = defineSignal<[AlertEvent?]>(FAILOVER_RESOLVED_SIGNAL);

/** Each probe of the primary gives up on a broker after this (an unreachable cluster must not stall the decision). */
const PROBE_TIMEOUT_MS = 5_000;
/**
 * A stopped mirror gets this long to end by itself before it is cancelled (its positions are on the
 * standby either way); with no primary broker answering it can copy nothing more, so it gets less.
 */
const MIRROR_STOP_GRACE_MS = 15_000;
const MIRROR_STOP_GRACE_UNREACHABLE_MS = 3_000;
const MIRROR_CANCEL_WAIT_MS = 60_000;
/** Runs started before the promotion hold existed replay without it. */
const PROMOTION_HOLD_PATCH = 'failover-promotion-hold';
const PROMOTION_HELD_CHECK_PATCH = 'failover-promotion-held-check';

/** Observations (read only): each probe answers within its own timeout, so no heartbeat is needed. */
const observe = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '5 seconds', maximumAttempts: 4 },
});

/** The newest verified backup set reads a sample of its data: it heartbeats, and is not retried long. */
const backupCheck = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '5 seconds', maximumAttempts: 2 },
});

/** Promotion steps: quick, retried quickly (a killed worker costs the heartbeat timeout). */
const promote = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '5 seconds', maximumAttempts: 8 },
});

/** Why the run stands down before promotion (a resolved alert, a rejection, a failure). */
class StandDown extends Error {
  constructor(
    readonly reason: string,
    readonly outcome: RunReport['outcome'],
  ) {
    super(reason);
    this.name = 'StandDown';
  }
}

const sameAlert = (a: AlertEvent, b: AlertEvent | undefined) => !!b && a.receivedAt === b.receivedAt && a.incident === b.incident && a.fingerprint === b.fingerprint && a.status === b.status;

export async function failover(input: FailoverRunInput): Promise<FailoverResult> {
  const { workflowId, runId } = workflowInfo();
  const dryRun = input.dryRun ?? false;
  const alert = input.alert;
  const alerts: AlertEvent[] = alert ? [alert] : [];
  const st: FailoverStatus = {
    workflowId,
    primary: input.primary?.cluster ?? '',
    dryRun,
    phase: 'starting',
    ...(alert ? { alert: { source: alert.source, incident: alert.incident, ...(alert.alertname ? { alertname: alert.alertname } : {}), receivedAt: alert.receivedAt } } : {}),
    alerts: { count: alert ? 1 : 0, ...(alert ? { lastAt: alert.receivedAt } : {}) },
    severity: null,
    branches: [],
    probes: [],
    pointOfNoReturn: false,
    degradation: { level: 0 },
    rtoParts: {},
    problems: [],
  };
  let promotionStarted = false;
  let resolvedAsked = false;
  // Queries and signals can come before the tracker exists (the clusters are resolved first).
  const ref: { tracker?: RunTracker } = {};
  setHandler(failoverStatusQuery, () => ({ ...st, problems: ref.tracker?.problems ?? st.problems }));
  setHandler(failoverAlertSignal, (a) => {
    // The receiver starts the run with the alert and signals it too (SignalWithStart): one alert, not two.
    if (a && !sameAlert(a, alert)) {
      if (alerts.length < 50) alerts.push(a);
      st.alerts = { count: st.alerts.count + 1, lastAt: a.receivedAt };
    }
  });
  setHandler(failoverResolvedSignal, (a) => {
    if (st.resolved) return;
    const at = a?.receivedAt ?? new Date().toISOString();
    if (promotionStarted || st.outcome) {
      st.resolved = { at, effect: 'recorded' };
      ref.tracker?.problem(`the alert was resolved at ${at}, after the promotion had started: recorded only`);
      return;
    }
    st.resolved = { at, effect: 'stood down' };
    resolvedAsked = true;
  });

  const p = await resolveCluster((input.primary ?? {}) as ClusterRef);
  const primary = p.spec;
  st.primary = primary.name;
  let policy: FailoverPolicy;
  try {
    policy = failoverPolicy(primary, input.policy);
  } catch (e) {
    throw ApplicationFailure.nonRetryable((e as Error).message, 'InvalidInput');
  }
  const standbyRef = (input.standby ?? (primary.standby ? { cluster: primary.standby } : undefined)) as ClusterRef | undefined;
  const standbyProblems: string[] = [];
  let standby: ClusterSpec | undefined;
  if (standbyRef) {
    try {
      standby = (await resolveCluster(standbyRef)).spec;
    } catch (e) {
      standbyProblems.push(`the standby ${standbyRef.cluster ?? '(spec)'} cannot be resolved: ${failureOf(e).message}`);
    }
  } else standbyProblems.push(`${primary.name} names no standby (spec field "standby") and the run was given none: nothing to fail over to`);
  if (standby && standby.name === primary.name) throw ApplicationFailure.nonRetryable(`the standby is the primary itself (${primary.name}): a failover needs two clusters`, 'InvalidInput');
  if (standby) st.standby = standby.name;
  const mirrorId = standby ? mirrorWorkflowId(primary.name, standby.name) : undefined;
  const hooks = standby?.clientSwitch ?? [];

  const t: RunTracker = new RunTracker(
    'failover',
    primary.name,
    [
      { name: 'confirm', title: `Confirm: ${policy.confirmProbes} direct probes of ${primary.name}, ${policy.confirmIntervalSeconds} s apart` },
      { name: 'decide', title: 'Classify (P0–P3) and decide' },
      { name: 'repair', title: `Repair in place (budget ${policy.repairBudgetMinutes} min)` },
      { name: 'assess', title: `Data elsewhere: ${standby?.name ?? 'the standby'} and its mirror, the newest verified backup set` },
      { name: 'approve', title: `Approval (${policy.approvers} approver${policy.approvers === 1 ? '' : 's'})` },
      { name: 'stop-mirror', title: `Stop the mirror ${mirrorId ?? ''}` },
      { name: 'fence', title: `Fence ${primary.name} (through its brokers or ZooKeeper)` },
      { name: 'divergence', title: 'Records not mirrored, per partition (RPO)' },
      { name: 'groups', title: `Consumer group offsets committed on ${standby?.name ?? 'the standby'}` },
      { name: 'lift-fence', title: `Lift write fences on ${standby?.name ?? 'the standby'} (a cut-over away from it left them)` },
      { name: 'degrade', title: `Registry degradation level ${policy.degradationLevel} while switching` },
      { name: 'hooks', title: `Switch the clients (${hooks.length} hook${hooks.length === 1 ? '' : 's'} of ${standby?.name ?? 'the standby'})` },
      { name: 'verify', title: `Verify ${standby?.name ?? 'the standby'}: produce/consume probe, group positions` },
      { name: 'lift-degradation', title: 'Registry degradation lifted' },
    ],
    dryRun,
    p.source,
  );
  ref.tracker = t;
  for (const m of standbyProblems) t.problem(m);
  const phase = (x: FailoverPhase) => {
    st.phase = x;
  };
  const rtoStart = alert?.receivedAt ?? t.startedAt;
  const sinceAlert = () => Date.now() - Date.parse(rtoStart);
  const marks: Record<string, number> = {};
  const mark = (k: string) => {
    marks[k] = Date.now();
  };

  /** A wait or read that a resolved alert cuts short (before promotion only). */
  const unlessResolved = <T>(fn: () => Promise<T>): Promise<T> =>
    CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      const watch = new CancellationScope();
      void watch
        .run(async () => {
          await condition(() => resolvedAsked);
          scope.cancel();
        })
        .catch(() => undefined);
      try {
        return await fn();
      } catch (e) {
        if (isCancellation(e) && resolvedAsked) throw new StandDown(`the alert was resolved at ${st.resolved?.at}: stood down before anything changed`, 'succeeded');
        throw e;
      } finally {
        watch.cancel();
      }
    });
  const checkResolved = () => {
    if (resolvedAsked) throw new StandDown(`the alert was resolved at ${st.resolved?.at}: stood down before anything changed`, 'succeeded');
  };

  const probes: ClusterObservation[] = [];
  let standbyObs: StandbyObservation | undefined;
  let backupObs: BackupObservation | undefined;
  let repair: Observations['repair'];
  const observations = (): Observations => ({
    probes,
    ...(standbyObs ? { standby: standbyObs } : {}),
    ...(backupObs ? { backup: backupObs } : {}),
    ...(repair ? { repair } : {}),
    sinceAlertMs: sinceAlert(),
  });
  const adopt = (d: DecisionResult): DecisionResult => {
    st.severity = d.severity;
    st.decision = d.decision;
    st.branches = d.branches;
    return d;
  };
  const end = (outcome: FailoverOutcome, reason: string, reportOutcome: RunReport['outcome'], checks: DataCheck[] = []): FailoverResult => {
    st.outcome = outcome;
    st.reason = reason;
    phase(outcome === 'stood down' ? 'stood-down' : outcome === 'repaired in place' ? 'done' : outcome === 'failed over' ? 'done' : outcome === 'planned' ? 'planned' : outcome === 'escalated' ? 'escalated' : 'failed');
    for (const s of t.steps) if (s.status === 'pending') t.skip(s.name, dryRun ? 'dry run' : outcome);
    t.finish(outcome);
    st.problems = t.problems;
    const report = t.report(reportOutcome, { ...(st.rtoMs !== undefined ? { rtoMs: st.rtoMs } : {}), objectives: primary.objectives, checks });
    return { status: st, observations: observations(), alerts, report };
  };

  /** Probes of the primary, policy.confirmProbes of them, interval apart; the decision looks at the newest. */
  const confirm = () =>
    t.step(
      'confirm',
      () =>
        unlessResolved(async () => {
          const round: ClusterObservation[] = [];
          for (let i = 0; i < policy.confirmProbes; i++) {
            if (i > 0) await sleep(policy.confirmIntervalSeconds * 1000);
            const o = await observe.observeClusterActivity({ spec: primary, timeoutMs: PROBE_TIMEOUT_MS });
            round.push(o);
            probes.push(o);
            st.probes = probes.map(summarizeProbe);
          }
          return round;
        }),
      (round) => round.map((o) => describeProbe(o)).join('; '),
    );
  const decideNow = (label: string) =>
    t.step(
      'decide',
      async () => adopt(decide(observations(), policy)),
      (d) => `${label}${d.severity ?? 'healthy'}: ${d.decision.action} — ${d.decision.reason}`,
    );

  // Before the promotion: anything that fails, a rejection or a resolved alert stands the run down.
  let decided: DecisionResult;
  try {
    phase('confirming');
    await confirm();
    mark('confirmed');
    phase('deciding');
    decided = await decideNow('');
    checkResolved();
    if (decided.decision.action === 'stand-down') return end('stood down', decided.decision.reason, 'succeeded');

    if (decided.decision.action === 'repair' && !dryRun) {
      phase('repairing');
      const d = decided.decision;
      repair = await t.step('repair', () => repairInPlace(d.how, d.brokers, d.budgetMs), (r) => `${r.ok ? 'done' : 'FAILED'}: ${r.detail}`);
      st.repair = repair;
      checkResolved();
      phase('confirming');
      await confirm();
      phase('deciding');
      decided = await decideNow('after the repair: ');
      if (decided.decision.action === 'stand-down') {
        const reason = `repaired in place, no failover: ${repair.tried} (${repair.detail}); ${decided.decision.reason}`;
        return end('repaired in place', reason, 'succeeded', [{ subject: `${primary.name} after the repair`, expected: 'healthy in every probe', actual: 'healthy', ok: true }]);
      }
    } else if (decided.decision.action === 'repair') t.skip('repair', `dry run: would ${decided.decision.how} broker ${decided.decision.brokers.join(', ')}`);
    else t.skip('repair', `not repairable in place: ${decided.branches.find((b) => b.question.startsWith('Can it be repaired'))?.answer ?? decided.decision.reason}`);

    // Data elsewhere and the standby (read only), then the decision on everything.
    phase('assessing');
    await t.step(
      'assess',
      () =>
        unlessResolved(async () => {
          if (standby) standbyObs = await observe.observeStandbyActivity({ primary, standby });
          if (standbyObs) st.standbyObservation = standbyObs;
          try {
            const b = await backupCheck.newestVerifiedSetActivity({ spec: primary });
            backupObs = b;
            if (b.newestVerified) st.newestVerifiedSet = { setId: b.newestVerified.setId, time: b.newestVerified.time };
          } catch (e) {
            t.problem(`the newest verified backup set of ${primary.name} could not be read: ${failureOf(e).message}`);
          }
          return standbyObs;
        }),
      (o) => `${o ? `standby ${o.cluster} ${o.healthy ? 'healthy' : 'NOT healthy'}, mirror ${o.mirror.running ? 'running' : 'not running'}, lag ${o.mirror.lagRecords ?? '?'} records` : 'no standby'}; backup set ${st.newestVerifiedSet?.setId ?? 'none verified'}`,
    );
    phase('deciding');
    decided = await decideNow('on everything: ');
    checkResolved();
    const action = decided.decision.action;
    if (action === 'stand-down') return end(repair ? 'repaired in place' : 'stood down', decided.decision.reason, 'succeeded');
    if (dryRun) {
      const d = decided.decision;
      const would = d.action === 'repair' ? `repair in place (${d.how} of broker ${d.brokers.join(', ')})` : d.action === 'failover' ? `fail over ${primary.name} → ${standby?.name}` : 'escalate to an operator';
      return end('planned', `would ${would}: ${d.reason}`, 'planned');
    }
    if (action === 'repair') throw new StandDown(`the repair in place did not help and the tree asks for it again: ${decided.decision.reason}`, 'failed');
    if (!standby) return end('escalated', `${decided.decision.reason}; ${standbyProblems.join('; ')}`, 'failed');
    // A primary another failover promoted (and nobody failed back) is not put to people again.
    if (patched(PROMOTION_HELD_CHECK_PATCH)) {
      // Only a courtesy to the approvers: the take after the approval is what guards (a failed read is a problem line).
      const held = await observe.promotionHeldActivity({ primary: primary.name }).catch((e: unknown) => {
        t.problem(`who holds ${primary.name}'s promotion could not be read before the approval: ${failureOf(e).message}`);
        return null;
      });
      if (held && !heldBySelf(held, workflowId, runId)) throw new StandDown(`another failover holds ${primary.name}'s promotion, nothing was changed: ${heldLine(held)}`, 'failed');
    }

    // The approval: a failover per policy; an escalation only ever by people.
    phase('awaiting-approval');
    mark('decided');
    const escalated = action === 'escalate';
    const lag = standbyObs?.mirror.lagRecords;
    const question = escalated
      ? `ESCALATED (${decided.severity}): ${decided.decision.reason}. Fail over ${primary.name} → ${standby.name} anyway (mirror lag ${lag ?? 'unknown'} records)?`
      : `fail over ${primary.name} → ${standby.name} (${decided.severity}: ${decided.decision.reason}): stop the mirror (lag ${lag ?? 'unknown'} records), fence ${primary.name}, move the groups, run ${hooks.length} client-switch hooks?`;
    const auto = !escalated && ((input.autoApprove ?? false) || (decided.severity !== null && policy.autoApprove.includes(decided.severity)));
    const onTimeout = policy.onApprovalTimeout === 'stand-down' ? 'reject' : escalated && policy.onApprovalTimeout === 'proceed' ? 'escalate' : policy.onApprovalTimeout;
    st.approval = { needed: policy.approvers, approvedBy: [], auto, escalations: 0 };
    try {
      const a = await t.step(
        'approve',
        () => unlessResolved(() => t.approve('approve', question, { autoApprove: auto, timeoutMs: policy.approvalTimeoutMinutes * 60_000, approvers: policy.approvers, onTimeout })),
        (a) => (a.auto ? 'auto-approved' : a.proceededOnTimeout ? 'proceeded at the timeout (policy)' : `approved by ${a.approvedBy.join(' and ')}`),
      );
      st.approval = { needed: policy.approvers, approvedBy: a.approvedBy, auto: a.auto, escalations: a.escalations, ...(a.proceededOnTimeout ? { proceededOnTimeout: true } : {}) };
    } catch (e) {
      const s = t.status().awaitingApproval;
      t.withdrawApproval();
      if (s?.approvers) st.approval = { ...st.approval, approvedBy: s.approvers.approvedBy };
      if (e instanceof StandDown) throw e;
      const f = failureOf(e);
      if (f.type === 'ApprovalRejected') throw new StandDown(`${f.message}`, 'rejected');
      throw e;
    }
    mark('approved');
    checkResolved();
  } catch (e) {
    if (e instanceof StandDown) {
      if (e.outcome !== 'succeeded') t.problem(`stood down: ${e.reason}`);
      return end('stood down', e.reason, e.outcome);
    }
    const f = failureOf(e);
    if (f.type === 'InvalidInput' || f.type === 'InvalidSpec') throw e;
    t.problem(`stood down before the promotion: ${f.message}`);
    return end('stood down', `a step failed before the promotion, nothing was changed: ${f.message}`, 'failed');
  }

  // The promotion hold (ids.pure.ts): one failover of a primary promotes, once, until a failback ends it.
  const holding = patched(PROMOTION_HOLD_PATCH);
  /** Ends this run's hold when nothing was promoted (a failed release is named: the next failover would stand down on it). */
  const letGo = (why: string) =>
    CancellationScope.nonCancellable(() =>
      promote.releasePromotionActivity({ primary: primary.name, end: { by: workflowId, reason: why, holder: workflowId, holderRunId: runId } }).then(
        () => undefined,
        (r: unknown) => {
          t.problem(`the promotion hold of ${primary.name} may be left (${failureOf(r).message}): see lifeboat failover release --cluster ${primary.name} --dry-run, and end it if it is this run's`);
        },
      ),
    );
  if (holding) {
    try {
      const h = await promote.takePromotionActivity({ primary: primary.name, standby: standby.name, holder: workflowId, holderRunId: runId });
      if (!h.taken) {
        t.problem(`stood down: ${heldLine(h.held)}`);
        return end('stood down', `another failover holds ${primary.name}'s promotion, nothing was changed: ${heldLine(h.held)}`, 'failed');
      }
    } catch (e) {
      // A start whose answer was lost may have taken it: let it go.
      await letGo('the promotion hold could not be confirmed');
      const f = failureOf(e);
      t.problem(`stood down: the promotion hold of ${primary.name} could not be taken: ${f.message}`);
      return end('stood down', `the promotion hold could not be taken, nothing was changed: ${f.message}`, 'failed');
    }
    // Resolved while the hold was taken: still before anything changed.
    if (resolvedAsked) {
      await letGo('the alert was resolved');
      return end('stood down', `the alert was resolved at ${st.resolved?.at}: stood down before anything changed`, 'succeeded');
    }
  }

  // The promotion. From here a resolved alert is only recorded.
  promotionStarted = true;
  phase('promoting');
  const topics = standbyObs?.mirror.topics ?? [];
  try {
    const stopped = await t.step('stop-mirror', () => stopMirror(mirrorId!, probes.at(-1)?.reachable === false ? MIRROR_STOP_GRACE_UNREACHABLE_MS : MIRROR_STOP_GRACE_MS), (s) => s);
    st.mirror = { workflowId: mirrorId!, stopped: stopped.startsWith('not running') ? 'not running' : stopped.startsWith('cancel') ? 'cancel requested' : 'stopped' };
  } catch (e) {
    const f = failureOf(e);
    t.problem(`stood down: the mirror ${mirrorId} could not be stopped: ${f.message}`);
    if (holding) await letGo('the mirror could not be stopped');
    return end('stood down', `the mirror could not be stopped, nothing else was changed: ${f.message}`, 'failed');
  }

  // The point of no return: the fence is attempted (a fence half made is still the old primary's state).
  st.pointOfNoReturn = true;
  await t
    .step(
      'fence',
      async () => {
        const f = await promote.fencePrimaryActivity({ primary, topics });
        st.fence = { how: f.via === 'admin' ? 'through its brokers' : 'written into its ZooKeeper (the brokers come back fenced)', detail: `DENY WRITE on ${f.topics.length} topics (${f.acls.length} ACLs)`, fenced: true, record: f };
        return st.fence;
      },
      (f) => `${f.how}: ${f.detail}`,
    )
    .catch((e: unknown) => {
      st.fence = { how: 'not fenced', detail: failureOf(e).message, fenced: false };
      t.problem(`${primary.name} is NOT fenced (${failureOf(e).message}): fence it before it comes back (DENY WRITE on ${topics.length ? topics.join(', ') : 'its topics'}), or its clients write where nobody reads`);
    });

  const moves: GroupMove[] = [];
  let consumedNotMirrored = 0;
  // Named groups, or (none named, as an alert names none) every group with offsets on the mirrored topics.
  const groups: string[] | 'all' = input.groups?.length ? [...new Set(input.groups)] : 'all';
  await t
    .step(
      'divergence',
      async () => {
        const x = await exactData(primary, standby!, topics, groups);
        for (const m of x.problems) t.problem(m);
        st.divergence = x.divergence.partitions.map(({ topic, partition, primaryEnd, mirrored, notMirrored, from }) => ({ topic, partition, primaryEnd, mirrored, notMirrored, from }));
        st.notMirroredTotal = notMirroredTotal(st.divergence);
        for (const m of x.moves) {
          moves.push({ group: m.group, partitions: m.partitions, untranslated: m.untranslated });
          consumedNotMirrored += m.consumedNotMirrored.reduce((n, c) => n + (c.records ?? 0), 0);
        }
        st.consumedNotMirrored = consumedNotMirrored;
        return x.divergence;
      },
      (d) => `${st.notMirroredTotal ?? 'unknown'} records not mirrored over ${d.partitions.length} partitions (from ${d.from})${d.totals.unknown ? `; ${d.totals.unknown} partitions unknown` : ''}`,
    )
    .catch((e: unknown) => t.problem(`records not mirrored could not be counted: ${failureOf(e).message} — the RPO is unknown`));

  await t
    .step(
      'groups',
      async () => {
        const ok = moves.filter((m) => !m.untranslated.length);
        for (const m of moves.filter((x) => x.untranslated.length)) t.problem(`group ${m.group}: ${m.untranslated.length} partitions not translatable, not moved`);
        const held = (await Promise.all(ok.map((m) => promote.commitGroupsActivity({ target: standby!, moves: [m] }).catch((e: unknown) => {
          t.problem(`group ${m.group} not committed on ${standby!.name}: ${failureOf(e).message}`);
          return [] as GroupMove[];
        })))).flat();
        st.groups = groupOutcomes(ok, held);
        return st.groups;
      },
      (g) => `${g.length} groups moved${consumedNotMirrored ? `; ${consumedNotMirrored} records consumed on ${primary.name} were never mirrored` : ''}`,
    )
    .catch((e: unknown) => t.problem(`groups: ${failureOf(e).message}`));

  // A standby a cut-over left read-only (a migration or failback away from it) takes writes again.
  await t
    .step(
      'lift-fence',
      async () => {
        const lifted = await promote.liftStandbyFencesActivity({ standby: standby!, topics });
        st.standbyFence = { topics: lifted.topics, acls: lifted.acls.length };
        return lifted;
      },
      (f) => (f.acls.length ? `${f.acls.length} fence ACLs lifted on ${f.topics.length} topics of ${standby!.name}: ${f.topics.slice(0, 5).join(', ')}${f.topics.length > 5 ? ', …' : ''}` : `no write fence on ${standby!.name}`),
    )
    .catch((e: unknown) => t.problem(`write fences on ${standby!.name} NOT lifted: ${failureOf(e).message} — applications may be refused there: remove the DENY WRITE ACLs of User:* on its topics`));
  mark('promoted');

  // The switch: registry degraded while clients move.
  phase('switching');
  const registrySpec = registryOf(primary, standby!, probes.at(-1));
  if (policy.degradationLevel > 0 && registrySpec) {
    await t
      .step(
        'degrade',
        async () => {
          const s = await promote.registryDegradeActivity({ spec: registrySpec, level: policy.degradationLevel, by: workflowId, reason: `failover ${primary.name} → ${standby!.name}: clients switching` });
          st.degradation = { level: s.level, ...(s.since ? { since: s.since } : {}) };
          return s;
        },
        (s) => `${registrySpec.name}'s registry at level ${s.level}`,
      )
      .catch((e: unknown) => t.problem(`registry degradation not set: ${failureOf(e).message}`));
  } else t.skip('degrade', policy.degradationLevel === 0 ? 'policy: level 0' : `no registry in ${primary.name}'s or ${standby!.name}'s spec`);

  const hooksRan: HookOutcome[] = [];
  await t
    .step(
      'hooks',
      async () => {
        for (let i = 0; i < hooks.length; i++) {
          // Said before it runs and cleared only by its outcome: a run that ends meanwhile (terminated), or an
          // activity that fails without an outcome, leaves this hook's effect unknown.
          st.hookPending = i;
          const out = await promote.runSwitchHookActivity({ source: primary, target: standby!, index: i });
          hooksRan.push(out);
          st.hooks = [...hooksRan];
          delete st.hookPending;
          if (!out.ok) throw ApplicationFailure.nonRetryable(`client-switch hook #${i + 1} (${out.type}) failed: ${out.detail}`, 'HookFailed');
        }
        return hooksRan.length;
      },
      (n) => `${n} hooks ran`,
    )
    .catch((e: unknown) => t.problem(`the clients are NOT all switched: ${failureOf(e).message} (hooks after it did not run)`));
  mark('switched');

  phase('verifying');
  const checks: DataCheck[] = [];
  await t
    .step(
      'verify',
      async () => {
        const probe = await promote.produceConsumeProbeActivity.executeWithOptions({ startToCloseTimeout: '3 minutes', heartbeatTimeout: '30 seconds', retry: { maximumAttempts: 3 } }, [{ spec: standby!, records: 10 }]);
        // The probe returns once it has read its records back: the first record consumed on the standby.
        st.firstConsumedAt = new Date().toISOString();
        checks.push({ subject: `produce/consume probe on ${standby!.name}`, expected: probe.produced, actual: probe.consumed, ok: probe.ok });
        return probe;
      },
      (pr) => `${pr.consumed}/${pr.produced} records read back in ${pr.roundTripMs} ms`,
    )
    .catch((e: unknown) => {
      checks.push({ subject: `produce/consume probe on ${standby!.name}`, expected: 'ok', actual: failureOf(e).message, ok: false });
      t.problem(`${standby!.name} did not pass the probe: ${failureOf(e).message}`);
    });
  for (const g of st.groups ?? []) {
    checks.push({ subject: `group ${g.group}: position on ${standby!.name} as committed (records re-read)`, expected: 0, actual: g.reRead, ok: g.reRead === 0 });
    checks.push({ subject: `group ${g.group}: records skipped`, expected: 0, actual: g.skipped, ok: g.skipped === 0 });
  }
  checks.push({ subject: `${primary.name} fenced`, expected: 'yes', actual: st.fence?.fenced ? st.fence.how : 'NO', ok: st.fence?.fenced ?? false });
  checks.push({ subject: 'records not mirrored (RPO, exact)', expected: 'known', actual: st.notMirroredTotal ?? 'unknown', ok: st.notMirroredTotal !== undefined && st.notMirroredTotal !== null });
  mark('verified');

  if (st.degradation.level > 0 && registrySpec) {
    await t
      .step(
        'lift-degradation',
        async () => {
          const s = await promote.registryDegradeActivity({ spec: registrySpec, level: 0, by: workflowId, reason: `failover ${primary.name} → ${standby!.name}: clients switched` });
          st.degradation = { level: s.level, ...(s.since ? { since: s.since } : {}) };
          return s;
        },
        () => 'level 0',
      )
      .catch((e: unknown) => t.problem(`registry degradation NOT lifted (still level ${st.degradation.level}): ${failureOf(e).message} — lift it: lifeboat registry degrade 0`));
  } else t.skip('lift-degradation', 'nothing degraded');

  // RTO and its parts: alert received → first record consumed on the standby.
  st.rtoMs = rtoOf(rtoStart, st.firstConsumedAt);
  const at = (k: string) => marks[k];
  const span = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? Math.max(0, b - a) : undefined);
  const verifiedAt = st.firstConsumedAt ? Date.parse(st.firstConsumedAt) : undefined;
  st.rtoParts = {
    confirm: span(Date.parse(rtoStart), at('confirmed')),
    decide: span(at('confirmed'), at('decided')),
    approve: span(at('decided'), at('approved')),
    promote: span(at('approved'), at('promoted')),
    switch: span(at('promoted'), at('switched')),
    verify: span(at('switched'), verifiedAt),
  };
  if (st.rtoMs !== undefined) checks.push({ subject: 'RTO (alert → first record consumed on the standby)', expected: `≤ ${primary.objectives.rtoMinutes} min`, actual: `${st.rtoMs} ms`, ok: st.rtoMs <= primary.objectives.rtoMinutes * 60_000 });
  const ok = checks.every((c) => c.ok) && !!st.firstConsumedAt;
  return end('failed over', `${primary.name} → ${standby!.name}${ok ? '' : ' with problems (see the checks)'}`, ok ? 'succeeded' : 'failed', checks);

  /** Repair in place within the budget: start stopped brokers, or recover a broker (child brokerRecovery). */
  async function repairInPlace(how: 'start-process' | 'broker-recovery', brokers: number[], budgetMs: number): Promise<NonNullable<Observations['repair']>> {
    const tried = `${how} of broker ${brokers.join(', ')}`;
    try {
      const detail = await CancellationScope.withTimeout(budgetMs, async () => {
        const done: string[] = [];
        for (const id of brokers) {
          const b = primary.brokers.find((x) => x.id === id);
          if (!b) throw ApplicationFailure.nonRetryable(`spec ${primary.name} has no broker ${id}`, 'InvalidInput');
          if (how === 'start-process') {
            await promote.startBrokerActivity.executeWithOptions({ taskQueue: hostTaskQueue(b.host), startToCloseTimeout: '5 minutes', scheduleToCloseTimeout: `${Math.max(60_000, budgetMs)} milliseconds`, retry: { initialInterval: '1 second', maximumInterval: '10 seconds' } }, [{ spec: primary, brokerId: id }]);
            done.push(`broker ${id} started on ${b.host}`);
          } else {
            const r = await executeChild(brokerRecovery, {
              workflowId: `${workflowId}-repair-broker-${id}`,
              args: [{ spec: primary, ...(p.source ? { specSource: p.source } : {}), brokerId: id, ...(alert ? { failureTime: alert.startsAt } : {}), restoreLostLogDirs: false }],
            });
            if (r.outcome !== 'succeeded') throw ApplicationFailure.nonRetryable(`brokerRecovery of broker ${id} ended ${r.outcome}: ${r.problems.join('; ')}`, 'RepairFailed');
            done.push(`broker ${id} recovered (${r.workflowId})`);
          }
        }
        return done.join('; ');
      });
      return { tried, ok: true, detail };
    } catch (e) {
      const detail = isCancellation(e) ? `not done within the budget (${Math.round(budgetMs / 1000)} s)` : failureOf(e).message;
      t.problem(`repair in place failed (${tried}): ${detail}`);
      return { tried, ok: false, detail };
    }
  }
}

/**
 * Stops the mirror primary → standby: its stop signal, then a wait for it to close (asked again
 * every second; a closed run answers "not found"), then a cancellation if it is still open after the
 * grace (it retries an unreachable primary). Its positions are on the standby whichever way it ends.
 */
async function stopMirror(mirrorId: string, graceMs: number): Promise<string> {
  const handle = getExternalWorkflowHandle(mirrorId);
  const by = { by: workflowInfo().workflowId, reason: 'failover: the standby is promoted' };
  const gone = (e: unknown) => /not found|already completed/i.test(failureOf(e).message);
  const closedWithin = async (ms: number): Promise<boolean> => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      try {
        await handle.signal(mirrorStopSignal, by);
      } catch (e) {
        if (gone(e)) return true;
        throw e;
      }
      await sleep(1_000);
    }
    return false;
  };
  try {
    await handle.signal(mirrorStopSignal, by);
  } catch (e) {
    if (gone(e)) return `not running (${mirrorId} had ended or never ran)`;
    throw e;
  }
  if (await closedWithin(graceMs)) return `stopped (${mirrorId} ended; its positions stay on the standby)`;
  await handle.cancel().catch((e: unknown) => {
    if (!gone(e)) throw e;
  });
  if (await closedWithin(MIRROR_CANCEL_WAIT_MS)) return `cancelled (${mirrorId} did not stop within ${graceMs / 1000} s; its positions stay on the standby)`;
  throw ApplicationFailure.nonRetryable(`${mirrorId} still runs ${(graceMs + MIRROR_CANCEL_WAIT_MS) / 1000} s after its stop and cancellation`, 'Unreachable');
}

/** The registry degraded while clients switch: the primary's when its ZooKeeper has a quorum, else the standby's. */
function registryOf(primary: ClusterSpec, standby: ClusterSpec, last: ClusterObservation | undefined): ClusterSpec | undefined {
  if (primary.registry && primary.zookeeper && (last?.zookeeper?.quorum ?? false)) return primary;
  if (standby.registry && standby.zookeeper) return standby;
  return undefined;
}
