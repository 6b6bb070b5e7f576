/** `lifeboat approve <workflow-id> [--reject] [--by <name>] [--comment <text>]`: answer an approval gate. */
import { userInfo } from 'node:os';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { EXIT, LifeboatError } from '../../errors';
import { commandLine, flag, json, text, workflowIdArg } from '../options';
import { output } from '../output';
import { connectTemporal, describeRun } from '../../temporal/runs';

export const summary = 'approve (or --reject) the destructive step a workflow waits at';
const CLI = commandLine('lifeboat approve', 'usage: lifeboat approve <workflow-id> [--reject] [--by <name>] [--comment <text>] [--json]', [
  flag('reject', 'refuse: the run stops before the destructive step'),
  text('by', '<name>', 'who answers (default: the user running this)'),
  text('comment', '<text>', 'why, for the report'),
  json,
]);

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = CLI.parse(argv);
  const id = workflowIdArg(positionals, CLI);
  const out = output(values.json ?? false);
  const t = await connectTemporal();
  try {
    // An unknown ID is exit 14; a run that has ended has no gate to answer (exit 2, and where its report is).
    const { handle, desc } = await describeRun(t.client, id);
    const ended = (status: string, at?: Date) =>
      new LifeboatError('InvalidInput', `${id} has already ended (${status.toLowerCase()}${at ? ` at ${at.toISOString()}` : ''}): nothing waits for approval; see "lifeboat report ${id}"`);
    if (desc.status.name !== 'RUNNING') throw ended(desc.status.name, desc.closeTime);
    const input = { approve: !values.reject, by: values.by ?? userInfo().username, comment: values.comment };
    const res = await handle.executeUpdate<{ step: string; approved: boolean; by: string }, [typeof input]>('approve', { args: [input] }).catch(async (e: unknown) => {
      if (e instanceof WorkflowUpdateFailedError) throw new LifeboatError('InvalidInput', `${id}: ${(e.cause as Error | undefined)?.message ?? e.message}`);
      // It ended between the look and the answer.
      if (e instanceof WorkflowNotFoundError) {
        const now = await handle.describe().catch(() => undefined);
        throw ended(now?.status.name ?? 'ended', now?.closeTime);
      }
      throw e;
    });
    const remaining = (res as { remaining?: number }).remaining;
    // A gate that needs several approvers (the two-person rule) says how many more.
    const more = remaining ? `; ${remaining} more approver${remaining === 1 ? '' : 's'} needed` : '';
    out.result(res as unknown as Record<string, unknown>, `${res.approved ? 'approved' : 'rejected'} "${res.step}" of ${id} as ${res.by}${more}`);
    return EXIT.OK;
  } finally {
    await t.close();
  }
}
