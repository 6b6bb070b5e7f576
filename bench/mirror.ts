/**
 * Mirror benchmark (issue 13): Lifeboat's mirror beside MirrorMaker 2 (lab/mirrorMaker.ts, 3.9.1,
 * dedicated mode) in the same run, primary (3.9, ZooKeeper mode, 3 brokers) → next (4.1, KRaft).
 *
 *   npm run bench:mirror -- [--records 1000000] [--partitions 6] [--lag-seconds 60] [--rate-mb 5] [--write-docs]
 *
 * 1. RECORDS records of ~1 KB (key, 1,000-byte value, one header) over PARTITIONS partitions of a new
 *    topic bench-mirror-<id> on the primary (replication factor 3).
 * 2. Throughput and CPU: Lifeboat copies it into next under its own name (bench/mirrorShards.ts, a
 *    process of its own: the workflow's split into 4 shards, run until caught up); then MM2 copies the
 *    same topic into next as primary.bench-mirror-<id> (DefaultReplicationPolicy, tasks.max 4, the
 *    same parallelism). MM2's rate is taken from its first record on the target to its last (its
 *    JVM start and connector start-up excluded), its CPU from /proc/<pid>/stat (utime + stime, every
 *    thread) over the same window; Lifeboat's over its whole run, start included.
 * 3. Re-reads after a switch: groups committed on the source at the end, 1,600 and 10,000 before it
 *    in every partition; MM2 (sync.group.offsets.enabled, checkpoints every second) commits its
 *    translation on next; Lifeboat's is translateMirroredOffset. Re-read = exact target offset (the
 *    copies have the source's offsets) minus the translated one.
 * 4. End-to-end lag under a steady load of RATE MB/s (1 KB records, a new topic each, 6 partitions):
 *    a consumer on next notes arrival time minus the record's timestamp (its create time on the
 *    source), MM2 first (it tails its own topic), then Lifeboat (the shards tailing for LAG seconds,
 *    as the workflow's rounds do); the first 10 s are left out.
 *
 * Every count is checked. Afterwards MM2 is stopped first, then every topic and group the bench and
 * MM2 created is deleted (MM2's replication-factor-1 internal topics break the lab's fault tests),
 * also when the bench fails or is interrupted. --write-docs replaces the generated part of the
 * "Mirror" section of docs/benchmarks.md (between its mirror-bench markers).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Admin, Kafka } from 'kafkajs';
import { loadSpec } from '../src/config/spec';
import { kafkaFor } from '../src/kafka/client';
import { commitGroupOffsets } from '../src/kafka/groupOffsets';
import { mirroredOffsets } from '../src/kafka/mirror';
import { STATE_TOPIC, readState } from '../src/kafka/mirror/state';
import { mirrorMakerPid, startMirrorMaker, stopMirrorMaker } from '../lab/mirrorMaker';
import { findCluster, labTopology } from '../lab/topology';

const { values: flags } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    partitions: { type: 'string', default: '6' },
    'lag-seconds': { type: 'string', default: '60' },
    'rate-mb': { type: 'string', default: '5' },
    'write-docs': { type: 'boolean' },
  },
});
const RECORDS = Number(flags.records);
const PARTITIONS = Number(flags.partitions);
const LAG_SECONDS = Number(flags['lag-seconds']);
const RATE = Number(flags['rate-mb']) * 1000; // records of ~1 KB per second
const SHARDS = 4;
/** Records of the first seconds of a lag run are left out (the load and the consumer settle). */
const WARM_MS = 10_000;
const BEHIND = [0, 1600, 10_000];
const BEGIN = '<!-- mirror-bench:begin -->';
const END = '<!-- mirror-bench:end -->';

