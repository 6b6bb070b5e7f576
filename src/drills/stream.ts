/**
 * The drill's write stream (issue 16): a producer (acks=all) writing one sequence-numbered record per
 * interval to the drill's own topic, and optionally the same to one ZooKeeper znode, all through the
 * drill. Every acknowledgement is kept (partition, offset, seq, time): after recovery the read-back
 * (readBack.ts) compares them with what is readable, which is the drill's RPO.
 *
 * A failed send (the cluster is down: that is the drill) is counted, never thrown, and its seq is not
 * used again; the stream stops when `shouldStop` says so. It resumes after a retry of its activity
 * from the state it reported (`onProgress`) and, before it writes again, reads what the earlier attempt
 * wrote after its last report (records in the topic, the znode's value), so no seq is written twice.
 *
 * Safety: the producer never creates the topic (allowAutoTopicCreation false), and the ZooKeeper
 * stream creates its znode only at its start, never a parent after that: a stream running through a
 * deleted chroot or topic must not put back a piece of what the recovery is about to restore.
 */
import { type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { describeTopics, reachableKafka, retryTransient, withAdmin } from '../kafka/admin';
import { kafkaFor } from '../kafka/client';
import { waitForAgreement } from '../kafka/ready';
import { readRanges } from '../kafka/topicReader';
import { type ZkClient, ACL, CreateMode, Id, Permission, chrootPath, connectZk, create, exists, getChildren, getData, remove, setData, withZk, zxidHex } from '../zookeeper/client';
import { settleAll } from '../core/parallel';
import { drillStreamTopic } from './ids.pure';
import type { StreamAck, StreamLog } from './records';
import { type StreamEnds, endsMoved, streamEndsOf } from './rpo.pure';

/** Record headers (and the value's JSON fields) that identify a stream record. */
export const STREAM_HEADERS = { drill: 'lifeboat-drill', seq: 'lifeboat-drill-seq', at: 'lifeboat-drill-at' } as const;

/** The ZooKeeper stream's znode: `<chroot>/lifeboat-drill/<drill id>` (a drill's inventory leaves `<chroot>/lifeboat-drill` out). */
export const ZK_STREAM_ROOT = '/lifeboat-drill';
export const zkStreamPath = (spec: ClusterSpec, drillId: string): string =>
  chrootPath(spec.zookeeper?.chroot, `${ZK_STREAM_ROOT}/${drillId.replace(/[^A-Za-z0-9._-]/g, '-')}`);

/** What a stream record (or the znode's data) carries. */
export interface StreamMark {
  drill: string;
  seq: number;
  at: string;
}

export const streamValue = (m: StreamMark): Buffer => Buffer.from(JSON.stringify(m));

/** The drill, seq and send time a value (JSON) carries; null when it is not a stream record. */
export function parseStreamValue(value: Buffer | string | null | undefined): StreamMark | null {
  if (value === null || value === undefined) return null;
  try {
    const v = JSON.parse(value.toString()) as Partial<StreamMark>;
    return typeof v.drill === 'string' && Number.isSafeInteger(v.seq) && typeof v.at === 'string' ? { drill: v.drill, seq: v.seq as number, at: v.at } : null;
  } catch {
    return null;
  }
}

/** A stream record's mark, from its headers (the value when they are missing). */
export function parseStreamRecord(m: Pick<KafkaMessage, 'headers' | 'value'>): StreamMark | null {
  const h = (k: string) => {
    const v = m.headers?.[k];
    return v === undefined ? undefined : (Array.isArray(v) ? v[0] : v)?.toString();
  };
  const drill = h(STREAM_HEADERS.drill);
  const seq = Number(h(STREAM_HEADERS.seq));
  const at = h(STREAM_HEADERS.at);
  if (drill !== undefined && Number.isSafeInteger(seq) && at !== undefined) return { drill, seq, at };
  return parseStreamValue(m.value);
}

/** The stream's state: its log so far and the next sequence numbers (a failed send uses one up too). */
export interface StreamState {
  log: StreamLog;
  nextSeq: number;
  zkNextSeq: number;
  /** The seq being sent (or written to the znode) right now: a report can come while it is on its way. */
  inFlight?: number;
  zkInFlight?: number;
}

/**
 * The state in a compact form for heartbeat details (a drill of half an hour at 2 writes a second is
 * some 3,600 acks): acks as [partition, offset, seq, epoch ms], znode writes as [seq, zxid, epoch ms, before].
 */
export interface PackedStream {
  v: 1;
  topic: string;
  drillId?: string;
  startedAt: string;
  nextSeq: number;
  zkNextSeq: number;
  inFlight?: number;
  zkInFlight?: number;
  acks: [number, number, number, number][];
  failures: StreamLog['failures'];
  zk?: { path: string; acks: [number, string, number, number | null | -2][]; failures?: StreamLog['failures'] };
}

const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

export function packStream(s: StreamState): PackedStream {
  const z = s.log.zookeeper;
  return {
    v: 1,
    topic: s.log.topic,
    ...(s.log.drillId ? { drillId: s.log.drillId } : {}),
    startedAt: s.log.startedAt,
    nextSeq: s.nextSeq,
    zkNextSeq: s.zkNextSeq,
    ...(s.inFlight !== undefined ? { inFlight: s.inFlight } : {}),
    ...(s.zkInFlight !== undefined ? { zkInFlight: s.zkInFlight } : {}),
    acks: s.log.acks.map((a) => [a.partition, a.offset, a.seq, ms(a.at)]),
    failures: s.log.failures,
    // -2: no `before` recorded (an ack rebuilt from what an earlier attempt left).
    ...(z ? { zk: { path: z.path, acks: z.acks.map((a) => [a.seq, a.zxid, ms(a.at), a.before === undefined ? -2 : a.before] as [number, string, number, number | null]), failures: z.failures } } : {}),
  };
}

/** The state from heartbeat details; undefined when they are not a packed stream (details of another shape, or none). */
export function unpackStream(p: unknown): StreamState | undefined {
  const x = p as PackedStream | undefined;
  if (!x || x.v !== 1 || typeof x.topic !== 'string' || !Array.isArray(x.acks) || !Number.isSafeInteger(x.nextSeq)) return undefined;
  const log: StreamLog = {
    topic: x.topic,
    ...(x.drillId ? { drillId: x.drillId } : {}),
    startedAt: x.startedAt,
    endedAt: x.startedAt,
    acks: x.acks.map(([partition, offset, seq, at]) => ({ partition, offset, seq, at: iso(at) })),
    failures: x.failures ?? { count: 0 },
  };
  if (x.zk) {
    log.zookeeper = {
      path: x.zk.path,
      acks: x.zk.acks.map(([seq, zxid, at, before]) => ({ seq, zxid, at: iso(at), ...(before === -2 ? {} : { before }) })),
      ...(x.zk.failures ? { failures: x.zk.failures } : {}),
    };
  }
  return {
    log,
    nextSeq: x.nextSeq,
    zkNextSeq: x.zkNextSeq ?? 0,
    ...(Number.isSafeInteger(x.inFlight) ? { inFlight: x.inFlight } : {}),
    ...(Number.isSafeInteger(x.zkInFlight) ? { zkInFlight: x.zkInFlight } : {}),
  };
}

export interface WriteStreamOptions {
  spec: ClusterSpec;
  drillId: string;
  topic: string;
  /** Time between writes (default 500 ms): the RPO is measured to this resolution. */
  intervalMs?: number;
  /** Also write the znode `<chroot>/lifeboat-drill/<drill id>` (needs spec.zookeeper). */
  zookeeper?: boolean;
  /** Asked every `stopEveryMs` (default 500): true ends the stream. Errors are ignored (asked again). */
  shouldStop: () => Promise<boolean>;
  stopEveryMs?: number;
  /** The state an earlier attempt reported. */
  resume?: StreamState;
  /** An earlier attempt may have written after its last report: read that back before writing (an activity's retry). */
  reconcile?: boolean;
  /** Called after every write (acknowledged or failed) with the state so far. */
  onProgress?: (s: StreamState) => void;
  /**
   * Called once every partition (and the znode, with `zookeeper`) holds an acknowledged write of the
   * stream: from then on a fault has a last acknowledged record to measure the loss from.
   */
  onSeeded?: () => void;
  signal?: AbortSignal;
  /** A send or znode write not answered within this is a failure (default 10 s). */
  sendTimeoutMs?: number;
  /** A send or znode write in flight when the stream stops gets this long to answer (default 500 ms). */
  stopGraceMs?: number;
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Thrown where a lane finds the stream stopped before it writes: not a failure, nothing was sent. */
const STOPPED = new Error('the stream stopped');

const fail = (f: StreamLog['failures'], at: string) => {
  f.count++;
  f.first ??= at;
  f.last = at;
};

/** Runs the stream until `shouldStop` answers true (or `signal` aborts: then it throws the abort). */
export async function runWriteStream(o: WriteStreamOptions): Promise<StreamLog> {
  if (o.zookeeper && !o.spec.zookeeper) throw new LifeboatError('InvalidInput', `cluster "${o.spec.name}" has no zookeeper in its spec: the ZooKeeper write stream needs one`);
  const intervalMs = Math.max(20, o.intervalMs ?? 500);
  const sendTimeoutMs = o.sendTimeoutMs ?? 10_000;
  const now = () => new Date().toISOString();
  const state: StreamState = o.resume
    ? structuredClone(o.resume)
    : { log: { topic: o.topic, drillId: o.drillId, startedAt: now(), endedAt: now(), acks: [], failures: { count: 0 } }, nextSeq: 0, zkNextSeq: 0 };
  state.log.drillId ??= o.drillId;
  if (o.zookeeper) state.log.zookeeper ??= { path: zkStreamPath(o.spec, o.drillId), acks: [], failures: { count: 0 } };
  const zkLog = state.log.zookeeper;
  if (zkLog) zkLog.failures ??= { count: 0 };

  let stopped = false;
  /** When the stream stopped: one grace for everything in flight then, not one per call after it. */
  let stoppedAt = 0;
  const stopWaiters = new Set<() => void>();
  const stop = () => {
    if (!stopped) stoppedAt = Date.now();
    stopped = true;
    for (const w of stopWaiters) w();
  };
  const stopGraceMs = Math.max(0, o.stopGraceMs ?? 500);
  /** `p`, or a failure once the stream has stopped and its grace is over (see Lane.untilStopped). */
  const untilStopped = <T>(p: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      const onStop = () => {
        grace ??= setTimeout(() => reject(new Error('the stream stopped before an answer')), Math.max(0, stoppedAt + stopGraceMs - Date.now()));
      };
      if (stopped) onStop();
      else stopWaiters.add(onStop);
      p.then(resolve, reject).finally(() => {
        stopWaiters.delete(onStop);
        clearTimeout(grace);
      });
    });
  const onAbort = () => stop();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  /** Sleeps until the next write is due, or the stream stops. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve();
      const done = () => {
        clearTimeout(timer);
        stopWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopWaiters.add(done);
    });
  const progress = () => {
    state.log.endedAt = now();
    o.onProgress?.(state);
  };

  const asker = (async () => {
    while (!stopped) {
      try {
        if (await timeout(o.shouldStop(), 10_000, 'stop query')) stop();
      } catch {
        /* asked again */
      }
      await pause(o.stopEveryMs ?? 500);
    }
  })();

  // Reported at once and every second, not only after writes: a send can block for seconds while the
  // cluster is down, and a retry must not start beside a live attempt because it looked silent.
  progress();
  const ticker = setInterval(progress, 1_000);
  const unseeded = new Set<'kafka' | 'zookeeper'>(zkLog ? ['kafka', 'zookeeper'] : ['kafka']);
  const seeded = (which: 'kafka' | 'zookeeper') => {
    if (!unseeded.delete(which) || unseeded.size > 0) return;
    try {
      o.onSeeded?.();
    } catch {
      /* the stream goes on: being told is a nicety for the caller */
    }
  };
  const lane: Lane = { pause, stopped: () => stopped, untilStopped, progress, seeded, intervalMs, sendTimeoutMs };
  const lanes = [kafkaLane(o, state, lane)];
  if (zkLog) lanes.push(zookeeperLane(o, state, lane));
  try {
    await Promise.all(lanes);
  } finally {
    clearInterval(ticker);
    stop();
    await asker;
    o.signal?.removeEventListener('abort', onAbort);
  }
  if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('write stream cancelled');
  state.log.endedAt = now();
  progress();
  return state.log;
}

