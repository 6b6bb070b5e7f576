/**
 * The lab: provisions, starts, checks and stops the real Temporal dev server, ZooKeeper, the
 * two ZooKeeper-mode Kafka clusters and the KRaft cluster on loopback. `up` is idempotent and returns only when everything is healthy;
 * `down` stops only what the pid files say we started.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { type Agreement, type AgreementOptions, type AgreementTarget, waitForAgreement } from '../src/kafka/ready';
import { writeLabConfigs } from './configs';
import { alertmanagerPid, alertmanagerReady, startAlertmanagers, stopAlertmanagers } from './alertmanager';
import { stopMirrorMaker } from './mirrorMaker';
import { prometheusPid, prometheusReady, prometheusUrl, startPrometheus, stopPrometheus } from './prometheus';
import { s3Ready, startS3, stopS3, versitygwPid, ensureVersitygw } from './s3';
import { ensureAlertmanager, ensureChromium, ensureKafka4Libs, ensureKafkaLibs, ensurePrometheus, ensureTemporalCli, javaBinary } from './provision';
import { ensureClassArchive, labJitFlags, labJvmFlags } from './jvm';
import { writeLabSpecs } from './specs';
import type { LabBroker, LabTopology } from './topology';
import { alertmanagerUrls, allClusters, bootstrapServers, findCluster, isKraftBroker, labTopology, receiverListen, s3Endpoint, temporalAddress, zkConnect } from './topology';
import { type ManagedProcess, runningPid, startDetached, stopProcess, tail, waitUntil } from '../src/host/processes';
import { chrootPath, exists, getData, withZk } from '../src/zookeeper/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../src/temporal/searchAttributes';

export type Log = (msg: string) => void;

/** Sends a ZooKeeper four-letter word and returns the answer. */
export function fourLetterWord(port: number, word: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let out = '';
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error('timeout')));
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d) => (out += d.toString()));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

function zookeeperProcess(topo: LabTopology): ManagedProcess {
  const cp = join(topo.kafkaLibs, '*');
  const confDir = join(topo.zookeeper.configFile, '..');
  return {
    name: 'zookeeper',
    command: javaBinary(),
    args: [
      // ZooKeeper keeps every znode in memory; a 100k-znode benchmark tree needs far more than 256m.
      '-Xms128m',
      '-Xmx2g',
      ...labJvmFlags(topo.kafkaLibs),
      `-Dlog4j.configuration=file:${join(confDir, 'log4j.properties')}`,
      '-Dzookeeper.jmx.log4j.disable=true',
      '-cp',
      cp,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      topo.zookeeper.configFile,
    ],
    pidFile: topo.zookeeper.pidFile,
    logFile: topo.zookeeper.logFile,
    marker: topo.zookeeper.configFile,
  };
}

export function brokerProcess(topo: LabTopology, b: LabBroker): ManagedProcess {
  const props = join(b.configDir, 'server.properties');
  const kraft = isKraftBroker(topo, b);
  // Kafka 4 logs through log4j2 and runs with a smaller heap; 3.9 through reload4j.
  const [heap, logging, libs] = kraft
    ? [['-Xms128m', '-Xmx512m'], `-Dlog4j2.configurationFile=${join(b.configDir, 'log4j2.yaml')}`, topo.kraft.kafkaLibs]
    : [['-Xms256m', '-Xmx1g'], `-Dlog4j.configuration=file:${join(b.configDir, 'log4j.properties')}`, topo.kafkaLibs];
  return {
    name: `${kraft ? 'node' : 'broker'} ${b.cluster}-${b.id}`,
    command: javaBinary(),
    args: [...heap, ...labJvmFlags(libs), '-Djava.awt.headless=true', logging, `-Dkafka.logs.dir=${join(b.dir, 'logs')}`, '-cp', join(libs, '*'), 'kafka.Kafka', props],
    pidFile: b.pidFile,
    logFile: b.logFile,
    marker: props,
  };
}

