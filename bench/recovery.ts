/**
 * Full-cluster recovery: orchestration overhead (issue 6). On the lab's primary cluster:
 *
 *   npx tsx bench/recovery.ts [--records 20000] [--runs 3] [--write-docs]
 *
 * 1. seed the demo's topics and consumer groups (the demo's own seeding, `--records` per topic,
 *    clickstream twice that), into a fresh repository under a temp dir
 * 2. one backup set with the backup workflow (as the demo takes it)
 * 3. per run, in alternating order:
 *    - workflow: the lab disaster, then fullClusterRecovery (autoApprove, in-process worker from
 *      createWorkers as in the demo); RTO = report.rtoMs with failureTime = the moment the disaster
 *      has finished (the recovery is requested), per-step times from the report, and from the
 *      workflow history the time each activity ran on the worker
 *    - raw: the lab disaster again, then the same domain functions called directly in the same
 *      order with the same parallelism (brokers in parallel where the workflow does so), each timed
 * 4. medians over the runs; --write-docs replaces the section between the recovery-bench markers in
 *    docs/benchmarks.md (appended if missing)
 *
 * Ports, specs and paths come from the lab topology (LIFEBOAT_LAB_* for a private lab). The lab
 * disaster empties the log dirs but leaves each log dir's restore marker beside it (which would make
 * a second restore of the same set a no-op): the bench removes the markers too, as a lost disk would.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { BackupResult } from '../src/backup/plan.pure';
import { TOPICS, seed } from '../lab/demo';
import { loadSpec, type ClusterSpec } from '../src/config/spec';
import { brokerControlFor } from '../src/host/brokerControl';
import { kafkaFor } from '../src/kafka/client';
import { clusterHealth, preferredLeaderElection } from '../src/kafka/cluster';
import { produceConsumeProbe } from '../src/kafka/probe';
import { labDisaster } from '../lab/disaster';
import { findCluster, labTopology, useLabEnv } from '../lab/topology';
import '../lab/brokerControl';
import { stopBrokerAndWait } from '../src/recovery/brokers';
import { chooseBackupSet } from '../src/recovery/choose';
import { restoreBrokerLogDirs } from '../src/recovery/data';
import { waitForServing } from '../src/recovery/serving';
import { restoreConfigs, restoreZookeeper } from '../src/recovery/state';
import { verifyAgainstSet, verifyBaseline } from '../src/recovery/verify';
import type { RunReport } from '../src/report/report.pure';
import { TASK_QUEUE, temporalSettings } from '../src/temporal/connection';
import { createWorkers } from '../src/temporal/worker';

const { values: flags } = parseArgs({ options: { records: { type: 'string' }, runs: { type: 'string' }, 'write-docs': { type: 'boolean' } } });
const RECORDS = Number(flags.records ?? 20_000);
const RUNS = Number(flags.runs ?? 3);
const BEGIN = '<!-- recovery-bench:begin -->';
const END = '<!-- recovery-bench:end -->';
const DOCS = join(__dirname, '..', 'docs', 'benchmarks.md');

// The recovery steps in workflow order; cluster-health is not a step of its own in the workflow
// (an activity between wait-serving and preferred-election), so its workflow time is that gap.
const STEPS = ['choose-set', 'stop-brokers', 'restore-zookeeper', 'restore-configs', 'restore-data', 'start-brokers', 'wait-serving', 'cluster-health', 'preferred-election', 'verify'] as const;
type Step = (typeof STEPS)[number];

const topo = labTopology();
useLabEnv(topo);
const lab = loadSpec(findCluster(topo, 'primary').specFile);
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-recovery-'));
const spec: ClusterSpec = {
  ...lab,
  repository: { ...lab.repository!, path: join(work, 'repo') },
  offsiteRepository: undefined,
  topics: { critical: TOPICS.filter((t) => t.critical).map((t) => `^${t.topic}$`), disposable: [] },
};
const ids = spec.brokers.map((b) => b.id);
const each = <T>(fn: (id: number) => Promise<T>) => Promise.all(ids.map(fn));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const ms = (iso?: string) => (iso ? Date.parse(iso) : NaN);
const tsMs = (t: { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined): number =>
  t ? (typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0)) * 1000 + Math.round((t.nanos ?? 0) / 1e6) : NaN;

interface Disaster {
  ms: number;
  at: string;
}

/** The lab disaster, plus the log-dir restore markers (beside the emptied log dirs). */
async function disaster(): Promise<Disaster> {
  const t0 = Date.now();
  const d = await labDisaster(topo, 'primary');
  for (const b of spec.brokers) for (const dir of b.logDirs) await rm(`${dir.replace(/\/+$/, '')}.lifeboat-restore.json`, { force: true });
  return { ms: Date.now() - t0, at: d.at };
}

