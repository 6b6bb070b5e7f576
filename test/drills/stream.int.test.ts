/**
 * The drill's measurements on the lab's standby cluster: the write stream run by a real worker through
 * a small workflow that answers its stop query (test/drills/support/streamWorkflow.ts), its worker
 * SIGKILLed mid-stream (the retry resumes without writing a seq twice), the read-back against what is
 * readable after records are deleted, the topic is gone or recreated with only its older records, and
 * the independent probe, green on the standby and not green (never thrown, within its bound) on closed ports.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityDeps, createActivities } from '../../activities';
import type { ClusterSpec } from '../../src/config/spec';
import { DRILL_STREAM_SEEDED_SIGNAL, drillStreamTopic } from '../../src/drills/ids.pure';
import type { StreamLog } from '../../src/drills/records';
import { rpoSecondsOf, rtoSecondsOf } from '../../src/drills/rpo.pure';
import { zkStreamPath } from '../../src/drills/stream';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { readRanges } from '../../src/kafka/topicReader';
import { temporalSettings } from '../../src/temporal/connection';
import { hostTaskQueue } from '../../src/temporal/taskQueues.pure';
import { ACL, Id, Permission, create, getData, remove, setData, withZk } from '../../src/zookeeper/client';
import { brokerRunning, killBroker, startBroker, waitForLabAgreement } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import { eventMs } from '../support/history';
import { standbySpec, topo, unique } from '../support/lab';
import { killWorker, startWorker } from '../support/worker';
import { type StreamTestInput, stopStreamSignal } from './support/streamWorkflow';

const spec = standbySpec();
const activities = createActivities(activityDeps());
const settings = temporalSettings();
const WORKFLOW_QUEUE = unique('drill-stream-test');

/** Every record of the topic: partition, offset and the drill and seq its value carries. */
async function topicRecords(topic: string): Promise<{ partition: number; offset: number; drill: string; seq: number }[]> {
  const kafka = kafkaFor(spec, 'test-read');
  const offsets = await withAdmin(kafka, spec.name, (a) => a.fetchTopicOffsets(topic));
  const ranges = new Map(offsets.map((p) => [p.partition, { from: Number(p.low), to: Number(p.high) }]));
  const out: { partition: number; offset: number; drill: string; seq: number }[] = [];
  await readRanges(kafka, topic, ranges, async (partition, ms) => {
    for (const m of ms) {
      const v = JSON.parse(String(m.value)) as { drill: string; seq: number };
      out.push({ partition, offset: Number(m.offset), drill: v.drill, seq: v.seq });
    }
  });
  return out;
}

