/**
 * Lifeboat's mirror engine in a process of its own, for bench/mirror.ts (so its CPU time is its
 * own, like MirrorMaker 2's JVM): plans the topic on the target, splits its partitions into shards
 * as the mirror workflow does (splitShards, 4 by default) and runs them at once, until caught up or
 * for `seconds` (a tail, as the workflow's rounds run). Arguments: one JSON object in
 * LIFEBOAT_BENCH_MIRROR. Prints "started" once every shard runs, then one JSON line: records, bytes,
 * wall and CPU milliseconds of the copy (process.cpuUsage: every thread of this process).
 */
import { loadSpec } from '../src/config/spec';
import { mirrorShard, planMirror } from '../src/kafka/mirror';
import { splitShards } from '../src/kafka/mirrorRun.pure';

interface Args {
  source: string;
  target: string;
  pair: string;
  topic: string;
  partitions: number;
  shards: number;
  seconds?: number;
}

async function main() {
  const a = JSON.parse(process.env.LIFEBOAT_BENCH_MIRROR ?? '{}') as Args;
  const source = loadSpec(a.source);
  const target = loadSpec(a.target);
  await planMirror(source, target, { topics: [a.topic] });
  const shards = splitShards(
    Array.from({ length: a.partitions }, (_, partition) => ({ topic: a.topic, partition })),
    a.shards,
  );
  const until = a.seconds === undefined ? ('caught-up' as const) : Date.now() + a.seconds * 1000;
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  // "started" once every shard has taken its partitions and reports (a tail reports every second).
  const reporting = new Set<number>();
  const onProgress = (i: number) => () => {
    if (reporting.size === shards.length) return;
    reporting.add(i);
    if (reporting.size === shards.length) process.stdout.write('started\n');
  };
  const runs = shards.map((shard, i) => Promise.all(shard.map((work) => mirrorShard(source, target, a.pair, work, { until, onProgress: onProgress(i) }))));
  const results = (await Promise.all(runs)).flat();
  const wallMs = Date.now() - t0;
  const cpu = process.cpuUsage(c0);
  const positions = results.flatMap((r) => r.positions);
  process.stdout.write(
    `${JSON.stringify({
      records: positions.reduce((n, p) => n + p.records, 0),
      bytes: positions.reduce((n, p) => n + p.bytes, 0),
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      caughtUp: results.every((r) => r.caughtUp),
      identical: positions.every((p) => p.mode === 'identical'),
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