interface Lane {
  pause(ms: number): Promise<void>;
  stopped(): boolean;
  /**
   * `p`, or a failure once the stream stops and `p` has not answered within the grace. A send in
   * flight when the stream is told to stop (the faults are applied: a send to a killed broker hangs
   * until its timeout or the recovery) is not acknowledged: waiting for it only held the drill's
   * read-back up after the recovery. The grace is for a healthy cluster's send (milliseconds): cut
   * off at once, its record landed and the log called it failed.
   */
  untilStopped<T>(p: Promise<T>): Promise<T>;
  progress(): void;
  /** The lane has an acknowledged write everywhere it writes (runWriteStream's onSeeded once every lane has). */
  seeded(which: 'kafka' | 'zookeeper'): void;
  intervalMs: number;
  sendTimeoutMs: number;
}

/** Writes one record per interval; failures counted, the producer replaced after one (fresh metadata). */
async function kafkaLane(o: WriteStreamOptions, s: StreamState, lane: Lane): Promise<void> {
  const kafka = kafkaFor(o.spec, 'drill-stream');
  let producer: Producer | undefined;
  let partitions = 0;
  let reconciled = !o.reconcile;
  const drop = () => {
    const p = producer;
    producer = undefined;
    void p?.disconnect().catch(() => {});
  };
  try {
    while (!lane.stopped()) {
      const started = Date.now();
      const at = new Date().toISOString();
      let sent = false;
      try {
        if (partitions === 0) partitions = await lane.untilStopped(timeout(partitionCount(kafka, o.topic), lane.sendTimeoutMs * 2, `partitions of ${o.topic}`));
        if (!reconciled) {
          await timeout(reconcileTopic(kafka, o, s, partitions), 60_000, `reading back ${o.topic}`);
          reconciled = true;
          lane.progress();
        }
        const seq = s.nextSeq++;
        const partition = seq % partitions;
        s.inFlight = seq;
        try {
          if (!producer) {
            const p = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
            producer = p;
            await lane.untilStopped(timeout(p.connect(), lane.sendTimeoutMs, 'producer connect'));
          }
          // Nothing new is sent once the stream stopped (the producer may have connected within the grace).
          if (lane.stopped()) throw STOPPED;
          const mark: StreamMark = { drill: o.drillId, seq, at };
          const [md] = await lane.untilStopped(
            timeout(
              producer.send({
              topic: o.topic,
              acks: -1,
              timeout: lane.sendTimeoutMs,
              messages: [{ partition, key: o.drillId, value: streamValue(mark), headers: { [STREAM_HEADERS.drill]: o.drillId, [STREAM_HEADERS.seq]: String(seq), [STREAM_HEADERS.at]: at } }],
              }),
              lane.sendTimeoutMs + 2_000,
              'send',
            ),
          );
          if (!md || md.errorCode !== 0) throw new Error(`send answered error ${md?.errorCode}`);
          s.log.acks.push({ partition: md.partition, offset: Number(md.baseOffset), seq, at: new Date().toISOString() });
        } catch (e) {
          drop();
          throw e;
        } finally {
          s.inFlight = undefined;
        }
        sent = true;
      } catch (e) {
        if (e !== STOPPED) fail(s.log.failures, at);
      }
      lane.progress();
      // The first round goes out at once, a record in every partition: a backup set made as the stream
      // starts (a scheduled drill's fresh set) is then far more likely to hold one of each, and a partition
      // with nothing of the stream readable (an unbounded loss, P0) is a real loss, not the set's timing.
      const seeding = sent && partitions > 0 && new Set(s.log.acks.map((a) => a.partition)).size < partitions;
      if (sent && partitions > 0 && !seeding) lane.seeded('kafka');
      if (!seeding) await lane.pause(Math.max(0, lane.intervalMs - (Date.now() - started)));
    }
  } finally {
    drop();
  }
}

