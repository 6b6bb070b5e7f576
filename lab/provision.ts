/**
 * Provisioning of the lab's binaries into the cache (outside the checkout, reused across runs):
 * - `temporal`: from TEMPORAL_CLI, else PATH, else the cache, else built once with `go install`;
 * - Kafka 3.9 and ZooKeeper jars: `mvn dependency:copy-dependencies` on lab/pom.xml;
 * - Kafka 4.x jars (the KRaft cluster): the same on lab/kafka4.pom.xml;
 * - Temporal's time-skipping test server (workflow tests): the same on lab/temporal-test-server.pom.xml;
 * - Alertmanager: Debian's prometheus-alertmanager, apt-get installed when it is not on PATH;
 * - Prometheus (and promtool, the rules' tests): Debian's prometheus, the same way;
 * - Chromium (headless, renders the drill report's HTML in a test): Debian's chromium, the same way.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { LabTopology } from './topology';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
const POM = resolve(__dirname, 'pom.xml');
const KAFKA4_POM = resolve(__dirname, 'kafka4.pom.xml');
/** Newest io.temporal:temporal-test-server on Maven Central when this was written (mvn dependency:get). */
export const TEMPORAL_TEST_SERVER_VERSION = '1.38.0';
const TEST_SERVER_POM = resolve(__dirname, 'temporal-test-server.pom.xml');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function requireTool(name: string, why: string): void {
  if (!onPath(name)) throw new Error(`"${name}" is not on PATH; the lab needs it to ${why}`);
}