function temporalProcess(topo: LabTopology, cli: string): ManagedProcess {
  const t = topo.temporal;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(t.port),
    '--ui-port',
    String(t.uiPort),
    '--db-filename',
    t.dbFile,
    '--namespace',
    t.namespace,
    '--log-level',
    'warn',
    // As README's "Connecting to Temporal" recommends: an activity scheduled on the queue of the worker
    // that schedules it starts at once instead of waiting 10-40 ms in the task queue.
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
  ];
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) args.push('--search-attribute', `${name}=${type}`);
  return { name: 'temporal', command: cli, args, pidFile: t.pidFile, logFile: t.logFile, marker: t.dbFile };
}

async function zookeeperHealthy(topo: LabTopology): Promise<boolean> {
  return (await fourLetterWord(topo.zookeeper.port, 'ruok')).trim() === 'imok';
}

async function temporalHealthy(topo: LabTopology): Promise<boolean> {
  const conn = await Connection.connect({ address: temporalAddress(topo), connectTimeout: 2000 });
  try {
    const res = await conn.operatorService.listSearchAttributes({ namespace: topo.temporal.namespace });
    return Object.keys(SEARCH_ATTRIBUTE_TYPES).every((k) => k in (res.customAttributes ?? {}));
  } finally {
    await conn.close();
  }
}

