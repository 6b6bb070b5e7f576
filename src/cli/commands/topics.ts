/**
 * `lifeboat topics backup|restore`: logical, lossless topic backups into the repository and their
 * restore (same or another cluster, renamed, point in time), with an offset map for group offsets.
 *
 *   topics backup  --spec s.yaml (--topics a,b | --regex R) [--incremental] [--tag t] [--json]
 *   topics restore --spec s.yaml --snapshot <ref> [--target-spec t.yaml] [--topics a,b] [--rename a=b,..]
 *                  [--until <ISO time | epoch ms>] [--until-offsets topic:partition=offset,..] [--offset-map file] [--json]
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadSpec } from '../../config/spec';
import { EXIT } from '../../errors';
import { assertBootstrapReachable } from '../../kafka/admin';
import { kafkaFor } from '../../kafka/client';
import { backupTopics } from '../../kafka/topicBackup';
import { type PointInTime, restoreTopics, topicChain } from '../../kafka/topicRestore';
import { openRepositoryForSpec } from '../../repository';
import { BadValue, commandLine, regex, describe, incremental, json, list, snapshot, spec as specOption, subcommand, tags, targetSpec, text, topicList } from '../options';
import { output } from '../output';
import { requireSpec } from '../requireSpec';

export const summary = 'back up topics record by record (lossless) and restore them with an offset map';
const CLI = commandLine(
  'lifeboat topics',
  `usage:
  lifeboat topics backup  --spec <cluster.yaml> (--topics <a,b> | --regex <re>) [--incremental] [--tag <t>] [--json]
  lifeboat topics restore --spec <cluster.yaml> --snapshot <ref> [--target-spec <cluster.yaml>] [--topics <a,b>]
                          [--rename <src=dst,..>] [--until <ISO time|epoch ms>] [--until-offsets <topic:partition=offset,..>]
                          [--offset-map <file>] [--json]
--snapshot reads the --spec cluster's repository; restore writes to --target-spec (default: --spec).
A killed restore resumes without duplicates when re-run with the same --offset-map.`,
  [
    specOption,
    describe(targetSpec, 'restore: the cluster to write to (default: --spec)'),
    describe(topicList, 'backup: the topics to back up; restore: only these topics of the snapshot'),
    regex('regex', 'backup: the topics whose names match'),
    describe(incremental, "backup: from the previous topic snapshot's end"),
    tags,
    describe(snapshot, "restore: the topic snapshot (of the --spec cluster's repository)"),
    list('rename', '<src=dst,..>', 'restore: write topic src as dst', (item) => {
      const [from, to, ...more] = item.split('=');
      if (!from || !to || more.length) throw new BadValue(`items look like source=target, got "${item}"`);
      return [from, to] as const;
    }),
    text('until', '<ISO time|epoch ms>', 'restore: only records up to this time', (raw) => {
      const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
      if (!Number.isFinite(ms)) throw new BadValue(`must be an ISO-8601 time or epoch milliseconds, got "${raw}"`);
      return ms;
    }),
    list('until-offsets', '<topic:partition=offset,..>', 'restore: only records before these offsets', (item) => {
      const m = /^(.+):(\d+)=(\d+)$/.exec(item);
      if (!m) throw new BadValue(`items look like topic:partition=offset, got "${item}"`);
      return { topic: m[1]!, partition: m[2]!, offset: Number(m[3]) };
    }),
    text('offset-map', '<file>', 'restore: the offset map (original → new offsets); the same file resumes a restore'),
    json,
  ],
);

function pointInTime(timestamp: number | undefined, offsets: { topic: string; partition: string; offset: number }[] | undefined): PointInTime | undefined {
  if (timestamp === undefined && !offsets) return undefined;
  const pit: PointInTime = {};
  if (timestamp !== undefined) pit.timestamp = timestamp;
  if (offsets) {
    pit.offsets = {};
    for (const o of offsets) (pit.offsets[o.topic] ??= {})[o.partition] = o.offset;
  }
  return pit;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, rest] = subcommand(argv, CLI.usage);
  const { values } = CLI.parse(rest);
  const spec = requireSpec(values.spec, CLI);
  const out = output(values.json ?? false);
  // For people: a bar (or a line every 2 s); with --json: a JSON status line every 2 s, as before.
  const view = out.view();
  let lastReport = 0;
  const every = (fn: () => void) => {
    if (Date.now() - lastReport > 2000) {
      lastReport = Date.now();
      fn();
    }
  };

  if (sub === 'backup') {
    if (!values.topics && !values.regex) throw CLI.error('give --topics <a,b> or --regex <re>');
    const pattern = values.regex;
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true }); // a backup may create the repository
    try {
      let parent: { id: string; points?: Record<string, Record<string, number>> } | undefined;
      if (values.incremental) {
        const prev = (await repo.snapshots({ cluster: spec.name, component: 'topics' })).at(-1);
        if (prev) parent = { id: prev.id, points: (prev.points as { topics?: Record<string, Record<string, number>> }).topics };
      }
      const { meta, value: r } = await repo.saveSnapshot(
        { cluster: spec.name, components: ['topics'], tags: values.tag ?? ['topics'], ...(parent ? { parent: parent.id } : {}) },
        async (w) => {
          const r = await backupTopics(kafkaFor(spec), w, {
            topics: values.topics,
            pattern,
            from: parent?.points,
            onProgress: (p) =>
              out.json
                ? every(() => out.progress(`${p.totalRecords} records, ${(p.totalBytes / 1e6).toFixed(1)} MB`, { ...p }))
                : view.update({ phase: 'topics backup', done: p.totalBytes, unit: 'bytes', subject: `${p.totalRecords} records; ${p.topic}-${p.partition}` }),
          });
          w.setExtra('topics', { records: r.records, bytes: r.bytes, durationMs: r.durationMs });
          return r;
        },
      );
      const lines = [`snapshot ${meta.id.slice(0, 12)}${parent ? ` (incremental on ${parent.id.slice(0, 12)})` : ''}: ${r.records} records, ${(r.bytes / 1e6).toFixed(1)} MB in ${(r.durationMs / 1000).toFixed(1)} s`];
      for (const t of r.topics) lines.push(`  ${t.topic}: ${t.partitions} partitions, ${t.records} records${t.gaps ? `, ${t.gaps} offset gaps` : ''}`);
      view.stop();
      out.result({ snapshot: meta.id, parent: parent?.id, ...r }, lines.join('\n'));
    } finally {
      view.stop();
      await repo.close();
    }
    return EXIT.OK;
  }

  if (sub === 'restore') {
    if (!values.snapshot) throw CLI.error('--snapshot <ref> is required');
    const target = values['target-spec'] ? loadSpec(values['target-spec']) : spec;
    const rename = Object.fromEntries(values.rename ?? []);
    const until = pointInTime(values.until, values['until-offsets']);
    const repo = await openRepositoryForSpec(spec);
    try {
      const chain = await topicChain(repo, values.snapshot, spec.name);
      const id = chain.at(-1)!.meta.id;
      const mapFile = values['offset-map'] ?? join(homedir(), '.cache', 'lifeboat', 'offset-maps', `${target.name}-${id.slice(0, 12)}.map`);
      out.progress(`restoring from snapshot ${id.slice(0, 12)} into ${target.name}; offset map ${mapFile}`);
      // A target nobody answers on: exit 18 at once (not kafkajs's retry chain).
      await assertBootstrapReachable(target.name, target.kafka.bootstrapServers);
      const r = await restoreTopics(kafkaFor(target), {
        snapshots: chain,
        topics: values.topics,
        rename,
        until,
        offsetMapFile: mapFile,
        critical: target.topics.critical,
        onProgress: (p) =>
          out.json
            ? every(() => out.progress(`${p.target}: ${p.totalRecords} records restored`, { ...p }))
            : view.update({ phase: 'topics restore', done: p.totalRecords, unit: 'records', subject: `${p.target}-${p.partition}` }),
      });
      const lines = [`restored ${r.records} records (${(r.bytes / 1e6).toFixed(1)} MB) into ${target.name} in ${(r.durationMs / 1000).toFixed(1)} s; offset map ${r.offsetMapFile}`];
      for (const t of r.topics) {
        lines.push(`  ${t.topic} → ${t.target}: ${t.restored} restored${t.alreadyPresent ? `, ${t.alreadyPresent} found from an earlier run` : ''}${t.created ? ' (created)' : ''}`);
        for (const w of t.warnings) lines.push(`  WARNING: ${w}`);
      }
      view.stop();
      out.result({ snapshot: id, target: target.name, ...r }, lines.join('\n'));
      return r.topics.some((t) => t.warnings.length) ? EXIT.PARTIAL : EXIT.OK;
    } finally {
      view.stop();
      await repo.close();
    }
  }
  throw CLI.error(`unknown subcommand "topics ${sub}"`);
}
