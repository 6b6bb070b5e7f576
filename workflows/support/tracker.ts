/**
 * What every Lifeboat workflow shows the world while it runs: a `status` query with the plan, the
 * current step and its progress; the `LifeboatStep` search attribute; the "current details" text in
 * the Temporal UI; and an approval gate (the `approve` Update, validated) before destructive steps.
 *
 * A workflow made of child workflows (fullClusterRecovery → restoreState, restoreData, verifyCluster)
 * shows one plan: each child's tracker signals its steps to the parent while it runs (`childProgress`),
 * and the child's report is merged into the parent's when it ends. A step that runs again (after a
 * fallback to an older backup set) keeps its earlier attempts in `attempts`.
 */
import {
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import type { RunReport, SpecRef, StepRecord } from '../../src/report/report.pure';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND, LIFEBOAT_STEP } from '../../src/temporal/searchAttributes';

export interface PendingApproval {
  step: string;
  question: string;
  /** ISO time after which the safe default is taken. */
  deadline: string;
  /** What the deadline does: reject (the safe path), escalate (a problem line, then wait again) or proceed (only when a policy says so). */
  safeDefault: 'reject' | 'escalate' | 'proceed';
  /** Two-person rule and up: how many different approvers it needs, and who approved so far. */
  approvers?: { needed: number; approvedBy: string[] };
  /** How many times the deadline passed and the wait was escalated. */
  escalations?: number;
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
  /** With several approvers needed: how many more must approve. */
  remaining?: number;
}

/** How an approval gate waits (tracker.approve). */
export interface ApprovalOptions {
  autoApprove: boolean;
  timeoutMs: number;
  /** Different people who must approve (default 1); the same person twice counts once. */
  approvers?: number;
  /** At the timeout: reject (default), escalate (problem line + step `escalated`, wait another period, repeat) or proceed. */
  onTimeout?: 'reject' | 'escalate' | 'proceed';
}

/** Who approved a gate (empty when auto-approved; `proceeded` when the timeout policy let it through). */
export interface ApprovalOutcome {
  approvedBy: string[];
  auto: boolean;
  proceededOnTimeout: boolean;
  escalations: number;
}

/** A child run's steps as they stand, sent to its parent on every change (`seq` orders them). */
export interface ChildProgress {
  workflowId: string;
  seq: number;
  step: string;
  steps: StepRecord[];
  problems: string[];
  progress?: unknown;
}

export const statusQuery = defineQuery<RunStatus>('status');
export const approveUpdate = defineUpdate<ApprovalResult, [ApprovalInput]>('approve');
export const childProgressSignal = defineSignal<[ChildProgress]>('childProgress');

type ChildOutcome = NonNullable<RunReport['children']>[number];

export class RunTracker {
  readonly steps: StepRecord[];
  readonly problems: string[] = [];
  /** When the run started (workflow time). */
  readonly startedAt = new Date().toISOString();
  private current = 'starting';
  private progress: unknown;
  private pending?: PendingApproval;
  private decision?: ApprovalInput;
  /** Approvals of the pending gate so far (several approvers only). */
  private approvals: ApprovalInput[] = [];
  /** Which run wrote each step's record: this one (absent) or a child's workflow ID. */
  private readonly origin = new Map<string, string>();
  /** Children running now, with the newest progress seen from each and how many of its problems we have. */
  private readonly running = new Map<string, { seq: number; problems: number }>();
  private readonly children: ChildOutcome[] = [];
  /** Sending our steps to a parent: one signal at a time, the newest state each time. */
  private readonly parent = workflowInfo().parent;
  private sendSeq = 0;
  private dirty = false;
  private sending?: Promise<void>;

