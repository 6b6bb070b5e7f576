/**
 * `npm run record-histories [-- <name>…]`: runs each scenario below on the lab (real worker, real
 * Kafka and repository) and stores its event history as test/workflows/histories/<name>.json, the
 * input of the replay test (replay.test.ts). Re-record after changing a workflow ON PURPOSE in a way
 * that changes its commands (and version old runs with `patched()` if any may still be open);
 * when the replay test fails and you did not mean to change what a workflow does, fix the code.
 * Nothing here is destructive: the recovery runs on the lab are dry, read-only (verifyCluster) or
 * rejected at the approval gate. A recovery that runs its child workflows to the end (with a
 * fallback to an older set) is recorded on Temporal's time-skipping test server against stub
 * activities (support/recoveryStubs.ts), so the parent's child commands are replayed too.
 * Uses the lab from the LIFEBOAT_LAB_* settings and brings it up if it is down; a worker with the
 * lab's spec files, so that runs started by cluster name are recorded as well.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { labHealthy, labUp } from '../../lab/lab';
import { alertmanagerUrls, findCluster } from '../../lab/topology';
import { TEST_WEBHOOK_LABEL } from '../../lab/alertmanager';
import { tmpdir } from 'node:os';
import { loadSpecCatalog } from '../../src/config/catalog';
import { TASK_QUEUE, temporalSettings } from '../../src/temporal/connection';
import { createWorkers } from '../../src/temporal/worker';
import type { RunStatus } from '../../workflows/support/tracker';
import { kafkaFor } from '../../src/kafka/client';
import { MIRROR_STATUS_QUERY, type MirrorStatus } from '../../src/kafka/mirrorRun.pure';
import { createTopicsReady } from '../support/kafka';
import { nextSpec, primarySpec, standbySpec, topo, unique } from '../support/lab';
import { historyToJson } from './support/historyJson';
import { deleteTree } from '../../lab/disaster';
import { zkConnect } from '../../lab/topology';
import { ledgerPath } from '../../src/registry/sync';
import { REGISTRY_SYNC_STATUS_QUERY, REGISTRY_SYNC_STOP_SIGNAL, registrySyncId, type RegistrySyncStatus } from '../../src/registry/sync.pure';
import { ACL, connectZk, create, Id, Permission, remove } from '../../src/zookeeper/client';
import { drillSpec, drillStubs, streamStub } from './support/drillStubs';
import { stubSpec, stubWorkers } from './support/recoveryStubs';
import { timeSkippingEnvironment } from './support/timeSkipping';

export const HISTORIES_DIR = join(__dirname, 'histories');

interface Scenario {
  /** What the run exercises. */
  about: string;
  /** Where it runs: the lab (default), or the time-skipping test server with stub activities. */
  on?: 'lab' | 'stubs';
  run(client: Client, workflowId: string): Promise<WorkflowHandle>;
}

/** The repositories of the tier scenarios (backup-tiers, then the fallback dry run reads its NAS tier). */
const tiersDir = mkdtempSync(join(tmpdir(), 'lifeboat-history-tiers-'));

/** The set the backup scenario made (the standalone children restore from it by id). */
let lastSetId: string | undefined;
const setId = () => {
  if (!lastSetId) throw new Error('record the backup scenario first: the children scenarios use its set');
  return lastSetId;
};

const start = (client: Client, workflowType: string, workflowId: string, input: Record<string, unknown>) =>
  client.workflow.start(workflowType, { taskQueue: TASK_QUEUE, workflowId, args: [{ spec: primarySpec(), ...input }] });

