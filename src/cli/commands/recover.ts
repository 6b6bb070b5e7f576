/**
 * `lifeboat recover broker|cluster --spec <file>`: recoveries as workflows under the ID
 * recover-<cluster>, so two recoveries of one cluster cannot run at once.
 */
import { invalidParts } from '../../backup/plan.pure';
import { EXIT, LifeboatError } from '../../errors';
import { renderMarkdown, type RunReport } from '../../report/report.pure';
import { TASK_QUEUE, workflowUiLink } from '../../temporal/connection';
import { output, parseCli, requireSpec } from '../output';
import { connectTemporal, follow, startUnique } from '../temporal';

export const summary = 'recover a broker or a whole cluster from its backups, as a workflow';
const USAGE = `usage:
  lifeboat recover broker  --spec <cluster.yaml> --broker <id> [options]
  lifeboat recover cluster --spec <cluster.yaml> [--set <backup set id>] [--parts p,..] [--read-data]
                           [--zk-mode overwrite|mirror] [options]
options:
  --parts <p,..>        restore only these parts (zookeeper, registry, configs:<id>, logdirs:<id>, topics);
                        the set must hold them. Without it the set must cover the whole cluster
  --read-data           read all of the set's log-dir and topics data before the approval (default: a sample)
  --dry-run             plan only (for a cluster: which set, and why), change nothing
  --yes                 approve the destructive steps up front (otherwise: lifeboat approve <workflow id>)
  --no-wait             start and print the workflow ID
  --failure-time <ISO>  when the failure happened (for the RPO)
  --json                machine-readable output`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      spec: { type: 'string' },
      broker: { type: 'string' },
      set: { type: 'string' },
      'zk-mode': { type: 'string' },
      parts: { type: 'string' },
      'read-data': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      yes: { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      'failure-time': { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const what = positionals[0];
  if (what !== 'broker' && what !== 'cluster') throw new LifeboatError('InvalidInput', USAGE);
  const spec = requireSpec(values.spec, USAGE);
  const failureTime = values['failure-time'];
  if (failureTime !== undefined && Number.isNaN(Date.parse(failureTime))) throw new LifeboatError('InvalidInput', `--failure-time must be an ISO time, got "${failureTime}"`);
  const common = { spec, dryRun: values['dry-run'] ?? false, autoApprove: values.yes ?? false, failureTime };

  let workflow: string;
  let input: Record<string, unknown>;
  let title: string;
  if (what === 'broker') {
    if (values.broker === undefined) throw new LifeboatError('InvalidInput', `--broker is required\n${USAGE}`);
    const brokerId = Number(values.broker);
    if (!spec.brokers.some((b) => b.id === brokerId)) throw new LifeboatError('InvalidInput', `spec ${spec.name} has no broker ${values.broker}`);
    if (values.parts !== undefined || values['read-data']) throw new LifeboatError('InvalidInput', `--parts and --read-data are options of recover cluster\n${USAGE}`);
    [workflow, input, title] = ['brokerRecovery', { ...common, brokerId }, `recover broker ${brokerId} of ${spec.name}`];
  } else {
    const zkMode = values['zk-mode'];
    if (zkMode !== undefined && zkMode !== 'overwrite' && zkMode !== 'mirror') throw new LifeboatError('InvalidInput', `--zk-mode is overwrite or mirror, got "${zkMode}"`);
    if (!spec.repository) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository section: there is nothing to recover from`);
    const parts = values.parts?.split(',').map((p) => p.trim()).filter(Boolean);
    if (values.parts !== undefined && !parts?.length) throw new LifeboatError('InvalidInput', `--parts needs a list of parts, e.g. --parts configs:1,configs:2\n${USAGE}`);
    const bad = parts ? invalidParts(spec, parts) : [];
    if (bad.length) throw new LifeboatError('InvalidInput', `unknown parts for ${spec.name}: ${bad.join(', ')} (zookeeper, kafka-metadata, registry, topics, configs:<broker id>, logdirs:<broker id>)`);
    const verifyData = values['read-data'] ? 'all' : 'sample';
    [workflow, input, title] = ['fullClusterRecovery', { ...common, setId: values.set, zkMode, parts, verifyData }, `recover cluster ${spec.name}${parts ? ` (${parts.join(',')})` : ''}`];
  }

  const out = output(values.json ?? false);
  const t = await connectTemporal();
  try {
    const workflowId = `recover-${spec.name}`;
    await startUnique(t, workflow, workflowId, [input], { taskQueue: TASK_QUEUE, summary: `${common.dryRun ? 'Plan: ' : ''}${title}` });
    if (values['no-wait']) {
      out.result({ workflowId, ui: workflowUiLink(t.settings, workflowId) }, `started ${workflowId}\n${workflowUiLink(t.settings, workflowId) ?? ''}`);
      return EXIT.OK;
    }
    const report = await follow<RunReport>(t, workflowId, out);
    out.result({ report }, renderMarkdown({ ...report, uiLink: workflowUiLink(t.settings, report.workflowId, report.runId) }));
    return report.outcome === 'succeeded' || report.outcome === 'planned' ? EXIT.OK : EXIT.PARTIAL;
  } finally {
    await t.close();
  }
}