  constructor(
    readonly kind: string,
    readonly cluster: string,
    plan: { name: string; title: string; host?: string }[],
    readonly dryRun = false,
    /** The spec file a run by cluster name resolved (recorded in the report). */
    readonly specSource?: SpecRef,
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
        const needed = this.pending?.approvers?.needed ?? 1;
        if (needed <= 1 || !input.approve) {
          this.decision = input;
          return { step: this.pending?.step ?? '', approved: input.approve, by: input.by };
        }
        // Several approvers: each different person counts once; the gate opens at the last one.
        this.approvals.push(input);
        const approvedBy = this.approvals.map((a) => a.by);
        this.pending!.approvers = { needed, approvedBy };
        if (approvedBy.length >= needed) this.decision = input;
        this.render();
        return { step: this.pending?.step ?? '', approved: true, by: input.by, remaining: Math.max(0, needed - approvedBy.length) };
      },
      {
        validator: (input) => {
          if (!this.pending) throw new Error('nothing is waiting for approval');
          if (typeof input?.approve !== 'boolean' || !input.by) throw new Error('an approval needs { approve: true|false, by: "<who>" }');
          const needed = this.pending.approvers?.needed ?? 1;
          if (needed > 1 && input.approve && this.approvals.some((a) => a.by === input.by)) {
            throw new Error(`${input.by} has already approved "${this.pending.step}": it needs ${needed} different approvers (${needed - this.approvals.length} more)`);
          }
        },
      },
    );
    setHandler(childProgressSignal, (p) => {
      const child = this.running.get(p.workflowId);
      // Only children running now, newest first: a late signal cannot undo the child's final report.
      if (!child || p.seq <= child.seq) return;
      child.seq = p.seq;
      this.absorb(p.workflowId, p.steps, p.problems);
      if (p.step !== this.current && this.steps.some((s) => s.name === p.step)) this.enter(p.step);
      this.progress = p.progress;
      this.render();
    });
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

  /** Moves a step's finished record into its attempts: the step runs again. */
  private archive(s: StepRecord): void {
    if (s.status !== 'done' && s.status !== 'failed') return;
    const { status, startedAt, endedAt, durationMs, detail } = s;
    s.attempts = [...(s.attempts ?? []), { status, startedAt, endedAt, durationMs, detail }];
    s.status = 'pending';
    delete s.startedAt;
    delete s.endedAt;
    delete s.durationMs;
    delete s.detail;
  }

  /** A child's steps and problems into this run's plan; a step another run wrote before becomes an earlier attempt. */
  private absorb(childId: string, steps: StepRecord[], problems: string[]): void {
    for (const c of steps) {
      if (c.status === 'pending') continue;
      const s = this.record(c.name);
      if (this.origin.get(c.name) !== childId) this.archive(s);
      const { attempts } = s;
      Object.assign(s, { ...c, attempts: [...(attempts ?? []), ...(c.attempts ?? [])] });
      if (!s.attempts?.length) delete s.attempts;
      this.origin.set(c.name, childId);
    }
    const seen = this.running.get(childId)?.problems ?? 0;
    for (const p of problems.slice(seen)) if (!this.problems.includes(p)) this.problems.push(p);
    const child = this.running.get(childId);
    if (child) child.problems = Math.max(seen, problems.length);
  }

  /**
   * Runs a child workflow as part of this run: its steps show in this run's plan while it runs,
   * its report (steps, problems) is merged when it ends, and a failure is rethrown as the child's.
   */
  async child<I>(workflow: (input: I) => Promise<RunReport>, workflowId: string, input: I): Promise<RunReport> {
    this.running.set(workflowId, { seq: 0, problems: 0 });
    try {
      const report = await executeChild(workflow, { workflowId, args: [input] });
      this.absorb(workflowId, report.steps, report.problems);
      this.children.push({ workflowId, kind: report.kind, outcome: report.outcome });
      return report;
    } catch (err) {
      this.children.push({ workflowId, kind: workflow.name, outcome: 'failed' });
      throw err;
    } finally {
      this.running.delete(workflowId);
      this.render();
    }
  }

  /** Sends this run's steps to its parent (when it has one); coalesced, the newest state each time. */
  private tellParent(): void {
    if (!this.parent) return;
    this.dirty = true;
    this.sending ??= (async () => {
      const handle = getExternalWorkflowHandle(this.parent!.workflowId, this.parent!.runId);
      while (this.dirty) {
        this.dirty = false;
        const p: ChildProgress = { workflowId: workflowInfo().workflowId, seq: ++this.sendSeq, step: this.current, steps: this.steps, problems: this.problems, progress: this.progress };
        // A parent that is gone (terminated) cannot be told; the run itself goes on.
        await handle.signal(childProgressSignal, p).catch(() => undefined);
      }
      this.sending = undefined;
    })();
  }

  /** Waits until the parent has every change: call before the run returns or fails. */
  async settle(): Promise<void> {
    while (this.sending) await this.sending;
  }

  /** Runs one step: timing, status, search attribute, UI details; failures are recorded and rethrown. */
  async step<T>(name: string, fn: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
    const s = this.record(name);
    this.archive(s);
    this.origin.delete(name);
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
   * before the timeout takes the safe path (reject) unless `onTimeout` says otherwise: `escalate`
   * adds a problem line, sets the step search attribute to `escalated` and waits another period
   * (again and again); `proceed` lets it through. With `approvers` > 1 it needs that many
   * different people (the same one twice is refused). Rejection fails the run as ApprovalRejected.
   */
  async approve(step: string, question: string, opts: ApprovalOptions): Promise<ApprovalOutcome> {
    const needed = Math.max(1, Math.floor(opts.approvers ?? 1));
    const onTimeout = opts.onTimeout ?? 'reject';
    if (opts.autoApprove) return { approvedBy: [], auto: true, proceededOnTimeout: false, escalations: 0 };
    this.pending = {
      step,
      question,
      deadline: new Date(Date.now() + opts.timeoutMs).toISOString(),
      safeDefault: onTimeout,
      ...(needed > 1 ? { approvers: { needed, approvedBy: [] } } : {}),
    };
    this.decision = undefined;
    this.approvals = [];
    this.enter(`approval:${step}`);
    this.render();
    let escalations = 0;
    let answered = await condition(() => this.decision !== undefined, opts.timeoutMs);
    while (!answered && onTimeout === 'escalate') {
      escalations++;
      this.pending = { ...this.pending, deadline: new Date(Date.now() + opts.timeoutMs).toISOString(), escalations };
      this.problem(`no approval for "${step}" within ${Math.round((opts.timeoutMs * escalations) / 60000)} min: escalated (${escalations}×), still waiting`);
      this.enter('escalated');
      this.render();
      answered = await condition(() => this.decision !== undefined, opts.timeoutMs);
    }
    // Set by the update handler while we waited (TypeScript cannot see that).
    const decision = this.decision as ApprovalInput | undefined;
    const approvedBy = this.approvals.map((a) => a.by);
    this.pending = undefined;
    this.approvals = [];
    if (!answered || !decision) {
      if (onTimeout === 'proceed') {
        this.problem(`no approval for "${step}" within ${Math.round(opts.timeoutMs / 60000)} min: the policy proceeds without one`);
        this.record(step).detail = 'proceeded at the approval timeout (policy)';
        return { approvedBy, auto: false, proceededOnTimeout: true, escalations };
      }
      this.problem(`no approval for "${step}" within ${Math.round(opts.timeoutMs / 60000)} min: took the safe path and stopped`);
      throw ApplicationFailure.nonRetryable(`approval for "${step}" timed out; nothing was changed`, 'ApprovalRejected');
    }
    if (!decision.approve) {
      this.problem(`"${step}" rejected by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}`);
      throw ApplicationFailure.nonRetryable(`"${step}" was rejected by ${decision.by}; nothing was changed`, 'ApprovalRejected');
    }
    const by = needed > 1 ? approvedBy : [decision.by];
    this.record(step).detail = `approved by ${by.join(' and ')}`;
    return { approvedBy: by, auto: false, proceededOnTimeout: false, escalations };
  }

  /** Withdraws a pending approval (the run stops waiting for another reason, e.g. a rollback): no longer shown as awaited. */
  withdrawApproval(): void {
    if (!this.pending) return;
    this.pending = undefined;
    this.approvals = [];
    this.render();
  }

  /** The status of a step (after a fallback: of its latest attempt). */
  statusOf(name: string): StepRecord['status'] | undefined {
    return this.steps.find((s) => s.name === name)?.status;
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
      ...(this.specSource ? { spec: this.specSource } : {}),
      ...(this.children.length ? { children: this.children } : {}),
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
    this.tellParent();
  }
}

/** An activity's failure reads "Activity task failed"; the report shows what failed inside it. */
function rootMessage(err: unknown): string {
  let e = err as Error & { cause?: unknown };
  while (e.cause instanceof Error && /^Activity task (failed|timed out)$|^Child Workflow execution failed$/.test(e.message)) e = e.cause as Error & { cause?: unknown };
  return e.message;
}
