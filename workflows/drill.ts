/**
 * drill (issue 16, seed 004 §8.3): one DR drill against a staging cluster, in five phases.
 *
 *   prepare  the target allowed (environment staging/development, or iKnowThisIsProduction: else one
 *            non-retryable InvalidInput); another drill on the cluster → a skipped drill is recorded;
 *            people notified; the earlier drills' open problems; the inventory; the write stream's
 *            topic and the stream started (not awaited: it runs until DRILL_STREAM_STOP_QUERY says
 *            stop, once the faults are applied); a fresh backup child (its set holds the stream's first
 *            records, so the measured RPO is real) or the newest set checked (`useNewestSet`: beside
 *            the stream topic's creation; the RPO measured is then the set's age)
 *   start    the stream's signal awaited (a write acknowledged in every partition and the znode;
 *            at most STREAM_SEED_WAIT), so every partition has a last write to measure the loss
 *            from; each fault recorded in the workflow's state BEFORE its activity runs (the revert needs
 *            only that record: a worker SIGKILLed anywhere, the next one reverts it), then applied
 *   execute  the recovery child(ren) of the plan, while a probe loop looks for the first green
 *            independent probe (RTO); a chaos drill kills a broker when the recovery reaches its step
 *   verify   the recovery's own verification when every child verified (not in a chaos drill), else
 *            verifyCluster (serving, probe); the stream (stopped after the faults) read back (RPO)
 *   review   the faults reverted in reverse order (restore), or all at once after a verified recovery
 *            (discard: each only drops what its fault kept), in a non-cancellable scope; the inventory
 *            compared, the stream topic dropped, the score with the earlier drills' open problems, the
 *            record saved, people told
 *
 * The drill's own time is overhead on the recovery it measures (issue 16: ≤ 10 %), so steps that do
 * not depend on each other run at once (`together`): prepare's reads beside the stream and the
 * backup; broker faults of different brokers, and the disks beside the chroot once every broker is
 * killed (applyStages); the read-back beside verifyCluster; after a verified recovery the discards,
 * the stream's drop, the inventory and the read-back at once (none changes what the others read);
 * the record's save beside the last notice (both local activities: no task round trip for them); a
 * killed broker's disk discard beside its kill's revert. What must stay ordered does: each fault
 * recorded before its activity, a broker's kill before its disk, the chroot after the kills, a
 * restore's reverts backwards and the inventory after them, the stream topic's drop after its
 * read-back's result is in the history.
 *
 * A stop signal (DRILL_STOP_SIGNAL) or a cancellation ends the run at once: the review still runs
 * (non-cancellable: reverts, record with `stopped`). A tabletop applies no fault, starts no stream
 * and runs every child as a dry run: nothing is touched.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifeboatActivities } from '../activities';
import { requirementOf } from '../src/backup/coverage.pure';
import type { ClusterSpec } from '../src/config/spec';
import { type ChildOutcome, type DrillObservations, drillRecord, recoveryVerification, refusedRecord, skippedRecord } from '../src/drills/evidence.pure';
import { inventoryDiff } from '../src/drills/inventory.pure';
import { DRILL_KIND, DRILL_STATUS_QUERY, DRILL_STOP_SIGNAL, DRILL_STREAM_SEEDED_SIGNAL, DRILL_STREAM_STOP_QUERY, drillStreamTopic } from '../src/drills/ids.pure';
import {
  agentWaitProblem,
  DRILL_AGENT_WAIT_SECONDS,
  DRILL_REGISTRY_WAIT_SECONDS,
  type DrillPlan,
  type DrillStatus,
  drillPlan,
  applyStages,
  faultBrokerId,
  faultText,
  type RecoveryCall,
  registryWaitProblem,
  revertModeOf,
  revertStages,
  targetRefusal,
} from '../src/drills/plan.pure';
import { carriedFaultTitle, type FaultsLeft, faultsLeftByLastDrill, faultsLeftText, REVERT_EVIDENCE } from '../src/drills/problems.pure';
import type { AppliedFault, DrillRecord, FaultSpec, Inventory, RevertResult, Scenario, StreamLog } from '../src/drills/records';
import type { DrillType, FoundProblem, PartitionEvidence, ZookeeperEvidence } from '../src/drills/types';
import type { RunReport, SpecRef } from '../src/report/report.pure';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND, LIFEBOAT_STEP } from '../src/temporal/searchAttributes';
import { hostTaskQueue } from '../src/temporal/taskQueues.pure';
import { backup } from './backup';
import { brokerRecovery } from './brokerRecovery';
import { failover } from './failover';
import { fullClusterRecovery } from './recovery/fullClusterRecovery';
import { restoreState } from './recovery/restoreState';
import { failureOf } from './recovery/support';
import { verifyCluster } from './recovery/verifyCluster';
import { resolveCluster } from './support/cluster';
import { FailoverDrill } from './support/failoverDrill';
import { childProgressSignal } from './support/tracker';

export interface DrillInput {
  /** The target, by spec or by name among the worker's specs. */
  spec?: ClusterSpec;
  cluster?: string;
  scenario: Scenario;
  type: DrillType;
  /** Needed to drill a cluster whose spec does not say environment: staging (or development). */
  iKnowThisIsProduction?: boolean;
  /** Set by a Schedule: its id. */
  schedule?: string;
  /** Check the newest backup set instead of making a fresh one in prepare (the measured RPO is then the set's age). */
  useNewestSet?: boolean;
  /** A chaos drill's step instead of a random one (a runbook step id of the recovery). */
  chaosStep?: string;
  /** Who approved the drill's gated steps (default: whoever started it, as "drill <id>"). */
  approvedBy?: string;
  /** Time between probes while the target recovers (default 3 s). */
  probeIntervalSeconds?: number;
  /** Time between the write stream's records (default the stream's own). */
  streamIntervalMs?: number;
  /** A full datacenter-lost drill: how long its failover waits for people when it escalates, then stands down and the drill fails (default 2). */
  escalationMinutes?: number;
  /** A registry-lost drill: how long verify waits for the services to register their instances again (1-240 s, default 60). */
  registryWaitSeconds?: number;
  /** How long a fault on a broker's host waits for that host's Lifeboat agent to take it (1-3600 s, default 120); its revert waits five times as long. */
  agentWaitSeconds?: number;
  /**
   * A person checked the target after the last drill failed to revert a fault (and put it back by hand):
   * this drill applies its faults anyway. Without it such a drill applies none (faultsLeftByLastDrill).
   */
  revertsChecked?: boolean;
}

export const drillStatusQuery = defineQuery<DrillStatus>(DRILL_STATUS_QUERY);
export const drillStreamStopQuery = defineQuery<boolean>(DRILL_STREAM_STOP_QUERY);
export const drillStreamSeededSignal = defineSignal(DRILL_STREAM_SEEDED_SIGNAL);
export const drillStopSignal = defineSignal<[{ by?: string; reason?: string }?]>(DRILL_STOP_SIGNAL);

