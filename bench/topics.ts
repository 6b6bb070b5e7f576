/**
 * Kafka topic data benchmark (issue 5): logical topic backup and restore beside Debian's kcat, and
 * a log-dir hot copy beside `cp -r`, on the lab (ports and specs from the lab topology).
 *
 *   bash bench/install-kcat.sh && npx tsx bench/topics.ts [records=1000000] [partitions=6] [--write-docs] [--clean-leftovers]
 *
 * 1. produce RECORDS records of ~1 KB (key, value, one header) over PARTITIONS partitions of a fresh
 *    topic bench-topics-<id> on the primary cluster (RF 1)
 * 2. backup: backupTopics into a fresh encrypted repository (snapshot commit included) beside
 *    `kcat -C -e` dumping the same topic from the beginning to the end into a file
 * 3. restore: restoreTopics from that repository into a new topic on the standby cluster (the topic
 *    created beforehand, as for kcat; snapshot opening, produce, offset map included) beside `kcat -P`
 *    producing the dumped records into another new topic there (idempotent, acks=all, both); five
 *    rounds in alternating order, each round's topic deleted (files gone) before the next, medians
 * 4. hot copy of broker 1's log dir into the repository beside `cp -r` of the same dir, then a
 *    second hot copy reusing the first (files unchanged since are not read)
 *
 * Every count is checked (each tool must have read/written every record). The bench's topics and
 * work dir are deleted afterwards, also when it fails or is interrupted. --clean-leftovers first
 * deletes bench-topics-* topics that earlier, crashed runs left behind (older than an hour).
 * --write-docs replaces the generated part of the "Kafka topic data" section of docs/benchmarks.md
 * (between its topics-bench markers; the section is appended if missing).
 */
import { execFileSync, execSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Admin, ConfigResourceTypes, type Kafka } from 'kafkajs';
import { loadSpec } from '../src/config/spec';
import { copyLogDirs } from '../src/host/logdirs';
import { kafkaFor } from '../src/kafka/client';
import { backupTopics } from '../src/kafka/topicBackup';
import { restoreTopics } from '../src/kafka/topicRestore';
import { findCluster, labTopology } from '../lab/topology';
import { initRepository } from '../src/repository';

const { values: flags, positionals } = parseArgs({ allowPositionals: true, options: { 'write-docs': { type: 'boolean' }, 'clean-leftovers': { type: 'boolean' } } });
const RECORDS = Number(positionals[0] ?? 1_000_000);
const PARTITIONS = Number(positionals[1] ?? 6);
const PREFIX = 'bench-topics-';
const BEGIN = '<!-- topics-bench:begin -->';
const END = '<!-- topics-bench:end -->';
const topo = labTopology();
const primary = loadSpec(findCluster(topo, 'primary').specFile);
const standby = loadSpec(findCluster(topo, 'standby').specFile);
const id = Date.now().toString(36);
const topic = `${PREFIX}${id}`;
const restored = `${topic}-restored`;
const kcatTopic = `${topic}-kcat`;
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-topics-'));

