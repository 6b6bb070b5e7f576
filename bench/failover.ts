/**
 * RTO of a P0 failover on the lab (issue 14: alert → first record consumed on the standby, goal
 * ≤ 60 s), auto-approved, with its parts. A worker runs in this process.
 *
 *   npm run bench:failover -- [--runs 1] [--records 10000] [--write-docs]
 *
 * Each run: a new topic of RECORDS records of ~1 KB over 6 partitions (RF 3) on the primary, a group
 * committed on it, the mirror primary → standby caught up, an application writing through the
 * applications' listener; then every primary broker is SIGKILLed and an Alertmanager webhook (v4)
 * is POSTed to `lifeboat serve` (the receiver, in this process, in front of the worker's specs by
 * name: the primary's spec carries the failover policy — P0 auto-approved, 2 confirming probes 1 s
 * apart, no repair in place —, the standby's one client-switch hook, a bootstrap file). The groups
 * are found by the failover itself. RTO = the POST sent → the verify probe's records consumed on the
 * standby; its parts are the workflow's own (from the alert's receivedAt). Afterwards the brokers are started again, the fence lifted, topics and groups removed.
 * --write-docs replaces the failover block of docs/benchmarks.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { killBroker, startBroker } from '../lab/lab';
import { appBootstrapServers, findCluster, LAB_APP_USER, labTopology, useLabEnv } from '../lab/topology';
import { type ClusterSpec, loadSpec } from '../src/config/spec';
import { unfencePrimary } from '../src/failover/data/fence';
import { releasePromotion } from '../src/failover/promotion';
import { waitForBrokerInIsr } from '../src/kafka/cluster';
import { kafkaFor } from '../src/kafka/client';
import { commitGroupOffsets } from '../src/kafka/groupOffsets';
import { forgetPositions } from '../src/kafka/mirror/state';
import { MIRROR_STATUS_QUERY, mirrorPair, type MirrorStatus, mirrorWorkflowId } from '../src/kafka/mirrorRun.pure';
import { connectTemporal, followRun, startRun } from '../src/temporal/runs';
import { createWorkers } from '../src/temporal/worker';
import pino from 'pino';
import { specCatalog } from '../src/config/catalog';
import { buildReceiver } from '../src/server/app';
import type { FailoverResult } from '../workflows/failover';
import '../lab/brokerControl';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '1' }, records: { type: 'string', default: '10000' }, 'write-docs': { type: 'boolean' } } });
const RUNS = Number(flags.runs);
const RECORDS = Number(flags.records);
const PARTITIONS = 6;
const BEGIN = '<!-- failover:begin -->';
const END = '<!-- failover:end -->';
const topo = labTopology();
useLabEnv(topo);
process.env.LIFEBOAT_PASSWORD ??= 'lab-password';
const primaryCluster = findCluster(topo, 'primary');
const primary = loadSpec(primaryCluster.specFile);
const standbyPlain = loadSpec(findCluster(topo, 'standby').specFile);
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-failover-'));
const bootstrapFile = join(dir, 'app.properties');
const standby: ClusterSpec = { ...standbyPlain, clientSwitch: [{ type: 'bootstrap-file', path: bootstrapFile, key: 'bootstrap.servers' }] } as ClusterSpec;
/** The primary as the worker knows it by name: its failover policy for the benchmark. */
const primaryByName: ClusterSpec = { ...primary, standby: standby.name, failover: { repairBudgetMinutes: 0, confirmProbes: 2, confirmIntervalSeconds: 1, autoApprove: ['P0'], degradationLevel: 0 } } as ClusterSpec;
const TOKEN = 'bench-token';
const id = Date.now().toString(36);
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** Writes through the applications' listener until stopped (errors once the brokers are gone). */
function application(topic: string): { stop: () => Promise<number> } {
  const app = new Kafka({ clientId: 'bench-failover-app', brokers: appBootstrapServers(primaryCluster), sasl: { mechanism: 'plain', ...LAB_APP_USER }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const producer = app.producer({ allowAutoTopicCreation: false });
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    await producer.connect();
    while (!stopped) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, j) => ({ partition: (n + j) % PARTITIONS, value: `app-${n + j}`.padEnd(1000, '.') })) }).then(
        () => (n += 50),
        () => undefined,
      );
      await sleep(50);
    }
    await producer.disconnect().catch(() => {});
  })();
  return {
    stop: async () => {
      stopped = true;
      await Promise.race([loop, sleep(10_000)]);
      return n;
    },
  };
}