async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    const n = (await describeTopics(admin, [topic]))[0]?.partitions.length ?? 0;
    if (n === 0) throw new Error(`topic ${topic} has no partitions`);
    return n;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * After a retry: the records an earlier attempt wrote after its last report are in the topic (they may
 * have been acknowledged, or not yet when it died). Each of ours with a seq not yet used becomes an ack
 * (its time: when it was sent), and the next seq follows the highest found.
 */
async function reconcileTopic(kafka: Kafka, o: WriteStreamOptions, s: StreamState, partitions: number): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 1 } });
  await admin.connect();
  let offsets;
  try {
    offsets = await admin.fetchTopicOffsets(o.topic);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  const known = new Map<number, number>();
  for (const a of s.log.acks) known.set(a.partition, Math.max(known.get(a.partition) ?? -1, a.offset));
  const ranges = new Map<number, { from: number; to: number }>();
  for (const p of offsets) {
    const partition = p.partition;
    if (partition >= partitions) continue;
    const from = Math.max(Number(p.low), (known.get(partition) ?? -1) + 1);
    if (from < Number(p.high)) ranges.set(partition, { from, to: Number(p.high) });
  }
  const found: StreamAck[] = [];
  let highest = -1;
  await readRanges(
    kafka,
    o.topic,
    ranges,
    async (partition, records) => {
      for (const r of records) {
        const m = parseStreamRecord(r);
        if (!m || m.drill !== o.drillId) continue;
        highest = Math.max(highest, m.seq);
        if (m.seq >= s.nextSeq || m.seq === s.inFlight) found.push({ partition, offset: Number(r.offset), seq: m.seq, at: m.at });
      }
    },
    { stallMs: 20_000 },
  );
  const seen = new Set(s.log.acks.map((a) => a.seq));
  for (const a of found.sort((x, y) => x.seq - y.seq)) if (!seen.has(a.seq)) s.log.acks.push(a);
  s.nextSeq = Math.max(s.nextSeq, highest + 1);
  s.inFlight = undefined;
}

