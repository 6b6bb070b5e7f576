/** `lifeboat status <workflow-id>`: a run's plan, current step, progress and pending approval. */
import { defaultPayloadConverter } from '@temporalio/common';
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
    // What each running activity last reported in its heartbeat (files copied, znodes written, ...).
    const activities = (desc.raw.pendingActivities ?? []).map((a) => {
      const payload = a.heartbeatDetails?.payloads?.[0];
      let progress: unknown;
      try {
        progress = payload ? defaultPayloadConverter.fromPayload(payload as never) : undefined;
      } catch {
        progress = undefined;
      }
      return { activity: a.activityType?.name ?? '?', attempt: a.attempt ?? 1, progress, lastFailure: a.lastFailure?.message || undefined };
    });
    const text = [
      `${id}: ${desc.status.name}, step ${s.step}`,
      ...activities.map((a) => `  running ${a.activity} (attempt ${a.attempt})${a.progress ? `: ${JSON.stringify(a.progress)}` : ''}${a.lastFailure ? ` — last failure: ${a.lastFailure}` : ''}`),
      ...s.plan.map((p) => `  [${p.status}] ${p.title}${p.detail ? ` — ${p.detail}` : ''}`),
      ...(s.awaitingApproval ? [`  waiting for approval: ${s.awaitingApproval.question} (lifeboat approve ${id})`] : []),
      `  ${workflowUiLink(t.settings, id) ?? ''}`,
    ].join('\n');
    out.result({ workflowId: id, status: desc.status.name, ...s, activities }, text);
    return EXIT.OK;
  } finally {
    await t.close();
  }
}
