/**
 * `lifeboat migrate --offline --spec src.yaml --target-spec dst.yaml`: the offlineMigration
 * workflow under the ID migrate-offline-<source>-to-<target>; called by migrate.ts for --offline.
 * What the specs alone show cannot be done offline (a KRaft side, the same cluster) is refused here,
 * before any run starts; the rest (a name clash, an active group, a broker map that does not cover
 * the source) by the run's plan step, before anything is touched.
 */
import { EXIT, LifeboatError } from '../../errors';
import { specProblems } from '../../migration/offline/plan';
import { parseBrokerMap } from '../../migration/offline/plan.pure';
import { renderMarkdown } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import { connectTemporal, startRun } from '../../temporal/runs';
import { follow } from '../follow';
import { BadValue, commandLine, describe, dryRun, flag, json, noWait, spec, targetSpec, text, yes } from '../options';
import { output } from '../output';
import { requireSpec } from '../requireSpec';
import { loadSpec } from '../../config/spec';
import { megabytes } from '../../report/report.pure';
import type { OfflinePlanSummary } from '../../../workflows/migration/offline';

const CLI = commandLine(
  'lifeboat migrate --offline',
  `usage:
  lifeboat migrate --offline --spec <source.yaml> --target-spec <target.yaml> [--broker-map 1=1,2=1,..]
                   [--dry-run] [--yes] [--restart-source] [--no-wait] [--json]`,
  [
    flag('offline', 'move the log dirs (brokers stopped) instead of mirroring'),
    describe(spec, 'the source cluster (ZooKeeper mode)'),
    describe(targetSpec, 'the target cluster (ZooKeeper mode, another chroot and cluster id)'),
    text('broker-map', '<src=dst,..>', 'which target broker takes each source broker\'s replicas (default: round robin in id order)', (raw) => {
      try {
        return parseBrokerMap(raw);
      } catch (e) {
        throw new BadValue((e as Error).message);
      }
    }),
    describe(dryRun, 'the plan only (brokers to stop, bytes to move, broker map, replication factor changes); nothing is touched'),
    yes,
    flag('restart-source', 'start the source brokers again at the end (default: they stay stopped)'),
    noWait,
    json,
  ],
);

function planText(p: OfflinePlanSummary): string {
  const lines = [
    `brokers to stop: ${p.brokersToStop.map((b) => `${b.cluster} ${b.brokers.join(', ')}`).join('; ')}`,
    `broker map (source → target): ${Object.entries(p.brokerMap).map(([s, d]) => `${s}→${d}`).join(', ')}`,
    `${p.topics.length} topics, ${p.partitions} partitions: ${megabytes(p.bytesToCopy)} into the repository, ${megabytes(p.bytesToRestore)} onto the target`,
    ...p.rfChanges.map((c) => `replication factor of ${c.topic}: ${c.from} → ${c.to}`),
    `copies: ${p.copyFrom}`,
    `topic ids: ${p.topicIds}`,
    `consumer groups (${p.groups.length}): ${p.groupOffsets}`,
    ...p.skipped.map((s) => `not moved: ${s.topic} (${s.reason})`),
  ];
  return lines.map((l) => `- ${l}`).join('\n');
}

export async function runOffline(argv: string[]): Promise<number> {
  const { values, positionals } = CLI.parse(argv);
  if (positionals.length) throw CLI.error(`unexpected argument "${positionals[0]}"`);
  const source = requireSpec(values.spec, CLI);
  if (!values['target-spec']) throw CLI.error('--target-spec <cluster.yaml> is required: the cluster to move to');
  const target = loadSpec(values['target-spec']);
  const problems = specProblems(source, target);
  if (problems.length) throw new LifeboatError('InvalidInput', problems[0]!);

  const out = output(values.json ?? false);
  const dry = values['dry-run'] ?? false;
  const t = await connectTemporal();
  try {
    const workflowId = `migrate-offline-${source.name}-to-${target.name}`;
    await startRun(t.client, 'offlineMigration', {
      workflowId,
      summary: `${dry ? 'Plan: ' : ''}offline migration ${source.name} → ${target.name}`,
      args: [{ source: { spec: source }, target: { spec: target }, brokerMap: values['broker-map'], dryRun: dry, autoApprove: values.yes ?? false, restartSource: values['restart-source'] ?? false }],
    });
    if (values['no-wait']) {
      out.result({ workflowId, ui: workflowUiLink(t.settings, workflowId) }, `started ${workflowId}\n${workflowUiLink(t.settings, workflowId) ?? ''}`);
      return EXIT.OK;
    }
    const report = await follow<'offlineMigration'>(t, workflowId, out);
    const md = renderMarkdown({ ...report, uiLink: workflowUiLink(t.settings, report.workflowId, report.runId) });
    out.result({ report }, report.plan ? `${md}\n\n## Plan\n${planText(report.plan)}` : md);
    return report.outcome === 'succeeded' || report.outcome === 'planned' ? EXIT.OK : EXIT.PARTIAL;
  } finally {
    await t.close();
  }
}
