/**
 * `lifeboat report <workflow-id> [--json]`: the report of a finished run, as Markdown or JSON. A run
 * that failed or was rejected has no returned report: its steps come from the run's `status` query
 * (a worker replays the closed run), or, with no worker answering, from its event history; the
 * report is printed with what failed, and the exit code is the failure's (16 rejected, ...).
 */
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { EXIT, isLifeboatError, LifeboatError } from '../../errors';
import { renderMarkdown, type RunReport, type StepRecord } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import { LIFEBOAT_CLUSTER } from '../../temporal/searchAttributes';
import { commandLine, json, workflowIdArg } from '../options';
import { output } from '../output';
import { connectTemporal, describeRun, type TemporalClient, workflowFailure } from '../../temporal/runs';

export const summary = 'print the report of a finished workflow (Markdown, or --json)';
const CLI = commandLine('lifeboat report', 'usage: lifeboat report <workflow-id> [--json]', [json]);

interface StatusLike {
  kind: string;
  cluster: string;
  dryRun: boolean;
  plan: StepRecord[];
  problems: string[];
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = CLI.parse(argv);
  const id = workflowIdArg(positionals, CLI);
  const out = output(values.json ?? false);
  const t = await connectTemporal();
  try {
    const { handle, desc } = await describeRun(t.client, id);
    if (desc.status.name === 'RUNNING') throw new LifeboatError('InvalidInput', `${id} is still running; see "lifeboat status ${id}"`);
    let report: RunReport;
    let failure: Failure | undefined;
    try {
      // Recoveries return their report; the backup workflow returns it inside its result.
      const result = (await handle.result()) as RunReport | { report: RunReport };
      report = 'report' in result ? result.report : result;
    } catch (e) {
      const f = workflowFailure(e, id) as Error;
      failure = isLifeboatError(f) ? { type: f.type, exitCode: f.exitCode, message: f.message } : { type: 'Error', exitCode: EXIT.ERROR, message: f.message };
      report = await failedRunReport(t, handle, desc, failure);
    }
    const text = renderMarkdown({ ...report, uiLink: workflowUiLink(t.settings, report.workflowId, report.runId) });
    if (failure) {
      out.result({ report, error: failure }, `${text}\n**Failed:** ${failure.message}`);
      process.stderr.write(`lifeboat: ${failure.message}\n`);
      return failure.exitCode;
    }
    out.result({ report }, text);
    return report.outcome === 'succeeded' || report.outcome === 'planned' ? EXIT.OK : EXIT.PARTIAL;
  } finally {
    await t.close();
  }
}

interface Failure {
  type: string;
  exitCode: number;
  message: string;
}

/** The report of a run that ended with a failure: from its status query, else from its history. */
async function failedRunReport(t: TemporalClient, handle: WorkflowHandle, desc: WorkflowExecutionDescription, failure: Failure): Promise<RunReport> {
  const outcome: RunReport['outcome'] = failure.type === 'ApprovalRejected' ? 'rejected' : 'failed';
  const base = {
    kind: desc.type,
    cluster: String(desc.typedSearchAttributes.get(LIFEBOAT_CLUSTER) ?? '?'),
    workflowId: desc.workflowId,
    runId: desc.runId,
    dryRun: false,
    outcome,
    startedAt: desc.startTime.toISOString(),
    endedAt: (desc.closeTime ?? new Date()).toISOString(),
    checks: [],
  };
  const withFailure = (problems: string[]) => (problems.some((p) => failure.message.includes(p)) ? problems : [...problems, failure.message]);
  // A step that failed through an activity records only "Activity task failed": name the cause.
  const cause = failure.message.replace(`${desc.workflowId} failed: `, '');
  const withCause = (steps: StepRecord[]) =>
    steps.map((x) => (x.status === 'failed' && (!x.detail || /^Activity task (failed|timed out)$/.test(x.detail)) ? { ...x, detail: x.detail ? `${x.detail}: ${cause}` : cause } : x));
  try {
    const s = await t.client.connection.withDeadline(Date.now() + 10_000, () => handle.query<StatusLike>('status'));
    return { ...base, kind: s.kind, cluster: s.cluster, dryRun: s.dryRun, steps: withCause(s.plan), problems: withFailure(s.problems) };
  } catch {
    return { ...base, ...(await stepsFromHistory(handle)), problems: withFailure([]) };
  }
}

/**
 * Without a worker to answer the query: the steps as the run entered them (its LifeboatStep search
 * attribute), each with the activities it ran; the last one entered is where it stopped.
 */
async function stepsFromHistory(handle: WorkflowHandle): Promise<{ steps: StepRecord[] }> {
  const history = await handle.fetchHistory();
  const steps: StepRecord[] = [];
  const activities = new Map<string, string>();
  for (const ev of history.events ?? []) {
    const at = ev.eventTime?.seconds ? new Date(Number(ev.eventTime.seconds) * 1000).toISOString() : undefined;
    const step = ev.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.LifeboatStep;
    if (step) {
      const name = String(defaultPayloadConverter.fromPayload(step as never));
      const prev = steps.at(-1);
      if (prev) prev.status = 'done';
      steps.push({ name, title: name, status: 'running', startedAt: at });
    }
    const scheduled = ev.activityTaskScheduledEventAttributes;
    if (scheduled) activities.set(String(ev.eventId), scheduled.activityType?.name ?? 'activity');
    const failed = ev.activityTaskFailedEventAttributes;
    if (failed && steps.length) steps.at(-1)!.detail = `${activities.get(String(failed.scheduledEventId)) ?? 'activity'}: ${failed.failure?.cause?.message ?? failed.failure?.message ?? 'failed'}`;
  }
  const last = steps.at(-1);
  if (last) last.status = 'failed';
  return { steps };
}
