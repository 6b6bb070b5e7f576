/**
 * `lifeboat backup --spec <file>`: one backup set as a workflow (ID backup-<cluster>, one at a time);
 * `lifeboat backup sets --spec <file>`: the sets in the repository, newest last, complete or not,
 * with what each can restore; `lifeboat backup forget`: the sets' retention (as after a backup).
 */
import { coverageLabel, coverageOf } from '../../backup/coverage.pure';
import { listBackupSets } from '../../backup/parts';
import { applySetRetention, type RetentionResult } from '../../backup/retention';
import { type BackupInput, type BackupTier, defaultParts, invalidParts, TIERS } from '../../backup/plan.pure';
import { EXIT, LifeboatError } from '../../errors';
import { openRepositoryForSpec } from '../../repository';
import { renderMarkdown } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import type { ClusterSpec } from '../../config/spec';
import { choice, cold, commandLine, describe, dryRun, flag, incremental, json, noWait, offsite, parts, spec as specOption, topicList } from '../options';
import { type Output, output, requireSpec } from '../output';
import { connectTemporal, startRun } from '../../temporal/runs';
import { follow } from '../follow';

export const summary = 'take a backup set of a cluster (as a workflow), or list the sets';
const CLI = commandLine(
  'lifeboat backup',
  `usage:
  lifeboat backup --spec <cluster.yaml> [--tier hourly|daily|weekly|monthly|manual] [--parts p,..]
                  [--incremental] [--cold] [--topics a,b] [--skip-retention] [--skip-offsite]
                  [--dry-run] [--no-wait] [--json]
  lifeboat backup sets --spec <cluster.yaml> [--offsite] [--json]
  lifeboat backup forget --spec <cluster.yaml> [--dry-run] [--json]
      retention of sets by the spec's policy in the repository and the off-site one, then prune;
      each set with what it can restore ("full", or "partial: <parts>")`,
  [
    specOption,
    choice('tier', TIERS, 'the tier the set is kept as (default: manual)'),
    describe(parts, "what to back up: zookeeper, kafka-metadata, topics, configs:<broker id>, logdirs:<broker id> (default: zookeeper, kafka-metadata and every broker's configs and log dirs)"),
    describe(incremental, 'only what changed since the previous set'),
    describe(cold, 'cold log-dir copies: stop each broker, copy, start it'),
    describe(topicList, 'a logical backup of these topics (adds the topics part)'),
    flag('skip-retention', "do not apply the spec's retention after the backup"),
    flag('skip-offsite', 'do not copy the set to the off-site repository'),
    describe(offsite, 'backup sets: list the off-site repository'),
    dryRun,
    noWait,
    json,
  ],
);

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'health') return (await import('./backupHealth')).run(argv.slice(1));
  const { values, positionals } = CLI.parse(argv);
  const spec = requireSpec(values.spec, CLI);
  const out = output(values.json ?? false);
  if (!spec.repository) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository section`);

  const brokerIds = spec.brokers.map((b) => b.id);
  if (positionals[0] === 'sets') {
    if (values.offsite && !spec.offsiteRepository) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no offsiteRepository section`);
    const repo = await openRepositoryForSpec(spec, values.offsite ? 'offsite' : 'primary');
    try {
      const sets = await listBackupSets(repo, spec.name);
      const covered = sets.map((s) => ({ ...s, coverage: coverageOf(Object.keys(s.snapshots), brokerIds) }));
      const lines = covered.map(
        (s) =>
          `${s.setId}  ${s.time}  ${s.tier.padEnd(7)}  ${s.complete ? 'complete  ' : 'INCOMPLETE'}  ${Object.keys(s.snapshots).length}/${s.parts.length} parts  ` +
          coverageLabel(s.coverage),
      );
      out.result({ sets: covered }, lines.length ? lines.join('\n') : `no backup sets of ${spec.name} in ${repo.path}`);
      return EXIT.OK;
    } finally {
      await repo.close();
    }
  }
  if (positionals[0] === 'forget') return forget(spec, values['dry-run'] ?? false, out);
  if (positionals.length) throw CLI.error(`unknown subcommand "backup ${positionals[0]}"`);

  const tier: BackupTier = values.tier ?? 'manual';
  const parts = values.parts ?? defaultParts(spec, { topics: values.topics !== undefined });
  const bad = invalidParts(spec, parts);
  if (bad.length) throw new LifeboatError('InvalidInput', `unknown backup parts for ${spec.name}: ${bad.join(', ')}`);
  const input: BackupInput = {
    spec,
    tier,
    parts,
    incremental: values.incremental ?? false,
    logdirMode: values.cold ? 'cold' : 'hot',
    topics: values.topics,
    skipRetention: values['skip-retention'] ?? false,
    skipOffsite: values['skip-offsite'] ?? false,
    dryRun: values['dry-run'] ?? false,
  };
  const t = await connectTemporal();
  try {
    const workflowId = `backup-${spec.name}`;
    await startRun(t.client, 'backup', { workflowId, args: [input], summary: `${input.dryRun ? 'Plan: ' : ''}${tier} backup of ${spec.name}` });
    if (values['no-wait']) {
      out.result({ workflowId, ui: workflowUiLink(t.settings, workflowId) }, `started ${workflowId}\n${workflowUiLink(t.settings, workflowId) ?? ''}`);
      return EXIT.OK;
    }
    const r = await follow<'backup'>(t, workflowId, out);
    const head = r.parts.length ? `backup set ${r.setId} (${tier}), ${r.parts.length} parts:\n${r.parts.map((p) => `  ${p.part.padEnd(15)} ${p.snapshot.slice(0, 12)}  ${p.summary}`).join('\n')}\n\n` : '';
    out.result({ ...r }, head + renderMarkdown({ ...r.report, uiLink: workflowUiLink(t.settings, r.report.workflowId, r.report.runId) }));
    return r.report.outcome === 'succeeded' || r.report.outcome === 'planned' ? EXIT.OK : EXIT.PARTIAL;
  } finally {
    await t.close();
  }
}

