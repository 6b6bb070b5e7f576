/**
 * `lifeboat backup --spec <file>`: one backup set as a workflow (ID backup-<cluster>, one at a time);
 * `lifeboat backup sets --spec <file>`: the sets in every repository tier, newest last, complete or
 * not, with what each can restore, which tiers hold it and whether it is protected (3-2-1);
 * `lifeboat backup forget`: the sets' retention in every tier (as after a backup).
 */
import { coverageLabel, coverageOf } from '../../backup/coverage.pure';
import { heldParts } from '../../backup/parts';
import { applySetRetention, READERS_UNKNOWN, type RetentionResult } from '../../backup/retention';
import { runningBackupSets, runningSetReaders } from '../../backup/running';
import { type BackupInput, type BackupTier, defaultParts, invalidParts, TIERS } from '../../backup/plan.pure';
import { EXIT, isLifeboatError, LifeboatError } from '../../errors';
import { OFFSITE_TIER, placementOf, PRIMARY_TIER, repositoryTiers, setsByTier, tierOf, withTier } from '../../backup/tiers';
import { openRepositoryForSpec } from '../../repository';
import { renderMarkdown } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import type { ClusterSpec } from '../../config/spec';
import { choice, cold, commandLine, describe, dryRun, flag, incremental, json, noWait, offsite, parts, spec as specOption, text, topicList } from '../options';
import { type Output, output } from '../output';
import { requireSpec } from '../requireSpec';
import { connectTemporal, startRun } from '../../temporal/runs';
import { follow } from '../follow';

