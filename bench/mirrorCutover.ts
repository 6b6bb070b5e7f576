/**
 * Cut-over of an online migration on the lab (issue 13: write-unavailability ≤ 5 s): primary (3.9,
 * ZooKeeper mode) → next (4.1, KRaft), the migration workflow with a worker in this process.
 *
 *   npx tsx bench/mirrorCutover.ts [--runs 3] [--records 100000] [--write-docs]
 *
 * Each run: a new topic of RECORDS records of ~1 KB over 6 partitions (RF 3) on the primary, a group
 * committed 1,000 behind its end, an application writing ~1,000 records/s through the applications'
 * listener (User:app: the fence binds it) until the fence refuses it, the target with one
 * client-switch hook (a bootstrap file). The migration is approved up front and skips its backup set;
 * the figure is the workflow's own window, fence → hooks done (fence, awaitFence, drain, group
 * translation and commit, hooks), and the cut-over from approval to verified. Afterwards the topics,
 * groups and the fence's ACLs are removed. --write-docs replaces the mirror-cutover block of
 * docs/benchmarks.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from 'kafkajs';
import { type ClusterSpec, loadSpec } from '../src/config/spec';
import { kafkaFor } from '../src/kafka/client';
import { commitGroupOffsets } from '../src/kafka/groupOffsets';
import { connectTemporal, followRun, startRun } from '../src/temporal/runs';
import { createWorkers } from '../src/temporal/worker';
import { appBootstrapServers, findCluster, LAB_APP_USER, labTopology, useLabEnv } from '../lab/topology';
import '../lab/brokerControl';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '3' }, records: { type: 'string', default: '100000' }, 'write-docs': { type: 'boolean' } } });
const RUNS = Number(flags.runs);
const RECORDS = Number(flags.records);
const PARTITIONS = 6;
const BEGIN = '<!-- mirror-cutover:begin -->';
const END = '<!-- mirror-cutover:end -->';
const topo = labTopology();
useLabEnv(topo);
process.env.LIFEBOAT_PASSWORD ??= 'lab-password';
const primaryCluster = findCluster(topo, 'primary');
const source = loadSpec(primaryCluster.specFile);
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-cutover-'));
const target: ClusterSpec = { ...loadSpec(topo.kraft.specFile), clientSwitch: [{ type: 'bootstrap-file', path: join(dir, 'app.properties'), key: 'bootstrap.servers' }] } as ClusterSpec;
const src = kafkaFor(source, 'bench-cutover');
const dst = kafkaFor(target, 'bench-cutover');
const id = Date.now().toString(36);
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const topics: string[] = [];
const groups: string[] = [];

async function cleanup(): Promise<void> {
  const a = src.admin();
  await a.connect();
  for (const topic of topics) {
    await a
      .deleteAcls({ filters: [{ resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL, principal: null as unknown as string, host: null as unknown as string, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }] })
      .catch(() => undefined);
  }
  await a.disconnect();
  for (const k of [src, dst]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteGroups(groups).catch(() => undefined);
    const have = await admin.listTopics();
    const gone = topics.filter((t) => have.includes(t));
    if (gone.length) await admin.deleteTopics({ topics: gone, timeout: 60_000 }).catch((e: unknown) => console.error(`could not delete ${gone.join(', ')}: ${(e as Error).message}`));
    await admin.disconnect();
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Writes through the applications' listener until refused (the fence). */
function application(topic: string): { stop: () => Promise<void>; refusedAt?: number } {
  const app = new Kafka({ clientId: 'bench-app', brokers: appBootstrapServers(primaryCluster), sasl: { mechanism: 'plain', ...LAB_APP_USER }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const producer = app.producer({ allowAutoTopicCreation: false });
  const state: { stop: () => Promise<void>; refusedAt?: number } = { stop: async () => {} };
  let stopped = false;
  const loop = (async () => {
    await producer.connect();
    let n = 0;
    while (!stopped && state.refusedAt === undefined) {
      try {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 100 }, (_, j) => ({ partition: (n + j) % PARTITIONS, value: `app-${n + j}`.padEnd(1000, '.') })) });
        n += 100;
      } catch {
        state.refusedAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await producer.disconnect().catch(() => {});
  })();
  state.stop = async () => {
    stopped = true;
    await loop;
  };
  return state;
}

