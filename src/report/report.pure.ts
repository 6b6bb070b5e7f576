/**
 * Run reports: steps with timings, RTO, RPO, data checks and problems, as JSON and Markdown.
 * Pure (no I/O, no clocks): workflows build reports deterministically from what they recorded.
 */

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepRecord {
  name: string;
  title: string;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  detail?: string;
  /** Runs on a broker host's queue rather than the control queue. */
  host?: string;
  /**
   * Earlier attempts of this step, oldest first, when it ran more than once in the run (a recovery
   * that fell back to an older backup set restores again); the fields above are the last attempt.
   */
  attempts?: StepAttempt[];
}

/** One earlier attempt of a step: what it did and how it ended. */
export type StepAttempt = Pick<StepRecord, 'status' | 'startedAt' | 'endedAt' | 'durationMs' | 'detail'>;

/** Which cluster spec a run used when it was started by name: the cluster, sha256 of the file's bytes, the file. */
export interface SpecRef {
  name: string;
  digest: string;
  file: string;
}

export interface DataCheck {
  subject: string;
  expected: string | number;
  actual: string | number;
  ok: boolean;
}

export interface RunReport {
  kind: string;
  cluster: string;
  workflowId: string;
  runId: string;
  dryRun: boolean;
  outcome: 'succeeded' | 'failed' | 'rejected' | 'planned';
  startedAt: string;
  endedAt: string;
  /** Start of the run → cluster verified, in ms (recoveries only). */
  rtoMs?: number;
  /** Failure time − the point the restored snapshot represents, in ms (recoveries only). */
  rpoMs?: number;
  objectives?: { rtoMinutes: number; rpoMinutes: number };
  /** The set restored: its id, its time (its first part's start), when its last part was written (setCompletedAt). */
  snapshot?: { id: string; time: string; completedAt?: string; fallbackFrom?: string };
  /** The spec file the run resolved its cluster from (runs started with `{ "cluster": "<name>" }`). */
  spec?: SpecRef;
  /** Child workflows the run started (their steps, checks and problems are in this report too). */
  children?: { workflowId: string; kind: string; outcome: RunReport['outcome'] | 'failed' }[];
  steps: StepRecord[];
  checks: DataCheck[];
  problems: string[];
  uiLink?: string;
}

export function durationText(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** A size for reports, in MB with one decimal (what every step detail uses). */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** RPO: how much time of data a restore from `snapshotTime` loses if the failure happened at `failureTime`. */
export function rpoMs(failureTime: string, snapshotTime: string): number {
  return Math.max(0, Date.parse(failureTime) - Date.parse(snapshotTime));
}

function meets(actualMs: number | undefined, targetMinutes: number | undefined): string {
  if (actualMs === undefined || targetMinutes === undefined) return '';
  return actualMs <= targetMinutes * 60_000 ? ` (target ${targetMinutes} min: met)` : ` (target ${targetMinutes} min: **missed**)`;
}

export function renderMarkdown(r: RunReport): string {
  const lines: string[] = [];
  lines.push(`# Lifeboat ${r.kind} — ${r.cluster}: ${r.outcome}${r.dryRun ? ' (dry run)' : ''}`);
  lines.push('');
  lines.push(`- Workflow: \`${r.workflowId}\` run \`${r.runId}\`${r.uiLink ? ` — [Temporal UI](${r.uiLink})` : ''}`);
  lines.push(`- Started ${r.startedAt}, ended ${r.endedAt}`);
  if (r.spec) lines.push(`- Cluster spec \`${r.spec.file}\` (sha256 \`${r.spec.digest.slice(0, 12)}\`)`);
  if (r.snapshot) {
    const fb = r.snapshot.fallbackFrom ? ` — **fell back** from \`${r.snapshot.fallbackFrom.slice(0, 8)}\`` : '';
    lines.push(`- Snapshot \`${r.snapshot.id.slice(0, 8)}\` taken ${r.snapshot.time}${fb}`);
  }
  if (r.rtoMs !== undefined) lines.push(`- **RTO ${durationText(r.rtoMs)}**${meets(r.rtoMs, r.objectives?.rtoMinutes)}`);
  if (r.rpoMs !== undefined) lines.push(`- **RPO ${durationText(r.rpoMs)}**${meets(r.rpoMs, r.objectives?.rpoMinutes)}`);
  lines.push('', '## Steps', '', '| # | step | status | time | detail |', '|---|---|---|---|---|');
  const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '\\|');
  r.steps.forEach((s, i) => {
    // Earlier attempts first, in the order they ran, then the last one on the step's own row.
    (s.attempts ?? []).forEach((a, j) => lines.push(`| ${i + 1} | ${s.title} (attempt ${j + 1}) | ${a.status} | ${durationText(a.durationMs)} | ${cell(a.detail)} |`));
    const last = s.attempts?.length ? ` (attempt ${s.attempts.length + 1})` : '';
    lines.push(`| ${i + 1} | ${s.title}${last} | ${s.status} | ${durationText(s.durationMs)} | ${cell(s.detail)} |`);
  });
  if (r.checks.length) {
    lines.push('', '## Data checks', '', '| check | expected | actual | ok |', '|---|---|---|---|');
    for (const c of r.checks) lines.push(`| ${c.subject} | ${c.expected} | ${c.actual} | ${c.ok ? 'yes' : '**NO**'} |`);
  }
  lines.push('', '## Problems', '');
  if (r.problems.length) for (const p of r.problems) lines.push(`- ${p}`);
  else lines.push('None found.');
  return `${lines.join('\n')}\n`;
}