const RETRY = { initialInterval: '1 second', maximumInterval: '20 seconds', maximumAttempts: 5 };
/** Reads and bookkeeping on the control queue. */
const CONTROL = { startToCloseTimeout: '5 minutes', retry: RETRY };
const control = proxyActivities<LifeboatActivities>(CONTROL);
/** Faults and reverts: short enough that a killed worker's attempt is retried soon; reverts are retried long. */
// They heartbeat every 5 s: a worker killed mid-fault costs the heartbeat timeout, not the whole timeout.
const FAULT = { startToCloseTimeout: '5 minutes', heartbeatTimeout: '30 seconds', retry: RETRY };
const REVERT = { startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds', retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 10 } };
const faults = proxyActivities<LifeboatActivities>(FAULT);
/** The write stream runs the whole drill, heartbeating its acknowledgements. */
const stream = proxyActivities<LifeboatActivities>({ startToCloseTimeout: '6 hours', heartbeatTimeout: '30 seconds', retry: { ...RETRY, maximumAttempts: 20 } });
/** One probe is bounded by its own timeout (10 s); a lost one is just a missed sample. */
const probes = proxyActivities<LifeboatActivities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '1 second', maximumAttempts: 2 } });
/** Notifying people is best effort: a failure is a note, never a stop. */
const notify = proxyActivities<LifeboatActivities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '1 second', maximumAttempts: 3 } });
/**
 * The review's last steps (the record's save, the last notice) as local activities: run by the worker
 * that runs the drill, inside the workflow task that made the record, so no task is scheduled and polled
 * for them and none for their results (each such round trip 20-50 ms on the drill's own time).
 */
const controlLocal = proxyLocalActivities<LifeboatActivities>({ startToCloseTimeout: '5 minutes', retry: RETRY });
const notifyLocal = proxyLocalActivities<LifeboatActivities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '1 second', maximumAttempts: 3 } });

const PROBE_TIMEOUT_MS = 10_000;
/** Drills started before it read the inventory and the earlier drills beside the stream topic's creation (replayed so). */
const DRILL_READS_BESIDE_SET_PATCH = 'drill-reads-beside-set';
/** Drills on the newest set started before it checked the set after the stream topic's creation, not beside it (replayed so). */
const DRILL_NEWEST_SET_BESIDE_STREAM_PATCH = 'drill-newest-set-beside-stream';
/** Drills started before it applied the faults without waiting for the stream's first writes (replayed so). */
const DRILL_FAULTS_AFTER_SEED_PATCH = 'drill-faults-after-stream-seeded';
/** How long the faults wait for the write stream's first acknowledged write in every partition. */
const STREAM_SEED_WAIT = '10 seconds';
/** Drills started before it probed only every interval during the recovery (replayed so). */
const DRILL_PROBE_ON_STEP_PATCH = 'drill-probe-on-step';
/** Drills started before it took the inventory after only in the review (replayed so). */
const DRILL_EARLY_INVENTORY_PATCH = 'drill-early-inventory';
/** Drills started before it saved the record and told people the end with (remote) activities (replayed so). */
const DRILL_LOCAL_RECORD_PATCH = 'drill-local-record';
/** The cluster's drill lock (src/drills/lock.ts), taken before prepare and ended with the record. */
const DRILL_LOCK_PATCH = 'drill-lock';
/**
 * Drills started before it took the lock with a local activity (replayed so). Once, the first workflow
 * task ended with that local activity's result (why is not known; a query during it did not do it in a
 * test), the patch calls right after it went into the next task, and another worker could not replay
 * that (TMPRL1100 for drill-refuse-faults-left: a drill whose worker was killed never ended). An
 * activity's result always comes in a task of its own, whose patches are known when it is replayed.
 */
const DRILL_LOCK_REMOTE_PATCH = 'drill-lock-remote';
/** Drills started before it discarded a broker's disk after its kill's revert, not beside it (replayed so). */
const DRILL_DISK_APART_PATCH = 'drill-disk-discard-apart';
/** Drills started before it read the stream back only once the recovery was over (replayed so). */
const DRILL_EARLY_READ_BACK_PATCH = 'drill-early-read-back';
/**
 * Drills started before it had a stop cancel a fault's (or the stream topic's) activity and go on at
 * once: the review could revert a fault while its apply still ran, find nothing, and the apply then
 * deleted the chroot (replayed so). Since, those activities are waited for until they end.
 */
const DRILL_WAIT_CANCELLED_PATCH = 'drill-wait-cancelled-faults';
/** Drills started before it applied their faults whatever the last drill left in place (replayed so). */
const DRILL_FAULTS_LEFT_PATCH = 'drill-refuse-faults-left';
const WAIT_CANCELLED = { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };
/** Drills started before it could review a stopped chaos drill while its chaos fault was still applied (replayed so). */
const DRILL_WAIT_CHAOS_PATCH = 'drill-wait-chaos-fault';
/** After the recovery verified, how long the probe loop may still look for green. */
const PROBE_GRACE_MS = 60_000;

/** The broker host a fault runs on (its agent's queue), if it runs on one. */
const hostOf = (spec: ClusterSpec, f: FaultSpec) => {
  const id = faultBrokerId(f);
  return id === undefined ? undefined : spec.brokers.find((b) => b.id === id)?.host;
};

/**
 * A fault or a revert on a broker's host waits `seconds` for that host's agent to take it. Past it, a
 * missing agent fails the fault (the drill fails and reverts) or the revert (REVERT FAILED, which the
 * next drill refuses to go on over): the drill ends and lets its lock go instead of waiting forever.
 */
function onHostOf(spec: ClusterSpec, f: FaultSpec, seconds: number) {
  const host = hostOf(spec, f);
  return host ? { taskQueue: hostTaskQueue(host), scheduleToStartTimeout: seconds * 1000 } : {};
}

/**
 * A fault's or revert's activity that no host agent took within its wait (SCHEDULE_TO_START, never
 * retried): `neverStarted` when no attempt ran at all (the timeout carries no earlier attempt's
 * failure as its cause), so a fault's apply did nothing.
 */
function noAgentTook(e: unknown): { neverStarted: boolean } | undefined {
  for (let c = e as { cause?: unknown } | undefined; c; c = c.cause as typeof c) {
    if (c instanceof TimeoutFailure && c.timeoutType === 'SCHEDULE_TO_START') return { neverStarted: !c.cause };
  }
  return undefined;
}

/** A fault's or revert's failure in one line; one no host agent took says which agent to start. */
function hostFailureText(spec: ClusterSpec, f: FaultSpec, seconds: number, e: unknown): string {
  const host = hostOf(spec, f);
  return host && noAgentTook(e) ? `no Lifeboat agent took it from the queue ${hostTaskQueue(host)} within ${seconds} s: is 'lifeboat worker --host ${host}' running on ${host}?` : failureOf(e).message;
}

/** Drills started before it reverted a fault no host agent took (replayed so). */
const DRILL_NEVER_STARTED_PATCH = 'drill-never-started-not-reverted';

class Stopped extends Error {}
/** The last drill left faults in place and no person said they checked them: this one applies none. */
class FaultsLeftInPlace extends Error {}

/**
 * Runs independent branches at once and waits for every one of them to settle (none is left running
 * behind a failure), then throws the first failure in the branches' order.
 */
async function together(...branches: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(branches);
  const bad = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
}