/** A broker is healthy when its process runs and it is registered (ephemeral id node) in its chroot. */
export async function brokerRegistered(topo: LabTopology, b: LabBroker): Promise<boolean> {
  return withZk(zkConnect(topo), async (zk) => {
    const stat = await exists(zk, chrootPath(`/${b.cluster}`, `/brokers/ids/${b.id}`));
    if (!stat) return false;
    const { data } = await getData(zk, chrootPath(`/${b.cluster}`, `/brokers/ids/${b.id}`));
    const reg = JSON.parse(data?.toString() ?? '{}') as { endpoints?: string[] };
    return (reg.endpoints ?? []).some((e) => e.endsWith(`:${b.port}`));
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.setTimeout(1000, () => s.destroy());
    s.on('connect', () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
  });
}

/** The kernel's ephemeral port range: connect() takes the source ports of outgoing connections from it. */
function ephemeralPortRange(): [number, number] | undefined {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return lo && hi ? [lo, hi] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lab ports inside the ephemeral range, with a line saying why that breaks restarts: while a broker is
 * down, any outgoing connection on the machine may get its port as source port (a client retrying the
 * down broker even connects to itself, measured: within ~17k attempts on an even port), and the broker's
 * bind then fails with "Address already in use" until that connection closes. Undefined when none are.
 */
export function ephemeralPortWarning(topo: LabTopology): string | undefined {
  const range = ephemeralPortRange();
  if (!range) return undefined;
  const ports = [
    topo.temporal.port,
    topo.temporal.uiPort,
    topo.zookeeper.port,
    ...allClusters(topo).flatMap((c) => c.brokers.map((b) => b.port)),
    ...Object.values(topo.kraft.controllerPorts),
    ...topo.alertmanager.instances.map((a) => a.port),
    topo.alertmanager.receiverPort,
    topo.prometheus.port,
    topo.s3.port,
  ].filter((p) => p >= range[0] && p <= range[1]);
  if (ports.length === 0) return undefined;
  return (
    `lab ports ${ports.join(', ')} lie in the kernel's ephemeral port range ${range[0]}-${range[1]}: while a broker is down an outgoing ` +
    `connection can take its port and its restart fails with "Address already in use"; choose ports below ${range[0]} (LIFEBOAT_LAB_*_PORT*)`
  );
}

/** A lab cluster as `waitForAgreement` takes it. */
export function labAgreementTarget(topo: LabTopology, cluster: string): AgreementTarget {
  const c = findCluster(topo, cluster);
  return { name: c.name, kafka: { clientId: 'lifeboat-lab', brokers: bootstrapServers(c), logLevel: logLevel.NOTHING }, zookeeper: { connect: zkConnect(topo), chroot: c.chroot } };
}

/** Waits until the lab cluster's live brokers agree on a controller (and on `topics`' leaders); see src/kafka/ready.ts. */
export const waitForLabAgreement = (topo: LabTopology, cluster: string, opts: AgreementOptions = {}): Promise<Agreement> =>
  waitForAgreement(labAgreementTarget(topo, cluster), { timeoutMs: 90_000, ...opts });

export interface BrokerControlOptions {
  /**
   * Wait, once the process is up or gone, until the cluster agrees again: every live broker names
   * the same controller, never a stopped one, and a started broker is part of it (default true).
   * A disaster that kills every broker has nothing to wait for.
   */
  settle?: boolean;
}

/** The KRaft cluster's id, made once (Kafka's own form: 16 random bytes, URL-safe base64, not starting with "-"). */
function kraftClusterId(topo: LabTopology): string {
  const file = topo.kraft.clusterIdFile;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  let id: string;
  do id = randomBytes(16).toString('base64url');
  while (id.startsWith('-'));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${id}\n`);
  return id;
}

/** Formats a KRaft node's log dir once (kafka.tools.StorageTool format); a formatted dir has meta.properties. */
function formatKraftNode(topo: LabTopology, b: LabBroker, log: Log): void {
  if (existsSync(join(b.logDir, 'meta.properties'))) return;
  log(`formatting KRaft node ${b.cluster}-${b.id} (cluster id ${kraftClusterId(topo)})`);
  execFileSync(javaBinary(), [...labJitFlags(), '-cp', join(topo.kraft.kafkaLibs, '*'), `-Dlog4j2.configurationFile=${join(b.configDir, 'log4j2.yaml')}`, 'kafka.tools.StorageTool', 'format', '-t', kraftClusterId(topo), '-c', join(b.configDir, 'server.properties')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A KRaft node serves when the cluster's metadata lists it (its controller quorum has a leader). */
export async function kraftNodeServing(topo: LabTopology, b: LabBroker): Promise<boolean> {
  if (!(await portOpen(b.port))) return false;
  const admin = new Kafka({ clientId: 'lifeboat-lab', brokers: [`127.0.0.1:${b.port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    return c.brokers.some((x) => x.nodeId === b.id) && c.controller !== null && c.controller >= 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function startKraftNode(topo: LabTopology, b: LabBroker, log: Log): Promise<void> {
  const p = brokerProcess(topo, b);
  const serverLog = join(b.dir, 'logs', 'server.log');
  formatKraftNode(topo, b, log);
  if (runningPid(p) === undefined) log(`starting KRaft node ${b.cluster}-${b.id} on 127.0.0.1:${b.port}`);
  startDetached(p);
  let exited = false;
  await waitUntil(
    `KRaft node ${b.cluster}-${b.id} to serve`,
    async () => {
      if (runningPid(p) === undefined) {
        exited = true;
        return true;
      }
      return kraftNodeServing(topo, b);
    },
    { timeoutMs: 120_000, intervalMs: 500, onTimeout: () => `last lines of ${serverLog}:\n${tail(serverLog)}\n${tail(b.logFile)}` },
  );
  if (exited) throw new Error(`KRaft node ${b.cluster}-${b.id} exited during start-up; last lines of ${serverLog}:\n${tail(serverLog, 15)}\n${tail(b.logFile, 5)}`);
}

/**
 * A broker's start-up failures the lab starts it again after: its ZooKeeper session expired or
 * never came while the machine was busy (the lab's session timeout is 6 s, so kills settle fast;
 * a JVM starting beside four others on two cores can stall that long). Anything else is real.
 */
export function transientStartFailure(serverLogSinceStart: string): boolean {
  return /SessionExpiredException|ZooKeeperClientTimeoutException|ZooKeeperClientExpiredException/.test(serverLogSinceStart);
}

const BROKER_START_ATTEMPTS = 3;

export async function startBroker(topo: LabTopology, b: LabBroker, log: Log = () => {}, opts: BrokerControlOptions = {}): Promise<void> {
  if (isKraftBroker(topo, b)) return startKraftNode(topo, b, log);
  const serverLog = join(b.dir, 'logs', 'server.log');
  for (let attempt = 1; ; attempt++) {
    const logStart = existsSync(serverLog) ? statSync(serverLog).size : 0;
    const exited = await startZkBrokerOnce(topo, b, log, serverLog);
    if (!exited) break;
    const since = readFrom(serverLog, logStart);
    if (attempt < BROKER_START_ATTEMPTS && transientStartFailure(since)) {
      log(`broker ${b.cluster}-${b.id} lost its ZooKeeper session while starting; starting it again (attempt ${attempt + 1})`);
      continue;
    }
    const portNote = since.includes('Address already in use') ? ephemeralPortWarning(topo) : undefined;
    throw new Error(`broker ${b.cluster}-${b.id} exited during start-up; last lines of ${serverLog}:\n${tail(serverLog, 15)}${portNote ? `\n${portNote}` : ''}`);
  }
  if (opts.settle ?? true) await waitForLabAgreement(topo, b.cluster, { present: [b.id] });
}

/** Starts a ZooKeeper-mode broker and waits for it to register; true when it exited instead. */
async function startZkBrokerOnce(topo: LabTopology, b: LabBroker, log: Log, serverLog: string): Promise<boolean> {
  const p = brokerProcess(topo, b);
  if (runningPid(p) === undefined) {
    // A broker that was killed stays registered until its ZooKeeper session expires, and Kafka
    // refuses to start while that stale registration exists (NodeExists). Wait it out first.
    await waitUntil(`the stale registration of broker ${b.cluster}-${b.id} to expire`, async () => !(await brokerRegistered(topo, b)), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    log(`starting broker ${b.cluster}-${b.id} on 127.0.0.1:${b.port}`);
  }
  startDetached(p);
  let exited = false;
  await waitUntil(
    `broker ${b.cluster}-${b.id} to register in ZooKeeper`,
    async () => {
      if (runningPid(p) === undefined) {
        exited = true;
        return true;
      }
      return (await portOpen(b.port)) && (await brokerRegistered(topo, b));
    },
    { timeoutMs: 120_000, intervalMs: 500, onTimeout: () => `last lines of ${serverLog}:\n${tail(serverLog)}\n${tail(b.logFile)}` },
  );
  return exited;
}

/** The text a file gained after `offset` (a log's lines since a start). */
function readFrom(file: string, offset: number): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file);
  // A log that rolled since is shorter than the offset: all of it is new.
  return text.subarray(offset <= text.length ? offset : 0).toString('utf8');
}

/** Graceful stop (SIGTERM: Kafka's controlled shutdown moves leadership away first). */
export async function stopBroker(topo: LabTopology, b: LabBroker, opts: BrokerControlOptions = {}): Promise<boolean> {
  const stopped = await stopProcess(brokerProcess(topo, b), { graceMs: 90_000 });
  if (isKraftBroker(topo, b)) return stopped;
  // Its registration is ephemeral; after a controlled shutdown it is gone at once, after a kill
  // only when the session expires. Wait for it, so callers see the cluster as it now is.
  await waitUntil(`broker ${b.cluster}-${b.id} to leave ZooKeeper`, async () => !(await brokerRegistered(topo, b)), {
    timeoutMs: 30_000,
    intervalMs: 250,
  });
  if (opts.settle ?? true) await waitForLabAgreement(topo, b.cluster, { absent: [b.id] });
  return stopped;
}

/**
 * SIGKILL, the way a host dies: no controlled shutdown, the ephemeral node lingers until the
 * session times out (6 s in the lab). Settling waits that out: the broker is unregistered and the
 * others agree on a controller that is not it.
 */
export async function killBroker(topo: LabTopology, b: LabBroker, opts: BrokerControlOptions = {}): Promise<boolean> {
  const killed = await stopProcess(brokerProcess(topo, b), { signal: 'SIGKILL' });
  if ((opts.settle ?? true) && !isKraftBroker(topo, b)) await waitForLabAgreement(topo, b.cluster, { absent: [b.id] });
  return killed;
}

export function brokerRunning(topo: LabTopology, b: LabBroker): boolean {
  return runningPid(brokerProcess(topo, b)) !== undefined;
}

export interface UpOptions {
  log?: Log;
  /** Only provision (fetch/build binaries), start nothing. */
  provisionOnly?: boolean;
}

export async function labUp(topo: LabTopology = labTopology(), opts: UpOptions = {}): Promise<LabTopology> {
  const log = opts.log ?? (() => {});
  const cli = ensureTemporalCli(topo, log);
  ensureKafkaLibs(topo, log);
  ensureKafka4Libs(topo, log);
  await ensureClassArchive(topo.kafkaVersion, topo.kafkaLibs, log);
  await ensureClassArchive(topo.kraft.kafkaVersion, topo.kraft.kafkaLibs, log);
  ensureAlertmanager(log);
  ensurePrometheus(log);
  ensureChromium(log);
  ensureVersitygw(topo, log);
  if (opts.provisionOnly) return topo;
  writeLabConfigs(topo);
  const portWarning = ephemeralPortWarning(topo);
  if (portWarning) log(`warning: ${portWarning}`);

  const temporal = temporalProcess(topo, cli);
  if (runningPid(temporal) === undefined) log(`starting Temporal dev server on ${temporalAddress(topo)} (UI :${topo.temporal.uiPort})`);
  startDetached(temporal);
  const zk = zookeeperProcess(topo);
  if (runningPid(zk) === undefined) log(`starting ZooKeeper on ${zkConnect(topo)}`);
  startDetached(zk);

  await waitUntil('ZooKeeper to answer ruok', () => zookeeperHealthy(topo), {
    timeoutMs: 60_000,
    onTimeout: () => tail(topo.zookeeper.logFile),
  });
  // Brokers start together: each takes a few seconds of JVM start-up, so this halves `up` on 2 cores.
  // The Alertmanagers (well under a second) start beside them.
  await Promise.all([...allClusters(topo).flatMap((c) => c.brokers.map((b) => startBroker(topo, b, log))), startAlertmanagers(topo, log), startS3(topo, log)]);
  // Prometheus (a second or two) scrapes the receiver port whether or not a lifeboat serve runs there.
  await startPrometheus(topo, log);
  await waitUntil('Temporal dev server with Lifeboat search attributes', () => temporalHealthy(topo), {
    timeoutMs: 90_000,
    intervalMs: 500,
    onTimeout: () => tail(topo.temporal.logFile),
  });
  writeLabSpecs(topo);
  return topo;
}

export async function labDown(topo: LabTopology = labTopology(), log: Log = () => {}): Promise<void> {
  // A MirrorMaker 2 left by a benchmark goes first: it hangs when its brokers go before it.
  if (await stopMirrorMaker(topo)) log('stopped MirrorMaker 2');
  if (await stopPrometheus(topo)) log('stopped Prometheus');
  for (const name of await stopAlertmanagers(topo)) log(`stopped ${name}`);
  if (await stopS3(topo)) log('stopped versitygw');
  await Promise.all(
    allClusters(topo).flatMap((c) =>
      c.brokers.map(async (b) => {
        if (await stopProcess(brokerProcess(topo, b), { graceMs: 30_000 })) log(`stopped broker ${b.cluster}-${b.id}`);
      }),
    ),
  );
  if (await stopProcess({ pidFile: topo.zookeeper.pidFile, marker: topo.zookeeper.configFile })) log('stopped ZooKeeper');
  if (await stopProcess({ pidFile: topo.temporal.pidFile, marker: topo.temporal.dbFile })) log('stopped Temporal');
}

export interface LabStatus {
  labDir: string;
  temporal: { address: string; ui: string; namespace: string; running: boolean; pid?: number };
  zookeeper: { connect: string; running: boolean; pid?: number };
  clusters: {
    name: string;
    /** "zookeeper" (with its chroot) or "kraft". */
    mode: 'zookeeper' | 'kraft';
    kafkaVersion: string;
    chroot?: string;
    bootstrapServers: string[];
    spec: string;
    brokers: { id: number; host: string; address: string; running: boolean; pid?: number; logDir: string; configDir: string }[];
  }[];
  /** The two Alertmanagers, and the receiver (`lifeboat serve`) they notify. */
  alertmanagers: { name: string; url: string; running: boolean; pid?: number; config: string }[];
  receiver: { listen: string; tokenFile: string };
  /** Prometheus: scrapes the receiver's /metrics, Lifeboat's rules, alerts to the Alertmanagers. */
  prometheus: { url: string; running: boolean; pid?: number; config: string };
  /** versitygw, the S3-compatible server, and the bucket the lab made in it. */
  s3: { endpoint: string; bucket: string; running: boolean; pid?: number; dataDir: string };
}

export function labStatus(topo: LabTopology = labTopology()): LabStatus {
  const tpid = runningPid({ pidFile: topo.temporal.pidFile, marker: topo.temporal.dbFile });
  const zpid = runningPid({ pidFile: topo.zookeeper.pidFile, marker: topo.zookeeper.configFile });
  return {
    labDir: topo.labDir,
    temporal: {
      address: temporalAddress(topo),
      ui: `http://127.0.0.1:${topo.temporal.uiPort}`,
      namespace: topo.temporal.namespace,
      running: tpid !== undefined,
      pid: tpid,
    },
    zookeeper: { connect: zkConnect(topo), running: zpid !== undefined, pid: zpid },
    clusters: allClusters(topo).map((c) => ({
      name: c.name,
      mode: 'chroot' in c ? ('zookeeper' as const) : ('kraft' as const),
      kafkaVersion: 'chroot' in c ? topo.kafkaVersion : c.kafkaVersion,
      chroot: 'chroot' in c ? c.chroot : undefined,
      bootstrapServers: bootstrapServers(c),
      spec: c.specFile,
      brokers: c.brokers.map((b) => {
        const pid = runningPid(brokerProcess(topo, b));
        return { id: b.id, host: b.host, address: `127.0.0.1:${b.port}`, running: pid !== undefined, pid, logDir: b.logDir, configDir: b.configDir };
      }),
    })),
    alertmanagers: topo.alertmanager.instances.map((am, i) => {
      const pid = alertmanagerPid(am);
      return { name: am.name, url: alertmanagerUrls(topo)[i]!, running: pid !== undefined, pid, config: am.configFile };
    }),
    receiver: { listen: receiverListen(topo), tokenFile: topo.alertmanager.tokenFile },
    prometheus: { url: prometheusUrl(topo.prometheus), running: prometheusPid(topo.prometheus) !== undefined, pid: prometheusPid(topo.prometheus), config: topo.prometheus.configFile },
    s3: { endpoint: s3Endpoint(topo), bucket: topo.s3.bucket, running: versitygwPid(topo) !== undefined, pid: versitygwPid(topo), dataDir: topo.s3.dataDir },
  };
}

/** True when every lab process runs and answers (used by the test global setup). */
export async function labHealthy(topo: LabTopology = labTopology()): Promise<boolean> {
  try {
    if (!(await zookeeperHealthy(topo))) return false;
    if (!(await temporalHealthy(topo))) return false;
    for (const c of topo.clusters) for (const b of c.brokers) if (!brokerRunning(topo, b) || !(await brokerRegistered(topo, b))) return false;
    for (const b of topo.kraft.brokers) if (!brokerRunning(topo, b) || !(await kraftNodeServing(topo, b))) return false;
    for (const am of topo.alertmanager.instances) if (alertmanagerPid(am) === undefined || !(await alertmanagerReady(am))) return false;
    if (prometheusPid(topo.prometheus) === undefined || !(await prometheusReady(topo.prometheus))) return false;
    if (versitygwPid(topo) === undefined || !(await s3Ready(topo))) return false;
    return true;
  } catch {
    return false;
  }
}