/** Waits until a run stands at its approval gate, then answers it. */
async function answerAtGate(handle: WorkflowHandle, approve: boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const status = await handle.query<RunStatus>('status');
    if (status.awaitingApproval) {
      await handle.executeUpdate('approve', { args: [{ approve, by: 'record-histories', comment: 'recorded for the replay test' }] });
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${handle.workflowId} never reached its approval gate`);
}

/** A full cluster-lost drill on the newest set against stub activities (recorded twice: before and after its lock). */
const clusterLostDrill: Scenario['run'] = (client, id) =>
  client.workflow.start('drill', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ spec: drillSpec, scenario: 'cluster-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2 }] });

export const SCENARIOS: Record<string, Scenario> = {
  'backup': {
    about: 'a full backup set of the primary cluster (every part, off-site copy; retention skipped: it would prune the lab)',
    async run(client, id) {
      const handle = await start(client, 'backup', id, { tier: 'manual', skipRetention: true });
      lastSetId = ((await handle.result()) as { setId: string }).setId;
      return handle;
    },
  },
  'backup-tiers': {
    about: 'a backup copied down the tiers (a NAS path; a vault tier that cannot be written, named in the report) with retention per tier, in repositories of its own',
    async run(client, id) {
      const lab = primarySpec();
      const nas = { name: 'nas', path: join(tiersDir, 'nas'), password: lab.repository!.password, compression: 'auto' as const, medium: 'nas' as const, offsite: false, retention: { keepLast: 1 } };
      writeFileSync(join(tiersDir, 'a-file'), 'not a directory');
      const spec = { ...lab, repository: { ...lab.repository!, path: join(tiersDir, 'local') }, offsiteRepository: undefined, tiers: [nas, { ...nas, name: 'vault', path: join(tiersDir, 'a-file', 'vault'), medium: 'archive' as const, offsite: true }] };
      const handle = await client.workflow.start('backup', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ spec, parts: ['kafka-metadata'] }] });
      await handle.result();
      return handle;
    },
  },
  'fullClusterRecovery-tierFallback-dryRun': {
    about: "a full-cluster recovery dry run whose primary repository is missing: the set is chosen in the NAS tier (record backup-tiers first)",
    on: 'lab',
    run: (client, id) => {
      const lab = primarySpec();
      const nas = { name: 'nas', path: join(tiersDir, 'nas'), password: lab.repository!.password, compression: 'auto' as const, medium: 'nas' as const, offsite: false };
      const spec = { ...lab, repository: { ...lab.repository!, path: join(tiersDir, 'gone') }, offsiteRepository: undefined, tiers: [nas] };
      return client.workflow.start('fullClusterRecovery', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ spec, parts: ['kafka-metadata'], dryRun: true }] });
    },
  },
  'fullClusterRecovery-byName-dryRun': {
    about: 'a full-cluster recovery dry run started with only { cluster: "primary" } (the spec resolved by name)',
    run: (client, id) => client.workflow.start('fullClusterRecovery', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ cluster: 'primary', dryRun: true }] }),
  },
  'fullClusterRecovery-fallback': {
    about: 'a full-cluster recovery whose newest set is corrupt inside restoreState: falls back, runs the children again (stub activities)',
    on: 'stubs',
    run: (client, id) => client.workflow.start('fullClusterRecovery', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ spec: stubSpec, autoApprove: true }] }),
  },
  'drill-newestSet': {
    about:
      'a full zookeeper-data-lost drill on the newest set (stub activities): the set checked beside the stream topic, the faults after the stream\'s seeded signal, the recovery children, the reverts and the record',
    on: 'stubs',
    run: (client, id) => client.workflow.start('drill', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ spec: drillSpec, scenario: 'zookeeper-data-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2 }] }),
  },
  'drill-clusterLost': {
    about:
      'a full cluster-lost drill on the newest set (stub activities): the stream read back while fullClusterRecovery verifies, the reverts beside the drop guarded by the ends that reading saw, the record',
    on: 'stubs',
    run: clusterLostDrill,
  },
  'drill-clusterLost-locked': {
    about:
      'the cluster-lost drill above recorded again once drills took their cluster\'s lock (a local activity) before they prepare and ended it once the record is saved: the older recording keeps covering the runs from before it',
    on: 'stubs',
    run: clusterLostDrill,
  },
  'restoreState-dryRun': {
    about: 'restoreState alone, dry run from the backup scenario\'s set (chosen by id)',
    run: (client, id) => start(client, 'restoreState', id, { setId: setId(), dryRun: true }),
  },
  'restoreData-rejected': {
    about: 'restoreData alone, stopped at its own approval gate by an operator',
    async run(client, id) {
      const handle = await start(client, 'restoreData', id, { setId: setId(), approvalTimeoutMinutes: 30 });
      await answerAtGate(handle, false);
      return handle;
    },
  },
  'verifyCluster': {
    about: 'verifyCluster alone against the backup scenario\'s set (read-only but for the probe)',
    run: (client, id) => start(client, 'verifyCluster', id, { setId: setId() }),
  },
  'fullClusterRecovery-dryRun': {
    about: 'a full-cluster recovery dry run: chooses the newest set that verifies and plans',
    run: (client, id) => start(client, 'fullClusterRecovery', id, { dryRun: true }),
  },
  'fullClusterRecovery-rejected': {
    about: 'a full-cluster recovery stopped at its approval gate by an operator (the approve Update)',
    async run(client, id) {
      const handle = await start(client, 'fullClusterRecovery', id, { approvalTimeoutMinutes: 30 });
      await answerAtGate(handle, false);
      return handle;
    },
  },
  'brokerRecovery-dryRun': {
    about: 'a single-broker recovery dry run of broker 3',
    run: (client, id) => start(client, 'brokerRecovery', id, { brokerId: 3, dryRun: true }),
  },
  'mirror': {
    about: 'a mirror primary → next of a fresh topic: rounds of plan and shards, paused and resumed, stopped with its report',
    async run(client, id) {
      const topic = unique('history-mirror');
      const kafka = kafkaFor(primarySpec(), 'record-histories');
      await createTopicsReady(primarySpec(), [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: `v${i}` })) });
      await producer.disconnect();
      const handle = await client.workflow.start('mirror', {
        taskQueue: TASK_QUEUE,
        workflowId: id,
        args: [{ source: { spec: primarySpec() }, target: { spec: nextSpec() }, selection: { topics: [topic] }, shards: 2, roundSeconds: 1 }],
      });
      const until = async (ok: (s: MirrorStatus) => boolean) => {
        for (let i = 0; i < 600; i++) {
          if (ok(await handle.query<MirrorStatus>(MIRROR_STATUS_QUERY))) return;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`${id} never got there`);
      };
      await until((s) => s.totals.records === 100 && s.totals.lagRecords === 0);
      await handle.signal('pause');
      await until((s) => s.state === 'paused');
      await handle.signal('resume');
      await until((s) => s.state === 'running');
      await handle.signal('stop', { by: 'record-histories' });
      return handle;
    },
  },
  'migration-dryRun': {
    about: 'an online migration primary → next planned (dry run: pre-checks, the mirror\'s plan, the fence plan, group moves; nothing changed)',
    async run(client, id) {
      const topic = unique('history-migrate');
      const kafka = kafkaFor(primarySpec(), 'record-histories');
      await createTopicsReady(primarySpec(), [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka });
      return client.workflow.start('migration', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ source: { spec: primarySpec() }, target: { spec: nextSpec() }, selection: { topics: [topic] }, dryRun: true }] });
    },
  },
  'migration-rejected': {
    about: 'an online migration primary → next: pre-checks, its mirror child caught up, the plan, rejected at the approval gate and rolled back (the mirror stopped, nothing fenced)',
    async run(client, id) {
      const topic = unique('history-migrate');
      const kafka = kafkaFor(primarySpec(), 'record-histories');
      await createTopicsReady(primarySpec(), [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ partition: i % 2, value: `v${i}` })) });
      await producer.disconnect();
      const handle = await client.workflow.start('migration', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ source: { spec: primarySpec() }, target: { spec: nextSpec() }, selection: { topics: [topic] }, skipBackup: true }] });
      await answerAtGate(handle, false);
      return handle;
    },
  },
  'offlineMigration-dryRun': {
    about: 'an offline migration primary → standby planned (dry run: the plan and the source hosts\' log-dir sizes, nothing touched)',
    run: (client, id) =>
      client.workflow.start('offlineMigration', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ source: { spec: primarySpec() }, target: { cluster: 'standby' }, dryRun: true }] }),
  },
  'offlineMigration-rejected': {
    about: 'an offline migration primary → standby rejected at its approval gate before anything stops',
    async run(client, id) {
      const handle = await client.workflow.start('offlineMigration', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ source: { spec: primarySpec() }, target: { cluster: 'standby' } }] });
      // Its status query exists once the target's spec is resolved by name.
      for (let i = 0; i < 100 && !(await handle.query('status').then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 200));
      await answerAtGate(handle, false);
      return handle;
    },
  },
  'clusterProbe': {
    about: 'the produce/consume probe',
    run: (client, id) => start(client, 'clusterProbe', id, { records: 10 }),
  },
  'failover-standDown': {
    about: 'a failover of the healthy lab primary started by an alert (SignalWithStart, as the receiver does): two probes, not confirmed, stood down, nothing changed',
    async run(client, id) {
      const now = new Date().toISOString();
      const alert = { source: 'generic', cluster: 'primary', incident: id, status: 'firing', alertname: 'KafkaDown', labels: {}, annotations: {}, startsAt: now, receivedAt: now };
      const handle = await client.workflow.signalWithStart('failover', {
        taskQueue: TASK_QUEUE,
        workflowId: id,
        args: [{ primary: { cluster: 'primary' }, alert, policy: { confirmProbes: 2, confirmIntervalSeconds: 1 } }],
        signal: 'failoverAlert',
        signalArgs: [alert],
      });
      await handle.result();
      return handle;
    },
  },
  'failover-dryRun': {
    about: 'a failover dry run of a primary nobody answers for (unused ports, no ZooKeeper) onto the lab standby: confirmed P0, assessed, the decision and the plan; nothing changed',
    async run(client, id) {
      const p = primarySpec();
      const gone = {
        ...p,
        name: 'gone',
        kafka: { ...p.kafka, bootstrapServers: ['127.0.0.1:1'] },
        zookeeper: { ...p.zookeeper!, connect: '127.0.0.1:2' },
        brokers: [{ ...p.brokers[0]!, listener: '127.0.0.1:1', control: { type: 'systemd' as const, unit: 'kafka-gone' } }],
        repository: undefined,
        offsiteRepository: undefined,
        standby: 'standby',
      };
      const handle = await client.workflow.start('failover', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ primary: { spec: gone }, dryRun: true, policy: { confirmProbes: 2, confirmIntervalSeconds: 1 } }] });
      await handle.result();
      return handle;
    },
  },
  'backupMonitor-twoClusters': {
    about:
      'the backup monitor over two clusters, one child run each: primary (a fresh set in a scratch repository: facts, verification, alerts) and standby (its scratch repository missing: unreachable, nothing verified); alerts to the lab Alertmanagers, routed to the tests\' webhook',
    async run(client) {
      const dir = mkdtempSync(join(tmpdir(), 'lifeboat-history-monitor-'));
      const scratch = <T extends ReturnType<typeof primarySpec>>(spec: T, name: string): T => ({ ...spec, repository: { ...spec.repository!, path: join(dir, name) }, offsiteRepository: undefined });
      const primary = scratch(primarySpec(), 'primary');
      const standby = scratch(standbySpec(), 'standby');
      await client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId: unique('history-monitor-backup'), args: [{ spec: primary, parts: ['kafka-metadata'], skipRetention: true }] });
      // Under the scenario's name: the children's IDs derive from the parent's, and replay runs it under that name.
      return client.workflow.start('backupMonitor', {
        taskQueue: TASK_QUEUE,
        workflowId: 'backupMonitor-twoClusters',
        args: [{ specs: [primary, standby], alertmanagers: alertmanagerUrls(topo), labels: { [TEST_WEBHOOK_LABEL]: 'true' }, alertTtlSeconds: 60 }],
      });
    },
  },
  'drill-tabletop': {
    about:
      'a tabletop drill of the lab standby (staging) for ZooKeeper data lost, with a scratch repository holding one ZooKeeper set: the backup and the recovery planned as dry runs, the verification planned, the inventory taken twice, nothing touched, the record saved',
    async run(client) {
      const dir = mkdtempSync(join(tmpdir(), 'lifeboat-history-drill-'));
      const spec = { ...standbySpec(), repository: { ...standbySpec().repository!, path: join(dir, 'standby') }, offsiteRepository: undefined };
      await client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId: unique('history-drill-backup'), args: [{ spec, parts: ['zookeeper'], skipRetention: true }] });
      // Under the scenario's name: the children's IDs derive from the parent's, and replay runs it under that name.
      return client.workflow.start('drill', { taskQueue: TASK_QUEUE, workflowId: 'drill-tabletop', args: [{ spec, scenario: 'zookeeper-data-lost', type: 'tabletop' }] });
    },
  },
  'registrySync': {
    about: "the off-site registry sync of a scratch Curator root primary → standby (one ensemble: under a scratch prefix): its activity's progress signals, then stopped",
    async run(client, id) {
      const root = `/${unique('lifeboat-history')}`;
      const zk = await connectZk(zkConnect(topo));
      const open = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
      for (const p of [root, `${root}/services`, `${root}/services/order-service`]) await create(zk, p, null, open);
      await create(zk, `${root}/services/order-service/o-1`, Buffer.from('{}'), open);
      const source = { ...primarySpec(), registry: { curator: `${root}/services` } };
      const handle = await client.workflow.start('registrySync', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ source: { spec: source }, target: { cluster: 'standby' }, prefix: `${root}/offsite` }] });
      for (let i = 0; i < 300 && !(await handle.query<RegistrySyncStatus>(REGISTRY_SYNC_STATUS_QUERY).then((s) => (s.stats?.creates ?? 0) >= 3, () => false)); i++) await new Promise((r) => setTimeout(r, 200));
      await handle.signal(REGISTRY_SYNC_STOP_SIGNAL, { by: 'record-histories' });
      await handle.result();
      await deleteTree(zk, root);
      await remove(zk, ledgerPath(registrySyncId(source.name, 'standby'))).catch(() => undefined);
      zk.close();
      return handle;
    },
  },
};

/** Runs each scenario with `client` and stores its history and its children's. */
async function record(client: Client, scenarios: [string, Scenario][]): Promise<void> {
  for (const [name, scenario] of scenarios) {
    const t0 = Date.now();
    // On the lab, an ID of its own per recording; on a fresh test server the scenario's name, which
    // is the ID replay runs it under (child workflow IDs derive from it and must match).
    const handle = await scenario.run(client, scenario.on === 'stubs' ? name : unique(`history-${name}`));
    // A rejected run ends as a failure; that is what it records.
    const outcome = await handle.result().then(
      () => 'completed',
      (e: unknown) => (e instanceof WorkflowFailedError ? `failed: ${e.cause?.message}` : Promise.reject(e)),
    );
    const history = await handle.fetchHistory();
    const file = join(HISTORIES_DIR, `${name}.json`);
    writeFileSync(file, `${historyToJson(history)}\n`);
    console.log(`${name} (${scenario.about}): ${outcome}; ${history.events?.length} events in ${((Date.now() - t0) / 1000).toFixed(1)}s → ${file}`);
    // Child workflows the run started are recorded too: <scenario>--<child type>-<n>.json.
    for (const old of readdirSync(HISTORIES_DIR).filter((f) => f.startsWith(`${name}--`))) rmSync(join(HISTORIES_DIR, old));
    const children = (history.events ?? []).flatMap((e) => {
      const a = e.childWorkflowExecutionStartedEventAttributes;
      return a?.workflowExecution?.workflowId ? [{ type: a.workflowType?.name ?? 'child', id: a.workflowExecution.workflowId, runId: a.workflowExecution.runId ?? undefined }] : [];
    });
    for (const [i, c] of children.entries()) {
      const childHistory = await client.workflow.getHandle(c.id, c.runId).fetchHistory();
      // Replayed under its file's name, a child's own children would get other IDs than it recorded.
      if (childHistory.events?.some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)) {
        console.log(`  child ${c.type} not stored: it starts children of its own (its type is replayed from its own scenario)`);
        continue;
      }
      const childFile = join(HISTORIES_DIR, `${name}--${c.type}-${i + 1}.json`);
      writeFileSync(childFile, `${historyToJson(childHistory)}\n`);
      console.log(`  child ${c.type} → ${childFile}`);
    }
  }
}

async function main(names: string[]): Promise<void> {
  const unknown = names.filter((n) => !(n in SCENARIOS));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const chosen = Object.entries(SCENARIOS).filter(([n]) => (names.length ? names : Object.keys(SCENARIOS)).includes(n));
  mkdirSync(HISTORIES_DIR, { recursive: true });
  const onStubs = chosen.filter(([, s]) => s.on === 'stubs');
  const onLab = chosen.filter(([, s]) => s.on !== 'stubs');

  if (onStubs.length) {
    const env: TestWorkflowEnvironment = await timeSkippingEnvironment();
    // The drill's own activities beside the recovery's: a stream that seeds at once, a probe that turns green.
    const workers = await stubWorkers(env, [], { ...drillStubs, drillWriteStreamActivity: streamStub(true), drillProbeActivity: async () => ({ green: true, at: new Date().toISOString(), detail: 'green (stub)' }) } as never);
    const running = Promise.all(workers.map((w) => w.run()));
    try {
      await record(env.client, onStubs);
    } finally {
      for (const w of workers) w.shutdown();
      await running;
      await env.teardown();
    }
  }
  if (!onLab.length) return;
  if (!(await labHealthy(topo))) await labUp(topo, { log: (m) => console.log(`[lab] ${m}`) });
  const settings = temporalSettings();
  // The lab's spec files, so that runs by cluster name resolve ("primary", "standby", ...).
  const specs = loadSpecCatalog({ files: topo.clusters.map((c) => findCluster(topo, c.name).specFile) });
  // Recorded from the source under test, never from an operator's prebuilt bundle (maybe stale).
  delete process.env.LIFEBOAT_WORKFLOW_BUNDLE;
  const workers = await createWorkers({ settings, hosts: primarySpec().brokers.map((b) => b.host), specs });
  const connection = await Connection.connect(settings.connection);
  const client = new Client({ connection, namespace: settings.namespace });
  try {
    await workers.runUntil(record(client, onLab));
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`record-histories: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
