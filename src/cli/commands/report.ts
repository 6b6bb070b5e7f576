/** `lifeboat report <workflow-id> [--json]`: the final report of a finished run, as Markdown or JSON. */
import { EXIT, LifeboatError } from '../../errors';
import { renderMarkdown, type RunReport } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import { output, parseCli } from '../output';
import { connectTemporal, describeRun, workflowFailure } from '../temporal';

export const summary = 'print the report of a finished workflow (Markdown, or --json)';
const USAGE = 'usage: lifeboat report <workflow-id> [--json]';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { json: { type: 'boolean' } }, USAGE);
  const id = positionals[0];
  if (!id) throw new LifeboatError('InvalidInput', USAGE);
  const out = output(values.json ?? false);
  const t = await connectTemporal();
  try {
    const { handle, desc } = await describeRun(t, id);
    if (desc.status.name === 'RUNNING') throw new LifeboatError('InvalidInput', `${id} is still running; see "lifeboat status ${id}"`);
    const report = (await handle.result().catch((e: unknown) => {
      throw workflowFailure(e, id);
    })) as RunReport;
    out.result({ report }, renderMarkdown({ ...report, uiLink: workflowUiLink(t.settings, report.workflowId, report.runId) }));
    return EXIT.OK;
  } finally {
    await t.close();
  }
}