/** Set retention in the primary and the off-site repository, as the backup workflow runs it, with each set's coverage. */
async function forget(spec: ClusterSpec, dryRun: boolean, out: Output): Promise<number> {
  const results: Record<string, RetentionResult> = {};
  const text: string[] = [];
  for (const which of spec.offsiteRepository ? (['primary', 'offsite'] as const) : (['primary'] as const)) {
    const repo = await openRepositoryForSpec(spec, which);
    try {
      const r = await applySetRetention(repo, spec.name, spec.retention, { dryRun, brokerIds: spec.brokers.map((b) => b.id) });
      results[which] = r;
      text.push(`${which === 'primary' ? 'repository' : 'off-site repository'} ${repo.path}:`);
      const rows = [
        ...r.keep.map((k) => ({ ...k, action: 'keep', why: ` (${k.reasons.join('; ')})` })),
        ...r.remove.map((x) => ({ ...x, action: dryRun ? 'would remove' : 'removed', why: x.complete ? '' : ' (incomplete)' })),
      ].sort((a, b) => (a.time < b.time ? -1 : 1));
      for (const x of rows) text.push(`  ${x.action.padEnd(12)}  ${x.setId}  ${x.time}  ${x.tier.padEnd(7)}  ${coverageLabel(x.coverage)}${x.why}`);
      text.push(`  ${r.keep.length} kept, ${r.remove.length} ${dryRun ? 'would be removed (dry run)' : `removed (${(r.prunedBytes / 1e6).toFixed(1)} MB freed)`}`);
    } finally {
      await repo.close();
    }
  }
  out.result({ dryRun, ...results }, text.join('\n'));
  return EXIT.OK;
}