interface WorkflowRun {
  rtoMs: number;
  steps: Record<Step, number>;
  /** Request → first step started (workflow start, first workflow task). */
  startLatencyMs: number;
  /** Per activity type: summed schedule→start latency and summed start→close time, from the history. */
  activities: { type: string; queue: string; scheduleToStartMs: number; runMs: number; count: number; attempts: number; failures: string[] }[];
  workflowTasks: { count: number; scheduleToStartMs: number; runMs: number };
  /** Time of the RTO during which no activity was executing on the worker: queues, workflow tasks, client. */
  idleMs: number;
}

interface RawRun {
  totalMs: number;
  steps: Record<Step, number>;
  bytes: number;
  files: number;
  checksOk: boolean;
  failedChecks: string[];
  /** Failed attempts that were tried again. */
  retries: string[];
}

async function workflowRecovery(client: Client, n: number): Promise<WorkflowRun> {
  const requested = new Date().toISOString();
  const workflowId = `recover-${spec.name}-bench-${Date.now().toString(36)}-${n}`;
  const report = (await client.workflow.execute('fullClusterRecovery', {
    taskQueue: TASK_QUEUE,
    workflowId,
    workflowIdConflictPolicy: 'FAIL',
    args: [{ spec, failureTime: requested, autoApprove: true }],
  })) as RunReport;
  if (report.outcome !== 'succeeded' || report.rtoMs === undefined) throw new Error(`workflow recovery ${workflowId}: ${report.outcome}; ${report.problems.join('; ')}`);
  const by = new Map(report.steps.map((s) => [s.name, s]));
  const steps = {} as Record<Step, number>;
  for (const name of STEPS) {
    if (name === 'cluster-health') steps[name] = ms(by.get('preferred-election')?.startedAt) - ms(by.get('wait-serving')?.endedAt);
    else steps[name] = by.get(name)?.durationMs ?? 0;
  }
  const ordered = report.steps.filter((s) => s.startedAt);
  // What the history says about scheduling: activity and workflow-task queue latency vs run time.
  const history = await client.workflow.getHandle(workflowId, report.runId).fetchHistory();
  const scheduled = new Map<number, { type: string; queue: string; at: number }>();
  const started = new Map<number, { at: number; attempt: number; failure?: string }>();
  const acts = new Map<string, WorkflowRun['activities'][number]>();
  const wft = { count: 0, scheduleToStartMs: 0, runMs: 0 };
  let wftScheduled = NaN;
  let wftStarted = NaN;
  const running: [number, number][] = [];
  for (const e of history.events ?? []) {
    const at = tsMs(e.eventTime);
    const id = Number(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      scheduled.set(id, { type: a.activityType?.name ?? '?', queue: a.taskQueue?.name ?? '?', at });
    } else if (e.activityTaskStartedEventAttributes) {
      const a = e.activityTaskStartedEventAttributes;
      started.set(Number(a.scheduledEventId), { at, attempt: a.attempt ?? 1, failure: a.lastFailure?.message ?? undefined });
    } else if (e.activityTaskCompletedEventAttributes) {
      const sid = Number(e.activityTaskCompletedEventAttributes.scheduledEventId);
      const s = scheduled.get(sid)!;
      const st = started.get(sid) ?? { at: s.at, attempt: 1 };
      const key = `${s.type}@${s.queue.startsWith('lifeboat-host-') ? 'host' : 'control'}`;
      const acc = acts.get(key) ?? { type: s.type, queue: s.queue.startsWith('lifeboat-host-') ? 'host' : 'control', scheduleToStartMs: 0, runMs: 0, count: 0, attempts: 0, failures: [] };
      // With retries, the started event is the last attempt's: schedule → start then includes the earlier attempts and their backoff.
      acc.scheduleToStartMs += st.at - s.at;
      acc.runMs += at - st.at;
      running.push([st.at, at]);
      acc.count++;
      acc.attempts += st.attempt;
      if (st.failure) acc.failures.push(st.failure);
      acts.set(key, acc);
    } else if (e.workflowTaskScheduledEventAttributes) {
      wftScheduled = at;
    } else if (e.workflowTaskStartedEventAttributes) {
      wftStarted = at;
      wft.scheduleToStartMs += at - wftScheduled;
    } else if (e.workflowTaskCompletedEventAttributes) {
      wft.count++;
      wft.runMs += at - wftStarted;
    }
  }
  // Merge the activities' execution intervals: what is not covered is orchestration.
  running.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let end = -Infinity;
  for (const [a, b] of running) {
    if (b <= end) continue;
    covered += b - Math.max(a, end);
    end = b;
  }
  return {
    idleMs: report.rtoMs - covered,
    rtoMs: report.rtoMs,
    steps,
    startLatencyMs: ms(ordered[0]?.startedAt) - ms(requested),
    activities: [...acts.values()],
    workflowTasks: wft,
  };
}

