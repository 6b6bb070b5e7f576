/**
 * A full-cluster drill on the lab from start to report (issue 16: goal ≤ 3 min) and the drill's own
 * overhead beyond the recovery it runs (goal ≤ 10 %). A worker runs in this process.
 *
 *   npm run bench:drill -- [--runs 1] [--records 10000 | --mib N] [--newest-set] [--timeline] [--write-docs]
 *
 * Each run: a topic of RECORDS records of ~1 KB over 6 partitions on the lab's staging cluster (the
 * standby), then the `drill` workflow with { spec, scenario: 'cluster-lost', type: 'full' } (the
 * spec's repository a fresh one of the bench's own, so prepare makes the drill's backup set; with
 * --newest-set a set is made first and the drill checks it instead). Measured from the drill's
 * history: the drill's wall time (start → record saved, the report with it), the recovery child's
 * (fullClusterRecovery, start → close) and the other children's (the fresh backup). Overhead = what
 * the drill spends beyond its recovery child, as a share of the recovery child's time — with and
 * without the fresh backup, which is a backup run of its own, not the drill's bookkeeping.
 * --mib N writes N MiB of topic data instead of --records (a recovery not dominated by fixed costs);
 * --newest-set has blocks of its own (drill-newest-set, drill-mib-newest-set): both figures stay in the docs.
 * --timeline prints, per run, every activity and child of the drill's history (scheduled → started →
 * closed; a local activity when its marker is recorded) and the gaps between them (workflow task
 * latency). --write-docs replaces the drill block of docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { startBroker, brokerRunning } from '../lab/lab';
import { findCluster, labTopology, useLabEnv } from '../lab/topology';
import { type ClusterSpec, loadSpec } from '../src/config/spec';
import { drillWorkflowId } from '../src/drills/ids.pure';
import type { DrillRecord } from '../src/drills/records';
import { kafkaFor } from '../src/kafka/client';
import { CONTROL_TASK_QUEUE } from '../src/temporal/taskQueues.pure';
import { connectTemporal, followRun, startRun } from '../src/temporal/runs';
import { createWorkers } from '../src/temporal/worker';
import '../lab/brokerControl';

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '1' }, records: { type: 'string' }, mib: { type: 'string' }, 'newest-set': { type: 'boolean' }, timeline: { type: 'boolean' }, 'write-docs': { type: 'boolean' } },
});
if (flags.records !== undefined && flags.mib !== undefined) throw new Error('give --records or --mib, not both');
const RUNS = Number(flags.runs);
const RECORD_BYTES = 1000;
/** --mib N: N MiB of ~1 KB records. */
const RECORDS = flags.mib !== undefined ? Math.ceil((Number(flags.mib) * 1024 * 1024) / RECORD_BYTES) : Number(flags.records ?? '10000');
if (!Number.isInteger(RECORDS) || RECORDS < 1 || !Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs, --records and --mib must be positive numbers');
const sizeArgs = flags.mib !== undefined ? `--mib ${flags.mib}` : `--records ${RECORDS}`;
const PARTITIONS = 6;
/** The 10 MB default and a --mib size each have a block of their own in docs/benchmarks.md, and each again with --newest-set. */
const KEY = `${flags.mib !== undefined ? 'drill-mib' : 'drill'}${flags['newest-set'] ? '-newest-set' : ''}`;
const BEGIN = `<!-- ${KEY}:begin -->`;
const END = `<!-- ${KEY}:end -->`;
const topo = labTopology();
useLabEnv(topo);
process.env.LIFEBOAT_PASSWORD ??= 'lab-password';
const standbyCluster = findCluster(topo, 'standby');
const lab = loadSpec(standbyCluster.specFile);
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-drill-'));
const spec: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
const id = Date.now().toString(36);
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface ChildTime {
  workflowType: string;
  workflowId: string;
  ms: number;
}

/** The drill's children with their wall times, from its history (start event → close event). */
async function childTimes(client: Client, workflowId: string): Promise<ChildTime[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const started = new Map<string, { type: string; at: number }>();
  const out: ChildTime[] = [];
  const ms = tsMs;
  for (const e of history.events ?? []) {
    const s = e.childWorkflowExecutionStartedEventAttributes;
    if (s?.workflowExecution?.workflowId) started.set(s.workflowExecution.workflowId, { type: s.workflowType?.name ?? '?', at: ms(e.eventTime) });
    const closed =
      e.childWorkflowExecutionCompletedEventAttributes ??
      e.childWorkflowExecutionFailedEventAttributes ??
      e.childWorkflowExecutionCanceledEventAttributes ??
      e.childWorkflowExecutionTerminatedEventAttributes ??
      e.childWorkflowExecutionTimedOutEventAttributes;
    const cid = closed?.workflowExecution?.workflowId;
    const st = cid ? started.get(cid) : undefined;
    if (cid && st) out.push({ workflowType: st.type, workflowId: cid, ms: ms(e.eventTime) - st.at });
  }
  return out;
}

/** Applying the faults: the first fault activity scheduled → the last one closed (the start phase also waits for the stream's first writes). */
async function faultSpanMs(client: Client, workflowId: string): Promise<number> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const ids = new Set<string>();
  let first: number | undefined;
  let last: number | undefined;
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'drillApplyFaultActivity') {
      ids.add(String(e.eventId));
      first ??= tsMs(e.eventTime);
    }
    const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
    if (closed && ids.has(String(closed.scheduledEventId))) last = tsMs(e.eventTime);
  }
  return first !== undefined && last !== undefined ? last - first : 0;
}