const topo = labTopology();
const primaryFile = findCluster(topo, 'primary').specFile;
const primary = loadSpec(primaryFile);
const next = loadSpec(topo.kraft.specFile);
const id = Date.now().toString(36);
const topic = `bench-mirror-${id}`;
const lagLifeboat = `${topic}-lag-lb`;
const lagMm2 = `${topic}-lag-mm2`;
const mm2Name = (t: string) => `${primary.name}.${t}`;
const pair = `bench-${id}`;
const lagPair = `bench-${id}-lag`;
const groupName = (behind: number) => `${topic}-g${behind}`;
const CLK_TCK = 100;

const src = kafkaFor(primary, 'bench-mirror');
const dst = kafkaFor(next, 'bench-mirror');
const secs = (ms: number) => (ms / 1000).toFixed(1);
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

// ---- cleanup: MM2 first, then what the bench and MM2 created ----

const admins: Admin[] = [];
async function connectedAdmin(kafka: Kafka): Promise<Admin> {
  const admin = kafka.admin();
  await admin.connect();
  admins.push(admin);
  return admin;
}
const before = new Map<string, Set<string>>();
let cleaned: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    if (await stopMirrorMaker(topo).catch(() => false)) log('stopped MirrorMaker 2');
    for (const [name, kafka] of [
      ['primary', src],
      ['next', dst],
    ] as const) {
      const admin = await connectedAdmin(kafka).catch(() => undefined);
      if (!admin) continue;
      // Only topics that appeared during the run and are the bench's or MM2's.
      const ours = (t: string) => t.startsWith('bench-mirror-') || t.startsWith(`${primary.name}.`) || t.startsWith('mm2-') || t.endsWith('.internal') || t === 'heartbeats';
      const now = await admin.listTopics().catch(() => [] as string[]);
      const topics = now.filter((t) => !before.get(name)?.has(t) && ours(t));
      if (topics.length) {
        log(`${name}: deleting ${topics.join(', ')}`);
        await admin.deleteTopics({ topics, timeout: 60_000 }).catch((e: unknown) => console.error(`could not delete topics on ${name}: ${(e as Error).message}`));
      }
      const groups = (await admin.listGroups().catch(() => ({ groups: [] }))).groups.map((g) => g.groupId).filter((g) => g.startsWith(topic));
      if (groups.length) await admin.deleteGroups(groups).catch((e: unknown) => console.error(`could not delete groups on ${name}: ${(e as Error).message}`));
    }
    // The bench pairs' positions in the mirror state: tombstones (the state topic itself stays).
    const state = await readState(dst).catch(() => undefined);
    const keys = state ? [...state.positions.keys(), ...state.segments.keys()].filter((k) => k.startsWith(`${pair}/`) || k.startsWith(`${lagPair}/`)) : [];
    const claims = keys.filter((k) => !k.includes('/seg/')).map((k) => `${k}/claim`);
    if (keys.length) {
      const producer = dst.producer();
      await producer.connect();
      await producer.send({ topic: STATE_TOPIC, acks: -1, messages: [...keys, ...claims].map((key) => ({ key, value: null })) }).catch(() => {});
      await producer.disconnect();
    }
    for (const a of admins) await a.disconnect().catch(() => {});
  })();
  return cleaned;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- helpers ----

