/**
 * `lifeboat backup --spec <file>`: one backup set as a workflow (ID backup-<cluster>, one at a time);
 * `lifeboat backup sets --spec <file>`: the sets in the repository, newest last, complete or not.
 */
import { listBackupSets } from '../../backup/parts';
import { type BackupResult, type BackupTier, defaultParts, invalidParts, TIERS } from '../../backup/plan.pure';
import { EXIT, LifeboatError } from '../../errors';
import { openRepositoryForSpec } from '../../repository';
import { renderMarkdown } from '../../report/report.pure';
import { TASK_QUEUE, workflowUiLink } from '../../temporal/connection';
import { output, parseCli, requireSpec } from '../output';
import { connectTemporal, follow, startUnique } from '../temporal';

export const summary = 'take a backup set of a cluster (as a workflow), or list the sets';
const USAGE = `usage:
  lifeboat backup --spec <cluster.yaml> [--tier hourly|daily|weekly|monthly|manual] [--parts p,..]
                  [--incremental] [--cold] [--topics a,b] [--skip-retention] [--skip-offsite]
                  [--dry-run] [--no-wait] [--json]
  lifeboat backup sets --spec <cluster.yaml> [--json]
parts: zookeeper, kafka-metadata, topics, configs:<broker id>, logdirs:<broker id>
       (default: zookeeper, kafka-metadata and every broker's configs and log dirs)`;

const list = (s: string | undefined) => s?.split(',').map((x) => x.trim()).filter(Boolean);

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      spec: { type: 'string' },
      tier: { type: 'string' },
      parts: { type: 'string' },
      incremental: { type: 'boolean' },
      cold: { type: 'boolean' },
      topics: { type: 'string' },
      'skip-retention': { type: 'boolean' },
      'skip-offsite': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const spec = requireSpec(values.spec, USAGE);
  const out = output(values.json ?? false);
  if (!spec.repository) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository section`);

  if (positionals[0] === 'sets') {
    const repo = await openRepositoryForSpec(spec);
    try {
      const sets = await listBackupSets(repo, spec.name);
      const lines = sets.map(
        (s) => `${s.setId}  ${s.time}  ${s.tier.padEnd(7)}  ${s.complete ? 'complete  ' : 'INCOMPLETE'}  ${Object.keys(s.snapshots).length}/${s.parts.length} parts`,
      );
      out.result({ sets }, lines.length ? lines.join('\n') : `no backup sets of ${spec.name} in ${repo.path}`);
      return EXIT.OK;
    } finally {
      await repo.close();
    }
  }
  if (positionals.length) throw new LifeboatError('InvalidInput', `unknown subcommand "backup ${positionals[0]}"\n${USAGE}`);

  const tier = (values.tier ?? 'manual') as BackupTier;
  if (!TIERS.includes(tier)) throw new LifeboatError('InvalidInput', `--tier is one of ${TIERS.join(', ')}, got "${values.tier}"`);
  const parts = list(values.parts) ?? defaultParts(spec, { topics: values.topics !== undefined });
  const bad = invalidParts(spec, parts);
  if (bad.length) throw new LifeboatError('InvalidInput', `unknown backup parts for ${spec.name}: ${bad.join(', ')}\n${USAGE}`);
  const input = {
    spec,
    tier,
    parts,
    incremental: values.incremental ?? false,
    logdirMode: values.cold ? 'cold' : 'hot',
    topics: list(values.topics),
    skipRetention: values['skip-retention'] ?? false,
    skipOffsite: values['skip-offsite'] ?? false,
    dryRun: values['dry-run'] ?? false,
  };
  const t = await connectTemporal();
  try {
    const workflowId = `backup-${spec.name}`;
    await startUnique(t, 'backup', workflowId, [input], { taskQueue: TASK_QUEUE, summary: `${input.dryRun ? 'Plan: ' : ''}${tier} backup of ${spec.name}` });
    if (values['no-wait']) {
      out.result({ workflowId, ui: workflowUiLink(t.settings, workflowId) }, `started ${workflowId}\n${workflowUiLink(t.settings, workflowId) ?? ''}`);
      return EXIT.OK;
    }
    const r = await follow<BackupResult>(t, workflowId, out);
    const head = r.parts.length ? `backup set ${r.setId} (${tier}), ${r.parts.length} parts:\n${r.parts.map((p) => `  ${p.part.padEnd(15)} ${p.snapshot.slice(0, 12)}  ${p.summary}`).join('\n')}\n\n` : '';
    out.result({ ...r }, head + renderMarkdown({ ...r.report, uiLink: workflowUiLink(t.settings, r.report.workflowId, r.report.runId) }));
    return r.report.outcome === 'succeeded' || r.report.outcome === 'planned' ? EXIT.OK : EXIT.PARTIAL;
  } finally {
    await t.close();
  }
}