const tsMs = (t: unknown) => {
  const x = t as { seconds?: { toNumber?: () => number } | number; nanos?: number } | undefined;
  const s = typeof x?.seconds === 'number' ? x.seconds : (x?.seconds?.toNumber?.() ?? 0);
  return s * 1000 + Math.round((x?.nanos ?? 0) / 1e6);
};

/**
 * The drill's history as a timeline: each activity and child (scheduled → started → closed, relative
 * to the drill's start) and each workflow task (scheduled → completed: the latency between one
 * result and the next command).
 */
async function timeline(client: Client, workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const t0 = tsMs(events[0]?.eventTime);
  const rel = (ms: number) => ((ms - t0) / 1000).toFixed(2).padStart(6);
  const byId = new Map<string, { name: string; scheduled: number; started?: number }>();
  const lines: string[] = [];
  let wftScheduled: number | undefined;
  let wftTotal = 0;
  let wftCount = 0;
  let wftStarted: number | undefined;
  let wftQueued = 0;
  const wftRuns: { at: number; ms: number }[] = [];
  for (const e of events) {
    const id = String(e.eventId);
    const at = tsMs(e.eventTime);
    const a = e.activityTaskScheduledEventAttributes;
    if (a) {
      // A fault's activity names its fault's kind (the input's first "kind"), so the reverts can be told apart.
      const input = (a.input?.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString('utf8')).join('');
      const kind = /Fault/.test(a.activityType?.name ?? '') ? /"kind"\s*:\s*"([^"]+)"/.exec(input)?.[1] : undefined;
      byId.set(id, { name: `${a.activityType?.name ?? '?'}${kind ? ` ${kind}` : ''}`, scheduled: at });
    }
    const as = e.activityTaskStartedEventAttributes;
    if (as) {
      const x = byId.get(String(as.scheduledEventId));
      if (x) x.started = at;
    }
    const ac = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskCanceledEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (ac) {
      const x = byId.get(String(ac.scheduledEventId));
      if (x) lines.push(`${rel(x.scheduled)} → ${rel(at)}  ${((at - x.scheduled) / 1000).toFixed(2).padStart(6)} s  ${x.name}${x.started ? ` (queued ${((x.started - x.scheduled) / 1000).toFixed(2)} s)` : ''}`);
    }
    // A local activity (the record's save, the last notice) runs inside a workflow task: its marker is recorded when that task completes.
    const m = e.markerRecordedEventAttributes;
    if (m) {
      const data = (m.details?.data?.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString('utf8')).join('');
      const type = /"activity_type"\s*:\s*"([^"]+)"/.exec(data)?.[1];
      if (type) lines.push(`${rel(at)} (recorded)       ${type} (local)`);
    }
    const c = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (c) byId.set(`child:${c.workflowId}`, { name: `child ${c.workflowType?.name}`, scheduled: at });
    const cc = e.childWorkflowExecutionCompletedEventAttributes ?? e.childWorkflowExecutionFailedEventAttributes ?? e.childWorkflowExecutionCanceledEventAttributes;
    if (cc) {
      const x = byId.get(`child:${cc.workflowExecution?.workflowId}`);
      if (x) lines.push(`${rel(x.scheduled)} → ${rel(at)}  ${((at - x.scheduled) / 1000).toFixed(2).padStart(6)} s  ${x.name}`);
    }
    if (e.workflowTaskScheduledEventAttributes) wftScheduled = at;
    if (e.workflowTaskStartedEventAttributes) wftStarted = at;
    if (e.workflowTaskCompletedEventAttributes && wftScheduled !== undefined) {
      wftTotal += at - wftScheduled;
      wftQueued += (wftStarted ?? at) - wftScheduled;
      wftRuns.push({ at: wftStarted ?? at, ms: at - (wftStarted ?? at) });
      wftCount++;
      wftScheduled = undefined;
      wftStarted = undefined;
    }
  }
  const end = tsMs(events.at(-1)?.eventTime);
  lines.sort();
  lines.push(`workflow tasks: ${wftCount}, ${(wftTotal / 1000).toFixed(2)} s scheduled → completed in all (${(wftQueued / 1000).toFixed(2)} s of it queued); drill ${((end - t0) / 1000).toFixed(2)} s`);
  const slowest = [...wftRuns].sort((a, b) => b.ms - a.ms).slice(0, 6);
  lines.push(`slowest workflow tasks (started at, ran): ${slowest.map((w) => `${rel(w.at).trim()} s ${w.ms} ms`).join(', ')}`);
  return lines.join('\n');
}