const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

function isNoNode(e: unknown): boolean {
  return (e as { code?: string }).code === 'NO_NODE';
}

/** Sets the znode once per interval (read, then a versioned write), each write's mzxid kept with the seq it found there. */
async function zookeeperLane(o: WriteStreamOptions, s: StreamState, lane: Lane): Promise<void> {
  const zk = o.spec.zookeeper!;
  const log = s.log.zookeeper!;
  const path = log.path;
  let client: ZkClient | undefined;
  // The znode is created only by a stream that has never written it (never a parent of the chroot's).
  let created = log.acks.length > 0 || s.zkNextSeq > 0;
  let reconciled = !o.reconcile;
  const drop = () => {
    client?.close();
    client = undefined;
  };
  try {
    while (!lane.stopped()) {
      const started = Date.now();
      const at = new Date().toISOString();
      try {
        if (!client) {
          const connecting = connectZk(zk.connect, { timeoutMs: lane.sendTimeoutMs, auth: zkAuthOf(o.spec) });
          // A session that connects after the stream stopped is closed, not left open.
          client = await lane.untilStopped(connecting).catch((e: unknown) => {
            void connecting.then((late) => late.close(), () => undefined);
            throw e;
          });
        }
        const c = client;
        const call = <T>(p: Promise<T>, what: string) => lane.untilStopped(timeout(p, lane.sendTimeoutMs, what));
        if (!created) {
          const root = chrootPath(zk.chroot, ZK_STREAM_ROOT);
          if (!(await call(exists(c, root), 'exists'))) await call(create(c, root, null, OPEN, CreateMode.PERSISTENT), 'create').catch(ignoreExists);
          if (!(await call(exists(c, path), 'exists'))) await call(create(c, path, null, OPEN, CreateMode.PERSISTENT), 'create').catch(ignoreExists);
          created = true;
        }
        const { data, stat } = await call(getData(c, path), 'getData');
        const found = parseStreamValue(data);
        const mine = found && found.drill === o.drillId ? found.seq : null;
        if (!reconciled) {
          // An earlier attempt's last write, made after its last report: its seq is used.
          if (mine !== null && (mine >= s.zkNextSeq || mine === s.zkInFlight) && !log.acks.some((a) => a.seq === mine)) {
            log.acks.push({ seq: mine, zxid: zxidHex(stat.mzxid.readBigUInt64BE(0)), at: found!.at });
            s.zkNextSeq = Math.max(s.zkNextSeq, mine + 1);
          }
          s.zkInFlight = undefined;
          reconciled = true;
        }
        const seq = s.zkNextSeq++;
        s.zkInFlight = seq;
        try {
          if (lane.stopped()) throw STOPPED;
          const written = await call(setData(c, path, streamValue({ drill: o.drillId, seq, at }), stat.version), 'setData');
          log.acks.push({ seq, zxid: zxidHex(written.mzxid.readBigUInt64BE(0)), at: new Date().toISOString(), before: mine });
          lane.seeded('zookeeper');
        } finally {
          s.zkInFlight = undefined;
        }
      } catch (e) {
        if (e === STOPPED) break;
        fail(log.failures!, at);
        // An absent znode is an answer; anything else may be a dead session: a new one next time.
        if (!isNoNode(e)) drop();
      }
      lane.progress();
      await lane.pause(Math.max(0, lane.intervalMs - (Date.now() - started)));
    }
  } finally {
    drop();
  }
}

