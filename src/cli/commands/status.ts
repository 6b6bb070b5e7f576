/**
 * `lifeboat status <workflow-id>`: a run's plan, current step, running activities' progress and pending
 * approval; for a drill, its own status query (phase, faults, reverts, measurements so far, recovery
 * children, score and record once saved).
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { parseProgress, type Progress } from '../../core/progress';
import { DRILL_STATUS_QUERY } from '../../drills/ids.pure';
import { type DrillStatus, faultText } from '../../drills/plan.pure';
import { EXIT } from '../../errors';
import { workflowUiLink } from '../../temporal/connection';
import { commandLine, json, workflowIdArg } from '../options';
import { output } from '../output';
import { formatProgress } from '../progressBar';
import { connectTemporal, describeRun } from '../../temporal/runs';

export const summary = 'show the step, progress and plan of a running workflow';
const CLI = commandLine('lifeboat status', 'usage: lifeboat status <workflow-id> [--json]', [json]);

/** The drill workflow's type (workflows/drill.ts). */
const DRILL_WORKFLOW = 'drill';

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
    if (desc.type === DRILL_WORKFLOW) {
      // The drill workflow answers its own query, not the trackers' "status".
      const d = await handle.query<DrillStatus>(DRILL_STATUS_QUERY);
      const activities = runningActivities(desc);
      const measured = drillMeasurements(d, new Date());
      const text = [drillStatusText(id, desc.status.name, d, measured), ...activities.map(activityLine), `  ${workflowUiLink(t.settings, id) ?? ''}`].join('\n');
      out.result({ workflowId: id, status: desc.status.name, workflowType: DRILL_WORKFLOW, ...d, measured, activities }, text);
      return EXIT.OK;
    }
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

/** What a drill has measured so far: the fault, the first green probe after it, the recovery time (or the time since the fault while none). */
export interface DrillMeasured {
  faultAt?: string;
  firstGreenProbeAt?: string | null;
  /** Fault → first green probe, seconds; absent until both are known. */
  rtoSeconds?: number;
  /** No green probe yet: seconds since the fault (at `now`). */
  secondsSinceFault?: number;
  score?: number;
}

export function drillMeasurements(s: DrillStatus, now: Date): DrillMeasured {
  const fault = s.faultAt ? Date.parse(s.faultAt) : undefined;
  const green = s.firstGreenProbeAt ? Date.parse(s.firstGreenProbeAt) : undefined;
  return {
    ...(s.faultAt ? { faultAt: s.faultAt } : {}),
    ...(s.firstGreenProbeAt !== undefined ? { firstGreenProbeAt: s.firstGreenProbeAt } : {}),
    ...(fault !== undefined && green !== undefined ? { rtoSeconds: Math.round((green - fault) / 100) / 10 } : {}),
    ...(fault !== undefined && green === undefined ? { secondsSinceFault: Math.max(0, Math.round((now.getTime() - fault) / 1000)) } : {}),
    ...(s.score !== undefined ? { score: s.score } : {}),
  };
}

/** The drill's status for people: what it is, its phase, each fault and revert, what it measured, its children, notes, score and record. */
export function drillStatusText(id: string, runStatus: string, s: DrillStatus, m: DrillMeasured): string {
  const lines = [`${id}: ${runStatus}, drill phase ${s.phase} (${s.type}${s.dryRun ? ', dry run' : ''} ${s.scenario} drill of ${s.cluster}, started ${s.startedAt})`];
  if (s.stopped) lines.push(`  stopped: ${s.stopped}`);
  for (const f of s.faults) lines.push(`  fault ${f.applied ? 'applied ' : 'recorded'} ${faultText(f.fault)} at ${f.at}${f.detail ? ` — ${f.detail}` : ''}`);
  if (s.faults.length === 0) lines.push(`  faults: none${s.phase === 'prepare' ? ' yet' : ''}`);
  for (const r of s.reverts) lines.push(`  reverted (${r.mode}${r.alreadyDone ? ', already done' : ''}) ${faultText(r.fault)}${r.detail ? ` — ${r.detail}` : ''}`);
  const measured = !m.faultAt
    ? 'no fault applied yet'
    : m.rtoSeconds !== undefined
      ? `fault at ${m.faultAt}, first green probe at ${m.firstGreenProbeAt}: RTO ${m.rtoSeconds} s`
      : `fault at ${m.faultAt}, no green probe yet${m.secondsSinceFault !== undefined && s.phase !== 'done' && s.phase !== 'skipped' ? ` (${m.secondsSinceFault} s since the fault)` : ''}`;
  const ended = s.phase === 'done' || s.phase === 'skipped';
  lines.push(`  measured: ${measured}${ended ? '' : '; the RPO comes from the read-back in the verify phase'}`);
  for (const c of s.recovery) lines.push(`  recovery ${c.workflow} ${c.workflowId}${c.step ? `: step ${c.step}` : ''}${c.outcome ? ` (${c.outcome})` : ''}`);
  for (const n of s.notes) lines.push(`  note: ${n}`);
  if (s.score !== undefined) lines.push(`  score ${s.score}/100`);
  if (s.recordSnapshot) lines.push(`  record: snapshot ${s.recordSnapshot.slice(0, 12)} (lifeboat drill report ${s.drillId} --cluster ${s.cluster})`);
  return lines.join('\n');
}
