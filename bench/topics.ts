/**
 * Kafka data benchmark (issue 5): logical topic backup and restore beside Debian's kcat, and a
 * log-dir hot copy beside `cp -r`, on the lab. Writes the "Kafka data" section of docs/benchmarks.md.
 *
 *   bench/install-kcat.sh && npx tsx bench/topics.ts [records=1000000] [partitions=6]
 */
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpec } from '../src/config/spec';
import { copyLogDirs } from '../src/host/logdirs';
import { kafkaFor } from '../src/kafka/client';
import { backupTopics } from '../src/kafka/topicBackup';
import { restoreTopics } from '../src/kafka/topicRestore';
import { findCluster, labTopology } from '../src/lab/topology';
import { initRepository } from '../src/repository';

const RECORDS = Number(process.argv[2] ?? 1_000_000);
const PARTITIONS = Number(process.argv[3] ?? 6);
const topo = labTopology();
const primary = loadSpec(findCluster(topo, 'primary').specFile);
const standby = loadSpec(findCluster(topo, 'standby').specFile);
const id = Date.now().toString(36);
const topic = `bench-topics-${id}`;
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-topics-'));

const secs = (t0: number) => (Date.now() - t0) / 1000;
const value = (i: number) => `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26)));

async function main() {
  const src = kafkaFor(primary, 'bench');
  const dst = kafkaFor(standby, 'bench');
  const admin = src.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
  const producer = src.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < RECORDS; i += 5000) {
    const n = Math.min(5000, RECORDS - i);
    await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, j) => ({ partition: (i + j) % PARTITIONS, key: `key-${i + j}`, value: value(i + j), headers: { seq: String(i + j) } })) });
  }
  await producer.disconnect();
  const mb = (RECORDS * (1000 + 10)) / 1e6;
  console.log(`topic ${topic}: ${RECORDS} records, ~${mb.toFixed(0)} MB`);

  const repo = await initRepository(join(work, 'repo'), 'bench-password');
  let t0 = Date.now();
  const w = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
  const b = await backupTopics(src, w, { topics: [topic] });
  const snap = await w.commit();
  const backupS = secs(t0);
  console.log(`backup: ${b.records} records in ${backupS.toFixed(1)} s`);

  const dump = join(work, 'kcat.txt');
  const brokers = primary.kafka.bootstrapServers.join(',');
  t0 = Date.now();
  execSync(`kcat -C -b ${brokers} -t ${topic} -e -o beginning -q -f '%k\\t%s\\n' > ${dump}`, { stdio: ['ignore', 'ignore', 'inherit'] });
  const kcatC = secs(t0);
  const dumped = readFileSync(dump, 'utf8').split('\n').filter(Boolean).length;
  console.log(`kcat -C: ${dumped} records in ${kcatC.toFixed(1)} s`);

  t0 = Date.now();
  const r = await restoreTopics(dst, { snapshots: [await repo.openSnapshot(snap.id)], topics: [topic], rename: { [topic]: `${topic}-restored` }, offsetMapFile: join(work, 'map') });
  const restoreS = secs(t0);
  console.log(`restore: ${r.records} records in ${restoreS.toFixed(1)} s`);

  const dstAdmin = dst.admin();
  await dstAdmin.connect();
  await dstAdmin.createTopics({ waitForLeaders: true, topics: [{ topic: `${topic}-kcat`, numPartitions: PARTITIONS, replicationFactor: 1 }] });
  t0 = Date.now();
  execSync(`kcat -P -b ${standby.kafka.bootstrapServers.join(',')} -t ${topic}-kcat -K '\\t' -X acks=all -X enable.idempotence=true -l ${dump}`, { stdio: ['ignore', 'ignore', 'inherit'] });
  const kcatP = secs(t0);

  // Log-dir hot copy of the broker holding the most of the topic, beside cp -r of the same dir.
  const broker = primary.brokers[0]!;
  const copyDir = join(work, 'cp');
  t0 = Date.now();
  execFileSync('cp', ['-r', broker.logDirs[0]!, copyDir]);
  const cpS = secs(t0);
  const dirBytes = Number(execFileSync('du', ['-sb', copyDir]).toString().split('\t')[0]);
  const w2 = await repo.newSnapshot({ cluster: 'primary', components: ['logdirs'] });
  t0 = Date.now();
  const ld = await copyLogDirs(primary, broker.id, w2, { mode: 'hot' });
  await w2.commit();
  const hotS = secs(t0);
  await repo.close();

  for (const [a, t] of [[admin, topic], [dstAdmin, `${topic}-restored`], [dstAdmin, `${topic}-kcat`]] as const) await a.deleteTopics({ topics: [t] }).catch(() => {});
  await admin.disconnect();
  await dstAdmin.disconnect();
  rmSync(work, { recursive: true, force: true });

  const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en')} rec/s`;
  const mbs = (bytes: number, s: number) => `${(bytes / 1e6 / s).toFixed(1)} MB/s`;
  const rows = [
    `| backup (lifeboat, lossless, into encrypted repository) | ${b.records} | ${backupS.toFixed(1)} s | ${rate(b.records, backupS)} | ${mbs(b.bytes, backupS)} |`,
    `| dump (kcat -C -e, key+value text only) | ${dumped} | ${kcatC.toFixed(1)} s | ${rate(dumped, kcatC)} | ${mbs(b.bytes, kcatC)} |`,
    `| restore (lifeboat, idempotent, acks=all, offset map) | ${r.records} | ${restoreS.toFixed(1)} s | ${rate(r.records, restoreS)} | ${mbs(r.bytes, restoreS)} |`,
    `| produce (kcat -P, idempotent, acks=all) | ${dumped} | ${kcatP.toFixed(1)} s | ${rate(dumped, kcatP)} | ${mbs(b.bytes, kcatP)} |`,
    `| log-dir hot copy (lifeboat, broker ${broker.id}) | ${ld.files} files | ${hotS.toFixed(1)} s | | ${mbs(ld.bytes, hotS)} |`,
    `| cp -r of the same log dir | | ${cpS.toFixed(1)} s | | ${mbs(dirBytes, cpS)} |`,
  ];
  const section = [
    '## Kafka data',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on the lab (2 cores shared with the lab's JVMs), topic of ${RECORDS.toLocaleString('en')} records of ~1 KB over ${PARTITIONS} partitions (RF 1),`,
    `Debian kcat ${execSync('kcat -V').toString().split('\n')[0]!.trim().replace(/^kcat - /, '')} as the reference. Reproduce: \`bench/install-kcat.sh && npx tsx bench/topics.ts ${RECORDS} ${PARTITIONS}\`.`,
    '',
    '| operation | records | time | records/s | MB/s |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Ratios: backup ${(kcatC / backupS).toFixed(2)}× kcat -C, restore ${(kcatP / restoreS).toFixed(2)}× kcat -P (above 1 = faster than kcat).`,
    'kcat\'s text dump drops headers, timestamps and null/empty distinctions; Lifeboat keeps them and stores into an encrypted, deduplicated repository.',
    '',
  ].join('\n');
  console.log(section);
  const file = join(__dirname, '..', 'docs', 'benchmarks.md');
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n';
  const start = doc.indexOf('## Kafka data');
  let next = start < 0 ? -1 : doc.indexOf('\n## ', start + 1);
  if (next >= 0) next += 1;
  const updated = start < 0 ? `${doc.trimEnd()}\n\n${section}` : `${doc.slice(0, start)}${section}${next >= 0 ? `\n${doc.slice(next)}` : ''}`;
  writeFileSync(file, updated);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    rmSync(work, { recursive: true, force: true });
    process.exit(1);
  },
);