function ignoreExists(e: unknown): void {
  if ((e as { code?: string }).code !== 'NODE_EXISTS') throw e;
}

/**
 * The stream topic, created if missing (idempotent): `partitions` (default 3), replication factor
 * min(3, brokers), min.insync.replicas 2 when it has 3 replicas, no unclean election. Returns it as it is.
 */
export async function ensureStreamTopic(spec: ClusterSpec, drillId: string, partitions = 3): Promise<{ topic: string; partitions: number; replicationFactor: number }> {
  const topic = drillStreamTopic(drillId);
  if (!Number.isSafeInteger(partitions) || partitions < 1) throw new LifeboatError('InvalidInput', `partitions must be a positive integer (got ${String(partitions)})`);
  const kafka = await reachableKafka(spec, 'drill-stream');
  const created = await withAdmin(kafka, spec.name, async (admin) => {
    const [names, cluster] = await settleAll([admin.listTopics(), admin.describeCluster()]);
    if (names.includes(topic)) return undefined;
    const rf = Math.min(3, cluster.brokers.length);
    const configEntries = [
      { name: 'min.insync.replicas', value: String(rf >= 3 ? 2 : 1) },
      { name: 'unclean.leader.election.enable', value: 'false' },
    ];
    // No waitForLeaders: kafkajs polls metadata for it, 100 ms apart (the drill's first 0.2 s went here); the
    // agreement below waits for every broker instead.
    const made = await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: rf, configEntries }], waitForLeaders: false }).catch((e: unknown) => {
      // Created meanwhile (a retry of the activity; kafkajs answers false, or an older broker this error): what is there is the answer.
      if ((e as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS' && !/already exists/i.test(String((e as Error).message))) throw e;
      return false;
    });
    return made ? { partitions, replicationFactor: rf } : undefined;
  });
  // Every broker knows a leader of each partition before the stream's first send.
  // Looked at after 50 ms, then less often: the drill's backup set waits for this, and the brokers learn a new
  // topic's leaders in tens of ms (each look asks every broker and ZooKeeper).
  await waitForAgreement(spec, { topics: [topic], timeoutMs: 60_000 });
  // A topic this call did not create (a retry's, made before): its shape as the cluster has it.
  const shape =
    created ??
    (await withAdmin(kafka, spec.name, async (admin) => {
      const ps = (await retryTransient(() => describeTopics(admin, [topic], { cluster: spec.name, listed: true })))[0]?.partitions ?? [];
      return { partitions: ps.length, replicationFactor: ps[0]?.replicas.length ?? 0 };
    }));
  return { topic, ...shape };
}

