/** `lifeboat status <workflow-id>`: a run's plan, current step, running activities' progress and pending approval. */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { parseProgress, type Progress } from '../../core/progress';
import { EXIT } from '../../errors';
import { workflowUiLink } from '../../temporal/connection';
import { commandLine, json, workflowIdArg } from '../options';
import { output } from '../output';
import { formatProgress } from '../progressBar';
import { connectTemporal, describeRun } from '../../temporal/runs';

export const summary = 'show the step, progress and plan of a running workflow';
const CLI = commandLine('lifeboat status', 'usage: lifeboat status <workflow-id> [--json]', [json]);

export interface RunningActivity {
  activity: string;
  attempt: number;
  /** The activity's latest heartbeat as typed progress (phase, done/total, unit, subject). */
  progress?: Progress;
  /** The heartbeat as sent, when it is not typed progress (older workers, `waiting`). */
  details?: unknown;
  lastFailure?: string;
}

/** What each running activity last reported in its heartbeat, read as data from another process. */
export function runningActivities(desc: Pick<WorkflowExecutionDescription, 'raw'>): RunningActivity[] {
  return (desc.raw.pendingActivities ?? []).map((a) => {
    const payload = a.heartbeatDetails?.payloads?.[0];
    let details: unknown;
    try {
      details = payload ? defaultPayloadConverter.fromPayload(payload as never) : undefined;
    } catch {
      details = undefined; // an encoding this CLI does not read
    }
    const progress = parseProgress(details);
    return {
      activity: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      ...(progress ? { progress } : details !== undefined ? { details } : {}),
      ...(a.lastFailure?.message ? { lastFailure: a.lastFailure.message } : {}),
    };
  });
}

/** "  running restoreLogDirs (attempt 1): restore-logdirs: 1.20 GiB / 3.40 GiB (35%) — broker 2". */
export function activityLine(a: RunningActivity): string {
  const what = a.progress ? `: ${formatProgress(a.progress)}` : a.details !== undefined ? `: ${JSON.stringify(a.details)}` : '';
  return `  running ${a.activity} (attempt ${a.attempt})${what}${a.lastFailure ? ` — last failure: ${a.lastFailure}` : ''}`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = CLI.parse(argv);
  const id = workflowIdArg(positionals, CLI);
  const out = output(values.json ?? false);
  const t = await connectTemporal();
  try {
    const { handle, desc } = await describeRun(t.client, id);
    const s = await handle.query<{ step: string; plan: { title: string; status: string; detail?: string }[]; awaitingApproval?: { question: string } }>('status');
    const activities = runningActivities(desc);
    const text = [
      `${id}: ${desc.status.name}, step ${s.step}`,
      ...activities.map(activityLine),
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