async function rawRecovery(): Promise<RawRun> {
  const steps = {} as Record<Step, number>;
  const retries: string[] = [];
  // A failed attempt is tried again as the workflow's retry policy would (1 s, doubling), and its time counts.
  const timed = async <T>(name: Step, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await fn();
        steps[name] = performance.now() - t0;
        return r;
      } catch (e) {
        if (attempt >= 5) throw e;
        retries.push(`${name}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
      }
    }
  };
  const t0 = performance.now();
  const { set } = await timed('choose-set', () => chooseBackupSet(spec));
  await timed('stop-brokers', () => each((id) => stopBrokerAndWait(spec, id)));
  await timed('restore-zookeeper', () => restoreZookeeper(spec, set.snapshots.zookeeper!.id));
  await timed('restore-configs', () =>
    each((id) => {
      const snap = set.snapshots[`configs:${id}`];
      return snap ? restoreConfigs(spec, id, snap.id) : Promise.resolve(undefined);
    }),
  );
  const data = await timed('restore-data', () =>
    each((id) => {
      const snap = set.snapshots[`logdirs:${id}`];
      return snap ? restoreBrokerLogDirs(spec, id, snap.id) : Promise.resolve(undefined);
    }),
  );
  await timed('start-brokers', () => each((id) => brokerControlFor(spec, id).start()));
  const serving = await timed('wait-serving', () => waitForServing(spec));
  const health = await timed('cluster-health', () => clusterHealth(spec));
  await timed('preferred-election', () => preferredLeaderElection(spec, health.notPreferred.map((p) => ({ topic: p.topic, partition: p.partition }))));
  // As in the workflow: two activities in one step, each retried on its own.
  const vt0 = performance.now();
  const data0 = await timed('verify', () => verifyAgainstSet(spec, set));
  const baseline = await timed('verify', () => verifyBaseline(spec, set));
  data0.push(...baseline.checks);
  const probe = await timed('verify', () => produceConsumeProbe(kafkaFor(spec, 'probe'), { records: 30 }));
  steps.verify = performance.now() - vt0;
  const checks = [
    ...data0,
    { subject: 'produce/consume probe', expected: probe.produced, actual: probe.consumed, ok: probe.ok },
    { subject: 'brokers serving', expected: spec.brokers.length, actual: serving.brokers.length, ok: serving.brokers.length === spec.brokers.length },
  ];
  const totalMs = performance.now() - t0;
  const done = data.filter((x) => x !== undefined);
  if (done.some((x) => x.alreadyDone)) throw new Error('a log-dir restore was skipped as already done: the bench must remove the restore markers');
  return { totalMs, steps, bytes: done.reduce((n, x) => n + x.bytes, 0), files: done.reduce((n, x) => n + x.files, 0), checksOk: checks.every((c) => c.ok), failedChecks: checks.filter((c) => !c.ok).map((c) => `${c.subject}: expected ${c.expected}, got ${c.actual}`), retries };
}

function section(r: {
  date: string;
  seeded: Record<string, number>;
  backupBytes: number;
  restoredBytes: number;
  restoredFiles: number;
  partitions: number;
  wf: WorkflowRun[];
  raw: RawRun[];
  disasters: Disaster[];
  load: string;
}): string {
  const rto = median(r.wf.map((w) => w.rtoMs));
  const rawTotal = median(r.raw.map((x) => x.totalMs));
  const rawSum = median(r.raw.map((x) => STEPS.reduce((n, s) => n + x.steps[s], 0)));
  const overhead = rto - rawSum;
  const pairs = r.wf.map((w, i) => (w.rtoMs - (r.raw[i] ? STEPS.reduce((n, s) => n + r.raw[i]!.steps[s], 0) : NaN)) / w.rtoMs);
  const records = Object.values(r.seeded).reduce((a, b) => a + b, 0);
  const rows = STEPS.map((s) => {
    const w = median(r.wf.map((x) => x.steps[s]));
    const x = median(r.raw.map((y) => y.steps[s]));
    return `| ${s} | ${sec(w)} | ${sec(x)} | ${w - x >= 0 ? '+' : ''}${((w - x) / 1000).toFixed(1)} s |`;
  });
  const actRows = [...new Set(r.wf.flatMap((w) => w.activities.map((a) => `${a.type}@${a.queue}`)))].map((k) => {
    const pick = (f: (a: WorkflowRun['activities'][number]) => number) => median(r.wf.map((w) => w.activities.filter((a) => `${a.type}@${a.queue}` === k).reduce((n, a) => n + f(a), 0)));
    return `| ${k.replace('@', ' (')}) | ${pick((a) => a.count)} | ${Math.round(pick((a) => a.scheduleToStartMs / a.count))} ms | ${sec(pick((a) => a.runMs / a.count))} |`;
  });
  return [
    BEGIN,
    `Reproduce: \`npm run lab -- up && npx tsx bench/recovery.ts --records ${RECORDS} --runs ${RUNS} --write-docs\` (bench/recovery.ts; a private`,
    'lab works the same with its `LIFEBOAT_LAB_*` settings).',
    '',
    `Data: the demo's seeding on the lab's primary cluster (3 brokers, RF 3): ${Object.entries(r.seeded).map(([t, n]) => `${t} ${n}`).join(', ')}`,
    `records (${records} in all, ${r.partitions} partitions incl. internal topics) and three consumer groups; one backup set`,
    `(ZooKeeper, metadata, configs and log dirs of 3 brokers, ${(r.backupBytes / 1e6).toFixed(1)} MB); each recovery restores ${r.restoredFiles} log-dir files,`,
    `${(r.restoredBytes / 1e6).toFixed(1)} MB. Each run: the lab disaster (3 brokers SIGKILLed, log dirs emptied, the chroot deleted; median ${sec(median(r.disasters.map((d) => d.ms)))}),`,
    `then the recovery — ${RUNS} runs of each kind, alternating which goes first. **Workflow**: fullClusterRecovery through`,
    'an in-process worker (createWorkers, as the demo), RTO = `report.rtoMs` counted from the moment the recovery was',
    'requested (the demo counts from the start of the disaster, which adds the disaster itself to both). **Raw**: the',
    'same domain functions (src/recovery/*.ts, brokerControl, cluster, probe) called directly in the same order with',
    'the same parallelism, each step timed. Machine: 2 shared cores, ' + `load average ${r.load} at the start. Measured ${r.date}.`,
    '',
    '| | median | runs |',
    '|---|---|---|',
    `| RTO via Temporal (request → verified) | **${sec(rto)}** | ${r.wf.map((w) => sec(w.rtoMs)).join(', ')} |`,
    `| sum of the raw step times | **${sec(rawSum)}** | ${r.raw.map((x) => sec(STEPS.reduce((n, s) => n + x.steps[s], 0))).join(', ')} |`,
    `| raw wall clock (start → verified) | ${sec(rawTotal)} | ${r.raw.map((x) => sec(x.totalMs)).join(', ')} |`,
    `| attempts that failed and were retried | workflow ${r.wf.reduce((n, w) => n + w.activities.reduce((m, a) => m + a.attempts - a.count, 0), 0)}, raw ${r.raw.reduce((n, x) => n + x.retries.length, 0)} | ${[...r.wf.flatMap((w) => w.activities.flatMap((a) => a.failures.map((f) => `${a.type}: ${f.slice(0, 80)}`))), ...r.raw.flatMap((x) => x.retries.map((f) => `raw ${f.slice(0, 80)}`))].join('; ') || 'none'} |`,
    `| raw recoveries whose verification failed | ${r.raw.filter((x) => !x.checksOk).length} of ${r.raw.length} | ${r.raw.flatMap((x) => x.failedChecks).join('; ') || '—'} |`,
    `| orchestration overhead (RTO − raw sum) | **${sec(overhead)}, ${((overhead / rto) * 100).toFixed(1)} %** of the RTO | ${pairs.map((p) => `${(p * 100).toFixed(1)} %`).join(', ')} (run by run) |`,
    '',
    'Per step (medians; the workflow time is the step as the report records it, activity scheduling included;',
    "cluster-health is an activity between two steps, its workflow time is that gap):",
    '',
    '| step | workflow | raw | difference |',
    '|---|---|---|---|',
    ...rows,
    `| start latency (request → first step) | ${sec(median(r.wf.map((w) => w.startLatencyMs)))} | — | |`,
    '',
    'From the workflow histories (medians over the runs): per activity, how long it waited in its task queue and how',
    `long it ran on the worker (means per activity); in all, the RTO had **${sec(median(r.wf.map((w) => w.idleMs)))}** (${((median(r.wf.map((w) => w.idleMs / w.rtoMs)) * 100).toFixed(1))} %) during which no`,
    `activity was running (runs: ${r.wf.map((w) => sec(w.idleMs)).join(', ')}) — orchestration measured directly, without the noise between two recoveries.`,
    '',
    '| activity (queue) | per run | schedule → start | start → close |',
    '|---|---|---|---|',
    ...actRows,
    `| workflow tasks | ${median(r.wf.map((w) => w.workflowTasks.count))} | ${Math.round(median(r.wf.map((w) => w.workflowTasks.scheduleToStartMs / w.workflowTasks.count)))} ms | ${Math.round(median(r.wf.map((w) => w.workflowTasks.runMs / w.workflowTasks.count)))} ms |`,
    END,
  ].join('\n');
}