async function main() {
  const t = await connectTemporal();
  const workers = await createWorkers({ settings: t.settings, hosts: [...new Set(source.brokers.map((b) => b.host))] });
  const running = workers.run();
  const results: { windowMs: number; cutOverMs: number; steps: string }[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const topic = `bench-cutover-${id}-${i}`;
      const group = `${topic}-g`;
      topics.push(topic);
      groups.push(group);
      const admin = src.admin();
      await admin.connect();
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }] });
      const producer = src.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (let n = 0; n < RECORDS; n += 5000) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(5000, RECORDS - n) }, (_, j) => ({ partition: (n + j) % PARTITIONS, key: `key-${n + j}`, value: `${n + j}:`.padEnd(1000, 'x') })) });
      }
      await producer.disconnect();
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.disconnect();
      await commitGroupOffsets(src, group, [{ topic, partitions: ends.map((e) => ({ partition: e.partition, offset: Math.max(0, Number(e.high) - 1000) })) }]);
      writeFileSync(join(dir, 'app.properties'), `bootstrap.servers=${source.kafka.bootstrapServers.join(',')}\n`);

      const app = application(topic);
      const workflowId = `bench-cutover-${id}-${i}`;
      log(`run ${i + 1}/${RUNS}: migrating ${topic} (${RECORDS} records, an application writing)`);
      await startRun(t.client, 'migration', { workflowId, args: [{ source: { spec: source }, target: { spec: target }, selection: { topics: [topic] }, autoApprove: true, skipBackup: true, groupWaitMinutes: 1 }] });
      const r = await followRun<'migration'>(t.client, workflowId);
      await app.stop();
      const s = r.status;
      if (r.report.outcome !== 'succeeded' || s.writeUnavailableMs === undefined) throw new Error(`migration ${workflowId}: ${r.report.outcome}: ${r.report.problems.join('; ')}`);
      const steps = r.report.steps.filter((x) => ['fence', 'drain', 'groups', 'hooks'].includes(x.name)).map((x) => `${x.name} ${((x.durationMs ?? 0) / 1000).toFixed(1)} s`).join(', ');
      results.push({ windowMs: s.writeUnavailableMs, cutOverMs: s.cutOverMs ?? NaN, steps });
      log(`run ${i + 1}: write-unavailability ${s.writeUnavailableMs} ms, cut-over ${s.cutOverMs} ms (${steps}); application refused: ${app.refusedAt !== undefined}`);
    }
  } finally {
    workers.shutdown();
    await running;
    await t.close();
  }
  const sorted = results.map((r) => r.windowMs).sort((a, b) => a - b);
  const block = [
    `Cut-over of an online migration (workflows/migration/online.ts) on the lab, measured ${new Date().toISOString().slice(0, 10)}: ${RUNS} runs, each a new topic of ${RECORDS.toLocaleString('en-US')} records of ~1 KB over ${PARTITIONS} partitions (RF 3) on the primary with a group 1,000 behind, an application writing ~1,000 records/s through the applications' listener until the fence refused it, one client-switch hook (a bootstrap file); approved up front, no backup set. Reproduce: \`npx tsx bench/mirrorCutover.ts --runs ${RUNS} --records ${RECORDS} --write-docs\` (lab up).`,
    '',
    '| run | write-unavailability (fence → hooks done) | cut-over (approval → verified) | steps in the window |',
    '|---|---|---|---|',
    ...results.map((r, i) => `| ${i + 1} | ${(r.windowMs / 1000).toFixed(1)} s | ${(r.cutOverMs / 1000).toFixed(1)} s | ${r.steps} |`),
    '',
    `Median write-unavailability **${(sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(1)} s** (goal ≤ 5 s).`,
  ].join('\n');
  console.log(`\n${block}\n`);
  if (flags['write-docs']) {
    const file = join(__dirname, '..', 'docs', 'benchmarks.md');
    const doc = readFileSync(file, 'utf8');
    const i = doc.indexOf(BEGIN);
    const j = doc.indexOf(END);
    if (i < 0 || j < i) throw new Error(`docs/benchmarks.md has no ${BEGIN} … ${END} block`);
    writeFileSync(file, `${doc.slice(0, i)}${BEGIN}\n${block}\n${END}${doc.slice(j + END.length)}`);
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
