/**
 * `npm run demo` (`npm run lab -- demo`): the main job on the lab. Seeds the primary cluster (topics, records, consumer
 * groups), takes a backup set with the backup workflow, writes a few records the backup will not
 * have, then the disaster (every broker SIGKILLed, log dirs emptied, the ZooKeeper chroot deleted),
 * then fullClusterRecovery, and prints its report (RTO, RPO, checks) with the Temporal UI link.
 */
import { Client, Connection } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import { EXIT } from '../src/errors';
import { loadSpec, type ClusterSpec } from '../src/config/spec';
import type { BackupResult } from '../src/backup/plan.pure';
import { retryTransient, withAdmin } from '../src/kafka/admin';
import { waitForAgreement } from '../src/kafka/ready';
import { readClusterState } from '../src/kafka/clusterState';
import { sleep } from '../src/host/processes';
import { kafkaFor } from '../src/kafka/client';
import { commitGroupOffsets } from '../src/kafka/groupOffsets';
import { labDisaster } from './disaster';
import { clearDemoRegistry, DEMO_REGISTRY_ROOT, registerDemoServices } from './demoRegistry';
import { verifyRegistry } from '../src/registry/registry';
import { readRegistryComponent } from '../src/registry/storage';
import { withRepo } from '../src/recovery/repo';
import { join } from 'node:path';
import { findCluster, labTopology, useLabEnv } from './topology';
import './brokerControl';
import { durationText, renderMarkdown, type RunReport } from '../src/report/report.pure';
import { TASK_QUEUE, temporalSettings, workflowUiLink } from '../src/temporal/connection';
import { createWorkers } from '../src/temporal/worker';
import { commandLine, int, json } from '../src/cli/options';
import { output } from '../src/cli/output';
import { workflowFailure } from '../src/temporal/runs';

export const summary = 'run the lab demo: seed → backup → disaster → full-cluster recovery → report';
const CLI = commandLine(
  'npm run lab -- demo',
  'usage: npm run lab -- demo [--records N] [--json]   (npm run demo: the lab up, then this)',
  [int('records', '<N>', 'records to seed (default 20000)', 1), json],
  `Runs on the lab's primary cluster (start it with: npm run lab -- up). It deletes and recreates the
demo-* topics and ends with a disaster and a recovery of the whole primary cluster.`,
);

/** The demo's topics (also seeded by bench/recovery.ts). */
export const TOPICS = [
  { topic: 'demo-orders', numPartitions: 6, critical: true },
  { topic: 'demo-payments', numPartitions: 3, critical: true },
  { topic: 'demo-clickstream', numPartitions: 3, critical: false },
];

/**
 * Recreates the demo topics with `records` records each (clickstream twice that) and consumer groups
 * half-way; returns the records each topic holds. Demo topics an earlier run left are deleted first
 * (a re-run starts from the same state); after that each step retries only itself through transient
 * errors, so a topic this run created is never deleted again.
 */
