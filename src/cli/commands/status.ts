/** `lifeboat status <workflow-id>`: a run's plan, current step, progress and pending approval. */
import { EXIT, LifeboatError } from '../../errors';
import { workflowUiLink } from '../../temporal/connection';
import { output, parseCli } from '../output';
import { connectTemporal, describeRun } from '../temporal';

export const summary = 'show the step, progress and plan of a running workflow';
const USAGE = 'usage: lifeboat status <workflow-id> [--json]';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { json: { type: 'boolean' } }, USAGE);
  const id = positionals[0];
  if (!id) throw new LifeboatError('InvalidInput', USAGE);
  const out = output(values.json ?? false);
  const t = await connectTemporal();
  try {
    const { handle, desc } = await describeRun(t, id);
    const s = await handle.query<{ step: string; plan: { title: string; status: string; detail?: string }[]; awaitingApproval?: { question: string } }>('status');
    const text = [
      `${id}: ${desc.status.name}, step ${s.step}`,
      ...s.plan.map((p) => `  [${p.status}] ${p.title}${p.detail ? ` — ${p.detail}` : ''}`),
      ...(s.awaitingApproval ? [`  waiting for approval: ${s.awaitingApproval.question} (lifeboat approve ${id})`] : []),
      `  ${workflowUiLink(t.settings, id) ?? ''}`,
    ].join('\n');
    out.result({ workflowId: id, status: desc.status.name, ...s }, text);
    return EXIT.OK;
  } finally {
    await t.close();
  }
}