/**
 * Deletes the stream topic (only a drill's: lifeboat-drill-…) and, given the drill id, the ZooKeeper
 * stream's znode (and `<chroot>/lifeboat-drill` once empty). What is absent is done.
 * `ifEnds`: the ends a read-back saw (readStreamTopic). When the topic's ends are not those any more
 * (a replica caught up after the read), nothing is deleted and `changed` says where: read again first.
 */
export async function dropStream(spec: ClusterSpec, topic: string, drillId?: string, opts: { ifEnds?: StreamEnds } = {}): Promise<{ dropped: boolean; changed?: string }> {
  if (!topic.startsWith('lifeboat-drill-')) throw new LifeboatError('InvalidInput', `"${topic}" is not a drill stream topic (lifeboat-drill-…): not deleted`);
  const kafka = await reachableKafka(spec, 'drill-stream');
  const changed = await withAdmin(kafka, spec.name, async (admin) => {
    const present = (await admin.listTopics()).includes(topic);
    if (opts.ifEnds) {
      // Ends that cannot be read (a partition without a leader) are not known to be the same: the caller reads again and drops unguarded.
      let now: StreamEnds;
      try {
        now = present ? streamEndsOf(await admin.fetchTopicOffsets(topic)) : {};
      } catch (e) {
        return `the ends could not be read: ${(e as Error).message.split('\n')[0]}`;
      }
      const moved = endsMoved(opts.ifEnds, now);
      if (moved) return moved;
    }
    if (present) await admin.deleteTopics({ topics: [topic] });
    return undefined;
  });
  if (changed) return { dropped: false, changed };
  const zk = spec.zookeeper;
  if (!drillId || !zk) return { dropped: true };
  await withZk(
    zk.connect,
    async (c) => {
      const gone = (e: unknown) => {
        const code = (e as { code?: string }).code;
        if (code !== 'NO_NODE' && code !== 'NOT_EMPTY') throw e;
      };
      await remove(c, zkStreamPath(spec, drillId)).catch(gone);
      const root = chrootPath(zk.chroot, ZK_STREAM_ROOT);
      const left = await getChildren(c, root).catch(() => null);
      if (left && left.length === 0) await remove(c, root).catch(gone);
    },
    { timeoutMs: 15_000, auth: zkAuthOf(spec) },
  );
  return { dropped: true };
}
