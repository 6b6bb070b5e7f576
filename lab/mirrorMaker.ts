/**
 * MirrorMaker 2 in dedicated mode between two lab clusters: the peer that the mirror benchmark
 * measures Lifeboat's mirror against (same run, same topics, same groups). Fetched on first use
 * (lab/mm2.pom.xml), never started by `lab up`. Stop it before the brokers: it hangs otherwise.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ManagedProcess, runningPid, startDetached, stopProcess } from '../src/host/processes';
import { javaBinary } from './provision';
import type { LabTopology } from './topology';

export const MM2_VERSION = '3.9.1';
const MM2_POM = resolve(__dirname, 'mm2.pom.xml');

export interface Mm2Options {
  source: { name: string; bootstrap: string[] };
  target: { name: string; bootstrap: string[] };
  /** Topic regex (MM2's `topics`). */
  topics: string;
  /** Group regex whose offsets MM2 translates and syncs. */
  groups?: string;
  replicationFactor?: number;
  /** Tasks of the source connector (MM2's tasks.max; default 1, as MM2's). */
  tasks?: number;
  /**
   * Target topics named <source>.<topic> (MM2's DefaultReplicationPolicy) instead of the source's
   * names: lets a benchmark mirror the same source topic with MM2 and Lifeboat into one target.
   */
  prefixTopics?: boolean;
}

const mm2Dir = (topo: LabTopology): string => join(topo.labDir, 'mirrormaker2');

export function ensureMirrorMakerLibs(topo: LabTopology, log: (m: string) => void = () => {}): string {
  const libs = join(topo.cacheDir, `connect-mirror-${MM2_VERSION}`, 'libs');
  if (existsSync(join(libs, '.complete'))) return libs;
  log(`fetching MirrorMaker 2 ${MM2_VERSION} from Maven Central into ${libs}`);
  rmSync(libs, { recursive: true, force: true });
  mkdirSync(libs, { recursive: true });
  execFileSync('mvn', ['-B', '-q', '-f', MM2_POM, `-Dkafka.version=${MM2_VERSION}`, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (!readdirSync(libs).includes(`connect-mirror-${MM2_VERSION}.jar`)) throw new Error(`mvn did not deliver connect-mirror-${MM2_VERSION}.jar into ${libs}`);
  writeFileSync(join(libs, '.complete'), `${new Date().toISOString()}\n`);
  return libs;
}

/** MM2's properties as its documentation has them: one direction, identity names (topics keep their names), offsets synced. */
export function mm2Properties(o: Mm2Options): string {
  const rf = o.replicationFactor ?? 1;
  const s = o.source.name;
  const t = o.target.name;
  return [
    `clusters=${s},${t}`,
    `${s}.bootstrap.servers=${o.source.bootstrap.join(',')}`,
    `${t}.bootstrap.servers=${o.target.bootstrap.join(',')}`,
    `${s}->${t}.enabled=true`,
    `${s}->${t}.topics=${o.topics}`,
    `${s}->${t}.groups=${o.groups ?? '.*'}`,
    `${t}->${s}.enabled=false`,
    ...(o.prefixTopics ? [] : ['replication.policy.class=org.apache.kafka.connect.mirror.IdentityReplicationPolicy']),
    ...(o.tasks ? [`tasks.max=${o.tasks}`] : []),
    `replication.factor=${rf}`,
    ...['checkpoints.topic', 'heartbeats.topic', 'offset-syncs.topic', 'offset.storage', 'status.storage', 'config.storage'].map((k) => `${k}.replication.factor=${rf}`),
    'sync.group.offsets.enabled=true',
    'emit.checkpoints.interval.seconds=1',
    'sync.group.offsets.interval.seconds=1',
    'refresh.topics.interval.seconds=5',
    'refresh.groups.interval.seconds=5',
    'dedicated.mode.enable.internal.rest=false',
    // Its offset syncs on the target, not as a replication-factor-1 topic on the source: a source topic with
    // one replica has no leader once that broker stops, and then every all-topics metadata read fails.
    'offset-syncs.topic.location=target',
    '',
  ].join('\n');
}

function mm2Process(topo: LabTopology, libs: string): ManagedProcess {
  const dir = mm2Dir(topo);
  return {
    name: 'mirrormaker2',
    command: javaBinary(),
    args: ['-Xms128m', '-Xmx1g', `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`, '-cp', join(libs, '*'), 'org.apache.kafka.connect.mirror.MirrorMaker', join(dir, 'mm2.properties')],
    pidFile: join(dir, 'mm2.pid'),
    logFile: join(dir, 'mm2.out'),
    marker: join(dir, 'mm2.properties'),
  };
}

export function startMirrorMaker(topo: LabTopology, o: Mm2Options, log: (m: string) => void = () => {}): void {
  const libs = ensureMirrorMakerLibs(topo, log);
  const dir = mm2Dir(topo);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'mm2.properties'), mm2Properties(o));
  writeFileSync(
    join(dir, 'log4j.properties'),
    ['log4j.rootLogger=WARN, f', 'log4j.appender.f=org.apache.log4j.FileAppender', `log4j.appender.f.File=${join(dir, 'mm2.log')}`, 'log4j.appender.f.layout=org.apache.log4j.PatternLayout', 'log4j.appender.f.layout.ConversionPattern=[%d] %p %m (%c)%n', ''].join('\n'),
  );
  log(`starting MirrorMaker 2 ${o.source.name} -> ${o.target.name} (topics ${o.topics})`);
  startDetached(mm2Process(topo, libs));
}

/** The MM2 JVM's pid while it runs (for its CPU time in /proc/<pid>/stat). */
export function mirrorMakerPid(topo: LabTopology): number | undefined {
  return runningPid(mm2Process(topo, join(topo.cacheDir, `connect-mirror-${MM2_VERSION}`, 'libs')));
}

export async function stopMirrorMaker(topo: LabTopology): Promise<boolean> {
  const libs = join(topo.cacheDir, `connect-mirror-${MM2_VERSION}`, 'libs');
  const p = mm2Process(topo, libs);
  if (runningPid(p) === undefined) return false;
  return stopProcess(p, { graceMs: 30_000 });
}
