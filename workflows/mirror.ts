/**
 * mirror — a long-running copy of the selected topics from a source cluster to a target cluster, one
 * run per pair (ID mirror-<source>-to-<target>). Each round: plan (topics created or extended on the
 * target; new topics and partitions picked up), split the partitions into shards, run every shard
 * as an activity on the control queue until the round's deadline, record the positions. The
 * engine's durable state is on the target, so a shard killed anywhere resumes exactly on any worker.
 * After `roundsPerRun` rounds the run continues as new with its positions and counters (history
 * stays bounded). Source data lost before it was copied stops that partition, named with its range,
 * never silently. `stop` ends the run after the current round with a report; `pause`/`resume` hold
 * it between rounds. `drain` (a migration's cut-over, once the source is fenced) cuts the running
 * round short, copies until every partition reaches the source's end as read after the signal, and
 * ends with those final positions. The `mirrorStatus` query gives the lag per partition; `status`
 * is every run's.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifeboatActivities } from '../activities';
import type { MirrorSelection, MirrorTopicPlan, PartitionPosition } from '../src/kafka/mirror';
export type { MirrorDrainInput, MirrorState, MirrorStatus, MirrorStopInput } from '../src/kafka/mirrorRun.pure';
import {
  type DataLostRange,
  lagTable,
  lostRangeText,
  MIRROR_DRAIN_SIGNAL,
  MIRROR_PAUSE_SIGNAL,
  MIRROR_RESUME_SIGNAL,
  MIRROR_STATUS_QUERY,
  MIRROR_STOP_SIGNAL,
  mergePositions,
  type MirrorDrainInput,
  mirrorPair,
  mirrorTotals,
  type MirrorState,
  type MirrorStatus,
  type MirrorStopInput,
  partitionKey,
  planPartitions,
  sameCluster,
  selectionProblem,
  splitShards,
} from '../src/kafka/mirrorRun.pure';
import type { RunReport } from '../src/report/report.pure';
import { type ClusterRef, resolveCluster } from './support/cluster';
import { RunTracker } from './support/tracker';

/** A plan's group-ACL warnings reported as problems (was: not carried). */
const MIRROR_ACL_WARNINGS_PATCH = 'mirror-acl-warnings';

/** What one run hands the next when it continues as new. */
export interface MirrorCarry {
  startedAt: string;
  rounds: number;
  positions: PartitionPosition[];
  dataLost: DataLostRange[];
  paused: boolean;
  stop?: MirrorStopInput;
  drain?: DrainRequest;
}

type DrainRequest = MirrorDrainInput & { requestedAt: string };

export interface MirrorInput {
  /** The cluster read from: `{ "cluster": "primary" }` or `{ "spec": {...} }`. */
  source: ClusterRef;
  /** The cluster written to. */
  target: ClusterRef;
  selection: MirrorSelection;
  /** Parallel shards (activities) per round; default 4. */
  shards?: number;
  /** How long each shard copies per round before positions are recorded; default 60 s. */
  roundSeconds?: number;
  /** Rounds per run before it continues as new; default 50. */
  roundsPerRun?: number;
  /** Plan only: the topics it would create or extend, nothing written. */
  dryRun?: boolean;
  /** Set by the run itself when it continues as new. */
  carried?: MirrorCarry;
}

export interface MirrorResult {
  plan: MirrorTopicPlan[];
  status: MirrorStatus;
  report: RunReport;
}

export const mirrorStatusQuery = defineQuery<MirrorStatus>(MIRROR_STATUS_QUERY);
export const mirrorStopSignal = defineSignal<[MirrorStopInput?]>(MIRROR_STOP_SIGNAL);
export const mirrorPauseSignal = defineSignal(MIRROR_PAUSE_SIGNAL);
export const mirrorResumeSignal = defineSignal(MIRROR_RESUME_SIGNAL);
export const mirrorDrainSignal = defineSignal<[MirrorDrainInput?]>(MIRROR_DRAIN_SIGNAL);