const recordCount = async (topic: string): Promise<number> =>
  withAdmin(kafkaFor(spec, 'test-count'), spec.name, async (a) => (await a.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('drill measurements (standby)', () => {
  let temporal: { client: Client; connection: Connection };
  let connection: NativeConnection;
  const workers: { worker: Worker; running: Promise<void> }[] = [];
  let child: ChildProcess | undefined;
  const drillId = unique('drill-standby-stream-test');
  const topic = drillStreamTopic(drillId);
  let log: StreamLog;

  const startWorkerOn = async (taskQueue: string, withWorkflows: boolean) => {
    const worker = await Worker.create({
      connection,
      namespace: settings.namespace,
      taskQueue,
      activities,
      ...(withWorkflows ? { workflowsPath: require.resolve('./support/streamWorkflow.ts') } : {}),
      maxHeartbeatThrottleInterval: '1 second',
    });
    workers.push({ worker, running: worker.run() });
  };

  const runStream = (input: Omit<StreamTestInput, 'spec'> & { spec?: ClusterSpec }) =>
    temporal.client.workflow.start('drillStreamTest', { taskQueue: WORKFLOW_QUEUE, workflowId: unique('drill-stream-test'), args: [{ spec, ...input }] });

  beforeAll(async () => {
    const clientConnection = await Connection.connect(settings.connection);
    temporal = { client: new Client({ connection: clientConnection, namespace: settings.namespace }), connection: clientConnection };
    connection = await NativeConnection.connect({ address: settings.connection.address });
    await startWorkerOn(WORKFLOW_QUEUE, true);
  });

  afterAll(async () => {
    killWorker(child);
    for (const w of workers) w.worker.shutdown();
    await Promise.all(workers.map((w) => w.running));
    await connection?.close();
    await temporal?.connection.close();
    await activities.drillDropStreamActivity({ spec, topic, drillId }).catch(() => {});
  });

  it('creates the stream topic once (RF min(3, brokers)); the stream survives its worker SIGKILLed without writing a seq twice', async () => {
    const t = await activities.drillStreamTopicActivity({ spec, drillId });
    expect(t).toEqual({ topic, partitions: 3, replicationFactor: Math.min(3, spec.brokers.length) });
    expect(await activities.drillStreamTopicActivity({ spec, drillId })).toEqual(t);

    // The activity runs on a host queue served by a real `lifeboat worker` process.
    const host = unique('stream-host');
    child = await startWorker('', ['--host', host, '--no-control']);
    const handle = await runStream({ drillId, topic, intervalMs: 50, zookeeper: true, activityQueue: hostTaskQueue(host), heartbeatSeconds: 4 });
    await waitFor('30 records from the first worker', async () => (await recordCount(topic)) >= 30);
    killWorker(child);
    child = undefined;
    const atKill = await recordCount(topic);
    // Another worker takes the retry after the heartbeat timeout; it resumes from the acks it heartbeated.
    await startWorkerOn(hostTaskQueue(host), false);
    await waitFor('30 records from the retry', async () => (await recordCount(topic)) >= atKill + 30, 90_000);
    await handle.signal(stopStreamSignal);
    log = await handle.result();

    // The activity ran more than once: the kill cost an attempt.
    const history = await handle.fetchHistory();
    const attempts = (history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
    // The workflow was told once every partition and the znode held an acknowledged write (a drill's faults
    // wait for it): the first time after those first acks, then again by the attempt that resumed.
    const seeded = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === DRILL_STREAM_SEEDED_SIGNAL).map((e) => eventMs(e.eventTime));
    expect(seeded.length).toBeGreaterThanOrEqual(1);
    expect(seeded.length).toBeLessThanOrEqual(Math.max(...attempts));

    // What the topic holds is exactly what the log says was acknowledged: every seq once, at its offset.
    const records = await topicRecords(topic);
    const seqs = records.map((r) => r.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(records.every((r) => r.drill === drillId)).toBe(true);
    const ackSeqs = log.acks.map((a) => a.seq);
    expect(new Set(ackSeqs).size).toBe(ackSeqs.length);
    const key = (x: { partition: number; offset: number; seq: number }) => `${x.partition}/${x.offset}/${x.seq}`;
    expect(new Set(log.acks.map(key))).toEqual(new Set(records.map(key)));
    expect(log.acks.length).toBeGreaterThanOrEqual(atKill + 30);
    expect(log.failures.count).toBe(0);
    expect(log.drillId).toBe(drillId);
    expect(new Set(log.acks.map((a) => a.partition))).toEqual(new Set([0, 1, 2]));
    // (Against the partitions' first acks: the retry reads back every record the killed attempt wrote, with
    // its time; of the znode's writes only the last one before the kill is there to read back.)
    const firstAcks = [0, 1, 2].map((p) => Math.min(...log.acks.filter((a) => a.partition === p).map((a) => Date.parse(a.at))));
    expect(seeded[0]!).toBeGreaterThanOrEqual(Math.max(...firstAcks));

    // The znode: every write once, zxids rising, the last one is what ZooKeeper holds.
    const zk = log.zookeeper!;
    expect(zk.path).toBe(zkStreamPath(spec, drillId));
    const zseqs = zk.acks.map((a) => a.seq);
    expect(new Set(zseqs).size).toBe(zseqs.length);
    expect(zk.acks.length).toBeGreaterThan(20);
    const zx = zk.acks.map((a) => BigInt(a.zxid));
    expect(zx.every((z, i) => i === 0 || z > zx[i - 1]!)).toBe(true);
    const now = await withZk(spec.zookeeper!.connect, (c) => getData(c, zk.path));
    const last = zk.acks.at(-1)!;
    expect(JSON.parse(String(now.data)).seq).toBe(last.seq);
    expect(BigInt(`0x${now.stat.mzxid.toString('hex')}`)).toBe(BigInt(last.zxid));

    // Read back with everything there: nothing lost.
    const rb = await activities.drillReadBackActivity({ spec, log, faultAt: log.endedAt });
    expect(rb.streamStartedAt).toBe(log.startedAt);
    expect(rb.partitions).toHaveLength(3);
    for (const p of rb.partitions) {
      const mine = log.acks.filter((a) => a.partition === p.partition).sort((a, b) => a.seq - b.seq).at(-1)!;
      expect(p.lastAcked).toEqual({ offset: mine.offset, at: mine.at });
      expect(p.intactThrough).toEqual(p.lastAcked);
    }
    expect(rb.zookeeper).toEqual({ lastAcked: { zxid: last.zxid, at: last.at }, intactThrough: { zxid: last.zxid, at: last.at } });
    expect(rpoSecondsOf(rb.partitions, rb.zookeeper)).toBe(0);
  });

  it('reports the loss window after records are deleted, the topic is gone, or it is recreated with only its older records', async () => {
    expect(log).toBeDefined();
    const faultAt = log.endedAt;
    const byPartition = (p: number) => log.acks.filter((a) => a.partition === p).sort((a, b) => a.offset - b.offset);

    // delete-records on partition 0 up to offset 3: the intact run there never starts.
    await withAdmin(kafkaFor(spec, 'test-admin'), spec.name, async (a) => {
      await a.fetchTopicMetadata({ topics: [topic] }); // kafkajs finds the leaders from metadata it has loaded
      await a.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '3' }] });
    });
    let rb = await activities.drillReadBackActivity({ spec, log, faultAt });
    expect(rb.partitions[0]!.intactThrough).toBeNull();
    expect(rb.partitions[0]!.lastAcked).toEqual({ offset: byPartition(0).at(-1)!.offset, at: byPartition(0).at(-1)!.at });
    expect(rb.partitions[1]!.intactThrough).toEqual(rb.partitions[1]!.lastAcked);
    expect(rpoSecondsOf(rb.partitions, rb.zookeeper)).toBeNull();
    const fromStart = rpoSecondsOf(rb.partitions, rb.zookeeper, { streamStartedAt: log.startedAt })!;
    // Seconds from milliseconds: 8.011 * 1000 is 8010.999999999999 in floating point.
    expect(fromStart).toBeCloseTo((Date.parse(byPartition(0).at(-1)!.at) - Date.parse(log.startedAt)) / 1000, 9);

    // The topic gone: nothing readable anywhere.
    const kafka = kafkaFor(spec, 'test-admin');
    await withAdmin(kafka, spec.name, (a) => a.deleteTopics({ topics: [topic] }));
    await waitFor('the topic deleted', async () => !(await withAdmin(kafka, spec.name, (a) => a.listTopics())).includes(topic));
    rb = await activities.drillReadBackActivity({ spec, log, faultAt });
    expect(rb.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(rb.partitions.every((p) => p.lastAcked !== null && p.intactThrough === null)).toBe(true);

    // Recreated and restored up to a point: each partition's first K records (as a backup restores them),
    // and the znode set back to an earlier write of the stream.
    const K = 8;
    await waitFor(
      'the topic recreated',
      async () => withAdmin(kafka, spec.name, (a) => a.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })),
    );
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    for (const p of [0, 1, 2]) {
      const first = byPartition(p).slice(0, K);
      expect(first.map((a) => a.offset)).toEqual([...Array(K).keys()]);
      await producer.send({ topic, acks: -1, messages: first.map((a) => ({ partition: p, key: drillId, value: JSON.stringify({ drill: drillId, seq: a.seq, at: a.at }) })) });
    }
    await producer.disconnect();
    const zk = log.zookeeper!;
    const back = zk.acks[Math.floor(zk.acks.length / 2)]!;
    await withZk(spec.zookeeper!.connect, (c) => setData(c, zk.path, Buffer.from(JSON.stringify({ drill: drillId, seq: back.seq, at: back.at }))));

    rb = await activities.drillReadBackActivity({ spec, log, faultAt });
    for (const p of rb.partitions) {
      const acks = byPartition(p.partition);
      expect(p.intactThrough).toEqual({ offset: K - 1, at: acks[K - 1]!.at });
      expect(p.lastAcked).toEqual({ offset: acks.at(-1)!.offset, at: acks.at(-1)!.at });
    }
    expect(rb.zookeeper!.intactThrough).toEqual({ zxid: back.zxid, at: back.at });
    const windows = [
      ...rb.partitions.map((p) => Date.parse(p.lastAcked!.at) - Date.parse(p.intactThrough!.at)),
      Date.parse(zk.acks.at(-1)!.at) - Date.parse(back.at),
    ];
    expect(rpoSecondsOf(rb.partitions, rb.zookeeper)).toBe(Math.max(...windows) / 1000);
    expect(Math.max(...windows)).toBeGreaterThan(0);
  });

  it('a drop guarded by the read-back\'s ends deletes nothing once an end moved (and says where), and drops what was read', async () => {
    const faultAt = log.endedAt;
    const rb = await activities.drillReadBackActivity({ spec, log, faultAt });
    // The topic as the test above left it: each partition's first 8 records.
    expect(rb.ends).toEqual({ 0: 8, 1: 8, 2: 8 });
    const kafka = kafkaFor(spec, 'test-admin');
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ partition: 1, key: drillId, value: JSON.stringify({ drill: drillId, seq: 10_000, at: new Date().toISOString() }) }] });
    await producer.disconnect();

    const moved = await activities.drillDropStreamActivity({ spec, topic, drillId, ifEnds: rb.ends });
    expect(moved).toEqual({ dropped: false, changed: 'partition 1: end 8 at the read-back, end 9 now' });
    // Nothing deleted: the topic and the stream's znode are still there.
    expect(await withAdmin(kafka, spec.name, (a) => a.listTopics())).toContain(topic);
    expect((await withZk(spec.zookeeper!.connect, (c) => getData(c, log.zookeeper!.path))).data?.length).toBeGreaterThan(0);

    const again = await activities.drillReadBackActivity({ spec, log, faultAt });
    expect(again.ends).toEqual({ 0: 8, 1: 9, 2: 8 });
    expect(await activities.drillDropStreamActivity({ spec, topic, drillId, ifEnds: again.ends })).toEqual({ dropped: true });
    await waitFor('the topic deleted', async () => !(await withAdmin(kafka, spec.name, (a) => a.listTopics())).includes(topic));
    const znode = await withZk(spec.zookeeper!.connect, (c) => getData(c, log.zookeeper!.path).then(() => 'there', (e: { code?: string }) => e.code));
    expect(znode).toBe('NO_NODE');
  });

  it('a stream against a cluster that is down counts its failed sends and still stops when asked', async () => {
    const down: ClusterSpec = { ...spec, kafka: { ...spec.kafka, bootstrapServers: [`127.0.0.1:${await closedPort()}`] } };
    const handle = await runStream({ spec: down, drillId: unique('drill-down'), topic: 'lifeboat-drill-nowhere', intervalMs: 100, activityQueue: WORKFLOW_QUEUE, heartbeatSeconds: 10 });
    await new Promise((r) => setTimeout(r, 2_500));
    await handle.signal(stopStreamSignal);
    const down1 = await handle.result();
    expect(down1.acks).toEqual([]);
    expect(down1.failures.count).toBeGreaterThan(0);
    expect(Date.parse(down1.failures.last!)).toBeGreaterThanOrEqual(Date.parse(down1.failures.first!));
  });

  it('the znode deleted mid-stream and put back holding an older write: failed writes counted, the first write after it saw the older seq, the read-back reports that window', async () => {
    const id = unique('drill-standby-zk');
    const t = await activities.drillStreamTopicActivity({ spec, drillId: id });
    const path = zkStreamPath(spec, id);
    const seqNow = async () => withZk(spec.zookeeper!.connect, async (c) => (JSON.parse(String((await getData(c, path)).data)) as { seq: number }).seq);
    try {
      const handle = await runStream({ drillId: id, topic: t.topic, intervalMs: 100, zookeeper: true, activityQueue: WORKFLOW_QUEUE, heartbeatSeconds: 20 });
      await waitFor('15 znode writes', async () => (await seqNow()) >= 15);
      // The fault: the znode gone (as with its chroot deleted); the restore brings back an older value.
      const restored = (await seqNow()) - 5;
      const faultAt = new Date().toISOString();
      await withZk(spec.zookeeper!.connect, (c) => remove(c, path));
      await new Promise((r) => setTimeout(r, 1_000));
      // Every write between the removal and the create fails (no znode): an ack after this comes after the create.
      const recreatedAt = Date.now();
      await withZk(spec.zookeeper!.connect, (c) => create(c, path, Buffer.from(JSON.stringify({ drill: id, seq: restored, at: faultAt })), [new ACL(Permission.ALL, new Id('world', 'anyone'))]));
      const after = await seqNow();
      await waitFor('the stream writing the znode again', async () => (await seqNow()) >= after + 5);
      await handle.signal(stopStreamSignal);
      const out: StreamLog = await handle.result();
      const zk = out.zookeeper!;
      expect(zk.failures!.count).toBeGreaterThan(0);
      // Told once, after the first ack in every partition and the znode's first write (nothing was killed: all are in the log).
      const seeded = ((await handle.fetchHistory()).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === DRILL_STREAM_SEEDED_SIGNAL).map((e) => eventMs(e.eventTime));
      expect(seeded).toHaveLength(1);
      const firsts = [...new Set(out.acks.map((a) => a.partition))].map((p) => Math.min(...out.acks.filter((a) => a.partition === p).map((a) => Date.parse(a.at))));
      expect(firsts).toHaveLength(3);
      expect(seeded[0]!).toBeGreaterThanOrEqual(Math.max(...firsts, Date.parse(zk.acks[0]!.at)));
      // After the znode came back, not after the last failure: a write cut off by the stop counts as
      // failed too, and it may come after every acknowledged one.
      const firstAfter = zk.acks.filter((a) => Date.parse(a.at) >= recreatedAt).sort((a, b) => a.seq - b.seq)[0]!;
      expect(firstAfter.before).toBe(restored);
      const rb = await activities.drillReadBackActivity({ spec, log: out, faultAt });
      const kept = zk.acks.find((a) => a.seq === restored)!;
      const last = zk.acks.filter((a) => Date.parse(a.at) <= Date.parse(faultAt)).sort((a, b) => a.seq - b.seq).at(-1)!;
      expect(rb.zookeeper).toEqual({ lastAcked: { zxid: last.zxid, at: last.at }, intactThrough: { zxid: kept.zxid, at: kept.at } });
      expect(last.seq).toBeGreaterThanOrEqual(restored + 5);
      expect(rb.partitions.every((p) => p.intactThrough !== null && p.intactThrough.offset === p.lastAcked!.offset)).toBe(true);
      expect(rpoSecondsOf(rb.partitions, rb.zookeeper)).toBe((Date.parse(last.at) - Date.parse(kept.at)) / 1000);
    } finally {
      await activities.drillDropStreamActivity({ spec, topic: t.topic, drillId: id }).catch(() => {});
    }
  });

  it('through its only broker killed and started again: the probe goes red then green, the stream counts its failed sends, resumes, and loses nothing acknowledged', async () => {
    const id = unique('drill-standby-outage');
    const t = await activities.drillStreamTopicActivity({ spec, drillId: id });
    const b = findBroker(topo, 'standby', spec.brokers[0]!.id);
    try {
      const handle = await runStream({ drillId: id, topic: t.topic, intervalMs: 100, activityQueue: WORKFLOW_QUEUE, heartbeatSeconds: 20 });
      await waitFor('10 records before the fault', async () => (await recordCount(t.topic)) >= 10);
      await killBroker(topo, b);
      const faultAt = new Date().toISOString();
      const red = await activities.drillProbeActivity({ spec, timeoutMs: 5_000 });
      expect(red.green).toBe(false);
      await new Promise((r) => setTimeout(r, 1_500)); // the stream meets the dead cluster
      await startBroker(topo, b);
      await waitForLabAgreement(topo, 'standby', { topics: [t.topic], timeoutMs: 120_000 });
      let green = await activities.drillProbeActivity({ spec, timeoutMs: 20_000 });
      for (let i = 0; !green.green && i < 10; i++) green = await activities.drillProbeActivity({ spec, timeoutMs: 20_000 });
      expect(green.green).toBe(true);
      const rto = rtoSecondsOf(faultAt, green.at)!;
      expect(rto).toBeGreaterThan(0);
      const afterRestart = await recordCount(t.topic);
      await waitFor('10 records after the restart', async () => (await recordCount(t.topic)) >= afterRestart + 10, 60_000);
      await handle.signal(stopStreamSignal);
      const out: StreamLog = await handle.result();
      expect(out.failures.count).toBeGreaterThan(0);
      // Resumed: acknowledged after the probe was green again (not "after the last failure": a send cut
      // off by the stop counts as failed, and it may be the last thing the stream did).
      expect(out.acks.filter((a) => Date.parse(a.at) > Date.parse(green.at)).length).toBeGreaterThanOrEqual(5);
      expect(Date.parse(out.failures.first!)).toBeLessThan(Date.parse(green.at));
      const rb = await activities.drillReadBackActivity({ spec, log: out, faultAt });
      expect(rb.partitions.every((p) => p.lastAcked !== null && p.intactThrough !== null && p.intactThrough.offset === p.lastAcked.offset)).toBe(true);
      expect(rpoSecondsOf(rb.partitions)).toBe(0);
    } finally {
      if (!brokerRunning(topo, b)) await startBroker(topo, b);
      await waitForLabAgreement(topo, 'standby', { timeoutMs: 120_000 });
      await activities.drillDropStreamActivity({ spec, topic: t.topic, drillId: id }).catch(() => {});
    }
  });

  it('the probe: green on the standby, not green (and no throw) within its bound when nothing answers', async () => {
    const green = await activities.drillProbeActivity({ spec, timeoutMs: 30_000 });
    expect(green.detail).toMatch(/produce\+consume/);
    expect(green.green).toBe(true);

    const down: ClusterSpec = {
      ...spec,
      kafka: { ...spec.kafka, bootstrapServers: [`127.0.0.1:${await closedPort()}`] },
      zookeeper: { ...spec.zookeeper!, connect: `127.0.0.1:${await closedPort()}` },
    };
    const t0 = Date.now();
    const red = await activities.drillProbeActivity({ spec: down, timeoutMs: 4_000 });
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(red.green).toBe(false);
    expect(red.detail).toMatch(/not green/);
    // Kafka alone down (ZooKeeper answers): not green either, and it says why.
    const kafkaDown = await activities.drillProbeActivity({ spec: { ...spec, kafka: down.kafka }, timeoutMs: 8_000 });
    expect(kafkaDown.green).toBe(false);
    expect(kafkaDown.detail).toMatch(/ZooKeeper answers.*not green: .*cannot reach Kafka/);
  });
});