export async function seed(kafka: Kafka, spec: ClusterSpec, records: number): Promise<Record<string, number>> {
  const names = TOPICS.map((t) => t.topic);
  const step = <T>(fn: () => Promise<T>) => retryTransient(fn, { timeoutMs: 120_000, delayMs: 1000 });
  // The topics as the controller keeps them (ZooKeeper in ZooKeeper mode): a broker's own list can lag.
  const present = async () => new Set((await step(() => readClusterState(spec, { topics: names, kafka }))).partitions.map((p) => p.topic));
  const until = async (what: string, done: () => Promise<boolean>) => {
    const deadline = Date.now() + 120_000;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`seeding ${spec.name}: ${what} after 120s`);
      await sleep(500);
    }
  };
  // The demo topics an earlier run left, and only those: nothing after this deletes. One already
  // being deleted is unknown to the brokers (UNKNOWN_TOPIC_OR_PARTITION); the wait below covers it.
  const unknownTopic = (e: unknown) => [e, (e as { cause?: unknown }).cause].some((x) => (x as { type?: string } | undefined)?.type === 'UNKNOWN_TOPIC_OR_PARTITION');
  await step(async () => {
    const earlier = [...(await present())];
    if (earlier.length) {
      await withAdmin(kafka, spec.name, (admin) => admin.deleteTopics({ topics: earlier })).catch((e: unknown) => {
        if (!unknownTopic(e)) throw e;
      });
    }
  });
  await until('the demo topics of an earlier run are still being deleted', async () => (await present()).size === 0);
  // kafkajs answers false, not an error, for a topic that exists (so a retry creates only what is
  // missing) and also for one whose deletion is just finishing: ask until all of them are there.
  const topics = TOPICS.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions, replicationFactor: Math.min(3, spec.brokers.length), configEntries: [{ name: 'min.insync.replicas', value: '2' }] }));
  await until('the demo topics could not be created', async () => {
    await step(() => withAdmin(kafka, spec.name, (admin) => admin.createTopics({ topics, waitForLeaders: false })));
    return (await present()).size === names.length;
  });
  // Every broker must know the topics and their leaders before the producer asks any of them.
  await waitForAgreement(spec, { topics: names, timeoutMs: 120_000 });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (const t of TOPICS) {
      const n = t.topic === 'demo-clickstream' ? records * 2 : records;
      for (let i = 0; i < n; i += 1000) {
        const batch = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
          key: `${t.topic}-key-${(i + j) % 97}`,
          value: JSON.stringify({ id: i + j, topic: t.topic, amount: ((i + j) * 7) % 1000 }),
          headers: { source: 'lifeboat-demo' },
        }));
        // Leadership can still move; only this batch is sent again.
        await step(() => producer.send({ topic: t.topic, acks: -1, messages: batch }));
      }
    }
  } finally {
    await producer.disconnect();
  }
  // Consumer groups part-way through their topics: their committed offsets must survive too. The
  // counts are read back: a batch sent again after a partial failure may have written some twice.
  const counts: Record<string, number> = {};
  await withAdmin(kafka, spec.name, async (admin) => {
    for (const t of TOPICS) {
      const offsets = await step(() => admin.fetchTopicOffsets(t.topic));
      await step(() =>
        commitGroupOffsets(kafka, `demo-${t.topic.slice(5)}-consumers`, [{ topic: t.topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: Math.floor(Number(o.high) / 2) })) }]),
      );
      counts[t.topic] = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    }
  });
  return counts;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = CLI.parse(argv);
  const out = output(values.json ?? false);
  const records = values.records ?? 20000;
  const topo = labTopology();
  const lab = loadSpec(findCluster(topo, 'primary').specFile);
  const spec: ClusterSpec = {
    ...lab,
    topics: { critical: TOPICS.filter((t) => t.critical).map((t) => `^${t.topic}$`), disposable: [] },
    registry: { curator: DEMO_REGISTRY_ROOT },
  };
  const zkConnect = spec.zookeeper!.connect;
  process.env.LIFEBOAT_LOG_LEVEL ??= 'ERROR';
  useLabEnv(topo);
  const settings = temporalSettings();
  const workers = await createWorkers({ settings, hosts: spec.brokers.map((b) => b.host) });
  const connection = await Connection.connect(settings.connection);
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    return await workers.runUntil(
      (async () => {
        const kafka = kafkaFor(spec, 'demo');
        out.progress(`1/5 seeding ${spec.name}: ${TOPICS.map((t) => t.topic).join(', ')} (${records} records each, clickstream twice that) and consumer groups`);
        const seeded = await seed(kafka, spec, records);
        await clearDemoRegistry(zkConnect);
        let services = await registerDemoServices(zkConnect);
        out.progress(`   service registry ${DEMO_REGISTRY_ROOT}: ${services.instances} instances registered (ephemeral)`);

        const stamp = Date.now();
        out.progress(`2/5 backup workflow (ZooKeeper, metadata, configs and log dirs of ${spec.brokers.length} brokers)`);
        const backupId = `backup-${spec.name}-demo-${stamp}`;
        const backup = (await client.workflow
          .execute('backup', { taskQueue: TASK_QUEUE, workflowId: backupId, args: [{ spec, tier: 'manual', skipRetention: true }] })
          .catch((e: unknown) => {
            throw workflowFailure(e, backupId);
          })) as BackupResult;
        out.progress(`   backup set ${backup.setId}: ${backup.parts.map((p) => p.part).join(', ')}`);

        const producer = kafka.producer();
        await producer.connect();
        await producer.send({ topic: 'demo-orders', acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ value: `after-backup-${i}` })) });
        await producer.disconnect();
        out.progress('   50 more orders written after the backup (the RPO: they will be lost)');

        const disaster = await labDisaster(topo, 'primary');
        // The services die with the cluster, and their registry with them.
        services.session.close();
        await clearDemoRegistry(zkConnect);
        out.progress(
          `3/5 DISASTER at ${disaster.at}: brokers ${disaster.killed.join(', ')} SIGKILLed, ${disaster.logDirEntriesRemoved} log-dir entries removed, ${disaster.znodesDeleted} znodes of ${spec.zookeeper?.chroot} deleted`,
        );

        const workflowId = `recover-${spec.name}`;
        out.progress(`4/5 fullClusterRecovery ${workflowId}: ${workflowUiLink(settings, workflowId) ?? ''}`);
        const report = (await client.workflow
          .execute('fullClusterRecovery', { taskQueue: TASK_QUEUE, workflowId, workflowIdConflictPolicy: 'FAIL', args: [{ spec, failureTime: disaster.at, autoApprove: true, registryFallbackDir: join(topo.labDir, 'registry-fallback') }] })
          .catch((e: unknown) => {
            throw workflowFailure(e, workflowId);
          })) as RunReport;

        out.progress('5/5 checking every seeded record is back');
        const back: Record<string, number> = {};
        await withAdmin(kafka, spec.name, async (admin) => {
          for (const t of TOPICS) back[t.topic] = (await admin.fetchTopicOffsets(t.topic)).reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
        });
        // The services start again and register; the registry must look as it did at backup time.
        services = await registerDemoServices(zkConnect);
        const expected = (await withRepo(spec, async (repo) => readRegistryComponent(await repo.openSnapshot(backup.parts.find((p) => p.part === 'registry')!.snapshot)))).registry;
        const reg = await verifyRegistry(services.session, expected, { probe: true });
        services.session.close();
        const dataOk = TOPICS.every((t) => back[t.topic] === seeded[t.topic]) && reg.countMismatches.length === 0;
        const ui = workflowUiLink(settings, report.workflowId, report.runId);
        const summaryLine = `RTO ${durationText(report.rtoMs)} (objective ${spec.objectives.rtoMinutes} min), RPO ${durationText(report.rpoMs)}; records back: ${TOPICS.map((t) => `${t.topic} ${back[t.topic]}/${seeded[t.topic]}`).join(', ')}; registry: ${reg.live.instances}/${reg.expected.instances} instances re-registered, register/discover probe ${reg.probe?.ok ? 'ok' : 'FAILED'}`;
        out.result({ backup: { setId: backup.setId, parts: backup.parts }, seeded, recovered: back, report, ui }, `${renderMarkdown({ ...report, uiLink: ui })}\n${summaryLine}`);
        return report.outcome === 'succeeded' && dataOk ? EXIT.OK : EXIT.PARTIAL;
      })(),
    );
  } finally {
    await connection.close().catch(() => {});
  }
}