const secs = (t0: number) => (Date.now() - t0) / 1000;
/** CPU seconds (user + system, every thread of this process) since `c0`. */
const cpuSecs = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
/** Runs a shell command; its wall time and the CPU seconds of its children (the shell's `times`). */
function timedShell(cmd: string): { wall: number; cpu: number } {
  const t0 = Date.now();
  const out = execSync(`${cmd}\ntimes`, { shell: '/bin/sh', stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  const wall = secs(t0);
  const children = out.trim().split('\n').pop()!; // "0m1.234s 0m0.567s": the children's user and system time
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((n, m) => n + Number(m[1]) * 60 + Number(m[2]), 0);
  return { wall, cpu };
}
const value = (i: number) => `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26)));

/** Everything the bench created, removed once, whatever happened. */
const created: { admin: () => Admin; topic: string }[] = [];
const admins: Admin[] = [];
let cleaned: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    for (const c of created.reverse()) {
      await c
        .admin()
        .deleteTopics({ topics: [c.topic], timeout: 30_000 })
        .catch((e: unknown) => console.error(`could not delete topic ${c.topic}: ${(e as Error).message}`));
    }
    for (const a of admins) await a.disconnect().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  })();
  return cleaned;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function connectedAdmin(kafka: Kafka): Promise<Admin> {
  const admin = kafka.admin();
  await admin.connect();
  admins.push(admin);
  return admin;
}

async function createTopic(admin: Admin, name: string): Promise<void> {
  created.push({ admin: () => admin, topic: name });
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: PARTITIONS, replicationFactor: 1 }] });
}

/**
 * Sets log.segment.delete.delay.ms on these brokers (a dynamic per-broker config) and returns how
 * to put their dynamic configs back. A deleted topic's files go a minute later by default, which
 * is in the middle of a later round's writes; the broker, not the topic, sets that delay.
 */
async function deleteDelay(admin: Admin, brokers: number[], ms: number): Promise<() => Promise<void>> {
  const before = new Map<number, { name: string; value: string }[]>();
  for (const id of brokers) {
    const d = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: String(id) }], includeSynonyms: false });
    // configSource 2: DYNAMIC_BROKER_CONFIG. AlterConfigs replaces the broker's whole dynamic set.
    const dynamic = (d.resources[0]?.configEntries ?? []).filter((e) => (e as { configSource?: number }).configSource === 2 && e.configName !== 'log.segment.delete.delay.ms');
    before.set(id, dynamic.map((e) => ({ name: e.configName, value: e.configValue })));
  }
  const apply = (extra: { name: string; value: string }[]) =>
    admin.alterConfigs({ validateOnly: false, resources: brokers.map((id) => ({ type: ConfigResourceTypes.BROKER, name: String(id), configEntries: [...before.get(id)!, ...extra] })) });
  await apply([{ name: 'log.segment.delete.delay.ms', value: String(ms) }]);
  return async () => {
    await apply([]);
  };
}

/**
 * Deletes a topic the bench created now (a GB per restore round), not only at the end, and waits
 * until its partition dirs are gone from these log dirs: the next round does not share the disk
 * with the deletion of this one.
 */
async function dropTopic(admin: Admin, name: string, logDirs: string[] = []): Promise<void> {
  await admin.deleteTopics({ topics: [name], timeout: 30_000 });
  created.splice(created.findIndex((c) => c.topic === name), 1);
  const left = () => logDirs.some((d) => existsSync(d) && readdirSync(d).some((e) => e.startsWith(`${name}-`)));
  for (const deadline = Date.now() + 60_000; left() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 200));
}

async function recordCount(admin: Admin, name: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(name);
  return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
}

/** Deletes bench topics older than an hour (earlier runs that crashed before their cleanup). */
async function cleanLeftovers(admin: Admin, cluster: string): Promise<void> {
  const stale = (await admin.listTopics()).filter((t) => {
    const m = /^bench-topics-([0-9a-z]+)(-restored|-kcat)?$/.exec(t);
    return m !== null && Date.now() - parseInt(m[1]!, 36) > 3_600_000;
  });
  if (stale.length === 0) return;
  console.log(`${cluster}: deleting leftover bench topics ${stale.join(', ')}`);
  await admin.deleteTopics({ topics: stale, timeout: 30_000 });
}

async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

function check(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: ${got} records, expected ${want}`);
}