async function main() {
  const t = await connectTemporal();
  const specs = specCatalog([primaryByName, standby].map((spec) => ({ spec, source: { name: spec.name, digest: 'bench', file: '(bench/failover.ts)' } })));
  const workers = await createWorkers({ settings: t.settings, hosts: [...new Set(primary.brokers.map((b) => b.host))], specs });
  const running = workers.run();
  const receiver = buildReceiver({
    config: { listen: '127.0.0.1:0', token: TOKEN, match: { labels: { lifeboat_action: 'failover' }, clusterLabel: 'lifeboat_cluster', clusters: [primary.name] }, temporalTimeoutMs: 10_000 },
    client: t.client,
    audit: pino({ level: 'silent' }),
  });
  const receiverUrl = await receiver.listen({ host: '127.0.0.1', port: 0 });
  const results: { rtoMs: number; parts: string; notMirrored: string; groups: number }[] = [];
  const src = kafkaFor(primary, 'bench-failover');
  try {
    for (let i = 0; i < RUNS; i++) {
      const topic = `bench-failover-${id}-${i}`;
      const group = `${topic}-g`;
      const admin = src.admin();
      await admin.connect();
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }] });
      const producer = src.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (let n = 0; n < RECORDS; n += 5000) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(5000, RECORDS - n) }, (_, j) => ({ partition: (n + j) % PARTITIONS, value: `${n + j}:`.padEnd(1000, 'x') })) });
      }
      await producer.disconnect();
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.disconnect();
      await commitGroupOffsets(src, group, [{ topic, partitions: ends.map((e) => ({ partition: e.partition, offset: Math.max(0, Number(e.high) - 100) })) }]);
      writeFileSync(bootstrapFile, `bootstrap.servers=${primary.kafka.bootstrapServers.join(',')}\n`);

      const mirrorId = mirrorWorkflowId(primary.name, standby.name);
      await startRun(t.client, 'mirror', { workflowId: mirrorId, args: [{ source: { spec: primary }, target: { spec: standbyPlain }, selection: { topics: [topic] }, shards: 2, roundSeconds: 2 }] });
      const m = t.client.workflow.getHandle(mirrorId);
      await until('the mirror to catch up', async () => {
        const s = await m.query<MirrorStatus>(MIRROR_STATUS_QUERY);
        return s.totals.partitions === PARTITIONS && s.totals.lagRecords === 0;
      });
      const app = application(topic);
      await sleep(3000);
      log(`run ${i + 1}/${RUNS}: ${topic} mirrored; killing every primary broker under the application's writes`);
      await Promise.all(primaryCluster.brokers.map((b) => killBroker(topo, b, { settle: false })));
      let fence: FailoverResult['status']['fence'];
      try {
      const written = await app.stop();

      const startsAt = new Date().toISOString();
      const body = {
        version: '4',
        groupKey: '{}:{alertname="KafkaClusterDown"}',
        status: 'firing',
        receiver: 'lifeboat',
        groupLabels: { alertname: 'KafkaClusterDown' },
        commonLabels: {},
        commonAnnotations: {},
        externalURL: 'http://alertmanager.bench',
        truncatedAlerts: 0,
        alerts: [{ status: 'firing', labels: { alertname: 'KafkaClusterDown', lifeboat_action: 'failover', lifeboat_cluster: primary.name }, annotations: {}, startsAt, endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `bench${id}${i}` }],
      };
      const postedAt = Date.now();
      const res = await fetch(`${receiverUrl}/v1/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
      const answer = (await res.json()) as { results?: { action: string; workflowId?: string }[]; error?: string };
      const workflowId = answer.results?.[0]?.workflowId;
      if (res.status !== 200 || !workflowId) throw new Error(`the receiver answered ${res.status}: ${JSON.stringify(answer)}`);
      log(`run ${i + 1}: alert POSTed, ${answer.results![0]!.action} ${workflowId} in ${Date.now() - postedAt} ms`);
      const r = (await followRun<'failover'>(t.client, workflowId)) as FailoverResult;
      const s = r.status;
      const parts = Object.entries(s.rtoParts)
        .map(([k, v]) => `${k} ${((v ?? 0) / 1000).toFixed(1)} s`)
        .join(', ');
      log(`run ${i + 1}: ${s.outcome} (${s.reason}); RTO ${s.rtoMs} ms (${parts}); not mirrored ${s.notMirroredTotal}; application wrote ${written}; problems: ${r.report.problems.join(' | ') || 'none'}`);
      if (s.outcome !== 'failed over' || s.rtoMs === undefined || !s.firstConsumedAt) throw new Error(`failover ${workflowId}: ${s.outcome}: ${s.reason}`);
      results.push({ rtoMs: Date.parse(s.firstConsumedAt) - postedAt, parts, notMirrored: `${s.notMirroredTotal ?? 'unknown'}`, groups: s.groups?.length ?? 0 });
      fence = s.fence;
      } finally {
        // Back as it was: brokers started, the fence lifted, the topic and group gone from both clusters.
        await t.client.workflow.getHandle(mirrorId).terminate('bench cleanup').catch(() => undefined);
        for (const b of primaryCluster.brokers) await startBroker(topo, b);
        for (const b of primary.brokers) await waitForBrokerInIsr(primary, b.id, { timeoutMs: 150_000 }).catch(() => undefined);
        if (fence?.record) await unfencePrimary(primary, fence.record).catch((e: unknown) => console.error(`fence not lifted: ${(e as Error).message}`));
        // Undone by hand above, so the promotion hold is ended by hand too (the next run's failover takes it).
        await releasePromotion(t.client, primary.name, { by: 'bench', reason: 'bench cleanup' }).catch((e: unknown) => console.error(`promotion hold not ended: ${(e as Error).message}`));
      }
      for (const spec of [primary, standbyPlain]) {
        const a = kafkaFor(spec, 'bench-failover').admin();
        await a.connect();
        await a.deleteGroups([group]).catch(() => undefined);
        await a.deleteTopics({ topics: [topic], timeout: 60_000 }).catch(() => undefined);
        await a.disconnect();
      }
      await forgetPositions(kafkaFor(standbyPlain, 'bench-failover'), mirrorPair(primary.name, standby.name), topic, PARTITIONS).catch(() => undefined);
    }
  } finally {
    await receiver.close();
    workers.shutdown();
    await running;
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const sorted = results.map((r) => r.rtoMs).sort((a, b) => a - b);
  const block = [
    `P0 failover (workflows/failover.ts) on the lab, measured ${new Date().toISOString().slice(0, 10)}: ${RUNS} run${RUNS === 1 ? '' : 's'}, each a topic of ${RECORDS.toLocaleString('en-US')} records of ~1 KB over ${PARTITIONS} partitions (RF 3) mirrored to the standby, an application writing, then every primary broker SIGKILLed and an Alertmanager webhook POSTed to \`lifeboat serve\`; the failover auto-approved by the primary spec's policy (P0), 2 confirming probes 1 s apart, no repair in place, groups found by the failover, one client-switch hook. RTO = the POST sent → the verify probe's records consumed on the standby; the parts are the workflow's (from the alert's receivedAt). Reproduce: \`npm run bench:failover -- --runs ${RUNS} --records ${RECORDS} --write-docs\` (lab up).`,
    '',
    '| run | RTO | parts | records not mirrored | groups moved |',
    '|---|---|---|---|---|',
    ...results.map((r, i) => `| ${i + 1} | ${(r.rtoMs / 1000).toFixed(1)} s | ${r.parts} | ${r.notMirrored} | ${r.groups} |`),
    '',
    `Median RTO **${(sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(1)} s** (goal ≤ 60 s).`,
  ].join('\n');
  console.log(`\n${block}\n`);
  if (flags['write-docs']) {
    const file = join(__dirname, '..', 'docs', 'benchmarks.md');
    const doc = readFileSync(file, 'utf8');
    const i = doc.indexOf(BEGIN);
    const j = doc.indexOf(END);
    writeFileSync(file, i >= 0 && j > i ? `${doc.slice(0, i)}${BEGIN}\n${block}\n${END}${doc.slice(j + END.length)}` : `${doc.trimEnd()}\n\n## Failover\n\n${BEGIN}\n${block}\n${END}\n`);
  }
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => process.exit());