export async function drill(input: DrillInput): Promise<DrillRecord> {
  const info = workflowInfo();
  const drillId = info.workflowId;
  const startedAt = new Date().toISOString();
  const nowIso = () => new Date().toISOString();

  const st: DrillStatus = {
    drillId,
    cluster: input.cluster ?? input.spec?.name ?? '',
    scenario: input.scenario,
    type: input.type,
    dryRun: input.type === 'tabletop',
    phase: 'prepare',
    startedAt,
    faults: [],
    reverts: [],
    recovery: [],
    notes: [],
  };
  let streamStop = false;
  /** The stream has an acknowledged write in every partition (its signal), or has ended. */
  let streamSeeded = false;
  let stopAsked: string | undefined;
  /** The five phases run in this scope: the stop signal cancels it (the review runs outside it). */
  const main = new CancellationScope();
  /** The children's newest progress (their trackers signal it): current step and steps. */
  const progress = new Map<string, { seq: number; step: string; steps: RunReport['steps']; problems: string[] }>();
  setHandler(drillStatusQuery, () => st);
  setHandler(drillStreamStopQuery, () => streamStop);
  setHandler(drillStreamSeededSignal, () => void (streamSeeded = true));
  setHandler(drillStopSignal, (s) => {
    stopAsked ??= `stopped by ${s?.by ?? 'a stop signal'}${s?.reason ? `: ${s.reason}` : ''}`;
    streamStop = true;
    main.cancel();
  });
  /** Set by the probe loop: a recovery child that moves to another step asks for a probe at once. */
  let probeOnStep: (() => void) | undefined;
  setHandler(childProgressSignal, (p) => {
    const had = progress.get(p.workflowId);
    if (had && p.seq <= had.seq) return;
    progress.set(p.workflowId, { seq: p.seq, step: p.step, steps: p.steps, problems: p.problems });
    const r = st.recovery.find((x) => x.workflowId === p.workflowId);
    if (r && !r.outcome) {
      if (r.step !== undefined && r.step !== p.step) probeOnStep?.();
      r.step = p.step;
    }
  });

  const { spec, source } = await resolveCluster(input);
  st.cluster = spec.name;
  upsertSearchAttributes([
    { key: LIFEBOAT_KIND, value: DRILL_KIND },
    { key: LIFEBOAT_CLUSTER, value: spec.name },
    { key: LIFEBOAT_STEP, value: 'prepare' },
  ]);
  const registryWait = input.registryWaitSeconds ?? DRILL_REGISTRY_WAIT_SECONDS;
  const agentWait = input.agentWaitSeconds ?? DRILL_AGENT_WAIT_SECONDS;
  const revertAgentWait = agentWait * 5;
  const refusal = targetRefusal(spec, input.iKnowThisIsProduction) ?? registryWaitProblem(registryWait) ?? agentWaitProblem(agentWait);
  if (refusal) throw ApplicationFailure.nonRetryable(refusal, 'InvalidInput');
  let plan: DrillPlan;
  try {
    plan = drillPlan(spec, input.scenario, input.type, { random: Math.random, chaosStep: input.chaosStep });
  } catch (e) {
    const f = e as { type?: string; message?: string };
    throw ApplicationFailure.nonRetryable(f.message ?? String(e), f.type ?? 'InvalidInput');
  }
  st.notes.push(...plan.notes);

  const phases: DrillRecord['phases'] = [];
  const phase = (name: DrillRecord['phases'][number]['name']) => {
    const t = nowIso();
    const prev = phases[phases.length - 1];
    if (prev && !prev.endedAt) prev.endedAt = t;
    phases.push({ name, startedAt: t, notes: [] });
    st.phase = name;
    upsertSearchAttributes([{ key: LIFEBOAT_STEP, value: name }]);
  };
  const noteIn = (ph: DrillRecord['phases'][number] | undefined, line: string) => {
    ph?.notes.push(line);
    st.notes.push(line);
  };
  const note = (line: string) => noteIn(phases[phases.length - 1], line);
  const found: FoundProblem[] = [];
  const problem = (title: string, evidence: string, cls: FoundProblem['class'], ph = phases[phases.length - 1]) => {
    found.push({ title, evidence, found: nowIso(), class: cls });
    noteIn(ph, `problem: ${title}`);
  };
  const tell = async (summary: string, ended = false, local = false) => {
    try {
      const r = await (local ? notifyLocal : notify).drillNotifyActivity({ spec, drillId, phase: st.phase, summary, ended });
      note(`people notified (${st.phase}${ended ? ', ended' : ''}): ${r.delivered} Alertmanager${r.delivered === 1 ? '' : 's'}`);
    } catch (e) {
      note(`people not notified (${st.phase}): ${failureOf(e).message}`);
    }
  };

  // A full datacenter-lost drill measures the standby and undoes the failover (support/failoverDrill.ts):
  // its standby and mirror checked here, a refusal before anything is touched.
  const fo = plan.recovery.some((c) => c.workflow === 'failover') && !plan.dryRun ? new FailoverDrill(spec, drillStreamTopic(drillId), (l) => note(l), input.escalationMinutes, input.iKnowThisIsProduction) : undefined;
  if (fo) await fo.check();
  /** The cluster the probe loop, verifyCluster and the read-back look at: where the service is after the recovery. */
  const measured = fo ? fo.standby : spec;

  phase('prepare');
  // Another drill on the cluster: this one is recorded as skipped, not silently dropped. The lock is
  // the atomic check (visibility lags: two drills started together both found none); the look at the
  // running drills is what a drill does that could not take it.
  let others: string[] = [];
  const lockIt = patched(DRILL_LOCK_PATCH);
  const lockOf = { cluster: spec.name, holder: drillId, holderRunId: info.runId };
  let locked = false;
  if (lockIt) {
    try {
      const l = patched(DRILL_LOCK_REMOTE_PATCH) ? await control.drillLockActivity(lockOf) : await controlLocal.drillLockActivity(lockOf);
      if (l.taken) locked = true;
      else others = [l.held.holder];
    } catch (e) {
      note(`the drill lock of ${spec.name} could not be taken (${failureOf(e).message}): only the running drills are looked at`);
    }
  }
  // Ended once: a second call waits for the first.
  let unlocking: Promise<void> | undefined;
  const unlock = (): Promise<void> =>
    locked
      ? (unlocking ??= CancellationScope.nonCancellable(() => controlLocal.drillUnlockActivity(lockOf)).then(
          (ended) => {
            if (!ended) st.notes.push(`the drill lock of ${spec.name} was no longer this drill's when it ended`);
          },
          (e: unknown) => {
            st.notes.push(`the drill lock of ${spec.name} was not ended (${failureOf(e).message}): the next drill takes it over, this drill having ended`);
          },
        ))
      : Promise.resolve();
  // Locked, the look is left out: a drill that lost the lock to this one is still Running while it records
  // itself as skipped, and the look would find it and skip this one too.
  if (!others.length && !locked) {
    try {
      others = await control.drillOthersRunningActivity({ cluster: spec.name, selfWorkflowId: drillId });
    } catch (e) {
      note(`could not list other drills on ${spec.name}: ${failureOf(e).message}`);
    }
  }
  if (others.length) {
    await unlock();
    const why = `another drill runs on ${spec.name}: ${others.join(', ')}`;
    const record = skippedRecord({ id: drillId, cluster: spec.name, type: input.type, scenario: input.scenario, workflowId: drillId, runId: info.runId, schedule: input.schedule, startedAt, endedAt: nowIso() }, why);
    try {
      st.recordSnapshot = (await control.drillSaveRecordActivity({ spec, record })).snapshot;
    } catch (e) {
      st.notes.push(`the skipped drill's record was not saved: ${failureOf(e).message}`);
    }
    st.phase = 'skipped';
    st.notes.push(why);
    upsertSearchAttributes([{ key: LIFEBOAT_STEP, value: 'skipped' }]);
    return record;
  }

  // What the run observed; the review turns it into the record.
  let history: DrillRecord[] | undefined;
  let inventoryBefore: Inventory | undefined;
  let registryBefore: string[] | undefined;
  let faultAt: string | undefined;
  let firstGreen: string | null | undefined;
  let readBack: { partitions: PartitionEvidence[]; zookeeper?: ZookeeperEvidence | null; streamStartedAt?: string } | undefined;
  let streamP: Promise<StreamLog | undefined> | undefined;
  /** The stream's read-back in verify (a verified recovery's: the one taken at its verify step, readBackEarlyP); a verified one's review awaits it. */
  let readBackP: Promise<void> | undefined;
  let readBackInReview = false;
  /** The inventory after, taken while the last recovery child verifies (earlyInventory below); a verified recovery's review takes it. */
  let inventoryEarlyP: Promise<Inventory | undefined> | undefined;
  type ReadBackAnswer = Awaited<ReturnType<LifeboatActivities['drillReadBackActivity']>>;
  /** The stream's read-back taken while the last recovery child verifies (earlyReadBack below); a verified recovery's verify phase takes it. */
  let readBackEarlyP: Promise<{ answer: ReadBackAnswer; at: string } | undefined> | undefined;
  /** The ends the read-back the record holds saw, when it was the early one: the stream's drop is guarded by them. */
  let readEnds: ReadBackAnswer['ends'] | undefined;
  let setId: string | undefined;
  let verified = false;
  let failed: string | undefined;
  /** Why the drill applied no fault: the last drill left faults in place (checkFaultsLeft). */
  let refused: string | undefined;
  let cancelled: unknown;
  const children: ChildOutcome[] = [];
  const applied: AppliedFault[] = [];
  /**
   * Every fault as recorded before it was applied, with its applied record once the activity returned (same
   * order as st.faults); `neverStarted`: no agent took its apply, so there is nothing to revert.
   */
  const recorded: { fault: FaultSpec; faultId: string; at: string; detail: string; applied?: AppliedFault; neverStarted?: boolean }[] = [];
  const topic = drillStreamTopic(drillId);
  const approvedBy = input.approvedBy ?? (input.schedule ? `schedule ${input.schedule}` : `the operator who started drill ${drillId}`);
  let chaosAppliedAt: string | undefined;

  /**
   * Records the fault in state, then applies it: a revert never lacks its record. `faultId`: the id
   * the fault activities key it by (their idempotence): the chaos fault has one of its own, or
   * killing a broker the scenario killed already would find that kill and do nothing.
   */
  const applyFault = async (fault: FaultSpec, faultId = drillId): Promise<void> => {
    // Stopped (a stage's activity was waited for meanwhile): no new fault, and none recorded to revert.
    if (stopAsked && patched(DRILL_WAIT_CANCELLED_PATCH)) throw new Stopped(stopAsked);
    const entry = { fault, applied: false, at: nowIso(), detail: `applying: ${faultText(fault)}` };
    const mine: (typeof recorded)[number] = { fault, faultId, at: entry.at, detail: entry.detail };
    st.faults.push(entry);
    recorded.push(mine);
    // A stop cancels the phases; the apply may be past its export, deleting: it is waited for, so its revert never runs beside it.
    const wait = patched(DRILL_WAIT_CANCELLED_PATCH) ? WAIT_CANCELLED : {};
    const a = await faults.drillApplyFaultActivity.executeWithOptions({ ...FAULT, ...onHostOf(spec, fault, agentWait), ...wait }, [{ spec, drillId: faultId, fault }]).catch((e: unknown) => {
      if (isCancellation(e)) throw e;
      const noAgent = noAgentTook(e);
      if (!noAgent) throw e;
      mine.neverStarted = noAgent.neverStarted;
      throw ApplicationFailure.nonRetryable(`${faultText(fault)}: ${hostFailureText(spec, fault, agentWait, e)}`, 'NoHostAgent');
    });
    Object.assign(entry, { applied: true, at: a.at, detail: a.detail });
    mine.applied = a;
    applied.push(a);
  };

  const runChild = async (call: RecoveryCall): Promise<ChildOutcome> => {
    const workflowId = `${drillId}/${call.id}`;
    const outcome: ChildOutcome = { call, workflowId };
    const entry: DrillStatus['recovery'][number] = { workflowId, workflow: call.workflow };
    st.recovery.push(entry);
    const common = { spec, specSource: source as SpecRef | undefined, dryRun: plan.dryRun, autoApprove: true, failureTime: faultAt };
    try {
      let report: RunReport;
      switch (call.workflow) {
        case 'fullClusterRecovery':
          report = await executeChild(fullClusterRecovery, { workflowId, args: [{ ...common, parts: call.parts }] });
          break;
        case 'brokerRecovery':
          // brokers-lost: the brokers whose recoveries come after this one are not this one's to verify.
          report = await executeChild(brokerRecovery, { workflowId, args: [{ ...common, brokerId: call.brokerId!, alsoLost: plan.recovery.slice(plan.recovery.indexOf(call) + 1).flatMap((c) => (c.brokerId === undefined ? [] : [c.brokerId])) }] });
          break;
        case 'restoreState':
          report = await executeChild(restoreState, { workflowId, args: [{ spec, specSource: source, dryRun: plan.dryRun, autoApprove: true, parts: call.parts, setId }] });
          break;
        case 'failover': {
          fo?.starting(workflowId);
          const r = await executeChild(failover, {
            workflowId,
            args: [fo ? fo.failoverInput(plan.dryRun) : { primary: { spec }, standby: { cluster: spec.standby! }, autoApprove: true, dryRun: plan.dryRun, policy: { repairBudgetMinutes: 0 } }],
          });
          report = r.report;
          fo?.took(r, nowIso());
          break;
        }
      }
      outcome.report = report;
      entry.outcome = report.outcome;
    } catch (e) {
      if (isCancellation(e)) throw e;
      outcome.failed = failureOf(e).message;
      entry.outcome = 'failed';
      // What the child did before it failed, as its last progress showed it.
      const p = progress.get(workflowId);
      if (p) outcome.report = { kind: call.workflow, cluster: spec.name, workflowId, runId: '', dryRun: plan.dryRun, outcome: 'failed', startedAt: faultAt ?? startedAt, endedAt: nowIso(), steps: p.steps, checks: [], problems: p.problems };
    }
    children.push(outcome);
    return outcome;
  };

  /**
   * Faults on a target where the last drill left some would measure those (and a chroot or a disk
   * still set aside is data at risk), and a fresh backup of it would be the newest set: unless a
   * person says they checked (`revertsChecked`), the drill makes no set, applies no fault and is
   * recorded as skipped, carrying what is left as its own P0 problems so the next drill finds them
   * too. A tabletop touches nothing: it goes on and carries them. Checked once the earlier drills are
   * read (from the start of prepare, beside the stream topic), before the fresh set and the faults.
   */
  let leftPatch = false;
  let earlier: Promise<void> | undefined;
  let leftChecked = false;
  const carryLeft = (left: FaultsLeft) => {
    for (const f of left.faults) problem(carriedFaultTitle(left, f), REVERT_EVIDENCE, 'P0');
  };
  const checkFaultsLeft = async () => {
    if (!earlier || leftChecked) return;
    await earlier;
    // Weighed from here on (a stop during the read above leaves it to the review to carry them).
    leftChecked = true;
    if (!history) {
      if (plan.dryRun || input.revertsChecked) return;
      throw new FaultsLeftInPlace(
        'no fault applied: the earlier drills could not be read, so whether the last one left faults in place is not known; run the drill again once they read (lifeboat drill history), or with --reverts-checked once you checked the target',
      );
    }
    const left = faultsLeftByLastDrill(history);
    if (!left) return;
    if (input.revertsChecked) {
      note(`faults left in place: ${faultsLeftText(left)}; a person checked the target (revertsChecked): the drill goes on`);
      return;
    }
    carryLeft(left);
    if (plan.dryRun) return;
    throw new FaultsLeftInPlace(`no fault applied: ${faultsLeftText(left)}, and nobody said the target was checked since: check it, put back by hand what is still apart, then run the drill again with --reverts-checked`);
  };

  const phasesRun = async () => {
    // Independent reads beside the stream and the backup (the inventory leaves out the drill's own
    // stream topic and znode, and a backup writes nothing to the cluster): prepare takes as long as its
    // longest branch, the fresh backup, not the sum.
    const readEarlier = async () => {
      try {
        history = await control.drillHistoryActivity({ spec });
        const open = history.flatMap((r) => r.problems ?? []).filter((p) => !p.resolvedAt);
        note(`earlier drills: ${history.length}, open problems carried: ${open.length}`);
      } catch (e) {
        note(`the earlier drills could not be read: ${failureOf(e).message}`);
      }
    };
    const takeInventoryBefore = async () => {
      inventoryBefore = await control.drillInventoryActivity({ spec, drillId, excludeTopics: [topic] });
      note(`inventory: ${Object.keys(inventoryBefore.topics).length} topics, ${Object.keys(inventoryBefore.groups).length} groups, ${Object.keys(inventoryBefore.znodes).length} znodes`);
    };
    // The registry's live instances before its fault: verify waits for the services to register them again.
    const instancesBefore = async () => {
      if (plan.dryRun || plan.scenario !== 'registry-lost') return;
      try {
        registryBefore = await control.drillRegistryInstancesActivity({ spec });
        note(`registry: ${registryBefore.length} service instance${registryBefore.length === 1 ? '' : 's'} registered`);
      } catch (e) {
        note(`the registry's instances could not be listed (their return is not checked): ${failureOf(e).message}`);
      }
    };
    // The stream starts before the backup: the fresh set holds its first records, so the measured RPO is real.
    // `readsBesideSet`: the inventory and the earlier drills are read beside the set, not beside the stream
    // topic's creation (Kafka's CreateTopics, which the set waits for, took 0.30 s beside them against
    // 0.15-0.18 s alone on the bench's standby; the set takes 1-2 s, and a backup writes nothing they read).
    const streamThenBackup = async (readsBesideSet: boolean, setBesideStream: boolean) => {
      if (!plan.dryRun) {
        // Waited for on a stop too: a topic created after the review's drop would be left behind.
        const wait = patched(DRILL_WAIT_CANCELLED_PATCH) ? WAIT_CANCELLED : {};
        const t = await control.drillStreamTopicActivity.executeWithOptions({ ...CONTROL, ...wait }, [{ spec, drillId }]);
        note(`write stream on ${t.topic} (${t.partitions} partitions, RF ${t.replicationFactor})`);
        streamP = stream
          .drillWriteStreamActivity({ spec, drillId, topic: t.topic, intervalMs: input.streamIntervalMs, zookeeper: !!spec.zookeeper && !fo })
          .catch((e: unknown) => {
            if (!isCancellation(e)) note(`the write stream failed: ${failureOf(e).message}`);
            return undefined;
          })
          .finally(() => void (streamSeeded = true));
      }
      if (setBesideStream) return;
      await together(
        readsBesideSet && !earlier ? readEarlier() : Promise.resolve(),
        readsBesideSet ? takeInventoryBefore() : Promise.resolve(),
        // A fresh set of a target the last drill left faults on would be its newest: none is made then.
        (async () => {
          if (!input.useNewestSet) await checkFaultsLeft();
          await theSet();
        })(),
      );
    };
    const theSet = async () => {
      if (input.useNewestSet) {
        const require = plan.recovery.some((c) => c.parts) ? requirementOf(plan.recovery.find((c) => c.parts)!.parts) : undefined;
        const c = await control.chooseBackupSetActivity({ spec, ...(require ? { require } : {}) });
        setId = c.set.setId;
        note(`newest backup set checked: ${c.set.setId} of ${c.set.time}`);
      } else {
        const b = await executeChild(backup, {
          workflowId: `${drillId}/backup`,
          args: [{ spec, specSource: source, tier: 'manual', skipRetention: true, skipOffsite: true, dryRun: plan.dryRun }],
        });
        setId = plan.dryRun ? undefined : b.setId;
        note(plan.dryRun ? 'fresh backup planned (dry run)' : `fresh backup set ${b.setId} of ${b.time ?? '?'}`);
        // A dry run makes no set: a child that needs one plans with the newest (a read).
        if (plan.dryRun && plan.recovery.some((c) => c.needsSetId)) {
          const c = await control.chooseBackupSetActivity({ spec, require: requirementOf(plan.recovery.find((x) => x.needsSetId)!.parts) });
          setId = c.set.setId;
          note(`newest backup set for the plan: ${c.set.setId} of ${c.set.time}`);
        }
      }
    };
    // A full datacenter-lost drill: its mirror started before the stream (it picks the topic up), and holding the stream before the faults.
    leftPatch = patched(DRILL_FAULTS_LEFT_PATCH);
    if (leftPatch) earlier = readEarlier();
    if (fo) await fo.prepare();
    const readsBesideSet = !plan.dryRun && patched(DRILL_READS_BESIDE_SET_PATCH);
    // The newest set is already made (it cannot hold the stream's records either way): its check and the
    // reads go beside the stream topic's creation, and prepare takes as long as the longest of them.
    const setBesideStream = readsBesideSet && !!input.useNewestSet && patched(DRILL_NEWEST_SET_BESIDE_STREAM_PATCH);
    await together(
      earlier ?? (readsBesideSet && !setBesideStream ? Promise.resolve() : readEarlier()),
      tell(`drill ${plan.type} ${plan.scenario} of ${spec.name}: preparing`),
      readsBesideSet && !setBesideStream ? Promise.resolve() : takeInventoryBefore(),
      instancesBefore(),
      streamThenBackup(readsBesideSet, setBesideStream),
      setBesideStream ? theSet() : Promise.resolve(),
      fo ? fo.awaitMirror() : Promise.resolve(),
    );

    phase('start');
    if (stopAsked) throw new Stopped(stopAsked);
    await checkFaultsLeft();
    // A fault before the stream's first acknowledged write in a partition leaves nothing to measure the loss
    // from there: the faults wait for it (a fresh backup gave it seconds; the newest set's check does not).
    if (streamP && !streamSeeded && patched(DRILL_FAULTS_AFTER_SEED_PATCH)) {
      const where = spec.zookeeper && !fo ? 'every partition and its znode' : 'every partition';
      if (!(await condition(() => streamSeeded, STREAM_SEED_WAIT))) note(`the write stream had no acknowledged write in ${where} after ${STREAM_SEED_WAIT}: the faults go on, and the loss may be unmeasured there`);
    }
    // Stage by stage (applyStages: the brokers killed, then their disks beside the chroot); within a stage
    // each chain at once. Each fault is recorded before its own activity is scheduled (applyFault), so a
    // revert never lacks it.
    for (const stage of applyStages(plan.faults)) {
      await together(
        ...stage.map(async (chain) => {
          for (const f of chain) await applyFault(f);
        }),
      );
    }
    // The record lists the faults in the plan's order, not in the order a stage's chains happened to end
    // (the disk beside the chroot: drillKill.int once saw the chroot's export end first).
    const planned = (a: AppliedFault) => recorded.findIndex((r) => r.applied === a);
    applied.sort((x, y) => planned(x) - planned(y));
    if (applied.length) {
      faultAt = applied.map((a) => a.at).reduce((x, y) => (Date.parse(y) > Date.parse(x) ? y : x));
      st.faultAt = faultAt;
      note(`faults applied: ${applied.map((a) => a.detail).join('; ')}`);
      // The data loss is measured from the acks at or before the fault (rpo.pure.ts): what the stream
      // would write from here on counts for nothing. It stops now, so it neither loads the machine while
      // the target recovers nor holds up the read-back after it.
      streamStop = true;
    } else note('no fault applied (tabletop)');

    phase('execute');
    // Telling people does not hold the recovery back: awaited once the recovery is over.
    const toldRecovering = tell(`drill ${plan.type} ${plan.scenario} of ${spec.name}: recovering`);
    let recoveryDone = false;
    let probeDone = false;
    /** Set when the recovery child returns: the probe loop probes at once instead of finishing its sleep. */
    let probeNow = false;
    // A recovery's step change is when the service may have come back (its verify step starts once the
    // brokers run): a probe then, not only every interval, finds the first green one while the recovery
    // still verifies (closer to when service returned, and not after the recovery on the drill's own time).
    if (!plan.dryRun && patched(DRILL_PROBE_ON_STEP_PATCH)) probeOnStep = () => (probeNow = true);
    const interval = Math.max(1, input.probeIntervalSeconds ?? 3) * 1000;
    const probeLoop = plan.dryRun
      ? Promise.resolve()
      : (async () => {
          firstGreen = null;
          st.firstGreenProbeAt = null;
          while (!probeDone) {
            const r = await probes.drillProbeActivity({ spec: measured, timeoutMs: PROBE_TIMEOUT_MS }).catch((e: unknown) => {
              if (isCancellation(e)) throw e;
              return undefined;
            });
            // A failover drill's standby serves all along: its probe counts once the failover moved the service there.
            if (r?.green && faultAt && Date.parse(r.at) >= Date.parse(faultAt) && (!fo || fo.counts(r.at))) {
              firstGreen = r.at;
              st.firstGreenProbeAt = r.at;
              note(`first green probe at ${r.at}: ${r.detail}`);
              return;
            }
            await condition(() => probeDone || probeNow, interval);
            probeNow = false;
          }
        })();
    const chaos = plan.chaos;
    const chaosLoop = chaos
      ? (async () => {
          const reached = () =>
            st.recovery.some((r) => {
              const call = plan.recovery.find((c) => `${drillId}/${c.id}` === r.workflowId);
              const p = progress.get(r.workflowId);
              if (!call || !p) return false;
              return p.steps.some((s) => call.stepPrefix + s.name === chaos.atStep && s.status !== 'pending');
            });
          await condition(() => reached() || recoveryDone);
          if (!reached()) {
            note(`chaos: the recovery never reached ${chaos.atStep}; no second fault`);
            return;
          }
          await applyFault(chaos.fault, `${drillId}-chaos`);
          chaosAppliedAt = nowIso();
          note(`chaos: ${faultText(chaos.fault)} at step ${chaos.atStep}`);
        })()
      : Promise.resolve();
    // Awaited below; when a stop cancels the phases first, their rejection must not go unhandled (it would fail the workflow task).
    probeLoop.catch(() => undefined);
    chaosLoop.catch(() => undefined);
    // The inventory after, taken once the last recovery reaches its verify step (its brokers run, what it
    // restores is back; verifyCluster and the probes only read, their scratch topics and groups are left
    // out): after a verified recovery the review's discards change nothing on the target, so the review
    // takes this one instead of reading the target again on the drill's own time. A chaos drill's second
    // fault may come at that step, and a failover's undo moves the service: those take it in the review.
    const lastCall = plan.recovery[plan.recovery.length - 1];
    /** The last recovery child is at its own verify step: what it restores is back, its brokers run. */
    const verifying = () => !!lastCall && progress.get(`${drillId}/${lastCall.id}`)?.step === 'verify';
    // A recovery with a verify step of its own, in a drill whose target nothing else moves at that step.
    const verifiesItself = !plan.dryRun && !chaos && !fo && (lastCall?.workflow === 'fullClusterRecovery' || lastCall?.workflow === 'brokerRecovery');
    const earlyInventory = verifiesItself && !!inventoryBefore && patched(DRILL_EARLY_INVENTORY_PATCH);
    if (earlyInventory) {
      inventoryEarlyP = (async () => {
        await condition(() => verifying() || recoveryDone);
        if (!verifying()) return undefined;
        return control.drillInventoryActivity({ spec, drillId, excludeTopics: [topic] });
      })();
      inventoryEarlyP.catch(() => undefined);
    }
    // The stream read back at the same step (the stream stopped at the faults; what the recovery restores is
    // back): a verified recovery's verify phase takes it instead of reading on the drill's own time. A replica
    // may still catch up after this read: the review's drop deletes nothing when the ends moved, and reads again.
    const earlyReadBack = verifiesItself && !!streamP && patched(DRILL_EARLY_READ_BACK_PATCH);
    if (earlyReadBack) {
      readBackEarlyP = (async () => {
        await condition(() => verifying() || recoveryDone);
        const log = verifying() && faultAt ? await streamP : undefined;
        if (!log || !faultAt) return undefined;
        return { answer: await control.drillReadBackActivity({ spec: measured, log, faultAt }), at: nowIso() };
      })();
      readBackEarlyP.catch(() => undefined);
    }
    try {
      for (const call of plan.recovery) {
        const o = await runChild(call);
        if (o.failed) {
          note(`recovery ${call.workflow} failed: ${o.failed}`);
          break;
        }
      }
    } finally {
      recoveryDone = true;
      probeNow = true;
      // A stop cancels the recovery child and the chaos fault together: the review must not revert the
      // chaos fault while its apply still runs (waited for, as the scenario's faults are).
      if (chaos && patched(DRILL_WAIT_CHAOS_PATCH)) await chaosLoop.catch(() => undefined);
    }
    await chaosLoop;
    await toldRecovering;
    if (fo?.failure) {
      probeDone = true;
      throw new Error(fo.failure);
    }

    phase('verify');
    const recovered = children.length === plan.recovery.length && children.every((c) => !c.failed && (c.report?.outcome === 'succeeded' || c.report?.outcome === 'planned'));
    // The recovery verified the target itself (fullClusterRecovery: verifyCluster against the set;
    // brokerRecovery: health and a probe): a drill that is not chaos takes that, with its own probe
    // loop and the stream's read-back, instead of verifying again (recoveryVerification).
    const byChild = recovered ? recoveryVerification(plan, children) : undefined;
    const verifyOwn = async () => {
      try {
        // A recovery that did not verify leaves the drill unverified whatever this finds: not asked again (bounded).
        if (!recovered && !plan.dryRun) throw new Error('not run: the recovery did not verify');
        const v = await executeChild(verifyCluster, { workflowId: `${drillId}/verify`, args: [{ ...(fo ? { spec: measured } : { spec, specSource: source }), dryRun: plan.dryRun }] });
        verified = recovered && !plan.dryRun && v.outcome === 'succeeded';
        note(`verifyCluster: ${v.outcome}${v.checks.length ? ` (${v.checks.map((c) => `${c.subject} ${c.ok ? 'ok' : `expected ${c.expected}, got ${c.actual}`}`).join('; ')})` : ''}`);
      } catch (e) {
        if (isCancellation(e)) throw e;
        note(`verifyCluster failed: ${failureOf(e).message}`);
      }
    };
    const verifyChild = async () => {
      if (byChild) {
        verified = true;
        note(`verifyCluster not run again: the recovery verified (${byChild.map((v) => `${v.workflowId} step ${v.step}${v.endedAt ? ` at ${v.endedAt}` : ''}: ${v.checks.length} checks passed`).join('; ')})`);
      } else await verifyOwn();
      // A verified target should answer the probe soon; an unrecovered one is not waited for.
      if (!plan.dryRun) await condition(() => firstGreen !== null && firstGreen !== undefined, verified ? PROBE_GRACE_MS : 1);
      probeDone = true;
      await probeLoop;
    };
    // The recovery is over: the stream is stopped and read back while verifyCluster runs (both only read).
    // Its lines belong to verify wherever it ends: after a verified recovery it runs on beside the review's discards.
    const verifyPhase = phases[phases.length - 1];
    const streamReadBack = async () => {
      streamStop = true;
      const log = streamP ? await streamP : undefined;
      if (log && faultAt) {
        noteIn(verifyPhase, `write stream: ${log.acks.length} acknowledged, ${log.failures.count} failed sends`);
        // Taken while the recovery verified: only a recovery that verified may use it. Never two readers at once.
        const early = readBackEarlyP ? await readBackEarlyP.catch(() => undefined) : undefined;
        if (early && byChild) {
          const { ends, ...evidence } = early.answer;
          readBack = evidence;
          readEnds = ends;
          noteIn(verifyPhase, `write stream read back at ${early.at}, from the recovery's verify step on`);
          return;
        }
        readBack = await control.drillReadBackActivity({ spec: measured, log, faultAt });
        // A failover drill's stream writes no znode (the mirror copies topics, not ZooKeeper): nothing to measure there.
        if (fo) readBack = { ...readBack, zookeeper: readBack.zookeeper ?? null };
      } else if (!plan.dryRun) problem('the write stream gave no log: the data loss was not measured', 'verify: write stream', 'P1', verifyPhase);
    };
    // The registry's persistent nodes are back; its instances only when their services register again.
    const registryBack = async () => {
      if (!registryBefore?.length) return;
      if (!recovered) return note('registry instances not awaited: the recovery did not succeed');
      try {
        const r = await control.drillAwaitRegistryInstancesActivity({ spec, instances: registryBefore, timeoutSeconds: registryWait });
        note(`registry: ${r.back} of ${r.expected} service instances registered again (${(r.waitedMs / 1000).toFixed(1)} s)`);
        if (r.missing.length) {
          const named = `${r.missing.slice(0, 3).join(', ')}${r.missing.length > 3 ? ', …' : ''}`;
          problem(
            `${r.missing.length} of ${r.expected} service instances registered before the fault were not registered again within ${registryWait} s (${named}): the registry is back but those services cannot be found until they register again (restart them, or degrade the registry to static addresses)`,
            'verify: registry instances',
            'P1',
          );
        }
      } catch (e) {
        if (isCancellation(e)) throw e;
        note(`the registry's instances were not checked: ${failureOf(e).message}`);
      }
    };
    // Nothing the discards do touches what the read-back reads (the live target): a verified recovery's
    // review does not wait for it (awaited there, beside them). Any other review puts things back: it waits.
    readBackP = streamReadBack();
    readBackP.catch(() => undefined);
    readBackInReview = !!byChild;
    await together(verifyChild(), registryBack(), readBackInReview ? Promise.resolve() : readBackP);
  };

  try {
    await main.run(phasesRun);
  } catch (e) {
    if (stopAsked || e instanceof Stopped) {
      note(stopAsked ?? 'stopped');
    } else if (e instanceof FaultsLeftInPlace) {
      // Its problems are recorded already (P0, one per fault left): the drill is skipped, not failed.
      refused = e.message;
      note(e.message);
    } else if (isCancellation(e)) {
      cancelled = e;
      stopAsked = 'the drill workflow was cancelled';
      note(stopAsked);
    } else {
      failed = failureOf(e).message;
      problem(`the drill failed in its ${st.phase} phase: ${failed}`, `phase ${st.phase}`, 'P1');
    }
  }
  if (stopAsked) st.stopped = stopAsked;

  // The review runs whatever happened above, and nothing cancels it: the faults must be reverted.
  const record = await CancellationScope.nonCancellable(async () => {
    streamStop = true;
    phase('review');
    const reverts: RevertResult[] = [];
    const revertFailures: string[] = [];
    const discarding = verified && !stopAsked;
    // A disk fault that found its broker down (the kill before it) is discarded without starting it
    // (revertBrokerDisk: wasRunning false): beside the kill's revert, which starts it if it must.
    const diskApart = discarding && patched(DRILL_DISK_APART_PATCH);
    const stages = revertStages(recorded, discarding, (r) => r.fault, diskApart ? { apart: (r) => r.fault.kind === 'broker-disk' && r.applied?.wasRunning === false } : {});
    /** The record lists the reverts newest fault first, whatever order they ended in (a stage's chains run at once). */
    const order = new Map([...recorded].reverse().map((f, i) => [f, i]));
    const done = new Map<RevertResult, number>();
    const revertOne = async (f: (typeof recorded)[number]) => {
      if (f.neverStarted && patched(DRILL_NEVER_STARTED_PATCH)) {
        note(`not reverted: ${faultText(f.fault)}: no agent took its apply, which did nothing`);
        return;
      }
      // A fault whose activity never returned is reverted from its record: reverts are idempotent.
      const a: AppliedFault = f.applied ?? { fault: f.fault, at: f.at, detail: f.detail };
      const mode = revertModeOf(f.fault, discarding);
      try {
        const r = await faults.drillRevertFaultActivity.executeWithOptions({ ...REVERT, ...onHostOf(spec, f.fault, revertAgentWait) }, [{ spec, drillId: f.faultId, applied: a, mode }]);
        reverts.push(r);
        done.set(r, order.get(f)!);
        st.reverts.push(r);
        note(`reverted (${mode}): ${faultText(f.fault)}${r.alreadyDone ? ' (already done)' : ''}`);
      } catch (e) {
        const why = hostFailureText(spec, f.fault, revertAgentWait, e);
        revertFailures.push(`${faultText(f.fault)} (${mode}): ${why}`);
        note(`REVERT FAILED: ${faultText(f.fault)} (${mode}): ${why}`);
      }
    };
    // Restoring: the apply's stages backwards, each chain backwards (the chroot back before the brokers
    // start; a broker's disk back before it starts), different brokers at once. Discarding (a verified
    // recovery): every chain at once, a broker's own faults still one after the other (revertStages), but
    // for the disk of a broker killed before it, which never starts it.
    // revertOne never throws.
    // The reading taken at the recovery's verify step, read again where it may be stale: the drop's guard
    // found an end moved (a replica caught up after it), or a stop turned the review to restoring (read before
    // the reverts put the old data back). The new reading is the record's; without one the loss is unmeasured.
    const readAgain = async (why: string) => {
      const log = streamP ? await streamP : undefined;
      if (!log || !faultAt) return;
      try {
        const { ends: _ends, ...evidence } = await control.drillReadBackActivity({ spec: measured, log, faultAt });
        readBack = evidence;
        note(`write stream read again at ${nowIso()} (${why}): that reading is the record's`);
      } catch (e) {
        if (isCancellation(e)) throw e;
        readBack = undefined;
        failed ??= failureOf(e).message;
        problem(`the write stream could not be read again in the review (${why}): ${failureOf(e).message}; its data loss is not measured`, 'review: write stream', 'P1');
      }
    };
    const dropStream = async () => {
      if (plan.dryRun || !streamP) return;
      try {
        // Only where nothing was put back (dropEarly): a restore moves the ends itself.
        const ifEnds = dropEarly ? readEnds : undefined;
        readEnds = undefined;
        const r = await control.drillDropStreamActivity({ spec, topic, drillId, ...(ifEnds ? { ifEnds } : {}) });
        if (r?.changed) {
          note(`the write stream's ends moved since its read-back (${r.changed}): read again before the drop`);
          await readAgain('its ends moved');
          await control.drillDropStreamActivity({ spec, topic, drillId });
        }
      } catch (e) {
        note(`the stream topic ${topic} was not dropped: ${failureOf(e).message}`);
      }
    };
    let differences;
    const inventoryAfter = async () => {
      if (!inventoryBefore) return;
      try {
        // Taken while the recovery verified: only a review that discards (puts nothing back) may use it.
        const early = inventoryEarlyP ? await inventoryEarlyP.catch(() => undefined) : undefined;
        const taken = dropEarly ? early : undefined;
        const after = taken ?? (await control.drillInventoryActivity({ spec, drillId, excludeTopics: [topic] }));
        differences = inventoryDiff(inventoryBefore, after);
        const when = taken ? ` (taken at ${taken.takenAt}, from the recovery's verify step on)` : '';
        note(differences.length ? `inventory: ${differences.length} differences${when}` : `inventory: identical to before the drill${when}`);
      } catch (e) {
        problem(`the inventory after the drill could not be taken: ${failureOf(e).message}`, 'review: inventory', 'P1');
      }
    };
    const readHistory = async () => {
      if (history) return;
      try {
        history = await control.drillHistoryActivity({ spec });
      } catch (e) {
        note(`the earlier drills could not be read: ${failureOf(e).message}`);
      }
    };
    // Discarding puts nothing back, so the read-back, the inventory and the stream's drop run beside the
    // reverts (they read the live target, which no discard touches). A restore
    // brings the chroot's export back, the stream topic's znodes with it: then the inventory waits for the
    // reverts and the topic is dropped after it. (A failover drill drops it after undoing the failover.)
    const dropEarly = discarding && !fo;
    // The read-back a verified recovery's verify phase left running; its failure fails the drill, as in verify.
    const readBackDone = async () => {
      if (!readBackInReview || !readBackP) return;
      readBackInReview = false;
      try {
        await readBackP;
      } catch (e) {
        if (isCancellation(e)) return;
        failed ??= failureOf(e).message;
        problem(`the drill failed in its verify phase: ${failureOf(e).message}`, 'phase verify', 'P1');
      }
    };
    // A restore puts things back under what the read-back reads (a stop asked during verify): it waits for it.
    if (!discarding) {
      await readBackDone();
      // A stop after a verified recovery: its reading is from the verify step, and the reverts put the old data back.
      if (readEnds) {
        readEnds = undefined;
        await readAgain('a stop: read before the reverts put things back');
      }
    }
    await together(
      (async () => {
        for (const stage of stages) {
          await together(
            ...stage.map(async (chain) => {
              for (const f of chain) await revertOne(f);
            }),
          );
        }
      })(),
      // The read-back reads the stream's topic and znode: they are dropped after it. The inventory leaves
      // out the stream and the read-back's own consumer group (isOwnReaderGroup).
      (async () => {
        await readBackDone();
        if (dropEarly) await dropStream();
      })(),
      dropEarly ? inventoryAfter() : Promise.resolve(),
      readHistory(),
    );
    reverts.sort((x, y) => done.get(x)! - done.get(y)!);
    // Ended before its faults were weighed (stopped or failed in prepare): what the last drill left is carried on all the same.
    if (leftPatch && !leftChecked && !input.revertsChecked && history) {
      const left = faultsLeftByLastDrill(history);
      if (left) carryLeft(left);
    }
    // The brokers run again: the failover undone (its fence lifted, the standby's fences back; the drill's mirror stopped).
    const foLines = async (r: { done: string[]; failed: string[] }) => {
      for (const l of r.done) note(l);
      for (const f of r.failed) {
        revertFailures.push(f);
        note(`REVERT FAILED: ${f}`);
      }
    };
    if (fo) {
      const u = await fo.undo(inventoryBefore && Object.keys(inventoryBefore.topics));
      await foLines(u);
      if (u.stranded) problem(u.stranded, 'review: writes on the standby since the failover', 'P1');
    }
    if (!dropEarly) {
      // After the reverts: the inventory, then the stream dropped (the inventory leaves out its topic and
      // znode, but scheduled beside the drop it waited 1.1–1.7 s in the task queue in 4 of 5 bench runs on the
      // loaded lab machine, longer than the drop itself).
      await inventoryAfter();
      await dropStream();
    }
    // The stream dropped on the target: its copy on the standby too; a mirror that ran before the drill runs again.
    if (fo) await foLines(await fo.cleanup());
    const endedAt = nowIso();
    const last = phases[phases.length - 1];
    if (last) last.endedAt = endedAt;
    const corrupted = applied.find((a) => a.corrupted)?.corrupted?.setId;
    const obs: DrillObservations = {
      id: drillId,
      cluster: spec.name,
      type: input.type,
      scenario: input.scenario,
      workflowId: drillId,
      runId: info.runId,
      schedule: input.schedule,
      startedAt,
      endedAt,
      plan,
      objectives: spec.objectives,
      approvedBy,
      faultAt,
      firstGreenProbeAt: firstGreen,
      probe: 'drillProbeActivity (produce/consume round trip and ZooKeeper)',
      readBack,
      children,
      corruptedSet: corrupted,
      inventoryDifferences: differences,
      faults: applied,
      reverts,
      revertFailures,
      found,
      phases,
      stopped: stopAsked,
      chaos: plan.chaos ? { atStep: plan.chaos.atStep, appliedAt: chaosAppliedAt } : undefined,
    };
    const rec = refused ? refusedRecord(obs, refused) : drillRecord(obs, history ?? []);
    st.score = rec.score.total;
    const local = patched(DRILL_LOCAL_RECORD_PATCH);
    const save = async () => {
      try {
        const saved = await (local ? controlLocal : control).drillSaveRecordActivity({ spec, record: rec });
        st.recordSnapshot = saved.snapshot;
        st.notes.push(`record saved as snapshot ${st.recordSnapshot}`);
        // The record is safe in the primary; a tier that missed it catches up at the next save.
        for (const t of saved.tiers ?? []) {
          st.notes.push(t.error ? `the record's copy to tier ${t.tier} (${t.location}) failed: ${t.error}; the next drill's save copies it again` : `record copied to tier ${t.tier} (${t.location})`);
        }
      } catch (e) {
        st.notes.push(`the drill's record was not saved: ${failureOf(e).message}`);
      }
    };
    // The record is made; saving it and telling people do not wait for each other. The lock ends once the
    // record is saved (save never fails): the next drill reads it, with its open problems, in its prepare.
    await together(save().then(unlock), tell(`drill ${plan.type} ${plan.scenario} of ${spec.name}: ${refused ? `skipped (${refused})` : `${stopAsked ? 'stopped' : failed ? 'failed' : 'done'}, score ${rec.score.total}`}`, true, local));
    st.phase = refused ? 'skipped' : 'done';
    upsertSearchAttributes([{ key: LIFEBOAT_STEP, value: refused ? 'skipped' : stopAsked ? 'stopped' : 'done' }]);
    return rec;
  });
  await unlock();
  if (cancelled) throw cancelled;
  return record;
}