async function main() {
  const src = kafkaFor(primary, 'bench');
  const dst = kafkaFor(standby, 'bench');
  const admin = await connectedAdmin(src);
  const dstAdmin = await connectedAdmin(dst);
  if (flags['clean-leftovers']) {
    await cleanLeftovers(admin, 'primary');
    await cleanLeftovers(dstAdmin, 'standby');
  }

  await createTopic(admin, topic);
  const producer = src.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let dataBytes = 0; // keys and values: the MB/s of every row
  try {
    for (let i = 0; i < RECORDS; i += 5000) {
      const n = Math.min(5000, RECORDS - i);
      const messages = Array.from({ length: n }, (_, j) => ({ partition: (i + j) % PARTITIONS, key: `key-${i + j}`, value: value(i + j), headers: { seq: String(i + j) } }));
      for (const m of messages) dataBytes += Buffer.byteLength(m.key) + Buffer.byteLength(m.value);
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  check(`topic ${topic}`, await recordCount(admin, topic), RECORDS);
  console.log(`topic ${topic}: ${RECORDS} records`);

  // Backup: Lifeboat into an encrypted repository, kcat into a text file.
  const repo = await initRepository(join(work, 'repo'), 'bench-password');
  let t0 = Date.now();
  const c0 = process.cpuUsage();
  const w = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
  const b = await backupTopics(src, w, { topics: [topic] });
  const snap = await w.commit();
  const backupS = secs(t0);
  const backupCpu = cpuSecs(c0);
  check('lifeboat backup', b.records, RECORDS);
  console.log(`backup: ${b.records} records (${(dataBytes / 1e6).toFixed(0)} MB key+value, ${(b.bytes / 1e6).toFixed(0)} MB of record batches) in ${backupS.toFixed(1)} s`);

  const dump = join(work, 'kcat.txt');
  const brokers = primary.kafka.bootstrapServers.join(',');
  const { wall: kcatC, cpu: kcatCCpu } = timedShell(`kcat -C -b ${brokers} -t ${topic} -e -o beginning -q -f '%k\\t%s\\n' > ${dump}`);
  const dumped = await countLines(dump);
  check('kcat -C', dumped, RECORDS);
  console.log(`kcat -C: ${dumped} records in ${kcatC.toFixed(1)} s`);

  // Restore: Lifeboat from the repository (opening the snapshot, produce, offset map), kcat from its
  // dump, each into a topic of 6 partitions created beforehand (kcat cannot create one; Lifeboat
  // would, in ~0.2 s, which is left out for both).
  // Five rounds in alternating order (the broker's state after one GB written is not the same as
  // before it, and the shared machine's load drifts); each tool's median. Each round's topics are
  // deleted after it is counted.
  const standbyLogDirs = standby.brokers.flatMap((b) => b.logDirs);
  const undoDelay = await deleteDelay(dstAdmin, standby.brokers.map((b) => b.id), 0);
  const lifeboatRuns: { wall: number; cpu: number }[] = [];
  const kcatRuns: { wall: number; cpu: number }[] = [];
  const restoreLifeboat = async (round: number) => {
    const into = `${restored}-${round}`;
    await createTopic(dstAdmin, into);
    const t = Date.now();
    const c = process.cpuUsage();
    const r = await restoreTopics(dst, { snapshots: [await repo.openSnapshot(snap.id)], topics: [topic], rename: { [topic]: into }, offsetMapFile: join(work, `map-${round}`) });
    lifeboatRuns.push({ wall: secs(t), cpu: cpuSecs(c) });
    check('lifeboat restore', r.records, RECORDS);
    check(`topic ${into}`, await recordCount(dstAdmin, into), RECORDS);
    console.log(`restore (round ${round}): ${r.records} records in ${lifeboatRuns.at(-1)!.wall.toFixed(1)} s`);
    await dropTopic(dstAdmin, into, standbyLogDirs);
  };
  const restoreKcat = async (round: number) => {
    const into = `${kcatTopic}-${round}`;
    await createTopic(dstAdmin, into);
    kcatRuns.push(timedShell(`kcat -P -b ${standby.kafka.bootstrapServers.join(',')} -t ${into} -K '\\t' -X acks=all -X enable.idempotence=true -l ${dump}`));
    check(`kcat -P into ${into}`, await recordCount(dstAdmin, into), RECORDS);
    console.log(`kcat -P (round ${round}): ${RECORDS} records in ${kcatRuns.at(-1)!.wall.toFixed(1)} s`);
    await dropTopic(dstAdmin, into, standbyLogDirs);
  };
  try {
    for (const round of [1, 2, 3, 4, 5]) {
      if (round % 2 === 1) {
        await restoreLifeboat(round);
        await restoreKcat(round);
      } else {
        await restoreKcat(round);
        await restoreLifeboat(round);
      }
    }
  } finally {
    await undoDelay();
  }
  rmSync(dump, { force: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const restoreS = median(lifeboatRuns.map((x) => x.wall));
  const restoreCpu = median(lifeboatRuns.map((x) => x.cpu));
  const kcatP = median(kcatRuns.map((x) => x.wall));
  const kcatPCpu = median(kcatRuns.map((x) => x.cpu));
  const rounds = lifeboatRuns.map((l, i) => (kcatRuns[i]!.wall / l.wall).toFixed(2)).join(', ');

  // Log-dir hot copy of broker 1 (its share of the topic and whatever else it holds) beside cp -r.
  const broker = primary.brokers[0]!;
  const copyDir = join(work, 'cp');
  // Not the dirs of deleted topics that Kafka has not removed yet (`<topic>-<p>.<id>-delete`, such as
  // earlier runs' topics): the hot copy skips them.
  const entries = readdirSync(broker.logDirs[0]!).filter((e) => !e.endsWith('-delete')).map((e) => join(broker.logDirs[0]!, e));
  mkdirSync(copyDir);
  t0 = Date.now();
  execFileSync('cp', ['-r', ...entries, copyDir]);
  const cpS = secs(t0);
  const dirBytes = Number(execFileSync('du', ['-s', '--block-size=1', copyDir]).toString().split('\t')[0]); // allocated bytes: Kafka's preallocated indexes are sparse
  const w2 = await repo.newSnapshot({ cluster: 'primary', components: ['logdirs'] });
  t0 = Date.now();
  const ld = await copyLogDirs(primary, broker.id, w2, { mode: 'hot' });
  const firstCopy = await w2.commit();
  const hotS = secs(t0);
  // The next copy, as an hourly backup takes it: files unchanged since are not read again.
  const w3 = await repo.newSnapshot({ cluster: 'primary', components: ['logdirs'], reuseFrom: firstCopy.id });
  t0 = Date.now();
  const ld2 = await copyLogDirs(primary, broker.id, w3, { mode: 'hot' });
  await w3.commit();
  const hot2S = secs(t0);
  await repo.close();
  console.log(`log dir: hot copy ${ld.files} files ${(ld.bytes / 1e6).toFixed(0)} MB in ${hotS.toFixed(1)} s, cp -r ${(dirBytes / 1e6).toFixed(0)} MB in ${cpS.toFixed(1)} s`);

  const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en');
  const mbs = (bytes: number, s: number) => (bytes / 1e6 / s).toFixed(1);
  const mb = (dataBytes / 1e6).toFixed(0);
  const rows = [
    `| backup: lifeboat (lossless, into an encrypted repository, commit included) | ${RECORDS.toLocaleString('en')} | ${backupS.toFixed(1)} s | ${backupCpu.toFixed(2)} s | ${rate(RECORDS, backupS)} | ${mbs(dataBytes, backupS)} |`,
    `| backup: \`kcat -C -e\` (key and value as text into a file) | ${RECORDS.toLocaleString('en')} | ${kcatC.toFixed(1)} s | ${kcatCCpu.toFixed(2)} s | ${rate(RECORDS, kcatC)} | ${mbs(dataBytes, kcatC)} |`,
    `| restore: lifeboat (from the repository; idempotent, acks=all, same partitions, offset map; median of 5) | ${RECORDS.toLocaleString('en')} | ${restoreS.toFixed(1)} s | ${restoreCpu.toFixed(2)} s | ${rate(RECORDS, restoreS)} | ${mbs(dataBytes, restoreS)} |`,
    `| restore: \`kcat -P\` (from the dump; idempotent, acks=all; median of 5) | ${RECORDS.toLocaleString('en')} | ${kcatP.toFixed(1)} s | ${kcatPCpu.toFixed(2)} s | ${rate(RECORDS, kcatP)} | ${mbs(dataBytes, kcatP)} |`,
    `| log-dir hot copy: lifeboat, broker ${broker.id} (${ld.files} files, ${(ld.bytes / 1e6).toFixed(0)} MB) | | ${hotS.toFixed(1)} s | | | ${mbs(ld.bytes, hotS)} |`,
    `| log-dir copy: \`cp -r\` of the same dir's entries (${(dirBytes / 1e6).toFixed(0)} MB) | | ${cpS.toFixed(1)} s | | | ${mbs(dirBytes, cpS)} |`,
    `| log-dir hot copy again right after: lifeboat (${((ld2.reusedBytes ?? 0) / 1e6).toFixed(0)} of ${(ld2.bytes / 1e6).toFixed(0)} MB unchanged, not read) | | ${hot2S.toFixed(1)} s | | | ${mbs(ld2.bytes, hot2S)} |`,
  ];
  const section = [
    BEGIN,
    `Measured ${new Date().toISOString().slice(0, 10)} on the lab: a topic of ${RECORDS.toLocaleString('en')} records (key \`key-<n>\`, ~1,000-byte value, one header; ${mb} MB of keys and values)`,
    `over ${PARTITIONS} partitions (RF 1) on the 3-broker primary cluster, restored into the 1-broker standby cluster, all on loopback.`,
    `Reference: Debian's kcat ${execSync('kcat -V').toString().match(/Version (\S+)/)?.[1] ?? '?'} in the same run. MB/s = key+value bytes / time for every row but the log-dir ones;`,
    'CPU time: user + system of the Lifeboat process (all its threads) during the step, of the kcat process for kcat.',
    `Machine: 2 CPU cores shared by the bench, the lab's four Kafka JVMs, ZooKeeper, Temporal and other work: absolute rates vary from run to run, quote the ratios.`,
    `Reproduce: \`bash bench/install-kcat.sh && npx tsx bench/topics.ts ${RECORDS} ${PARTITIONS} --write-docs\` (lab up).`,
    '',
    '| operation | records | time | CPU time | records/s | MB/s |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Ratios (throughput, lifeboat / kcat; above 1 = faster than kcat): **backup ${(kcatC / backupS).toFixed(2)}×**, **restore ${(kcatP / restoreS).toFixed(2)}×** (medians; per round ${rounds});`,
    `CPU time per record, lifeboat / kcat: backup ${(backupCpu / kcatCCpu).toFixed(1)}×, restore ${(restoreCpu / kcatPCpu).toFixed(1)}× (less sensitive to the machine's load than the times);`,
    `log-dir hot copy ${(ld.bytes / hotS / (dirBytes / cpS)).toFixed(2)}× \`cp -r\` (MB/s).`,
    "kcat's text dump keeps only keys and values (no headers, timestamps, null/empty distinction or partitions; kcat -P re-partitions by key);",
    'Lifeboat keeps all of them, compresses and encrypts into its repository, and restores every record to its original partition with its original timestamp.',
    'Lifeboat times are in-process (no start-up); kcat times include its process start.',
    END,
  ].join('\n');
  console.log(section);
  if (flags['write-docs']) {
    // Re-read right before writing: other sections of the file are edited by other benches.
    const file = join(__dirname, '..', 'docs', 'benchmarks.md');
    const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n';
    const begin = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    // Only the generated block is replaced; notes after it in the section are kept.
    const updated =
      begin >= 0 && end > begin
        ? `${doc.slice(0, begin)}${section}${doc.slice(end + END.length)}`
        : `${doc.trimEnd()}\n\n## Kafka topic data\n\n${section}\n`;
    writeFileSync(file, updated);
    console.log(`wrote the "Kafka topic data" section of ${file}`);
  }
}

main()
  .then(cleanup)
  .then(
    () => process.exit(0),
    async (e: unknown) => {
      console.error(e);
      await cleanup();
      process.exit(1);
    },
  );