const value = (i: number) => `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26)));

async function createTopic(admin: Admin, name: string): Promise<void> {
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: PARTITIONS, replicationFactor: 3 }] });
}

async function produceAll(name: string, n: number): Promise<void> {
  const producer = src.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < n; i += 5000) {
      const m = Math.min(5000, n - i);
      await producer.send({ topic: name, acks: -1, messages: Array.from({ length: m }, (_, j) => ({ partition: (i + j) % PARTITIONS, key: `key-${i + j}`, value: value(i + j), headers: { seq: String(i + j) } })) });
    }
  } finally {
    await producer.disconnect();
  }
}

async function endOffsets(admin: Admin, name: string): Promise<number[]> {
  const r = await admin.fetchTopicOffsets(name);
  return r.sort((a, b) => a.partition - b.partition).map((p) => Number(p.high));
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** utime + stime of a process, all threads, in ms. */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

interface ShardsResult {
  records: number;
  bytes: number;
  wallMs: number;
  cpuMs: number;
  caughtUp: boolean;
  identical: boolean;
}

/** Runs bench/mirrorShards.ts; `onStarted` once its shards run. */
function runShards(args: { pair: string; topic: string; seconds?: number }, onStarted: () => void = () => {}): Promise<ShardsResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, LIFEBOAT_BENCH_MIRROR: JSON.stringify({ source: primaryFile, target: topo.kraft.specFile, partitions: PARTITIONS, shards: SHARDS, ...args }) };
    const child = spawn(join(__dirname, '..', 'node_modules', '.bin', 'tsx'), [join(__dirname, 'mirrorShards.ts')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('started\n')) {
        onStarted();
        onStarted = () => {};
      }
    });
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`bench/mirrorShards.ts exited ${code}: ${out.trim()}`));
      else resolve(JSON.parse(line) as ShardsResult);
    });
  });
}

async function waitFor<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>, everyMs = 250): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

interface LagResult {
  produced: number;
  /** Records per second the load reached (the producer may fall behind on a loaded machine). */
  rate: number;
  seen: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Produces RATE records/s into `sourceTopic` for LAG_SECONDS while a consumer on next reads
 * `targetTopic` and notes arrival minus create time (records of the first 10 s left out).
 */
async function measureLag(sourceTopic: string, targetTopic: string): Promise<LagResult> {
  const lags: number[] = [];
  let seen = 0;
  const consumer = dst.consumer({ groupId: `${topic}-lagc-${targetTopic.length}-${Date.now()}`, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: targetTopic, fromBeginning: true });
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
  let t0 = Date.now();
  let warmUntil = t0 + WARM_MS;
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        seen++;
        const ts = Number(m.timestamp);
        if (ts >= warmUntil) lags.push(now - ts);
      }
    },
  });
  const producer = src.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await joined;
  t0 = Date.now();
  warmUntil = t0 + WARM_MS;
  let produced = 0;
  const perTick = Math.round(RATE / 10);
  try {
    for (let tick = 0; tick < LAG_SECONDS * 10; tick++) {
      const due = t0 + tick * 100;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      await producer.send({ topic: sourceTopic, acks: -1, messages: Array.from({ length: perTick }, (_, j) => ({ partition: (produced + j) % PARTITIONS, key: `key-${produced + j}`, value: value(produced + j) })) });
      produced += perTick;
    }
  } finally {
    await producer.disconnect();
  }
  const rate = produced / ((Date.now() - t0) / 1000);
  await waitFor('every lag record on the target', 60_000, async () => (seen >= produced ? true : undefined));
  await consumer.disconnect();
  lags.sort((a, b) => a - b);
  return { produced, rate, seen, p50: pct(lags, 0.5), p99: pct(lags, 0.99), max: lags[lags.length - 1] ?? NaN };
}

/** Committed offsets of a group on next for a topic (undefined until every partition has one). */
async function groupOffsets(admin: Admin, group: string, t: string): Promise<number[] | undefined> {
  const r = await admin.fetchOffsets({ groupId: group, topics: [t] });
  const parts = (r[0]?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  return parts.length === PARTITIONS && parts.every((o) => o >= 0) ? parts : undefined;
}

// ---- the run ----

async function main() {
  // The machine's load while the bench runs (1-minute load average, every 10 s).
  const loads: number[] = [loadavg()[0]!];
  const sampling = setInterval(() => loads.push(loadavg()[0]!), 10_000);
  sampling.unref();
  const machine = `${cpus().length} CPU cores (${cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM`;
  const srcAdmin = await connectedAdmin(src);
  const dstAdmin = await connectedAdmin(dst);
  before.set('primary', new Set(await srcAdmin.listTopics()));
  before.set('next', new Set(await dstAdmin.listTopics()));
  if (mirrorMakerPid(topo) !== undefined) throw new Error('a MirrorMaker 2 already runs in this lab: stop it first (npm run lab -- down stops it)');

  log(`producing ${RECORDS} records of ~1 KB into ${topic} (${PARTITIONS} partitions, RF 3) on ${primary.name}`);
  await createTopic(srcAdmin, topic);
  await produceAll(topic, RECORDS);
  const sourceEnds = await endOffsets(srcAdmin, topic);
  if (sum(sourceEnds) !== RECORDS) throw new Error(`source holds ${sum(sourceEnds)} records, expected ${RECORDS}`);
  const dataBytes = RECORDS * 1000 + sum(Array.from({ length: RECORDS }, (_, i) => `key-${i}`.length));

  // Lifeboat: until caught up, in its own process.
  log('Lifeboat: mirroring');
  const lb = await runShards({ pair, topic });
  if (lb.records !== RECORDS || !lb.caughtUp || !lb.identical) throw new Error(`Lifeboat copied ${lb.records} records (caught up ${lb.caughtUp}, identical ${lb.identical})`);
  const lbEnds = await endOffsets(dstAdmin, topic);
  if (lbEnds.join() !== sourceEnds.join()) throw new Error(`Lifeboat's copy ends at ${lbEnds.join()}, the source at ${sourceEnds.join()}`);
  log(`Lifeboat: ${RECORDS} records in ${secs(lb.wallMs)} s, CPU ${secs(lb.cpuMs)} s`);

  // MM2: the same topic, from its first record on the target to its last.
  log('MirrorMaker 2: starting');
  const mm2Start = Date.now();
  startMirrorMaker(
    topo,
    {
      source: { name: primary.name, bootstrap: primary.kafka.bootstrapServers },
      target: { name: next.name, bootstrap: next.kafka.bootstrapServers },
      topics: `${topic}|${lagMm2}`,
      groups: `${topic}-g.*`,
      tasks: SHARDS,
      prefixTopics: true,
    },
    log,
  );
  const pid = await waitFor('the MM2 JVM', 30_000, async () => mirrorMakerPid(topo));
  const mmTopic = mm2Name(topic);
  const first = await waitFor('MM2 to start copying', 300_000, async () => {
    const ends = await endOffsets(dstAdmin, mmTopic);
    return sum(ends) > 0 ? { at: Date.now(), cpu: procCpuMs(pid), records: sum(ends) } : undefined;
  }, 100);
  const last = await waitFor('MM2 to copy every record', 1_800_000, async () => {
    const ends = await endOffsets(dstAdmin, mmTopic);
    return sum(ends) >= RECORDS ? { at: Date.now(), cpu: procCpuMs(pid), ends } : undefined;
  }, 100);
  if (last.ends.join() !== sourceEnds.join()) throw new Error(`MM2's copy ends at ${last.ends.join()}, the source at ${sourceEnds.join()}`);
  const mm2 = { wallMs: last.at - first.at, records: RECORDS - first.records, cpuMs: last.cpu - first.cpu, startMs: first.at - mm2Start };
  log(`MM2: ${mm2.records} records in ${secs(mm2.wallMs)} s after its first (${secs(mm2.startMs)} s to start), CPU ${secs(mm2.cpuMs)} s`);

  // Re-reads: groups on the source, translated by MM2 (its checkpoints) and by Lifeboat.
  log('groups at the end, 1,600 and 10,000 behind: waiting for MM2 to sync them to next');
  for (const behind of BEHIND) {
    await commitGroupOffsets(src, groupName(behind), [{ topic, partitions: sourceEnds.map((end, partition) => ({ partition, offset: Math.max(0, end - behind) })) }]);
  }
  const translate = await mirroredOffsets(next, pair);
  const rereads: { behind: number; mm2: number[]; lifeboat: number[] }[] = [];
  for (const behind of BEHIND) {
    const exact = sourceEnds.map((end) => Math.max(0, end - behind));
    // MM2 commits once it has checkpointed the group; its translation is final once it stops moving.
    let prev = '';
    let stableSince = 0;
    const synced = await waitFor(`MM2's offsets for ${groupName(behind)} on next`, 180_000, async () => {
      const o = await groupOffsets(dstAdmin, groupName(behind), mmTopic);
      if (!o) return undefined;
      if (o.join() !== prev) {
        prev = o.join();
        stableSince = Date.now();
        return undefined;
      }
      return Date.now() - stableSince >= 5000 ? o : undefined;
    }, 1000);
    const ours = exact.map((o, p) => translate(topic, p, o));
    if (ours.some((o) => o === undefined)) throw new Error(`Lifeboat cannot translate ${groupName(behind)}`);
    rereads.push({ behind, mm2: exact.map((o, p) => o - synced[p]!), lifeboat: exact.map((o, p) => o - ours[p]!) });
    log(`${groupName(behind)}: re-read MM2 ${sum(rereads.at(-1)!.mm2)}, Lifeboat ${sum(rereads.at(-1)!.lifeboat)}`);
  }

  // Lag under a steady load: MM2 first (it runs), then Lifeboat alone.
  log(`lag: MM2 under ${RATE / 1000} MB/s for ${LAG_SECONDS} s`);
  await createTopic(srcAdmin, lagMm2);
  await waitFor('MM2 to create its copy of the lag topic', 120_000, async () => ((await dstAdmin.listTopics()).includes(mm2Name(lagMm2)) ? true : undefined), 500);
  await new Promise((r) => setTimeout(r, 6000)); // its task picks the new partitions up
  const lagMm2Result = await measureLag(lagMm2, mm2Name(lagMm2));
  log(`MM2 lag p50 ${lagMm2Result.p50} ms, p99 ${lagMm2Result.p99} ms, max ${lagMm2Result.max} ms`);
  if (await stopMirrorMaker(topo)) log('stopped MirrorMaker 2');

  log(`lag: Lifeboat under ${RATE / 1000} MB/s for ${LAG_SECONDS} s`);
  await createTopic(srcAdmin, lagLifeboat);
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  const tail = runShards({ pair: lagPair, topic: lagLifeboat, seconds: LAG_SECONDS + 20 }, started);
  await startedP;
  const lagLbResult = await measureLag(lagLifeboat, lagLifeboat);
  const tailed = await tail;
  log(`Lifeboat lag p50 ${lagLbResult.p50} ms, p99 ${lagLbResult.p99} ms, max ${lagLbResult.max} ms (tail CPU ${secs(tailed.cpuMs)} s)`);

  const mb = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
  const lbRate = RECORDS / (lb.wallMs / 1000);
  const mmRate = mm2.records / (mm2.wallMs / 1000);
  const lbCpu = (lb.cpuMs * 1000) / RECORDS;
  const mmCpu = (mm2.cpuMs * 1000) / mm2.records;
  const rows = [
    `Measured ${new Date().toISOString().slice(0, 10)} on the lab: ${RECORDS.toLocaleString('en-US')} records (key \`key-<n>\`, 1,000-byte value, one header; ${(dataBytes / 1e6).toFixed(0)} MB of keys and values) over ${PARTITIONS} partitions (RF 3) on the 3-broker primary (Kafka 3.9.1, ZooKeeper mode), mirrored into next (Kafka 4.1.1, KRaft, one node), all on loopback. Machine: ${machine}, shared with other labs and their tests while it ran (load average ${Math.min(...loads).toFixed(0)}-${Math.max(...loads).toFixed(0)}): absolute rates vary several-fold from run to run, quote the ratios.`,
    `Lifeboat: the mirror engine (bench/mirrorShards.ts, a process of its own) with the workflow's split into ${SHARDS} shards, until caught up, its start included. MirrorMaker 2 ${'3.9.1'} in dedicated mode (lab/mirrorMaker.ts; tasks.max ${SHARDS}, otherwise its defaults), timed from its first record on next to its last (JVM and connector start-up, ${secs(mm2.startMs)} s here, left out). CPU: user + system of every thread of the copying process (Lifeboat: process.cpuUsage; MM2: utime + stime of its JVM from /proc/<pid>/stat over the same window); the brokers' CPU is not counted for either.`,
    `Reproduce: \`npm run bench:mirror -- --records ${RECORDS} --partitions ${PARTITIONS} --lag-seconds ${LAG_SECONDS} --rate-mb ${RATE / 1000} --write-docs\` (lab up; bench/mirror.ts).`,
    '',
    '| | Lifeboat | MirrorMaker 2 | ratio |',
    '|---|---|---|---|',
    `| throughput | ${Math.round(lbRate).toLocaleString('en-US')} records/s, ${mb(dataBytes, lb.wallMs).toFixed(1)} MB/s (${secs(lb.wallMs)} s) | ${Math.round(mmRate).toLocaleString('en-US')} records/s, ${mb((dataBytes * mm2.records) / RECORDS, mm2.wallMs).toFixed(1)} MB/s (${secs(mm2.wallMs)} s) | **${(lbRate / mmRate).toFixed(2)}×** |`,
    `| CPU per record (copying process) | ${lbCpu.toFixed(2)} µs (${secs(lb.cpuMs)} s) | ${mmCpu.toFixed(2)} µs (${secs(mm2.cpuMs)} s) | **${(lbCpu / mmCpu).toFixed(2)}×** |`,
    `| end-to-end lag at ${RATE / 1000} MB/s, p50 / p99 / max | ${lagLbResult.p50} / **${lagLbResult.p99}** / ${lagLbResult.max} ms | ${lagMm2Result.p50} / **${lagMm2Result.p99}** / ${lagMm2Result.max} ms | p99 ${(lagLbResult.p99 / lagMm2Result.p99).toFixed(2)}× |`,
    ...rereads.map(
      (r) =>
        `| records re-read after a switch, group ${r.behind === 0 ? 'at the end' : `${r.behind.toLocaleString('en-US')} behind`} (all ${PARTITIONS} partitions; per partition) | **${sum(r.lifeboat)}** (${r.lifeboat.join(', ')}) | **${sum(r.mm2).toLocaleString('en-US')}** (${r.mm2.join(', ')}) | |`,
    ),
    '',
    `Lag: ${lagLbResult.produced.toLocaleString('en-US')} records produced for each at a target rate of ${RATE.toLocaleString('en-US')} records/s (reached: Lifeboat's run ${Math.round(lagLbResult.rate).toLocaleString('en-US')}/s, MM2's ${Math.round(lagMm2Result.rate).toLocaleString('en-US')}/s; every record seen on next), arrival at a kafkajs consumer on next minus the record's create time on the source, first 10 s left out; Lifeboat's shards tailed for the whole load (CPU ${secs(tailed.cpuMs)} s, ${((tailed.cpuMs * 1000) / lagLbResult.produced).toFixed(1)} µs per record at this rate), MM2 ran on from the throughput step. Re-reads: exact target offset (both copies keep the source's offsets here: checked, every partition ends where the source does) minus the offset each tool gives the group on next; MM2's is the one it committed there (sync.group.offsets.enabled, checkpoints and syncs every second), once stable for 5 s.`,
  ];
  const block = rows.join('\n');
  console.log(`\n${block}\n`);
  if (flags['write-docs']) {
    const file = join(__dirname, '..', 'docs', 'benchmarks.md');
    const doc = readFileSync(file, 'utf8');
    const i = doc.indexOf(BEGIN);
    const j = doc.indexOf(END);
    const body = `${BEGIN}\n${block}\n${END}`;
    writeFileSync(file, i >= 0 && j > i ? doc.slice(0, i) + body + doc.slice(j + END.length) : `${doc.trimEnd()}\n\n## Mirror\n\n${body}\n`);
    log('docs/benchmarks.md updated');
  }
}

main()
  .then(
    () => cleanup(),
    async (e: unknown) => {
      console.error(e);
      await cleanup();
      process.exitCode = 1;
    },
  )
  .finally(() => process.exit());
