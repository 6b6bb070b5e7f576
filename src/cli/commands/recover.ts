/**
 * `lifeboat recover broker|cluster --spec <file>`: recoveries as workflows under the ID
 * recover-<cluster>, so two recoveries of one cluster cannot run at once.
 */
import { invalidParts } from '../../backup/plan.pure';
import { EXIT, LifeboatError } from '../../errors';
import { renderMarkdown, type RunReport } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import { brokerId, choice, commandLine, describe, dryRun, isoTime, json, noWait, parts, readData, spec, text, yes } from '../options';
import { output } from '../output';
import { requireSpec } from '../requireSpec';
import { connectTemporal, startRun, type WorkflowArgs } from '../../temporal/runs';
import { follow } from '../follow';

export const summary = 'recover a broker or a whole cluster from its backups, as a workflow';
const CLI = commandLine(
  'lifeboat recover',
  `usage:
  lifeboat recover broker  --spec <cluster.yaml> --broker <id> [--dry-run] [--yes] [--no-wait] [--failure-time <ISO>] [--json]
  lifeboat recover cluster --spec <cluster.yaml> [--set <backup set id>] [--parts p,..] [--read-data]
                           [--zk-mode overwrite|mirror] [--dry-run] [--yes] [--no-wait] [--failure-time <ISO>] [--json]`,
  [
    spec,
    text('broker', '<id>', 'the broker to recover (recover broker)', brokerId),
    text('set', '<backup set id>', 'recover from this set (default: the newest complete set that covers a full recovery)'),
    describe(parts, 'restore only these parts (zookeeper, registry, configs:<id>, logdirs:<id>, topics); the set must hold them. Without it the set must cover the whole cluster'),
    describe(readData, "read all of the set's log-dir and topics data before the approval (default: a sample)"),
    choice('zk-mode', ['overwrite', 'mirror'], 'how ZooKeeper is restored (default: overwrite)'),
    describe(dryRun, 'plan only (for a cluster: which set, and why), change nothing'),
    yes,
    noWait,
    text('failure-time', '<ISO>', 'when the failure happened (for the RPO)', isoTime),
    json,
  ],
);

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = CLI.parse(argv);
  const what = positionals[0];
  if (what !== 'broker' && what !== 'cluster') throw CLI.error(what === undefined ? 'what to recover is required: recover broker or recover cluster' : `recover broker or recover cluster, got "${what}"`);
  if (positionals.length > 1) throw CLI.error(`unexpected argument "${positionals[1]}"`);
  const spec = requireSpec(values.spec, CLI);
  const failureTime = values['failure-time'];
  const common = { spec, dryRun: values['dry-run'] ?? false, autoApprove: values.yes ?? false, failureTime };

  let run: { workflow: 'brokerRecovery'; args: WorkflowArgs<'brokerRecovery'> } | { workflow: 'fullClusterRecovery'; args: WorkflowArgs<'fullClusterRecovery'> };
  let title: string;
  if (what === 'broker') {
    const brokerId = values.broker;
    if (brokerId === undefined) throw CLI.error('--broker <id> is required');
    if (!spec.brokers.some((b) => b.id === brokerId)) throw new LifeboatError('InvalidInput', `spec ${spec.name} has no broker ${brokerId}`);
    if (values.parts !== undefined || values['read-data'] || values.set !== undefined || values['zk-mode'] !== undefined)
      throw CLI.error('--set, --parts, --read-data and --zk-mode are options of recover cluster');
    [run, title] = [{ workflow: 'brokerRecovery', args: [{ ...common, brokerId }] }, `recover broker ${brokerId} of ${spec.name}`];
  } else {
    const zkMode = values['zk-mode'];
    if (!spec.repository) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository section: there is nothing to recover from`);
    const parts = values.parts;
    const bad = parts ? invalidParts(spec, parts) : [];
    if (bad.length) throw new LifeboatError('InvalidInput', `unknown parts for ${spec.name}: ${bad.join(', ')} (zookeeper, kafka-metadata, registry, topics, configs:<broker id>, logdirs:<broker id>)`);
    const verifyData = values['read-data'] ? 'all' : 'sample';
    [run, title] = [{ workflow: 'fullClusterRecovery', args: [{ ...common, setId: values.set, zkMode: zkMode as 'overwrite' | 'mirror' | undefined /* checked above */, parts, verifyData }] }, `recover cluster ${spec.name}${parts ? ` (${parts.join(',')})` : ''}`];
  }

  const out = output(values.json ?? false);
  const t = await connectTemporal();
  try {
    const workflowId = `recover-${spec.name}`;
    const start = { workflowId, summary: `${common.dryRun ? 'Plan: ' : ''}${title}` };
    await (run.workflow === 'brokerRecovery' ? startRun(t.client, run.workflow, { ...start, args: run.args }) : startRun(t.client, run.workflow, { ...start, args: run.args }));
    if (values['no-wait']) {
      out.result({ workflowId, ui: workflowUiLink(t.settings, workflowId) }, `started ${workflowId}\n${workflowUiLink(t.settings, workflowId) ?? ''}`);
      return EXIT.OK;
    }
    const report: RunReport = await follow<typeof run.workflow>(t, workflowId, out);
    out.result({ report }, renderMarkdown({ ...report, uiLink: workflowUiLink(t.settings, report.workflowId, report.runId) }));
    return report.outcome === 'succeeded' || report.outcome === 'planned' ? EXIT.OK : EXIT.PARTIAL;
  } finally {
    await t.close();
  }
}