async function writeTopic(topic: string): Promise<void> {
  const kafka = kafkaFor(spec, 'bench-drill');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  // --mib: random values, which neither the repository's compression nor its deduplication shrinks
  // (the --records default keeps its padded values, comparable with the earlier runs).
  const value = (n: number) => (flags.mib !== undefined ? randomBytes(RECORD_BYTES) : `${n}:`.padEnd(RECORD_BYTES, 'x'));
  const batch = flags.mib !== undefined ? 2000 : 5000;
  for (let n = 0; n < RECORDS; n += batch) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(batch, RECORDS - n) }, (_, j) => ({ partition: (n + j) % PARTITIONS, value: value(n + j) })) });
  }
  await producer.disconnect();
}

async function dropTopic(topic: string): Promise<void> {
  const admin = kafkaFor(spec, 'bench-drill').admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic], timeout: 60_000 }).catch(() => undefined);
  await admin.disconnect();
}

async function main() {
  const loadBefore = loadavg()[0]!;
  const t = await connectTemporal();
  const workers = await createWorkers({ settings: t.settings, hosts: [...new Set(spec.brokers.map((b) => b.host))] });
  const running = workers.run();
  const results: { totalMs: number; recoveryMs: number; backupMs: number; faultsMs: number; score: number; rto: number | null; rpo: number | null; phases: string; diffs: number }[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const topic = `bench-drill-${id}-${i}`;
      await writeTopic(topic);
      try {
        if (flags['newest-set']) {
          log(`run ${i + 1}: a backup set first (--newest-set)`);
          await followRun<'backup'>(t.client, (await startRun(t.client, 'backup', { workflowId: `bench-drill-backup-${id}-${i}`, args: [{ spec, logdirMode: 'hot' }] })).workflowId);
        }
        const workflowId = `${drillWorkflowId(spec.name, 'cluster-lost', new Date().toISOString())}-bench-${id}`;
        log(`run ${i + 1}/${RUNS}: ${topic} (${RECORDS} records); drill ${workflowId}`);
        const t0 = Date.now();
        await startRun(t.client, 'drill', { workflowId, taskQueue: CONTROL_TASK_QUEUE, args: [{ spec, scenario: 'cluster-lost', type: 'full', ...(flags['newest-set'] ? { useNewestSet: true } : {}) }] });
        const record = (await followRun<'drill'>(t.client, workflowId)) as DrillRecord;
        const totalMs = Date.now() - t0;
        const children = await childTimes(t.client, workflowId);
        if (flags.timeline) log(`run ${i + 1}: the drill's history (seconds from its start)\n${await timeline(t.client, workflowId)}`);
        const recoveryMs = children.filter((c) => c.workflowType === 'fullClusterRecovery').reduce((a, c) => a + c.ms, 0);
        const backupMs = children.filter((c) => c.workflowType === 'backup').reduce((a, c) => a + c.ms, 0);
        const faultsMs = await faultSpanMs(t.client, workflowId);
        const phases = record.phases.map((p) => `${p.name} ${p.endedAt ? secs(Date.parse(p.endedAt) - Date.parse(p.startedAt)) : '?'}`).join(', ');
        log(`run ${i + 1}: score ${record.score.total}, RTO ${record.rtoSeconds} s, RPO ${record.rpoSeconds} s; drill ${secs(totalMs)}, recovery child ${secs(recoveryMs)}, backup child ${secs(backupMs)}; phases ${phases}; inventory differences ${record.inventoryDifferences.length}`);
        // What the score took off, and why: a bench figure that moved says where here.
        for (const d of record.score.deductions) log(`run ${i + 1}: -${d.points} ${d.part}: ${d.reason}`);
        if (!recoveryMs) throw new Error(`drill ${workflowId} ran no recovery child: ${JSON.stringify(children)}`);
        results.push({ totalMs, recoveryMs, backupMs, faultsMs, score: record.score.total, rto: record.rtoSeconds, rpo: record.rpoSeconds, phases, diffs: record.inventoryDifferences.length });
      } finally {
        for (const b of standbyCluster.brokers) if (!brokerRunning(topo, b)) await startBroker(topo, b);
        await dropTopic(topic);
      }
    }
  } finally {
    workers.shutdown();
    await running;
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg()[0]!;
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  const mid = <T>(xs: T[], key: (x: T) => number) => [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)]!;
  const median = mid(results, (r) => r.totalMs);
  const overhead = (r: (typeof results)[number]) => (r.totalMs - r.recoveryMs) / r.recoveryMs;
  const own = (r: (typeof results)[number]) => (r.totalMs - r.recoveryMs - r.backupMs) / r.recoveryMs;
  /** What is neither the disaster (the faults of the start phase), its recovery nor the fresh backup: the drill's bookkeeping. */
  const books = (r: (typeof results)[number]) => (r.totalMs - r.recoveryMs - r.backupMs - r.faultsMs) / r.recoveryMs;
  const block = [
    `Full-cluster drill (workflows/drill.ts, scenario cluster-lost, type full) on the lab's staging cluster (the standby, one ZooKeeper-mode broker), measured ${new Date().toISOString().slice(0, 10)}: ${RUNS} run${RUNS === 1 ? '' : 's'}, each a topic of ${RECORDS.toLocaleString('en-US')} records of ~1 KB (${((RECORDS * RECORD_BYTES) / 1024 / 1024).toFixed(0)} MiB${flags.mib !== undefined ? ' of random bytes' : ''}) over ${PARTITIONS} partitions, then the drill: ${flags['newest-set'] ? 'the newest backup set checked in prepare (`useNewestSet`; the set made by a backup run just before the drill, not timed; scheduled drills make a fresh set instead)' : 'a fresh backup set made in prepare (as a scheduled drill does)'}, the broker killed, its log dirs moved aside and the chroot deleted, fullClusterRecovery, the write stream read back, the faults reverted, the score and the record (with its Markdown and HTML report) saved in the repository. Drill = start → record returned; recovery = the fullClusterRecovery child's start → close (from the drill's history); overhead = drill − recovery, as a share of the recovery; "own" leaves out the fresh backup child too; "bookkeeping" also the faults (the first fault activity scheduled → the last one done: the disaster itself, which a real one brings for free) — what remains is the drill's reading, measuring and recording (inventory, stream, probes, read-back, reverts, score, record). Reproduce: \`npm run bench:drill -- --runs ${RUNS} ${sizeArgs}${flags['newest-set'] ? ' --newest-set' : ''} --write-docs\` (lab up).`,
    '',
    '| run | drill (start → report) | recovery child | backup child | faults | overhead | own overhead | bookkeeping | score | RTO | RPO | phases | inventory differences |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map((r, i) => `| ${i + 1} | ${secs(r.totalMs)} | ${secs(r.recoveryMs)} | ${secs(r.backupMs)} | ${secs(r.faultsMs)} | ${pct(overhead(r))} | ${pct(own(r))} | ${pct(books(r))} | ${r.score} | ${r.rto ?? '—'} s | ${r.rpo ?? '—'} s | ${r.phases} | ${r.diffs} |`),
    '',
    `Machine: ${cpus().length} cores, 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end. Median drill **${secs(median.totalMs)}** (goal ≤ 180 s: ${median.totalMs <= 180_000 ? 'met' : 'not met'}); its overhead beyond the recovery **${pct(overhead(median))}**, ${pct(own(median))} without the fresh backup, ${pct(books(median))} of bookkeeping alone (${secs(median.totalMs - median.recoveryMs - median.backupMs - median.faultsMs)}; goal ≤ 10 %: ${overhead(median) <= 0.1 ? 'met' : books(median) <= 0.1 ? 'met only for the bookkeeping' : 'not met'}).`,
  ].join('\n');
  console.log(`\n${block}\n`);
  if (flags['write-docs']) {
    const file = join(__dirname, '..', 'docs', 'benchmarks.md');
    const doc = readFileSync(file, 'utf8');
    const i = doc.indexOf(BEGIN);
    const j = doc.indexOf(END);
    const fresh = `${BEGIN}\n${block}\n${END}`;
    // A first --mib block goes right after the default one, inside the Drill section.
    const after = doc.indexOf('<!-- drill:end -->');
    writeFileSync(
      file,
      i >= 0 && j > i
        ? `${doc.slice(0, i)}${fresh}${doc.slice(j + END.length)}`
        : KEY !== 'drill' && after >= 0
          ? `${doc.slice(0, after + '<!-- drill:end -->'.length)}\n\n${fresh}${doc.slice(after + '<!-- drill:end -->'.length)}`
          : `${doc.trimEnd()}\n\n## Drill\n\n${fresh}\n`,
    );
  }
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => process.exit());
