/** `lifeboat approve <workflow-id> [--reject] [--by <name>] [--comment <text>]`: answer an approval gate. */
import { userInfo } from 'node:os';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { EXIT, LifeboatError } from '../../errors';
import { output, parseCli } from '../output';
import { connectTemporal } from '../temporal';

export const summary = 'approve (or --reject) the destructive step a workflow waits at';
const USAGE = 'usage: lifeboat approve <workflow-id> [--reject] [--by <name>] [--comment <text>] [--json]';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    { reject: { type: 'boolean' }, by: { type: 'string' }, comment: { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
  );
  const id = positionals[0];
  if (!id) throw new LifeboatError('InvalidInput', USAGE);
  const out = output(values.json ?? false);
  const t = await connectTemporal();
  try {
    const input = { approve: !values.reject, by: values.by ?? userInfo().username, comment: values.comment };
    const res = await t.client.workflow
      .getHandle(id)
      .executeUpdate<{ step: string; approved: boolean; by: string }, [typeof input]>('approve', { args: [input] })
      .catch((e: unknown) => {
        if (e instanceof WorkflowUpdateFailedError) throw new LifeboatError('InvalidInput', `${id}: ${(e.cause as Error | undefined)?.message ?? e.message}`);
        throw e;
      });
    out.result(res as unknown as Record<string, unknown>, `${res.approved ? 'approved' : 'rejected'} "${res.step}" of ${id} as ${res.by}`);
    return EXIT.OK;
  } finally {
    await t.close();
  }
}
