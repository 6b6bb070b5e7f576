/**
 * mirror — a long-running copy of the selected topics from a source cluster to a target cluster, one
 * run per pair (ID mirror-<source>-to-<target>). Each round: plan (topics created or extended on the
 * target; new topics and partitions picked up), split the partitions into shards, run every shard
 * as an activity on the control queue until the round's deadline, record the positions. The
 * engine's durable state is on the target, so a shard killed anywhere resumes exactly on any worker.
 * After `roundsPerRun` rounds the run continues as new with its positions and counters (history
 * stays bounded). Source data lost before it was copied stops that partition, named with its range,
 * never silently. `stop` ends the run after the current round with a report; `pause`/`resume` hold
 * it between rounds. The `mirrorStatus` query gives the lag per partition; `status` is every run's.
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
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifeboatActivities } from '../activities';
import type { MirrorSelection, MirrorTopicPlan, PartitionPosition } from '../src/kafka/mirror';
export type { MirrorState, MirrorStatus, MirrorStopInput } from '../src/kafka/mirrorRun.pure';
import {
  type DataLostRange,
  lagTable,
  lostRangeText,
  MIRROR_PAUSE_SIGNAL,
  MIRROR_RESUME_SIGNAL,
  MIRROR_STATUS_QUERY,
  MIRROR_STOP_SIGNAL,
  mergePositions,
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

/** What one run hands the next when it continues as new. */
export interface MirrorCarry {
  startedAt: string;
  rounds: number;
  positions: PartitionPosition[];
  dataLost: DataLostRange[];
  paused: boolean;
  stop?: MirrorStopInput;
}

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

  /**
   * Runs activities that a stop may cut short: a stop that comes while they are overdue (past
   * `overdue`, e.g. retrying an unreachable cluster) cancels them and answers undefined, rather than
   * waiting for ever. Before `overdue` a stop lets them finish.
   */
  const unlessStopped = <T>(fn: () => Promise<T>, overdue: number): Promise<T | undefined> =>
    CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      const watch = new CancellationScope();
      void watch
        .run(async () => {
          await condition(() => stop !== undefined);
          const wait = overdue - Date.now();
          if (wait > 0) await sleep(wait);
          scope.cancel();
        })
        .catch(() => undefined);
      try {
        return await fn();
      } catch (e) {
        if (isCancellation(e) && stop) return undefined;
        throw e;
      } finally {
        watch.cancel();
      }
    });
  const stoppedEarly = (what: string) => t.problem(`stopped while ${what} was still retrying (see the failures in the history): cancelled it; positions are those of the last finished round`);

  const planArgs = { source, target, selection };
  const planned = await t.step('plan', () => unlessStopped(() => (dryRun ? planningOnce : planning).planMirrorActivity({ ...planArgs, dryRun }), Date.now() + STOP_GRACE_MS), (p) => (p ? describePlan(p) : 'stopped before it was planned'));
  if (!planned) {
    stoppedEarly('the first plan');
    t.skip('mirror', 'stopped before the first plan');
    state = 'stopped';
    t.finish('stopped');
    return { plan, status: status(), report: t.report('failed') };
  }
  plan = planned;
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

  const outcome = await t.step(
    'mirror',
    async (): Promise<'stopped' | 'continue'> => {
      for (let round = 0; ; round++) {
        if (stop) return 'stopped';
        if (paused) {
          state = 'paused';
          await condition(() => !paused || stop !== undefined);
          if (stop) return 'stopped';
        }
        state = 'running';
        // Round 0 has the plan already; later rounds pick up new topics and partitions.
        if (round > 0) {
          const again = await unlessStopped(() => planning.planMirrorActivity(planArgs), Date.now() + STOP_GRACE_MS);
          if (!again) {
            stoppedEarly(`the plan of round ${rounds + 1}`);
            return 'stopped';
          }
          plan = again;
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
          await condition(() => stop !== undefined, roundMs);
        } else {
          const until = began + roundMs;
          const results = await unlessStopped(() => Promise.all(work.map((shard) => copying.mirrorShardActivity({ source, target, pair, shard, until }))), until + STOP_GRACE_MS);
          if (!results) {
            stoppedEarly(`round ${rounds + 1} (past its deadline)`);
            return 'stopped';
          }
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
        }
        rounds++;
        updatedAt = new Date().toISOString();
        showProgress();
        if (stop) return 'stopped';
        if (round + 1 >= roundsPerRun || workflowInfo().continueAsNewSuggested) return 'continue';
        // A round that ended early (all caught up) waits out the rest of its time: no busy loop.
        const rest = began + roundMs - Date.now();
        if (rest > 0) await condition(() => stop !== undefined, rest);
      }
    },
    (o) => (o === 'stopped' ? `stopped after ${rounds} rounds` : `continued as new after ${rounds} rounds`),
  );

  if (outcome === 'continue') {
    const next: MirrorCarry = { startedAt, rounds, positions, dataLost, paused, ...(stop ? { stop } : {}) };
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
