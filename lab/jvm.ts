/**
 * How the lab's Kafka and ZooKeeper JVMs start: with a third of the CPU they took with the server
 * defaults, because every broker a test kills or stops is started again, on two cores, beside the test.
 * - C1 only and the serial collector: a lab JVM never runs long enough for C2's compilations to pay
 *   back, and G1's concurrent threads compete with the tests (the Temporal test server's launcher does
 *   the same);
 * - an AppCDS archive of Kafka's classes (JDK 17's dynamic archive), made once per Kafka and Java
 *   version by a short training run of a one-node KRaft cluster of those jars, so no class is parsed
 *   and verified again at each start.
 * Measured here, a 3.9 broker ready in ZooKeeper: 6.5 s of CPU and 4.3 s with G1 and C2, 3.5 s and
 * 3.0 s with C1 and the serial collector, 2.6 s and 2.2 s with the archive as well. A JVM that
 * cannot use the archive (another Java since) says so in its log and starts without it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { type ManagedProcess, runningPid, startDetached, stopProcess, tail, waitUntil } from '../src/host/processes';
import { javaBinary } from './provision';

export const LAB_JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

let javaKey: string | undefined;

/** A short key of the Java runtime (`java -version`, on stderr): an archive is only valid for the JVM that made it. */
function javaVersionKey(): string {
  if (javaKey === undefined) {
    const r = spawnSync(javaBinary(), ['-version'], { encoding: 'utf8' });
    javaKey = createHash('sha256').update(`${r.stderr}${r.stdout}`).digest('hex').slice(0, 12);
  }
  return javaKey;
}

/** Where the class archive of a Kafka version's jars lives in the cache. */
export function classArchiveFile(cacheDir: string, kafkaVersion: string): string {
  return join(cacheDir, 'jvm', `kafka-${kafkaVersion}-${javaVersionKey()}.jsa`);
}

/** The flags a lab JVM of these jars starts with: the archive's only once it exists. */
export function labJvmFlags(archive: string | undefined): string[] {
  return [...LAB_JVM_FLAGS, ...(archive && existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`] : [])];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Makes the class archive of the Kafka jars in `libs` when it is missing: a one-node KRaft cluster of
 * them is formatted, started, asked for its metadata and to create a topic, and stopped; the JVM
 * writes the classes it loaded at exit. A training run that fails leaves no archive (the lab runs
 * without one) and says why.
 */
export async function ensureClassArchive(cacheDir: string, kafkaVersion: string, libs: string, log: (msg: string) => void): Promise<string | undefined> {
  const archive = classArchiveFile(cacheDir, kafkaVersion);
  if (existsSync(archive)) return archive;
  mkdirSync(join(cacheDir, 'jvm'), { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-jvm-training-'));
  const partial = `${archive}.${process.pid}.part`;
  const t0 = Date.now();
  const [port, controllerPort] = [await freePort(), await freePort()];
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
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
  const p: ManagedProcess = {
    name: `Kafka ${kafkaVersion} class archive training`,
    command: javaBinary(),
    args: ['-Xms128m', '-Xmx512m', ...LAB_JVM_FLAGS, `-XX:ArchiveClassesAtExit=${partial}`, '-cp', join(libs, '*'), 'kafka.Kafka', props],
    pidFile: join(dir, 'training.pid'),
    logFile: join(dir, 'training.log'),
    marker: props,
  };
  try {
    let clusterId: string;
    do clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-'));
    execFileSync(javaBinary(), [...LAB_JVM_FLAGS, '-cp', join(libs, '*'), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], { stdio: ['ignore', 'pipe', 'pipe'] });
    startDetached(p);
    const admin = new Kafka({ clientId: 'lifeboat-lab', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await waitUntil(
      `the training run of Kafka ${kafkaVersion} to serve`,
      async () => {
        if (runningPid(p) === undefined) throw new Error(`it exited:\n${tail(p.logFile, 10)}`);
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
      { timeoutMs: 120_000, intervalMs: 500, onTimeout: () => tail(p.logFile, 10) },
    );
    await stopProcess(p, { graceMs: 60_000 });
    if (!existsSync(partial) || statSync(partial).size === 0) throw new Error(`the JVM wrote no archive:\n${tail(p.logFile, 10)}`);
    renameSync(partial, archive);
    log(`made the JVM class archive of Kafka ${kafkaVersion} in ${((Date.now() - t0) / 1000).toFixed(1)}s (${archive})`);
    return archive;
  } catch (e) {
    log(`warning: no JVM class archive for Kafka ${kafkaVersion} (its JVMs start without one): ${(e as Error).message.split('\n')[0]}`);
    await stopProcess(p, { signal: 'SIGKILL' }).catch(() => false);
    return undefined;
  } finally {
    rmSync(partial, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
