/**
 * The P0 failover on the lab, end to end: a mirror primary → standby runs while an application
 * produces (acks=all, through the applications' listener) and a consumer group reads and commits on
 * the primary; then all three primary brokers are SIGKILLed, a failover starts (auto-approved, no
 * repair in place), and its `lifeboat worker` is SIGKILLed as soon as the promotion begins (a new
 * one takes over); it names no group, as an alert names none: it finds them. Checked against ground truth:
 *  - the records the report names as not mirrored, per partition, are exactly the records on the
 *    primary's disks past the standby's end (read by Kafka's own DumpLogSegments, not by Lifeboat),
 *    and every record the application had acknowledged is on the standby or among them;
 *  - the group's consumer on the standby reads on from its last commit on the primary: nothing it
 *    had committed read again, no record of the standby past it skipped;
 *  - the client-switch hook pointed the clients at the standby; RTO and its parts are in the report.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCluster } from '../../lab/topology';
import { killBroker, startBroker } from '../../lab/lab';
import type { ClusterSpec } from '../../src/config/spec';
import { poll } from '../../src/core/poll';
import { unfencePrimary } from '../../src/failover/data/fence';
import { releasePromotion } from '../../src/failover/promotion';
import type { PrimaryFence } from '../../src/failover/data/types';
import { FAILOVER_STATUS_QUERY, failoverWorkflowId } from '../../src/failover/ids.pure';
import type { FailoverStatus } from '../../src/failover/run.pure';
import { waitForIsr } from '../../src/host/logdirs';
import { kafkaFor } from '../../src/kafka/client';
import { mirrorWorkflowId } from '../../src/kafka/mirrorRun.pure';
import { connectTemporal, followRun, startRun, type TemporalClient } from '../../src/temporal/runs';
import { createTopicsReady } from '../support/kafka';
import { appKafka, primarySpec, standbySpec, topo, unique } from '../support/lab';
import { cleanUp, topicRecords } from '../support/migration';
import { killWorker, startWorker, workerBundle } from '../support/worker';

const run = promisify(execFile);
const primary = primarySpec();
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-failover-kill-'));
const bundle = join(dir, 'workflows.js');
const bootstrapFile = join(dir, 'app.properties');
const standby: ClusterSpec = { ...standbySpec(), clientSwitch: [{ type: 'bootstrap-file', path: bootstrapFile, key: 'bootstrap.servers' }] } as ClusterSpec;
const brokers = findCluster(topo, 'primary').brokers;
const PARTITIONS = 3;
const topic = unique('fo-kill');
const group = unique('fo-kill-g');
const hosts = [...new Set(primary.brokers.map((b) => b.host))];
let t: TemporalClient;
let worker: ChildProcess | undefined;
/** The old primary's fence, lifted at the end as failback would (its marker in ZooKeeper too). */
let fenceRecord: PrimaryFence | undefined;
/** The group's reader on the primary: a process of its own, SIGKILLed with the primary's brokers. */
let primaryReader: ChildProcess | undefined;

async function primaryHealthy(): Promise<void> {
  for (const b of brokers) await startBroker(topo, b, () => {}, { settle: false });
  for (const b of brokers) await waitForIsr(primary, b.id, 240_000);
}

beforeAll(async () => {
  t = await connectTemporal();
  await workerBundle(bundle);
  writeFileSync(bootstrapFile, `bootstrap.servers=${primary.kafka.bootstrapServers.join(',')}\n`);
});
afterAll(async () => {
  killWorker(worker);
  primaryReader?.kill('SIGKILL');
  await t?.client.workflow.getHandle(mirrorWorkflowId(primary.name, standby.name)).terminate('test clean-up').catch(() => undefined);
  await primaryHealthy();
  if (fenceRecord) await unfencePrimary(primary, fenceRecord);
  if (t) await releasePromotion(t.client, primary.name, { by: 'test', reason: 'test clean-up' }).catch(() => undefined);
  await cleanUp(primary, standby, [topic], [group]);
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
}, 400_000);

