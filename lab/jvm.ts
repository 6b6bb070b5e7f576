/**
 * How the lab's Kafka and ZooKeeper JVMs start: from an AppCDS archive of Kafka's classes (JDK 17's
 * dynamic archive), because every broker a test kills or stops is started again, on two cores, beside
 * the test. The archive is made once per Kafka version by a short training run of a one-node KRaft
 * cluster of those jars, so no class is parsed and verified again at each start. It lives beside the
 * jars (a new fetch of them removes it) and `lab up` checks that this Java maps it (`-Xshare:on`), else
 * makes it again.
 * The collector and JIT stay the server's (G1, C2): C1 only and the serial collector started a broker on
 * half the CPU again, but made the suite no faster, since brokers that copy data run slower on C1
 * (a CI rehearsal: the files that back up and restore log dirs took 15-25 % longer). LIFEBOAT_LAB_JVM_OPTS
 * replaces those flags.
 * Measured here, a 3.9 broker until it is registered in ZooKeeper, the lab running beside it: G1 and C2
 * 7.5 s of CPU (7.9 s of wall time), with the archive 5.3-5.7 s (5.6-6.2 s). The lab down: G1 and C2
 * 6.5 s (4.3 s), C1 and the serial collector 3.5 s (3.0 s), those with the archive 2.6 s (2.2 s).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { type ManagedProcess, processAlive, runningPid, startDetached, stopProcess, tail, waitUntil } from '../src/host/processes';
import { javaBinary } from './provision';

const DEFAULT_FLAGS = ['-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20'];

/** The JIT and collector flags of the lab's JVMs (LIFEBOAT_LAB_JVM_OPTS, space-separated, replaces the default). */
export function labJitFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const own = env.LIFEBOAT_LAB_JVM_OPTS?.trim();
  return own ? own.split(/\s+/) : DEFAULT_FLAGS;
}

/** The class archive of the Kafka jars in `libs` (beside them: the `libs/*` classpath takes only jars). */
export const classArchiveFile = (libs: string): string => join(libs, 'lifeboat-lab-classes.jsa');

/** The flags a lab JVM of the jars in `libs` starts with: the archive's only once it exists. */
export function labJvmFlags(libs: string): string[] {
  const archive = classArchiveFile(libs);
  return [...labJitFlags(), ...(existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`] : [])];
}

/** True when this Java maps `archive` for the jars in `libs` (-Xshare:on fails where it would be ignored). */
function archiveUsable(archive: string, libs: string): boolean {
  const r = spawnSync(javaBinary(), [...labJitFlags(), '-Xshare:on', `-XX:SharedArchiveFile=${archive}`, '-cp', join(libs, '*'), '-version'], { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
}

/** Two different free loopback ports (both held while the second is taken). */
async function twoFreePorts(): Promise<[number, number]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const s = createServer();
      servers.push(s);
      ports.push(await new Promise<number>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
      }));
    }
    return [ports[0]!, ports[1]!];
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

const TRAINING_PREFIX = 'lifeboat-training-';

const trainingProcess = (dir: string, libs: string, partial: string): ManagedProcess => ({
  name: 'class archive training',
  command: javaBinary(),
  args: ['-Xms128m', '-Xmx512m', ...labJitFlags(), `-XX:ArchiveClassesAtExit=${partial}`, '-cp', join(libs, '*'), 'kafka.Kafka', join(dir, 'server.properties')],
  pidFile: join(dir, 'training.pid'),
  logFile: join(dir, 'training.log'),
  marker: join(dir, 'server.properties'),
});

/** What an interrupted training run of a process that is gone left beside the jars: its JVM is killed, its files removed. */
async function sweepAbandonedTraining(libs: string): Promise<void> {
  const parent = dirname(libs);
  for (const name of readdirSync(parent)) {
    const m = new RegExp(`^${TRAINING_PREFIX}(\\d+)$`).exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    const dir = join(parent, name);
    await stopProcess(trainingProcess(dir, libs, ''), { signal: 'SIGKILL' }).catch(() => false);
    rmSync(dir, { recursive: true, force: true });
  }
  for (const name of readdirSync(libs)) {
    const m = /\.(\d+)\.part$/.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(libs, name), { force: true });
  }
}

/**
 * Makes the class archive of the Kafka jars in `libs` when it is missing or this Java cannot map it: a
 * one-node KRaft cluster of them is formatted, started, asked to create a topic, and stopped; the JVM
 * writes the classes it loaded at exit. A training run that fails leaves no archive (the lab's JVMs
 * start without one) and its log in `libs/../lifeboat-training.log`.
 */
export async function ensureClassArchive(kafkaVersion: string, libs: string, log: (msg: string) => void): Promise<string | undefined> {
  const archive = classArchiveFile(libs);
  if (existsSync(archive)) {
    if (archiveUsable(archive, libs)) return archive;
    log(`the JVM class archive of Kafka ${kafkaVersion} does not map with this Java or these jars: making it again`);
    rmSync(archive, { force: true });
  }
  await sweepAbandonedTraining(libs);
  log(`making the JVM class archive of Kafka ${kafkaVersion} (a training run, once)`);
  const t0 = Date.now();
  const dir = join(dirname(libs), `${TRAINING_PREFIX}${process.pid}`);
  const partial = `${archive}.${process.pid}.part`;
  const p = trainingProcess(dir, libs, partial);
  const keptLog = join(dirname(libs), 'lifeboat-training.log');
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const [port, controllerPort] = await twoFreePorts();
    writeFileSync(
      p.marker,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        `log.dirs=${join(dir, 'data')}`,
        'offsets.topic.replication.factor=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        '',
      ].join('\n'),
    );
    let clusterId: string;
    do clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-'));
    execFileSync(javaBinary(), [...labJitFlags(), '-cp', join(libs, '*'), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', p.marker], { stdio: ['ignore', 'pipe', 'pipe'] });
    startDetached(p);
    const admin = new Kafka({ clientId: 'lifeboat-lab', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    let exited = false;
    await waitUntil(
      `the training run of Kafka ${kafkaVersion} to create a topic`,
      async () => {
        if (runningPid(p) === undefined) return (exited = true);
        try {
          await admin.connect();
          await admin.createTopics({ topics: [{ topic: 'training', numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
          return true;
        } catch {
          return false;
        } finally {
          await admin.disconnect().catch(() => {});
        }
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    if (exited) throw new Error('its JVM exited');
    await stopProcess(p, { graceMs: 60_000 });
    if (!existsSync(partial) || statSync(partial).size === 0 || !archiveUsable(partial, libs)) throw new Error('its JVM wrote no archive this Java maps');
    renameSync(partial, archive);
    log(`made the JVM class archive of Kafka ${kafkaVersion} in ${((Date.now() - t0) / 1000).toFixed(1)}s (${archive})`);
    return archive;
  } catch (e) {
    await stopProcess(p, { signal: 'SIGKILL' }).catch(() => false);
    if (existsSync(p.logFile)) renameSync(p.logFile, keptLog);
    log(`warning: no JVM class archive for Kafka ${kafkaVersion}, its JVMs start without one (${(e as Error).message.split('\n')[0]}; the run's log: ${keptLog}):\n${tail(keptLog, 5)}`);
    return undefined;
  } finally {
    rmSync(partial, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