function writeDocs(generated: string): void {
  const doc = readFileSync(DOCS, 'utf8');
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  const next =
    b >= 0 && e > b
      ? `${doc.slice(0, b)}${generated}${doc.slice(e + END.length)}`
      : `${doc.replace(/\n*$/, '\n')}\n## Full-cluster recovery: orchestration overhead\n\n${generated}\n`;
  writeFileSync(DOCS, next);
}

async function main(): Promise<void> {
  process.env.LIFEBOAT_LOG_LEVEL ??= 'ERROR';
  const settings = temporalSettings();
  const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
  const workers = await createWorkers({ settings, hosts: spec.brokers.map((b) => b.host) });
  const connection = await Connection.connect(settings.connection);
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    await workers.runUntil(
      (async () => {
        const kafka = kafkaFor(spec, 'bench');
        console.log(`seeding ${spec.name}: ${RECORDS} records per demo topic (${cpus().length} cores, load ${load})`);
        await waitForServing(spec, { timeoutMs: 120_000 });
        // The demo's seeding waits for every broker to know its topics and retries only failed steps.
        const seeded = await seed(kafka, spec, RECORDS);
        const backupId = `backup-${spec.name}-bench-${Date.now().toString(36)}`;
        const backup = (await client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId: backupId, args: [{ spec, tier: 'manual', skipRetention: true }] })) as BackupResult;
        const backupBytes = backup.parts.reduce((n, p) => n + p.bytes, 0);
        console.log(`backup set ${backup.setId}: ${backup.parts.map((p) => p.part).join(', ')} (${(backupBytes / 1e6).toFixed(1)} MB)`);
        const partitions = (await clusterHealth(spec)).partitions;

        const wf: WorkflowRun[] = [];
        const raw: RawRun[] = [];
        const disasters: Disaster[] = [];
        for (let i = 0; i < RUNS; i++) {
          for (const kind of i % 2 === 0 ? (['workflow', 'raw'] as const) : (['raw', 'workflow'] as const)) {
            await waitForServing(spec, { timeoutMs: 120_000 });
            const d = await disaster();
            disasters.push(d);
            if (kind === 'workflow') {
              const w = await workflowRecovery(client, i);
              wf.push(w);
              const failed = w.activities.flatMap((a) => a.failures.map((f) => `${a.type}: ${f}`));
              console.log(`run ${i + 1} workflow: RTO ${sec(w.rtoMs)}; ${STEPS.map((s) => `${s} ${sec(w.steps[s])}`).join(', ')}; start ${w.startLatencyMs} ms, no activity running ${w.idleMs} ms${failed.length ? `; retried: ${failed.join(' | ')}` : ''}`);
            } else {
              const r = await rawRecovery();
              if (!r.checksOk) console.log(`run ${i + 1} raw: VERIFICATION FAILED: ${r.failedChecks.join('; ')}`);
              raw.push(r);
              console.log(`run ${i + 1} raw: total ${sec(r.totalMs)}; ${STEPS.map((s) => `${s} ${sec(r.steps[s])}`).join(', ')}${r.retries.length ? `; retried: ${r.retries.join(' | ')}` : ''}`);
            }
          }
        }
        const text = section({
          date: new Date().toISOString().slice(0, 10),
          seeded,
          backupBytes,
          restoredBytes: raw[0]!.bytes,
          restoredFiles: raw[0]!.files,
          partitions,
          wf,
          raw,
          disasters,
          load,
        });
        console.log(`\n${text}\n`);
        console.log(JSON.stringify({ wf, raw, disasters }, null, 1));
        if (flags['write-docs']) {
          writeDocs(text);
          console.log(`wrote ${DOCS}`);
        }
      })(),
    );
  } finally {
    await connection.close().catch(() => {});
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