/** Path of a usable `temporal` CLI, building it into the cache if there is none. */
export function ensureTemporalCli(topo: LabTopology, log: (msg: string) => void): string {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const found = onPath('temporal');
  if (found) return found;
  const binDir = join(topo.cacheDir, 'bin');
  const cached = join(binDir, 'temporal');
  if (executable(cached)) return cached;
  requireTool('go', `build the Temporal CLI (${TEMPORAL_CLI_MODULE})`);
  log(`building the Temporal CLI once: go install ${TEMPORAL_CLI_MODULE} (a few minutes)`);
  mkdirSync(binDir, { recursive: true });
  const r = spawnSync('go', ['install', TEMPORAL_CLI_MODULE], {
    env: { ...process.env, GOBIN: binDir, GOFLAGS: process.env.GOFLAGS ?? '-trimpath' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0 || !executable(cached)) throw new Error(`go install ${TEMPORAL_CLI_MODULE} failed (exit ${r.status})`);
  return cached;
}

function fetchKafkaLibs(libs: string, version: string, pom: string, expect: string[], log: (msg: string) => void): string {
  const done = join(libs, '.complete');
  if (existsSync(done)) return libs;
  requireTool('mvn', 'fetch Kafka from Maven Central');
  requireTool('java', 'run Kafka and ZooKeeper');
  log(`fetching Apache Kafka ${version} from Maven Central into ${libs}`);
  rmSync(libs, { recursive: true, force: true });
  mkdirSync(libs, { recursive: true });
  execFileSync('mvn', ['-B', '-q', '-f', pom, `-Dkafka.version=${version}`, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const jars = readdirSync(libs).filter((f) => f.endsWith('.jar'));
  const missing = expect.filter((prefix) => !jars.some((j) => j.startsWith(prefix)));
  if (missing.length) throw new Error(`mvn did not deliver ${missing.join(', ')} jars into ${libs}`);
  writeFileSync(done, `${new Date().toISOString()}\n`);
  return libs;
}

/** Directory with Kafka's and ZooKeeper's jars, fetched from Maven Central if not cached. */
export const ensureKafkaLibs = (topo: LabTopology, log: (msg: string) => void): string =>
  fetchKafkaLibs(topo.kafkaLibs, topo.kafkaVersion, POM, [`kafka_2.13-${topo.kafkaVersion}`, 'zookeeper-'], log);

/** Directory with the KRaft cluster's Kafka 4 jars and their log4j2 binding. */
export const ensureKafka4Libs = (topo: LabTopology, log: (msg: string) => void): string =>
  fetchKafkaLibs(topo.kraft.kafkaLibs, topo.kraft.kafkaVersion, KAFKA4_POM, [`kafka_2.13-${topo.kraft.kafkaVersion}`, 'log4j-slf4j2-impl-', 'slf4j-api-2'], log);

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Launcher of Temporal's time-skipping test server (the Java SDK's), fetched from Maven Central if not
 * cached: a script that @temporalio/testing runs as its `existing-path` executable with `<port>`
 * (`TestWorkflowEnvironment.createTimeSkipping`). The SDK gives a server 5 s to answer; a JVM with
 * C1 only answers in about 1 s.
 */
export function ensureTemporalTestServer(topo: Pick<LabTopology, 'cacheDir'>, log: (msg: string) => void): string {
  const dir = join(topo.cacheDir, `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}`);
  const libs = join(dir, 'libs');
  const launcher = join(dir, 'temporal-test-server');
  if (existsSync(join(dir, '.complete')) && executable(launcher)) return launcher;
  requireTool('mvn', 'fetch the Temporal test server from Maven Central');
  const java = javaBinary();
  log(`fetching the Temporal test server ${TEMPORAL_TEST_SERVER_VERSION} from Maven Central into ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(libs, { recursive: true });
  execFileSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      TEST_SERVER_POM,
      `-Dtemporal.test-server.version=${TEMPORAL_TEST_SERVER_VERSION}`,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libs}`,
      '-DincludeScope=runtime',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (!readdirSync(libs).includes(`temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}.jar`)) {
    throw new Error(`mvn did not deliver temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}.jar into ${libs}`);
  }
  // `exec`, so the pid the SDK kills at teardown is the JVM's.
  writeFileSync(
    launcher,
    [
      '#!/bin/sh',
      `# Temporal test server ${TEMPORAL_TEST_SERVER_VERSION}; usage: temporal-test-server <port> [--enable-time-skipping]`,
      `exec ${shellQuote(java)} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp ${shellQuote(join(libs, '*'))} io.temporal.testserver.TestServer "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(launcher, 0o755);
  writeFileSync(join(dir, '.complete'), `${new Date().toISOString()}\n`);
  return launcher;
}

export function javaBinary(): string {
  const home = process.env.JAVA_HOME;
  if (home && executable(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  requireTool('java', 'run Kafka and ZooKeeper');
  return 'java';
}

export const ALERTMANAGER_PACKAGE = 'prometheus-alertmanager';

/** Runs apt-get as root: directly when we are root, else through `sudo -n` (never a password prompt). */
function aptGet(args: string[], log: (msg: string) => void, pkg = ALERTMANAGER_PACKAGE): boolean {
  const root = process.getuid?.() === 0;
  if (!root && !onPath('sudo')) {
    throw new Error(`"${pkg}" is not on PATH and this user is not root (no sudo): install it with apt-get install ${pkg}`);
  }
  const [cmd, cmdArgs] = root ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]];
  log(`${root ? '' : 'sudo '}apt-get ${args.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'inherit', 'inherit'] });
  return r.status === 0;
}

/**
 * Debian's Alertmanager (the lab's two instances): PATH, else installed once with apt-get (no
 * recommends; an `apt-get update` first when the install fails on stale lists). Not started by the
 * package: the lab starts its own instances.
 */
export function ensureAlertmanager(log: (msg: string) => void): string {
  return ensureDebianPackage(ALERTMANAGER_PACKAGE, ALERTMANAGER_PACKAGE, "the lab's Alertmanagers", 'Alertmanager 0.25+', log);
}

export const PROMETHEUS_PACKAGE = 'prometheus';

/** Debian's Prometheus (the lab's, and promtool for the rules' tests): PATH, else apt-get as for Alertmanager. */
export function ensurePrometheus(log: (msg: string) => void): string {
  return ensureDebianPackage(PROMETHEUS_PACKAGE, 'prometheus', "the lab's Prometheus", 'Prometheus 2.40+', log);
}

export const CHROMIUM_PACKAGE = 'chromium';

/**
 * Debian's Chromium (headless: the drill report's HTML and chart rendered in a test): PATH, else
 * apt-get as for Alertmanager. CHROMIUM_BIN names another browser binary to use instead.
 */
export function ensureChromium(log: (msg: string) => void): string {
  const given = process.env.CHROMIUM_BIN;
  if (given) {
    if (!executable(given)) throw new Error(`CHROMIUM_BIN=${given} is not an executable file`);
    return given;
  }
  return ensureDebianPackage(CHROMIUM_PACKAGE, 'chromium', "the drill report's rendering test", 'Chromium', log);
}

function ensureDebianPackage(pkg: string, binary: string, purpose: string, what: string, log: (msg: string) => void): string {
  const found = onPath(binary);
  if (found) return found;
  if (!onPath('apt-get')) throw new Error(`"${binary}" is not on PATH and there is no apt-get to install it: install ${what} as ${binary}`);
  log(`installing Debian's ${pkg} (${purpose})`);
  const install = ['install', '-y', '--no-install-recommends', pkg];
  if (!aptGet(install, log, pkg) && !(aptGet(['update'], log, pkg) && aptGet(install, log, pkg))) {
    throw new Error(`apt-get install ${pkg} failed${process.getuid?.() === 0 ? '' : ' (sudo -n: does this user have password-less sudo?)'}; install it by hand`);
  }
  const installed = onPath(binary);
  if (!installed) throw new Error(`apt-get installed ${pkg} but ${binary} is not on PATH (${process.env.PATH})`);
  return installed;
}