export const summary = 'take a backup set of a cluster (as a workflow), or list the sets';
const CLI = commandLine(
  'lifeboat backup',
  `usage:
  lifeboat backup --spec <cluster.yaml> [--tier hourly|daily|weekly|monthly|manual] [--parts p,..]
                  [--incremental] [--cold] [--topics a,b] [--skip-retention] [--skip-offsite]
                  [--dry-run] [--no-wait] [--json]
  lifeboat backup sets --spec <cluster.yaml> [--tier-repo <name> | --offsite] [--json]
      every set in every repository tier (primary, offsite, tiers[]): what it can restore ("full",
      or "partial: <parts>"), which tiers hold it, and whether it is protected (3-2-1: two media,
      one copy off-site); --tier-repo lists one tier only
  lifeboat backup forget --spec <cluster.yaml> [--tier-repo <name>] [--dry-run] [--json]
      retention of sets in every tier (each by its own retention, else the spec's), then prune
  lifeboat backup health --spec <cluster.yaml> [--json]
      the backup monitor's verdicts (fresh, verified, off-site, scheduled, protected); --help for more`,
  [
    specOption,
    choice('tier', TIERS, 'the tier the set is kept as (default: manual)'),
    describe(parts, "what to back up: zookeeper, kafka-metadata, topics, configs:<broker id>, logdirs:<broker id> (default: zookeeper, kafka-metadata and every broker's configs and log dirs)"),
    describe(incremental, 'only what changed since the previous set'),
    describe(cold, 'cold log-dir copies: stop each broker, copy, start it'),
    describe(topicList, 'a logical backup of these topics (adds the topics part)'),
    flag('skip-retention', "do not apply the spec's retention after the backup"),
    flag('skip-offsite', 'do not copy the set down the tiers (the off-site repository and tiers[])'),
    describe(offsite, 'backup sets: list the off-site repository only (as --tier-repo offsite)'),
    text('tier-repo', '<name>', 'backup sets / forget: this repository tier only (primary, offsite, or a tiers[] name)'),
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

  if (values.offsite && values['tier-repo'] !== undefined) throw CLI.error('give --tier-repo or --offsite, not both');
  const only = values.offsite ? OFFSITE_TIER : values['tier-repo'];
  if (only !== undefined && !tierOf(spec, only)) {
    if (only === OFFSITE_TIER) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no offsiteRepository section`);
    throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no repository tier "${only}" (its tiers: ${repositoryTiers(spec).map((t) => t.name).join(', ')})`);
  }
  if (positionals[0] === 'sets') return sets(spec, only, out);
  if (positionals[0] === 'forget') return forget(spec, only, values['dry-run'] ?? false, out);
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

/**
 * Where each set lives: every tier's sets merged by set id. A tier that cannot be opened is named
 * (the others are still listed); asked for alone, its error is the command's.
 */
async function sets(spec: ClusterSpec, only: string | undefined, out: Output): Promise<number> {
  const brokerIds = spec.brokers.map((b) => b.id);
  const byTier = await setsByTier(spec, only);
  // The primary, or the one tier asked for, that cannot be read: its error is the command's (as before tiers).
  const first = byTier[0]!;
  if (!first.reachable && (only || first.tier.name === PRIMARY_TIER)) await withTier(spec, first.tier.name, async () => undefined);
  // A tier no copy reached yet is empty, not broken; anything else is named and makes the exit code PARTIAL.
  const unreachable = byTier.filter((t) => !t.reachable && !t.missing);
  const placed = placementOf(byTier).map((p) => ({ ...p.set, where: p.where, protection: p.protection, coverage: coverageOf(heldParts(p.set), brokerIds) }));
  const names = byTier.map((t) => t.tier.name);
  const lines = placed.map((s) => {
    const where = names.map((n) => (s.where[n] === 'complete' ? n : s.where[n] ? `${n}(incomplete)` : '-')).join(' ');
    const prot = byTier.length > 1 ? `  ${s.protection.protected ? 'protected' : `NOT PROTECTED (${s.protection.missing})`}` : '';
    return (
      `${s.setId}  ${s.time}  ${s.tier.padEnd(7)}  ${s.complete ? 'complete  ' : 'INCOMPLETE'}  ${Object.keys(s.snapshots).length}/${s.parts.length} parts  ` +
      `${coverageLabel(s.coverage)}  in: ${where}${prot}`
    );
  });
  const head = byTier.map((t) => `tier ${t.tier.name.padEnd(8)} ${t.tier.medium.padEnd(7)} ${t.tier.offsite ? 'off-site' : 'on-site '}  ${t.tier.location}${t.reachable ? `  ${t.sets.length} sets` : t.missing ? '  no repository yet' : `  UNREACHABLE: ${t.error}`}`);
  const tiers = byTier.map((t) => ({ name: t.tier.name, medium: t.tier.medium, offsite: t.tier.offsite, location: t.tier.location, reachable: t.reachable, ...(t.error ? { error: t.error } : {}), sets: t.sets.length }));
  const body = lines.length ? lines.join('\n') : `no backup sets of ${spec.name} in ${byTier.map((t) => t.tier.location).join(', ')}`;
  out.result({ tiers, sets: placed }, byTier.length > 1 ? `${head.join('\n')}\n\n${body}` : body);
  return unreachable.length ? EXIT.PARTIAL : EXIT.OK;
}

/** Set retention in every tier (or the one asked for), as the backup workflow runs it, with each set's coverage. */
async function forget(spec: ClusterSpec, only: string | undefined, dryRun: boolean, out: Output): Promise<number> {
  const results: Record<string, RetentionResult> = {};
  const text: string[] = [];
  // A backup still running has an incomplete set that must stay: Temporal says which run; without it none goes.
  // A recovery, drill or migration reading the cluster's sets holds them all.
  const [running, readers] = await connectTemporal()
    .then(async (t) => {
      try {
        return await Promise.all([runningBackupSets(t.client), runningSetReaders(t.client, spec.name)]);
      } finally {
        await t.close();
      }
    })
    .catch(() => [undefined, undefined] as const);
  if (!readers) text.push('Temporal did not say which runs read the sets: nothing is removed (a recovery, a drill or a migration may be reading one)');
  else if (!running) text.push('Temporal did not say which backups run: incomplete sets are kept (a backup may still be writing them)');
  for (const tier of repositoryTiers(spec)) {
    if (only && tier.name !== only) continue;
    const repo = await openRepositoryForSpec(spec, tier.name).catch((e: unknown) => {
      // A tier no copy reached yet holds nothing to retain.
      if (tier.name !== PRIMARY_TIER && isLifeboatError(e) && e.type === 'RepositoryNotFound' && !only) return undefined;
      throw e;
    });
    if (!repo) {
      text.push(`tier ${tier.name} ${tier.location}: no repository yet (no set copied there)`);
      continue;
    }
    try {
      const r = await applySetRetention(repo, spec.name, tier.retention, { dryRun, brokerIds: spec.brokers.map((b) => b.id), running, readers: readers ?? READERS_UNKNOWN });
      results[tier.name] = r;
      text.push(`${tier.name === PRIMARY_TIER ? 'repository' : tier.name === OFFSITE_TIER ? 'off-site repository' : `tier ${tier.name}`} ${repo.path}:`);
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
