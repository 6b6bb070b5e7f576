/**
 * How the CLI shows a run it waits for: the run's UI link, then one progress line per new step,
 * approval request or wait (src/temporal/runs.ts does the following; this only draws it).
 */
import { workflowUiLink } from '../temporal/connection';
import { followRun, type RunProgress, type TemporalClient, type WorkflowName, type WorkflowResult } from '../temporal/runs';
import type { Output } from './output';

/** What the run waits for: said as such, or as the progress phase of a wait ("backup zookeeper: waiting for ZooKeeper h:2181 (connection refused)"). */
function waitingFor(u: RunProgress): string | undefined {
  return u.waiting ?? (u.progress ? /(?:^|: )waiting for (.+)$/.exec(u.progress.phase)?.[1] : undefined);
}

/** The line people read for one look at a run. */
export function progressLine(u: RunProgress): string {
  const a = u.status.awaitingApproval;
  if (a) return `waiting for approval: ${a.question} — lifeboat approve ${u.workflowId}`;
  const waiting = waitingFor(u);
  return `step: ${u.status.step}${waiting ? ` — waiting for ${waiting}` : ''}`;
}

/**
 * Waits for the run's result while showing its progress on stderr: a line per new step, approval or
 * wait, and the running activity's typed progress as a bar (lines when stderr is no terminal;
 * with --json, JSON status lines only).
 */
export async function follow<N extends WorkflowName>(t: TemporalClient, workflowId: string, out: Output): Promise<WorkflowResult<N>> {
  const ui = workflowUiLink(t.settings, workflowId);
  out.progress(`${workflowId}: ${ui ?? ''}`, { workflowId, ui });
  const view = out.view(`${workflowId}: `);
  let last = '';
  try {
    return await followRun<N>(t.client, workflowId, { onProgress: (u) => show(u) });
  } finally {
    view.stop();
  }

  function show(u: RunProgress): void {
    const line = progressLine(u);
    if (line !== last) {
      last = line;
      out.progress(`${workflowId}: ${line}`, {
        workflowId,
        step: u.status.step,
        awaitingApproval: u.status.awaitingApproval,
        ...(waitingFor(u) ? { waiting: waitingFor(u) } : {}),
        ...(u.progress ? { progress: u.progress } : {}),
      });
    }
    // Below the step line: the running activity's own progress.
    if (u.progress && !u.status.awaitingApproval) view.update(u.progress);
  }
}
