/**
 * The mirror workflow on the lab, primary (ZooKeeper mode, Kafka 3.9) → next (KRaft, Kafka 4.1):
 * started and stopped through the CLI, records produced while it runs, its status at lag 0 with every
 * record on the target at the same offsets; a `lifeboat worker` SIGKILLed mid-mirror and a new one
 * started → no record lost or duplicated; source == target refused before anything starts.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { WorkflowNotFoundError } from '@temporalio/client';
import { EXIT } from '../../src/errors';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { MIRROR_STATUS_QUERY, type MirrorStatus } from '../../src/kafka/mirrorRun.pure';
import { connectTemporal, followRun, startRun, type TemporalClient, type WorkflowArgs } from '../../src/temporal/runs';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { findCluster } from '../../lab/topology';
import { consumeAll } from '../recovery/consume';
import { lifeboat } from '../support/cli';
import { createTopicsReady } from '../support/kafka';
import { nextSpec, primarySpec, topo, unique } from '../support/lab';
import { killWorker, startWorker, workerBundle } from '../support/worker';

const source = primarySpec();
const target = nextSpec();
const sourceFile = findCluster(topo, 'primary').specFile;
const started: string[] = [];
const topics: string[] = [];

async function produce(kafka: Kafka, topic: string, from: number, count: number, partitions: number, valueBytes = 20): Promise<void> {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = from; i < from + count; i += 500) {
      const n = Math.min(500, from + count - i);
      await producer.send({
        topic,
        messages: Array.from({ length: n }, (_, j) => ({ partition: (i + j) % partitions, key: `k${i + j}`, value: `seq-${i + j}-`.padEnd(valueBytes, 'x'), headers: { seq: String(i + j) } })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

const mirrorArgs = (topic: string, over: Partial<WorkflowArgs<'mirror'>[0]> = {}): WorkflowArgs<'mirror'> => [
  { source: { spec: source }, target: { spec: target }, selection: { topics: [topic] }, shards: 2, roundSeconds: 2, ...over },
];

/** Polls the mirror's status until `ok` holds (the last status in the failure message). */
async function statusUntil(t: TemporalClient, workflowId: string, ok: (s: MirrorStatus) => boolean, timeoutMs = 120_000): Promise<MirrorStatus> {
  const end = Date.now() + timeoutMs;
  let last: MirrorStatus | undefined;
  while (Date.now() < end) {
    last = await t.client.workflow.getHandle(workflowId).query<MirrorStatus>(MIRROR_STATUS_QUERY).catch(() => last);
    if (last && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${workflowId}: status never got there; last: ${JSON.stringify(last?.totals)} state ${last?.state}`);
}

/** Source and target hold the same records at the same offsets, each once. */
async function expectIdentical(topic: string, expected: number): Promise<void> {
  const onSource = await consumeAll(source, topic, expected);
  const onTarget = await consumeAll(target, topic, expected);
  expect(onTarget).toEqual(onSource);
}

let t: TemporalClient;
beforeAll(async () => {
  t = await connectTemporal();
});
afterAll(async () => {
  // A mirror a failed test left running would copy for ever: end it.
  for (const id of started) await t.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
  for (const spec of [source, target]) await withAdmin(kafkaFor(spec, 'test-mirror-cleanup'), spec.name, (a) => a.deleteTopics({ topics })).catch(() => undefined);
  await t?.close();
});

describe('mirror workflow, primary → next', () => {
  let workers: RunningWorkers;
  let running: Promise<void>;
  beforeAll(async () => {
    workers = await createWorkers({ settings: t.settings });
    running = workers.run();
  });
  afterAll(async () => {
    workers?.shutdown();
    await running;
  });

  it('refuses the same cluster as source and target with one line, exit 2, nothing started', async () => {
    const r = await lifeboat('mirror', 'start', '--spec', sourceFile, '--target-spec', sourceFile, '--topics', 'x');
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr.trim()).toBe(`lifeboat: source and target are the same cluster (${source.name}): a mirror needs two clusters`);
    const gone = await t.client.workflow
      .getHandle(`mirror-${source.name}-to-${source.name}`)
      .describe()
      .then(
        () => 'exists',
        (e: unknown) => (e instanceof WorkflowNotFoundError ? 'not found' : String(e)),
      );
    expect(gone).toBe('not found');
    // The workflow refuses it too (a start from the Temporal UI).
    const id = unique('mirror-same');
    started.push(id);
    await startRun(t.client, 'mirror', { workflowId: id, args: [{ source: { spec: source }, target: { spec: source }, selection: { topics: ['x'] } }] });
    await expect(followRun<'mirror'>(t.client, id)).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('same cluster') });
  });

  it('a dry run returns the plan and creates nothing on the target', async () => {
    const topic = unique('mirror-plan');
    topics.push(topic);
    const kafka = kafkaFor(source, 'test-mirror');
    await createTopicsReady(source, [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka });
    const id = unique('mirror-dry');
    started.push(id);
    await startRun(t.client, 'mirror', { workflowId: id, args: mirrorArgs(topic, { dryRun: true }) });
    const r = await followRun<'mirror'>(t.client, id);
    expect(r.report.outcome).toBe('planned');
    expect(r.plan).toEqual([expect.objectContaining({ topic, partitions: 2, action: 'create' })]);
    const onTarget = await withAdmin(kafkaFor(target, 'test-mirror'), target.name, (a) => a.listTopics());
    expect(onTarget).not.toContain(topic);
  });

  it('copies a topic while records are produced, reaches lag 0 with every record at the same offsets, stops with a report', { timeout: 240_000 }, async () => {
    const topic = unique('mirror-live');
    topics.push(topic);
    const kafka = kafkaFor(source, 'test-mirror');
    await createTopicsReady(source, [{ topic, numPartitions: 3, replicationFactor: 3 }], { kafka });
    await produce(kafka, topic, 0, 1500, 3);

    // Through the CLI, as an operator starts it; the in-process worker runs it.
    const start = await lifeboat('mirror', 'start', '--spec', sourceFile, '--target-spec', topo.kraft.specFile, '--topics', topic, '--shards', '2', '--round-seconds', '2', '--json');
    expect(start.code, start.stderr).toBe(0);
    const workflowId = (JSON.parse(start.stdout) as { workflowId: string }).workflowId;
    started.push(workflowId);
    expect(workflowId).toBe(`mirror-${source.name}-to-${target.name}`);

    // More records while it runs.
    await statusUntil(t, workflowId, (s) => s.rounds >= 1);
    await produce(kafka, topic, 1500, 1500, 3);
    const s = await statusUntil(t, workflowId, (x) => x.totals.lagRecords === 0 && x.totals.records === 3000 && x.partitions.length === 3);
    expect(s.state).toBe('running');
    expect(s.partitions.map((p) => [p.topic, p.partition, p.next, p.sourceEnd, p.mode, p.lagRecords, p.lagSeconds])).toEqual(
      [0, 1, 2].map((p) => [topic, p, 1000, 1000, 'identical', 0, 0]),
    );
    expect(s.dataLost).toEqual([]);
    expect(s.topics).toEqual([expect.objectContaining({ topic, partitions: 3 })]);
    await expectIdentical(topic, 3000);

    // The status command shows the same table.
    const st = await lifeboat('mirror', 'status', workflowId);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`^${topic}\\s+0\\s+1000\\s+1000\\s+0\\s+0\\s+1000\\s+\\d+\\s+identical$`, 'm'));
    expect(st.stdout).toContain('3 partitions, 3000 records');
    expect(st.stdout).toContain('lag 0 records, at most 0 s — caught up');

    const stop = await lifeboat('mirror', 'stop', '--spec', sourceFile, '--target-spec', topo.kraft.specFile, '--by', 'mirror-test', '--json');
    expect(stop.code, stop.stderr).toBe(0);
    const r = JSON.parse(stop.stdout) as { status: MirrorStatus; report: { outcome: string; steps: { name: string; status: string }[]; checks: { ok: boolean }[] } };
    expect(r.report.outcome).toBe('succeeded');
    expect(r.status.state).toBe('stopped');
    expect(r.status.stop).toEqual({ by: 'mirror-test' });
    expect(r.status.totals).toMatchObject({ partitions: 3, records: 3000, lagRecords: 0, caughtUp: true, dataLost: 0 });
    expect(r.report.steps.map((x) => [x.name, x.status])).toEqual([
      ['plan', 'done'],
      ['mirror', 'done'],
    ]);
    expect(r.report.checks.every((c) => c.ok)).toBe(true);
    const desc = await t.client.workflow.getHandle(workflowId).describe();
    expect(desc.status.name).toBe('COMPLETED');
  });

  it('drain: cuts the running round short, copies to the source end read after the signal, ends with final positions and report', { timeout: 180_000 }, async () => {
    const topic = unique('mirror-drain');
    topics.push(topic);
    const kafka = kafkaFor(source, 'test-mirror');
    await createTopicsReady(source, [{ topic, numPartitions: 3, replicationFactor: 3 }], { kafka });
    await produce(kafka, topic, 0, 3000, 3);
    const workflowId = unique('mirror-drain');
    started.push(workflowId);
    // Rounds of 10 minutes: only the drain can end this one in time.
    await startRun(t.client, 'mirror', { workflowId, args: mirrorArgs(topic, { roundSeconds: 600 }) });
    const handle = t.client.workflow.getHandle(workflowId);
    const end = Date.now() + 60_000;
    let copying = false;
    while (!copying && Date.now() < end) {
      const desc = await handle.describe();
      copying = (desc.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'mirrorShardActivity' && (a.heartbeatDetails?.payloads?.length ?? 0) > 0);
      if (!copying) await new Promise((r) => setTimeout(r, 200));
    }
    expect(copying, 'a shard copies').toBe(true);
    // The last writes before the "fence": the drain must copy them too.
    await produce(kafka, topic, 3000, 600, 3);
    const t0 = Date.now();
    await handle.signal('drain', { by: 'drain-test' });
    const r = await followRun<'mirror'>(t.client, workflowId);
    const took = Date.now() - t0;
    expect(r.status.state).toBe('drained');
    expect(r.status.totals).toMatchObject({ partitions: 3, records: 3600, lagRecords: 0, caughtUp: true, dataLost: 0 });
    expect(r.status.partitions.map((p) => [p.partition, p.next, p.sourceEnd])).toEqual([0, 1, 2].map((p) => [p, 1200, 1200]));
    expect(r.status.drain).toMatchObject({ by: 'drain-test', requestedAt: expect.any(String), drainedAt: expect.any(String) });
    expect(r.report.outcome).toBe('succeeded');
    expect(r.report.steps.map((x) => [x.name, x.status])).toEqual([
      ['plan', 'done'],
      ['mirror', 'done'],
      ['drain', 'done'],
    ]);
    expect(r.report.checks.every((c) => c.ok)).toBe(true);
    // Far less than the 10-minute round it cut short.
    expect(took).toBeLessThan(30_000);
    console.log(`drain: ${took} ms from the signal to the result (workflow: ${r.status.drain?.durationMs} ms)`);
    await expectIdentical(topic, 3600);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });

  it('continues as new after roundsPerRun rounds with its positions and counters: history stays bounded', { timeout: 180_000 }, async () => {
    const topic = unique('mirror-can');
    topics.push(topic);
    const kafka = kafkaFor(source, 'test-mirror');
    await createTopicsReady(source, [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka });
    await produce(kafka, topic, 0, 200, 2);
    const workflowId = unique('mirror-can');
    started.push(workflowId);
    const first = await startRun(t.client, 'mirror', { workflowId, args: mirrorArgs(topic, { roundSeconds: 1, roundsPerRun: 2 }) });
    await statusUntil(t, workflowId, (s) => s.rounds >= 3 && s.totals.records === 200);
    await produce(kafka, topic, 200, 100, 2);
    const s = await statusUntil(t, workflowId, (x) => x.rounds >= 5 && x.totals.records === 300 && x.totals.lagRecords === 0);
    const desc = await t.client.workflow.getHandle(workflowId).describe();
    expect(desc.runId).not.toBe(first.runId);
    // The mirror's start is carried over: before the run that answers now began.
    expect(Date.parse(s.startedAt)).toBeLessThan(desc.startTime.getTime());
    const firstHistory = await t.client.workflow.getHandle(workflowId, first.runId).fetchHistory();
    const last = firstHistory.events?.at(-1);
    expect(last?.workflowExecutionContinuedAsNewEventAttributes, 'the first run ended by continuing as new').toBeTruthy();
    // Two rounds of a plan and two shards each, plus the start: a bounded history.
    expect(firstHistory.events?.length).toBeLessThan(80);
    await t.client.workflow.getHandle(workflowId).signal('stop', { by: 'can-test' });
    const r = await followRun<'mirror'>(t.client, workflowId);
    expect(r.status.totals).toMatchObject({ partitions: 2, records: 300, lagRecords: 0 });
    expect(r.status.rounds).toBeGreaterThanOrEqual(5);
    await expectIdentical(topic, 300);
  });

  it('an unreachable target: retried, said in status; stop cancels what retries and ends with a report, exit 3', { timeout: 180_000 }, async () => {
    const topic = unique('mirror-down');
    const dead = { ...target, kafka: { ...target.kafka, bootstrapServers: ['127.0.0.1:9'] } };
    const workflowId = unique('mirror-down');
    started.push(workflowId);
    await startRun(t.client, 'mirror', { workflowId, args: mirrorArgs(topic, { target: { spec: dead } }) });
    const handle = t.client.workflow.getHandle(workflowId);
    const end = Date.now() + 90_000;
    let attempt = 0;
    while (attempt < 2 && Date.now() < end) {
      const desc = await handle.describe();
      attempt = Math.max(0, ...(desc.raw.pendingActivities ?? []).map((a) => a.attempt ?? 0));
      if (attempt < 2) await new Promise((r) => setTimeout(r, 500));
    }
    expect(attempt, 'the plan is retried').toBeGreaterThanOrEqual(2);
    const st = await lifeboat('mirror', 'status', workflowId);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/^RETRYING planMirrorActivity \(attempt \d+\): .+/m);

    const t0 = Date.now();
    const stop = await lifeboat('mirror', 'stop', workflowId, '--json');
    expect(stop.code, stop.stderr).toBe(EXIT.PARTIAL);
    // It waits out the grace of a plan (30 s), not for ever.
    expect(Date.now() - t0).toBeLessThan(60_000);
    const r = JSON.parse(stop.stdout) as { status: MirrorStatus; report: { outcome: string; problems: string[]; steps: { name: string; status: string }[] } };
    expect(r.report.outcome).toBe('failed');
    expect(r.report.problems).toEqual([expect.stringContaining('stopped while the first plan was still retrying')]);
    expect(r.report.steps.map((x) => [x.name, x.status])).toEqual([
      ['plan', 'done'],
      ['mirror', 'skipped'],
    ]);
    expect(r.status.state).toBe('stopped');
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });

  it('source data deleted while paused stops that partition with its exact range; the others go on; the report says so', { timeout: 240_000 }, async () => {
    const topic = unique('mirror-lost');
    topics.push(topic);
    const kafka = kafkaFor(source, 'test-mirror');
    await createTopicsReady(source, [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka });
    await produce(kafka, topic, 0, 100, 2);
    const workflowId = unique('mirror-lost');
    started.push(workflowId);
    await startRun(t.client, 'mirror', { workflowId, args: mirrorArgs(topic, { roundSeconds: 1 }) });
    await statusUntil(t, workflowId, (s) => s.totals.records === 100 && s.totals.lagRecords === 0);

    // Paused: nothing is copied while records come and retention (here: deleteRecords) takes some.
    const pause = await lifeboat('mirror', 'pause', workflowId);
    expect(pause.code, pause.stderr).toBe(0);
    await statusUntil(t, workflowId, (s) => s.state === 'paused');
    await produce(kafka, topic, 100, 100, 2);
    await withAdmin(kafkaFor(source, 'test-mirror'), source.name, async (a) => {
      // kafkajs looks the partition's leader up in metadata it must have loaded first.
      await a.fetchTopicMetadata({ topics: [topic] });
      await a.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '80' }] });
    });
    const paused = await t.client.workflow.getHandle(workflowId).query<MirrorStatus>(MIRROR_STATUS_QUERY);
    expect(paused.totals.records).toBe(100);

    const resume = await lifeboat('mirror', 'resume', workflowId);
    expect(resume.code, resume.stderr).toBe(0);
    const s = await statusUntil(t, workflowId, (x) => x.dataLost.length > 0 && x.partitions.find((p) => p.partition === 1)?.next === 100);
    expect(s.dataLost).toEqual([{ topic, partition: 0, from: 50, to: 80, message: expect.stringContaining(`${topic}-0: source offsets 50..79 (30 records)`) }]);
    const p0 = s.partitions.find((p) => p.partition === 0)!;
    expect(p0.next).toBe(50);
    expect(s.totals).toMatchObject({ caughtUp: false, dataLost: 1 });

    const st = await lifeboat('mirror', 'status', workflowId);
    expect(st.code).toBe(EXIT.PARTIAL);
    expect(st.stdout).toMatch(new RegExp(`^${topic}\\s+0\\s+50\\s+.*DATA LOST 50\\.\\.79 \\(30 records\\)$`, 'm'));

    const stop = await lifeboat('mirror', 'stop', workflowId, '--json');
    expect(stop.code, stop.stderr).toBe(EXIT.PARTIAL);
    const r = JSON.parse(stop.stdout) as { report: { outcome: string; problems: string[] } };
    expect(r.report.outcome).toBe('failed');
    expect(r.report.problems).toEqual([expect.stringContaining(`${topic}/0 offsets 50..79 (30 records) were gone before they were copied`)]);
    // What was there is on the target at its offsets: partition 1 whole, partition 0 up to the loss.
    const onTarget = await withAdmin(kafkaFor(target, 'test-mirror'), target.name, (a) => a.fetchTopicOffsets(topic));
    expect(onTarget.map((o) => [o.partition, o.high]).sort()).toEqual([
      [0, '50'],
      [1, '100'],
    ]);
  });
});

const kill = killWorker;

describe('mirror with its worker SIGKILLed mid-copy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-mirror-crash-'));
  const bundle = join(dir, 'workflows.js');
  let worker: ChildProcess | undefined;
  beforeAll(async () => {
    await workerBundle(bundle);
  });
  afterAll(() => {
    kill(worker);
    rmSync(dir, { recursive: true, force: true });
  });

  // The kill costs the shard's heartbeat timeout (20 s) before its retry on the new worker.
  it('resumes on a new worker: no record lost or duplicated, same offsets', { timeout: 300_000 }, async () => {
    const topic = unique('mirror-crash');
    topics.push(topic);
    const kafka = kafkaFor(source, 'test-mirror');
    await createTopicsReady(source, [{ topic, numPartitions: 4, replicationFactor: 3 }], { kafka });
    await produce(kafka, topic, 0, 40_000, 4, 1000);

    worker = await startWorker(bundle);
    const workflowId = unique('mirror-crash');
    started.push(workflowId);
    await startRun(t.client, 'mirror', { workflowId, args: mirrorArgs(topic, { roundSeconds: 30 }) });
    // Kill once a shard has copied something and is still copying.
    const handle = t.client.workflow.getHandle(workflowId);
    const end = Date.now() + 120_000;
    let copying = false;
    while (!copying && Date.now() < end) {
      const desc = await handle.describe();
      copying = (desc.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'mirrorShardActivity' && (a.heartbeatDetails?.payloads?.length ?? 0) > 0);
      if (!copying) await new Promise((r) => setTimeout(r, 100));
    }
    expect(copying, 'a shard activity heartbeated').toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    kill(worker);
    worker = undefined;

    // More records while no worker runs, then a new worker.
    await produce(kafka, topic, 40_000, 2000, 4, 1000);
    worker = await startWorker(bundle);

    // Records keep coming; mid-round, lifeboat mirror status shows the running shards' newer positions.
    let total = 42_000;
    let producing = true;
    const feeding = (async () => {
      while (producing) {
        await produce(kafka, topic, total, 200, 4, 100);
        total += 200;
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    let live: { live: number; totals: { records: number } } | undefined;
    const liveEnd = Date.now() + 120_000;
    try {
      while (!live?.live && Date.now() < liveEnd) {
        const st = await lifeboat('mirror', 'status', workflowId, '--json');
        expect(st.code, st.stderr).toBe(0);
        live = JSON.parse(st.stdout) as typeof live;
        if (!live?.live) await new Promise((r) => setTimeout(r, 2000));
      }
    } finally {
      producing = false;
      await feeding;
    }
    expect(live?.live, 'partitions whose position came from a running shard').toBeGreaterThan(0);

    const s = await statusUntil(t, workflowId, (x) => x.totals.lagRecords === 0 && x.partitions.length === 4 && x.partitions.every((p) => p.next === total / 4), 240_000);
    expect(s.dataLost).toEqual([]);
    expect(s.partitions.every((p) => p.mode === 'identical')).toBe(true);
    await expectIdentical(topic, total);

    // The killed attempt was retried.
    const history = await handle.fetchHistory();
    const timedOut = history.events?.filter((e) => e.activityTaskTimedOutEventAttributes || e.activityTaskFailedEventAttributes).length ?? 0;
    const retried = history.events?.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) ?? false;
    expect(timedOut > 0 || retried, 'the killed shard ran again').toBe(true);

    await handle.signal('stop', { by: 'crash-test' });
    const r = await followRun<'mirror'>(t.client, workflowId);
    expect(r.report.outcome).toBe('succeeded');
    expect(r.status.totals).toMatchObject({ partitions: 4, lagRecords: 0, dataLost: 0 });
  });
});