// A mirror is a service: an unreachable cluster is retried until it is back (or the operator stops
// it), the failure and attempt visible in `lifeboat mirror status`; what a retry cannot fix
// (InvalidInput, UnsafeTarget: a foreign target topic) fails at once.
const planning = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});

/** A dry run answers: a few attempts, then the failure (an operator waits for it). */
const planningOnce = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '10 seconds', maximumAttempts: 3 },
});

/** How long past a round's deadline a stop waits for its shards before it cancels them (stuck retrying). */
const STOP_GRACE_MS = 30_000;

export async function mirror(input: MirrorInput): Promise<MirrorResult> {
  const src = await resolveCluster(input.source ?? {});
  const dst = await resolveCluster(input.target ?? {});
  const same = sameCluster(src.spec, dst.spec);
  if (same) throw ApplicationFailure.nonRetryable(same, 'InvalidInput');
  const bad = selectionProblem(input.selection);
  if (bad) throw ApplicationFailure.nonRetryable(bad, 'InvalidInput');
  const selection = input.selection;
  const source = src.spec;
  const target = dst.spec;
  const pair = mirrorPair(source.name, target.name);
  const shards = Math.max(1, Math.min(64, Math.floor(input.shards ?? 4)));
  const roundMs = Math.max(1, input.roundSeconds ?? 60) * 1000;
  const roundsPerRun = Math.max(1, Math.floor(input.roundsPerRun ?? 50));
  const dryRun = input.dryRun ?? false;
  const carried = input.carried;

  // A shard copies for the round, then answers; a dead worker is seen by the heartbeat timeout and
  // the shard runs again on any worker from what the target holds.
  const copying = proxyActivities<LifeboatActivities>({
    startToCloseTimeout: roundMs + 10 * 60_000,
    heartbeatTimeout: '20 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
    // A cancelled shard (stop) has ended before the report is written.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

  const t = new RunTracker(
    'mirror',
    source.name,
    [
      { name: 'plan', title: `Plan the topics on ${target.name}` },
      { name: 'mirror', title: `Mirror ${source.name} → ${target.name}, round by round` },
    ],
    dryRun,
    src.source,
  );

  let state: MirrorState = 'planning';
  let positions = carried?.positions ?? [];
  const dataLost = [...(carried?.dataLost ?? [])];
  let rounds = carried?.rounds ?? 0;
  let paused = carried?.paused ?? false;
  let stop = carried?.stop;
  let drain: DrainRequest | undefined = carried?.drain;
  let drainedAt: string | undefined;
  let plan: MirrorTopicPlan[] = [];
  let updatedAt: string | undefined;
  let throughput = { recordsPerSecond: 0, bytesPerSecond: 0 };
  const startedAt = carried?.startedAt ?? t.startedAt;

  const status = (): MirrorStatus => {
    const now = updatedAt ? Date.parse(updatedAt) : Date.now();
    const partitions = lagTable(positions, now, dataLost);
    return {
      pair,
      source: source.name,
      target: target.name,
      state,
      rounds,
      shards,
      startedAt,
      ...(updatedAt ? { updatedAt } : {}),
      topics: plan,
      partitions,
      totals: mirrorTotals(partitions),
      throughput,
      dataLost,
      ...(stop ? { stop } : {}),
      ...(drain ? { drain: { ...drain, ...(drainedAt ? { drainedAt, durationMs: Date.parse(drainedAt) - Date.parse(drain.requestedAt) } : {}) } } : {}),
    };
  };
  setHandler(mirrorStatusQuery, status);
  setHandler(mirrorStopSignal, (s) => {
    stop = { by: s?.by ?? 'unknown', ...(s?.reason ? { reason: s.reason } : {}) };
    if (state === 'running' || state === 'paused') state = 'stopping';
  });
  setHandler(mirrorPauseSignal, () => {
    paused = true;
  });
  setHandler(mirrorResumeSignal, () => {
    paused = false;
  });
  setHandler(mirrorDrainSignal, (d) => {
    if (drain) return;
    drain = { by: d?.by ?? 'unknown', ...(d?.reason ? { reason: d.reason } : {}), requestedAt: new Date().toISOString() };
    if (state === 'running' || state === 'paused') state = 'draining';
  });

  /**
   * Runs activities that a stop may cut short: a stop that comes while they are overdue (past
   * `overdue`, e.g. retrying an unreachable cluster) cancels them and answers undefined, rather than
   * waiting for ever. Before `overdue` a stop lets them finish. With `cutOnDrain` a drain cancels
   * them at once (a round's shards: the drain copies from where they stopped, durably on the target).
   */
  const unlessStopped = <T>(fn: () => Promise<T>, overdue: number, cutOnDrain = false): Promise<T | undefined> =>
    CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      const watch = new CancellationScope();
      void watch
        .run(async () => {
          await condition(() => stop !== undefined || (cutOnDrain && drain !== undefined));
          const wait = overdue - Date.now();
          if (stop && wait > 0) await sleep(wait);
          scope.cancel();
        })
        .catch(() => undefined);
      try {
        return await fn();
      } catch (e) {
        if (isCancellation(e) && (stop || (cutOnDrain && drain))) return undefined;
        throw e;
      } finally {
        watch.cancel();
      }
    });
  const stoppedEarly = (what: string) => t.problem(`stopped while ${what} was still retrying (see the failures in the history): cancelled it; positions are those of the last finished round`);

  const planArgs = { source, target, selection };
  // A plan whose group listing was not steady may leave group ACLs off the target: said once each.
  // (A problem tells a parent migration: a signal, so behind a patch.)
  const aclWarned = new Set<string>();
  const adopt = (p: MirrorTopicPlan[]): MirrorTopicPlan[] => {
    const warnings = p.flatMap((x) => x.aclWarnings ?? []).filter((w) => !aclWarned.has(w));
    if (warnings.length && patched(MIRROR_ACL_WARNINGS_PATCH)) {
      const next = dryRun ? 'plan again once the source is steady' : "every round lists the groups again and creates the ACLs it finds: look at the target's group ACLs once the source is steady";
      for (const w of warnings) t.problem(`group ACLs may be missing on ${target.name}: ${w}; ${next}`);
    }
    for (const w of warnings) aclWarned.add(w);
    return p;
  };
  const planned = await t.step('plan', () => unlessStopped(() => (dryRun ? planningOnce : planning).planMirrorActivity({ ...planArgs, dryRun }), Date.now() + STOP_GRACE_MS), (p) => (p ? describePlan(p) : 'stopped before it was planned'));
  if (!planned) {
    stoppedEarly('the first plan');
    t.skip('mirror', 'stopped before the first plan');
    state = 'stopped';
    t.finish('stopped');
    return { plan, status: status(), report: t.report('failed') };
  }
  plan = adopt(planned);
  if (dryRun) {
    t.skip('mirror', 'dry run');
    state = 'planned';
    t.finish('planned');
    return { plan, status: status(), report: t.report('planned') };
  }

  const showProgress = () => {
    const s = status();
    t.setProgress({ phase: `round ${rounds}: lag ${s.totals.lagRecords} records`, done: s.totals.records, unit: 'records', subject: `${s.totals.partitions} partitions` });
  };

  /** A round's (or the drain's) shard results into the positions, throughput and lost ranges. */
  const absorb = (results: Awaited<ReturnType<LifeboatActivities['mirrorShardActivity']>>[], began: number) => {
    const before = new Map(positions.map((p) => [partitionKey(p.topic, p.partition), p]));
    const fresh = results.flatMap((r) => r.positions);
    positions = mergePositions(positions, fresh);
    let records = 0;
    let bytes = 0;
    for (const p of fresh) {
      const b = before.get(partitionKey(p.topic, p.partition));
      records += Math.max(0, p.records - (b?.records ?? 0));
      bytes += Math.max(0, p.bytes - (b?.bytes ?? 0));
    }
    const secs = Math.max(0.001, (Date.now() - began) / 1000);
    throughput = { recordsPerSecond: Math.round(records / secs), bytesPerSecond: Math.round(bytes / secs) };
    for (const d of results.flatMap((r) => r.dataLost)) {
      if (dataLost.some((x) => x.topic === d.topic && x.partition === d.partition)) continue;
      dataLost.push(d);
      t.problem(`DATA LOST on ${source.name}: ${d.topic}/${d.partition} offsets ${lostRangeText(d)} were gone before they were copied — that partition stopped (${d.message})`);
    }
  };

  const outcome = await t.step(
    'mirror',
    async (): Promise<'stopped' | 'continue' | 'drain'> => {
      for (let round = 0; ; round++) {
        if (stop) return 'stopped';
        if (drain) return 'drain';
        if (paused) {
          state = 'paused';
          await condition(() => !paused || stop !== undefined || drain !== undefined);
          if (stop) return 'stopped';
          if (drain) return 'drain';
        }
        state = 'running';
        // Round 0 has the plan already; later rounds pick up new topics and partitions.
        if (round > 0) {
          const again = await unlessStopped(() => planning.planMirrorActivity(planArgs), Date.now() + STOP_GRACE_MS);
          if (!again) {
            stoppedEarly(`the plan of round ${rounds + 1}`);
            return 'stopped';
          }
          plan = adopt(again);
        }
        const stopped = new Set(dataLost.map((d) => partitionKey(d.topic, d.partition)));
        const lagNow = new Map(positions.map((p) => [partitionKey(p.topic, p.partition), p.sourceEnd - p.next]));
        const work = splitShards(planPartitions(plan, stopped), shards, (topic, p) => lagNow.get(partitionKey(topic, p)) ?? 1);
        const began = Date.now();
        if (!work.length) {
          // Nothing selected yet (a pattern with no topic so far), or every partition stopped on lost data.
          if (stopped.size && planPartitions(plan).length) {
            t.problem('every partition stopped on lost source data: nothing left to mirror');
            return 'stopped';
          }
          await condition(() => stop !== undefined || drain !== undefined, roundMs);
        } else {
          const until = began + roundMs;
          const results = await unlessStopped(() => Promise.all(work.map((shard) => copying.mirrorShardActivity({ source, target, pair, shard, until }))), until + STOP_GRACE_MS, true);
          if (!results) {
            if (stop) {
              stoppedEarly(`round ${rounds + 1} (past its deadline)`);
              return 'stopped';
            }
            // A drain cut the round short: what its shards copied is on the target, the drain goes on from there.
            return 'drain';
          }
          absorb(results, began);
        }
        rounds++;
        updatedAt = new Date().toISOString();
        showProgress();
        if (stop) return 'stopped';
        if (drain) return 'drain';
        if (round + 1 >= roundsPerRun || workflowInfo().continueAsNewSuggested) return 'continue';
        // A round that ended early (all caught up) waits out the rest of its time: no busy loop.
        const rest = began + roundMs - Date.now();
        if (rest > 0) await condition(() => stop !== undefined || drain !== undefined, rest);
      }
    },
    (o) => (o === 'stopped' ? `stopped after ${rounds} rounds` : o === 'drain' ? `cut short by a drain after ${rounds} rounds` : `continued as new after ${rounds} rounds`),
  );

  if (outcome === 'drain' && !stop) {
    state = 'draining';
    const drained = await t.step(
      'drain',
      async (): Promise<boolean> => {
        // 'caught-up': each shard reads the source's end when it starts (after the signal) and copies up to it.
        const drainPlan = async (p: MirrorTopicPlan[], only?: ReadonlySet<string>): Promise<boolean> => {
          const began = Date.now();
          const stopped = new Set(dataLost.map((d) => partitionKey(d.topic, d.partition)));
          const parts = planPartitions(p, stopped).filter((x) => !only || only.has(partitionKey(x.topic, x.partition)));
          const lagNow = new Map(positions.map((x) => [partitionKey(x.topic, x.partition), x.sourceEnd - x.next]));
          const work = splitShards(parts, shards, (topic, q) => lagNow.get(partitionKey(topic, q)) ?? 1);
          const results = await unlessStopped(() => Promise.all(work.map((shard) => copying.mirrorShardActivity({ source, target, pair, shard, until: 'caught-up' }))), Date.now());
          if (!results) return false;
          absorb(results, began);
          return true;
        };
        // The last plan first: a plan right after a cut-short round could meet a batch whose answer
        // the shard had not recorded yet; the drain's shards settle that from the target's state.
        if (!(await drainPlan(plan))) return false;
        // Then planned again: partitions added since the last plan are drained too.
        const again = await unlessStopped(() => planning.planMirrorActivity(planArgs), Date.now());
        if (!again) return false;
        const known = new Set(positions.map((x) => partitionKey(x.topic, x.partition)));
        const added = new Set(planPartitions(again).map((x) => partitionKey(x.topic, x.partition)).filter((k) => !known.has(k)));
        plan = adopt(again);
        if (added.size && !(await drainPlan(again, added))) return false;
        rounds++;
        updatedAt = new Date().toISOString();
        drainedAt = updatedAt;
        showProgress();
        return true;
      },
      (ok) => {
        if (!ok) return 'stopped before the drain finished';
        const s = status();
        return `every partition at the source's end read after the drain (${s.totals.partitions} partitions, lag ${s.totals.lagRecords}) in ${s.drain?.durationMs ?? '?'} ms`;
      },
    );
    if (!drained) stoppedEarly('the drain');
    state = drained ? 'drained' : 'stopped';
    t.finish(drained ? 'drained' : 'stopped');
    const s = status();
    const ok = drained && dataLost.length === 0 && s.totals.lagRecords === 0;
    const report = t.report(ok ? 'succeeded' : 'failed', {
      checks: [
        { subject: `lag (records) after the drain over ${s.totals.partitions} partitions`, expected: 0, actual: s.totals.lagRecords, ok: drained && s.totals.lagRecords === 0 },
        { subject: 'partitions stopped on lost source data', expected: 0, actual: dataLost.length ? dataLost.map((d) => `${d.topic}/${d.partition} ${lostRangeText(d)}`).join(', ') : 0, ok: dataLost.length === 0 },
      ],
    });
    return { plan, status: s, report };
  }

  if (outcome === 'continue') {
    const next: MirrorCarry = { startedAt, rounds, positions, dataLost, paused, ...(stop ? { stop } : {}), ...(drain ? { drain } : {}) };
    await continueAsNew<typeof mirror>({ ...input, source: { spec: source, specSource: src.source }, target: { spec: target, specSource: dst.source }, carried: next });
  }
  state = 'stopped';
  t.finish(dataLost.length ? 'stopped with data lost' : 'stopped');
  const s = status();
  const report = t.report(dataLost.length ? 'failed' : 'succeeded', {
    checks: [
      { subject: `lag (records) over ${s.totals.partitions} partitions`, expected: 0, actual: s.totals.lagRecords, ok: s.totals.lagRecords === 0 },
      { subject: 'partitions stopped on lost source data', expected: 0, actual: dataLost.length ? dataLost.map((d) => `${d.topic}/${d.partition} ${lostRangeText(d)}`).join(', ') : 0, ok: dataLost.length === 0 },
    ],
  });
  return { plan, status: s, report };
}

function describePlan(plan: MirrorTopicPlan[]): string {
  if (!plan.length) return 'no topic selected yet';
  const by = (a: MirrorTopicPlan['action']) => plan.filter((p) => p.action === a).map((p) => p.topic);
  const parts = [
    by('create').length ? `create ${by('create').join(', ')}` : '',
    by('add-partitions').length ? `add partitions to ${by('add-partitions').join(', ')}` : '',
    by('exists').length ? `${by('exists').length} already there` : '',
  ].filter(Boolean);
  return `${plan.length} topics, ${plan.reduce((n, p) => n + p.partitions, 0)} partitions: ${parts.join('; ')}`;
}
