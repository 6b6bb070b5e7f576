/**
 * What every Lifeboat workflow shows the world while it runs: a `status` query with the plan, the
 * current step and its progress; the `LifeboatStep` search attribute; the "current details" text in
 * the Temporal UI; and an approval gate (the `approve` Update, validated) before destructive steps.
 */
import {
  condition,
  defineQuery,
  defineUpdate,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import type { RunReport, StepRecord } from '../../src/report/report.pure';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND, LIFEBOAT_STEP } from '../../src/temporal/searchAttributes';

export interface PendingApproval {
  step: string;
  question: string;
  /** ISO time after which the safe default is taken. */
  deadline: string;
  safeDefault: 'reject';
}

export interface RunStatus {
  kind: string;
  cluster: string;
  dryRun: boolean;
  step: string;
  plan: StepRecord[];
  progress?: unknown;
  awaitingApproval?: PendingApproval;
  problems: string[];
}

export interface ApprovalInput {
  approve: boolean;
  by: string;
  comment?: string;
}

export interface ApprovalResult {
  step: string;
  approved: boolean;
  by: string;
}

export const statusQuery = defineQuery<RunStatus>('status');
export const approveUpdate = defineUpdate<ApprovalResult, [ApprovalInput]>('approve');

export class RunTracker {
  readonly steps: StepRecord[];
  readonly problems: string[] = [];
  /** When the run started (workflow time). */
  readonly startedAt = new Date().toISOString();
  private current = 'starting';
  private progress: unknown;
  private pending?: PendingApproval;
  private decision?: ApprovalInput;

  constructor(
    readonly kind: string,
    readonly cluster: string,
    plan: { name: string; title: string; host?: string }[],
    readonly dryRun = false,
  ) {
    this.steps = plan.map((p) => ({ ...p, status: 'pending' }));
    upsertSearchAttributes([
      { key: LIFEBOAT_CLUSTER, value: cluster },
      { key: LIFEBOAT_KIND, value: kind },
      { key: LIFEBOAT_STEP, value: dryRun ? 'plan' : 'starting' },
    ]);
    setHandler(statusQuery, () => this.status());
    setHandler(
      approveUpdate,
      (input) => {
        this.decision = input;
        return { step: this.pending?.step ?? '', approved: input.approve, by: input.by };
      },
      {
        validator: (input) => {
          if (!this.pending) throw new Error('nothing is waiting for approval');
          if (typeof input?.approve !== 'boolean' || !input.by) throw new Error('an approval needs { approve: true|false, by: "<who>" }');
        },
      },
    );
    this.render();
  }

  status(): RunStatus {
    return {
      kind: this.kind,
      cluster: this.cluster,
      dryRun: this.dryRun,
      step: this.current,
      plan: this.steps,
      progress: this.progress,
      awaitingApproval: this.pending,
      problems: this.problems,
    };
  }

  private record(name: string): StepRecord {
    let s = this.steps.find((x) => x.name === name);
    if (!s) {
      s = { name, title: name, status: 'pending' };
      this.steps.push(s);
    }
    return s;
  }

  private enter(name: string): void {
    this.current = name;
    upsertSearchAttributes([{ key: LIFEBOAT_STEP, value: name }]);
  }

  /** Runs one step: timing, status, search attribute, UI details; failures are recorded and rethrown. */
  async step<T>(name: string, fn: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
    const s = this.record(name);
    this.enter(name);
    s.status = 'running';
    s.startedAt = new Date().toISOString();
    this.progress = undefined;
    this.render();
    try {
      const result = await fn();
      s.status = 'done';
      if (describe) s.detail = describe(result);
      return result;
    } catch (err) {
      s.status = 'failed';
      s.detail = rootMessage(err);
      throw err;
    } finally {
      s.endedAt = new Date().toISOString();
      s.durationMs = Date.parse(s.endedAt) - Date.parse(s.startedAt);
      this.render();
    }
  }

  skip(name: string, reason: string): void {
    const s = this.record(name);
    s.status = 'skipped';
    s.detail = reason;
    this.render();
  }

  problem(message: string): void {
    this.problems.push(message);
    this.render();
  }

  setProgress(progress: unknown): void {
    this.progress = progress;
  }

  finish(outcome: string): void {
    this.enter(outcome);
    this.render();
  }

  /**
   * Waits for an operator's decision on a destructive step. Auto-approve passes at once; no answer
   * before the timeout takes the safe path (reject). Rejection fails the run as ApprovalRejected.
   */
  async approve(step: string, question: string, opts: { autoApprove: boolean; timeoutMs: number }): Promise<void> {
    if (opts.autoApprove) return;
    this.pending = { step, question, deadline: new Date(Date.now() + opts.timeoutMs).toISOString(), safeDefault: 'reject' };
    this.decision = undefined;
    this.enter(`approval:${step}`);
    this.render();
    const answered = await condition(() => this.decision !== undefined, opts.timeoutMs);
    // Set by the update handler while we waited (TypeScript cannot see that).
    const decision = this.decision as ApprovalInput | undefined;
    this.pending = undefined;
    if (!answered || !decision) {
      this.problem(`no approval for "${step}" within ${Math.round(opts.timeoutMs / 60000)} min: took the safe path and stopped`);
      throw ApplicationFailure.nonRetryable(`approval for "${step}" timed out; nothing was changed`, 'ApprovalRejected');
    }
    if (!decision.approve) {
      this.problem(`"${step}" rejected by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}`);
      throw ApplicationFailure.nonRetryable(`"${step}" was rejected by ${decision.by}; nothing was changed`, 'ApprovalRejected');
    }
    this.record(step).detail = `approved by ${decision.by}`;
  }

  /** The run's report: what every workflow reports, plus its own facts (checks, RTO, RPO, snapshot). */
  report(outcome: RunReport['outcome'], extra: Partial<Pick<RunReport, 'rtoMs' | 'rpoMs' | 'objectives' | 'snapshot' | 'checks'>> = {}): RunReport {
    return {
      kind: this.kind,
      cluster: this.cluster,
      workflowId: workflowInfo().workflowId,
      runId: workflowInfo().runId,
      dryRun: this.dryRun,
      outcome,
      startedAt: this.startedAt,
      endedAt: new Date().toISOString(),
      steps: this.steps,
      checks: [],
      problems: this.problems,
      ...extra,
    };
  }

  /** The Markdown shown as "current details" in the Temporal UI. */
  private render(): void {
    const icon: Record<StepRecord['status'], string> = { pending: '○', running: '▶', done: '✔', failed: '✖', skipped: '–' };
    const lines = [`**${this.kind}** of \`${this.cluster}\`${this.dryRun ? ' (dry run)' : ''} — ${workflowInfo().workflowId}`, ''];
    for (const s of this.steps) lines.push(`${icon[s.status]} ${s.title}${s.detail ? ` — ${s.detail}` : ''}`);
    if (this.pending) lines.push('', `**Waiting for approval:** ${this.pending.question} (until ${this.pending.deadline})`);
    if (this.problems.length) lines.push('', '**Problems:**', ...this.problems.map((p) => `- ${p}`));
    setCurrentDetails(lines.join('\n'));
  }
}

/** An activity's failure reads "Activity task failed"; the report shows what failed inside it. */
function rootMessage(err: unknown): string {
  let e = err as Error & { cause?: unknown };
  while (e.cause instanceof Error && /^Activity task (failed|timed out)$|^Child Workflow execution failed$/.test(e.message)) e = e.cause as Error & { cause?: unknown };
  return e.message;
}