/** The application: sequence-numbered records, acks=all, until the cluster stops answering. */
function application(producer: Producer) {
  const acked = new Set<number>();
  let next = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const seqs = Array.from({ length: 6 }, (_, i) => next + i);
      next += seqs.length;
      try {
        await producer.send({ topic, acks: -1, timeout: 5000, messages: seqs.map((n) => ({ partition: n % PARTITIONS, value: `seq-${n}`, headers: { seq: String(n) } })) });
        for (const n of seqs) acked.add(n);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  return {
    acked,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/**
 * The group's reader on the primary (test/workflows/support/groupReader.ts in its own process):
 * commits after each batch; `committed` holds only commits the broker answered.
 */
function reader(): { read: { partition: number; offset: number; seq: number }[]; committed: Map<number, number>; child: ChildProcess } {
  const read: { partition: number; offset: number; seq: number }[] = [];
  const committed = new Map<number, number>();
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', 'groupReader.ts'), topic, group], { stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as { r?: [number, number, number]; c?: [number, number] };
    if (m.r) read.push({ partition: m.r[0], offset: m.r[1], seq: m.r[2] });
    if (m.c) committed.set(m.c[0], m.c[1]);
  });
  return { read, committed, child };
}

/** The leader epoch of the last batch DumpLogSegments printed (-1: none). */
const lastEpoch = (stdout: string): number => Number([...stdout.matchAll(/partitionLeaderEpoch: (-?\d+)/g)].pop()?.[1] ?? -1);
/** Which of two replicas Kafka keeps: the newest leader epoch at the tip, then the highest end. */
const keeps = (a: { epoch: number; end: number }, b: { epoch: number; end: number }): boolean => a.epoch > b.epoch || (a.epoch === b.epoch && a.end > b.end);

/** Every record on the primary's disks, by partition, from the replica Kafka keeps — read by Kafka's DumpLogSegments. */
async function primaryDiskRecords(): Promise<Map<number, { offset: number; seq: number }[]>> {
  const out = new Map<number, { offset: number; seq: number }[]>();
  const tips = new Map<number, { epoch: number; end: number }>();
  for (const b of brokers) {
    for (let p = 0; p < PARTITIONS; p++) {
      const pdir = join(b.logDir, `${topic}-${p}`);
      let files: string[];
      try {
        files = readdirSync(pdir).filter((f) => f.endsWith('.log')).map((f) => join(pdir, f));
      } catch {
        continue;
      }
      if (!files.length) continue;
      const { stdout } = await run('java', ['-cp', join(topo.kafkaLibs, '*'), 'kafka.tools.DumpLogSegments', '--print-data-log', '--files', files.join(',')], { maxBuffer: 256 * 1024 * 1024 });
      const records = [...stdout.matchAll(/\| offset: (\d+) .*?payload: seq-(\d+)/g)].map((m) => ({ offset: Number(m[1]), seq: Number(m[2]) }));
      const tip = { epoch: lastEpoch(stdout), end: records.length ? records[records.length - 1]!.offset : -1 };
      if (!tips.has(p) || keeps(tip, tips.get(p)!)) {
        tips.set(p, tip);
        out.set(p, records);
      }
    }
  }
  return out;
}

/**
 * The group's last commit per partition as the primary's disks hold it (the replica Kafka keeps),
 * read by DumpLogSegments' offsets decoder (a commit may have landed after the consumer lost its
 * answer to the kill).
 */
async function groupCommitsOnDisk(): Promise<Map<number, number>> {
  let best = new Map<number, number>();
  let bestTip = { epoch: -2, end: -1 };
  for (const b of brokers) {
    for (const d of readdirSync(b.logDir).filter((x) => x.startsWith('__consumer_offsets-'))) {
      const pdir = join(b.logDir, d);
      const files = readdirSync(pdir).filter((f) => f.endsWith('.log')).map((f) => join(pdir, f));
      if (!files.length) continue;
      const { stdout } = await run('java', ['-cp', join(topo.kafkaLibs, '*'), 'kafka.tools.DumpLogSegments', '--offsets-decoder', '--files', files.join(',')], { maxBuffer: 256 * 1024 * 1024 });
      if (!stdout.includes(`"group":"${group}"`)) continue;
      const commits = new Map<number, number>();
      let end = -1;
      for (const m of stdout.matchAll(/\| offset: (\d+) .*?key: (\{.*?\}) payload: (\{.*\}|null)/g)) {
        end = Number(m[1]);
        const key = JSON.parse(m[2]!) as { type: string; data: { group: string; topic?: string; partition?: number } };
        if (key.type !== '1' && key.type !== '0') continue;
        if (key.data.group !== group || key.data.topic !== topic) continue;
        if (m[3] === 'null') commits.delete(key.data.partition!);
        else commits.set(key.data.partition!, (JSON.parse(m[3]!) as { data: { offset: number } }).data.offset);
      }
      const tip = { epoch: lastEpoch(stdout), end };
      if (keeps(tip, bestTip)) {
        bestTip = tip;
        best = commits;
      }
    }
  }
  return best;
}

describe('failover with the primary killed under load and the worker killed mid-promotion', () => {
  it('promotes the standby: exact records not mirrored, the group reads on without re-reading or skipping', { timeout: 420_000 }, async () => {
    const pk = kafkaFor(primary, 'test-fo-kill');
    await createTopicsReady(primary, [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }], { kafka: pk });
    worker = await startWorker(bundle, hosts.flatMap((h) => ['--host', h]));
    const mirrorId = mirrorWorkflowId(primary.name, standby.name);
    await startRun(t.client, 'mirror', { workflowId: mirrorId, args: [{ source: { spec: primary }, target: { spec: standby }, selection: { topics: [topic] }, shards: 1, roundSeconds: 1 }] });

    const producer = appKafka('primary', 'fo-kill-app').producer({ retry: { retries: 1, initialRetryTime: 100 } });
    await producer.connect();
    const app = application(producer);
    const onPrimary = reader();
    primaryReader = onPrimary.child;
    // Let the mirror copy under load and the group read and commit a while.
    await poll(
      async () => {
        if (onPrimary.child.exitCode !== null) throw new Error(`the group reader exited (${onPrimary.child.exitCode}): see its stderr above`);
        return onPrimary.committed.size === PARTITIONS && app.acked.size > 1500;
      },
      { what: 'load on the primary', timeoutMs: 120_000, intervalMs: 200 },
    );

    // The disaster: every primary broker SIGKILLed, as close together as we can.
    const killed = await Promise.all(brokers.map((b) => killBroker(topo, b, { settle: false })));
    onPrimary.child.kill('SIGKILL');
    expect(killed, 'every primary broker was running and is killed').toEqual(brokers.map(() => true));
    await app.stop();
    await producer.disconnect().catch(() => undefined);
    const answered = new Map(onPrimary.committed);

    const receivedAt = new Date().toISOString();
    const workflowId = failoverWorkflowId(primary.name, unique('kill'));
    await startRun(t.client, 'failover', {
      workflowId,
      args: [
        {
          primary: { spec: primary },
          standby: { spec: standby },
          autoApprove: true,
          alert: { source: 'generic', cluster: primary.name, incident: workflowId, status: 'firing', alertname: 'KafkaClusterDown', labels: {}, annotations: {}, startsAt: receivedAt, receivedAt },
          policy: { repairBudgetMinutes: 0, confirmProbes: 2, confirmIntervalSeconds: 1 },
        },
      ],
    });
    // The worker dies as soon as the promotion starts; a new one takes over.
    const handle = t.client.workflow.getHandle(workflowId);
    await poll(async () => ['promoting', 'switching', 'verifying', 'done'].includes((await handle.query<FailoverStatus>(FAILOVER_STATUS_QUERY)).phase), {
      what: 'the promotion',
      timeoutMs: 180_000,
      intervalMs: 100,
    });
    const phaseAtKill = (await handle.query<FailoverStatus>(FAILOVER_STATUS_QUERY)).phase;
    killWorker(worker);
    worker = await startWorker(bundle, hosts.flatMap((h) => ['--host', h]));
    const result = await followRun<'failover'>(t.client, workflowId, { signal: AbortSignal.timeout(300_000) });
    const st = result.status;
    fenceRecord = st.fence?.record;
    expect(phaseAtKill).not.toBe('done');
    expect(st.outcome, `${st.reason} / ${st.problems.join('; ')}`).toBe('failed over');
    expect(st.severity).toBe('P0');
    expect(st.groups?.map((g) => g.group)).toContain(group);

    // Ground truth on the standby and on the primary's disks.
    const onStandby = await topicRecords(standby, topic, 0, unique('fo-kill-check'));
    const standbyEnd = new Map<number, number>();
    for (const r of onStandby) standbyEnd.set(r.partition, Math.max(standbyEnd.get(r.partition) ?? 0, r.offset + 1));
    const disk = await primaryDiskRecords();
    // The group's position on the primary: its last commit on disk (at or past the last one answered).
    const committedOnPrimary = await groupCommitsOnDisk();
    for (let p = 0; p < PARTITIONS; p++) expect(committedOnPrimary.get(p) ?? 0).toBeGreaterThanOrEqual(answered.get(p) ?? 0);
    const standbySeqs = new Set(onStandby.map((r) => r.seq));
    for (let p = 0; p < PARTITIONS; p++) {
      const tail = (disk.get(p) ?? []).filter((r) => r.offset >= (standbyEnd.get(p) ?? 0));
      const d = st.divergence!.find((x) => x.partition === p && x.topic === topic)!;
      expect(d.from).toBe('disk');
      expect(d.mirrored).toBe(standbyEnd.get(p) ?? 0);
      expect(d.notMirrored, `partition ${p}`).toBe(tail.length);
      for (const r of tail) expect(standbySeqs.has(r.seq)).toBe(false);
    }
    const tailSeqs = new Set([...disk.values()].flat().filter((r) => !standbySeqs.has(r.seq)).map((r) => r.seq));
    const lostAcked = [...app.acked].filter((n) => !standbySeqs.has(n) && !tailSeqs.has(n));
    expect(lostAcked).toEqual([]);

    // The clients point at the standby; the group reads on there from its last commit.
    expect(readFileSync(bootstrapFile, 'utf8')).toContain(standby.kafka.bootstrapServers[0]!);
    const again = appKafka('standby', 'fo-kill-reader').consumer({ groupId: group });
    const readOnStandby: { partition: number; offset: number; seq: number }[] = [];
    await again.connect();
    try {
      await again.subscribe({ topic, fromBeginning: true });
      let last = Date.now();
      await again.run({
        eachMessage: async ({ partition, message }) => {
          readOnStandby.push({ partition, offset: Number(message.offset), seq: Number(String(message.value).slice(4)) });
          last = Date.now();
        },
      });
      const expected = onStandby.filter((r) => r.offset >= Math.min(committedOnPrimary.get(r.partition) ?? 0, standbyEnd.get(r.partition) ?? 0)).length;
      await poll(async () => readOnStandby.length >= expected && Date.now() - last > 3000, {
        what: 'the group on the standby',
        timeoutMs: 90_000,
        intervalMs: 200,
        message: () => `the group read ${readOnStandby.length} of ${expected} records on the standby; moved: ${JSON.stringify(st.groups)}; committed on the primary: ${JSON.stringify([...committedOnPrimary])}; standby ends ${JSON.stringify([...standbyEnd])}`,
      });
    } finally {
      await again.disconnect();
    }
    // Identical offsets on a fresh standby topic: the commit on the primary is the position there (or the mirrored end).
    const committedSeqs = new Set(onPrimary.read.filter((r) => r.offset < (committedOnPrimary.get(r.partition) ?? 0)).map((r) => r.seq));
    const reRead = readOnStandby.filter((r) => committedSeqs.has(r.seq));
    expect(reRead).toEqual([]);
    const readSeqs = new Set(readOnStandby.map((r) => r.seq));
    const skipped = onStandby.filter((r) => !committedSeqs.has(r.seq) && !readSeqs.has(r.seq));
    expect(skipped).toEqual([]);
    // What the group had read on the primary past the mirrored end is named, not silently lost.
    const consumedNotMirrored = [...committedOnPrimary].reduce((n, [p, off]) => n + Math.max(0, off - (standbyEnd.get(p) ?? 0)), 0);
    expect(st.consumedNotMirrored ?? 0).toBe(consumedNotMirrored);

    expect(st.rtoMs).toBeGreaterThan(0);
    expect(st.rtoParts.promote).toBeGreaterThanOrEqual(0);
    // The old primary cannot take writes when it comes back: fenced through ZooKeeper while its brokers were down.
    expect(st.fence?.fenced, st.fence?.detail).toBe(true);
  });
});
