/**
 * `lifeboat recover broker --spec <file> --broker <id>`: single-broker recovery as a workflow
 * (ID recover-<cluster>, so two recoveries of one cluster cannot run at once).
 */
import { EXIT, LifeboatError } from '../../errors';
import { loadSpec } from '../../config/spec';
import { renderMarkdown, type RunReport } from '../../report/report.pure';
import { TASK_QUEUE, workflowUiLink } from '../../temporal/connection';
import { output, parseCli } from '../output';
import { connectTemporal, follow, startUnique } from '../temporal';

export const summary = 'recover a broker (or, later, a whole cluster) as a workflow';
const USAGE = `usage: lifeboat recover broker --spec <cluster.yaml> --broker <id> [--dry-run] [--yes] [--no-wait] [--json]
  --dry-run   plan only, change nothing        --yes      approve destructive steps up front
  --no-wait   start and return the workflow ID  --failure-time <ISO>  when the failure happened (for RPO)`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      spec: { type: 'string' },
      broker: { type: 'string' },
      'dry-run': { type: 'boolean' },
      yes: { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      'failure-time': { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (positionals[0] !== 'broker') throw new LifeboatError('InvalidInput', USAGE);
  if (!values.spec || values.broker === undefined) throw new LifeboatError('InvalidInput', `--spec and --broker are required\n${USAGE}`);
  const brokerId = Number(values.broker);
  const spec = loadSpec(values.spec);
  if (!spec.brokers.some((b) => b.id === brokerId)) throw new LifeboatError('InvalidInput', `spec ${spec.name} has no broker ${values.broker}`);
  const out = output(values.json ?? false);
  const t = await connectTemporal();
  try {
    const workflowId = `recover-${spec.name}`;
    const input = { spec, brokerId, dryRun: values['dry-run'] ?? false, autoApprove: values.yes ?? false, failureTime: values['failure-time'] };
    await startUnique(t, 'brokerRecovery', workflowId, [input], {
      taskQueue: TASK_QUEUE,
      summary: `${input.dryRun ? 'Plan: ' : ''}recover broker ${brokerId} of ${spec.name}`,
    });
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
