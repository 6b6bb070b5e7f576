/**
 * `lifeboat failover`: start a failover by hand (workflows/failover.ts; ID
 * failover-<cluster>-manual-<time>), show a run's status, and end a primary's promotion hold
 * (`release`: after a failover undone by hand; a failback ends it itself). A run the alert receiver started has
 * the incident's ID (failover-<cluster>-<incident>); both are approved with `lifeboat approve <id>`
 * (the two-person rule: two different people, each with their own `--by`).
 *
 * start prints the ID and how to follow and approve; with --follow it waits for the end. Exit codes
 * (--follow): 0 failed over, repaired in place, stood down (nothing needed) or planned; 16 rejected;
 * 3 escalated to an operator, stood down after a failure, or failed over with problems.
 */
import { userInfo } from 'node:os';
import { clusterName, loadSpec } from '../../config/spec';
import { EXIT, LifeboatError } from '../../errors';
import { failoverWorkflowId, FAILOVER_STATUS_QUERY } from '../../failover/ids.pure';
import { promotionHeld, releasePromotion } from '../../failover/promotion';
import { holderRuns } from '../../temporal/hold';
import { type FailoverRunInput, type FailoverStatus, manualIncident, renderFailoverStatus } from '../../failover/run.pure';
import { renderMarkdown } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import { connectTemporal, describeRun, startRun, type TemporalClient, type WorkflowResult } from '../../temporal/runs';
import { follow } from '../follow';
import { commandLine, describe, dryRun, flag, json, list, spec as specOption, text, type OptValues } from '../options';
import { type Output, output } from '../output';

export const summary = 'fail over a primary cluster to its warm standby (start by hand, status)';

const USAGE = `usage:
  lifeboat failover start (--cluster <name> | --spec <primary.yaml>) [--standby <name> | --standby-spec <standby.yaml>]
                          [--groups <g,..>] [--incident <id>] [--dry-run] [--auto-approve] [--follow] [--json]
  lifeboat failover status <workflow-id> [--json]
  lifeboat failover release --cluster <name> [--by <name>] [--force] [--dry-run] [--json]
approve (or reject) the promotion: lifeboat approve <workflow-id> [--by <name>] [--reject]`;

const CLI = commandLine('lifeboat failover', USAGE, [
  text('cluster', '<name>', 'the failing primary, by name: a spec the worker was started with'),
  describe(specOption, 'the failing primary, by spec file (instead of --cluster)'),
  text('standby', '<name>', "the standby, by name (default: the primary spec's standby)"),
  text('standby-spec', '<standby.yaml>', 'the standby, by spec file'),
  list('groups', '<g,..>', 'the consumer groups whose offsets move to the standby (translated through the mirror)'),
  text('incident', '<id>', 'the incident (default manual-<UTC time>): the workflow ID is failover-<cluster>-<incident>'),
  describe(dryRun, 'confirm, decide and plan only: nothing is changed'),
  flag('auto-approve', 'approve the promotion up front (a drill, the benchmark)'),
  flag('follow', 'wait for the run and show its progress and report'),
  text('by', '<name>', 'release: who ends the hold (default: the user running this)'),
  flag('force', 'release: end the hold even while the failover that holds it still runs'),
  json,
]);

type Values = OptValues<typeof CLI.options>;

/** The run a `start` asks for: its workflow ID and input (no connection; unit-tested). */
export function startRequest(values: Values, now: Date): { workflowId: string; cluster: string; input: FailoverRunInput } {
  if (values.cluster && values.spec) throw CLI.error('give --cluster <name> or --spec <file>, not both');
  if (values.standby && values['standby-spec']) throw CLI.error('give --standby <name> or --standby-spec <file>, not both');
  if (!values.cluster && !values.spec) throw CLI.error('the primary is required: --cluster <name> (or --spec <primary.yaml>)');
  const primarySpec = values.spec ? loadSpec(values.spec) : undefined;
  const cluster = primarySpec?.name ?? clusterName(values.cluster!);
  const standbySpec = values['standby-spec'] ? loadSpec(values['standby-spec']) : undefined;
  const standbyName = standbySpec?.name ?? (values.standby ? clusterName(values.standby) : undefined);
  if (standbyName === cluster) throw new LifeboatError('InvalidInput', `the standby is the primary itself (${cluster}): a failover needs two clusters`);
  const incident = values.incident ?? manualIncident(now);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(incident)) throw CLI.error(`--incident takes letters, digits, ".", "_" and "-", got ${JSON.stringify(incident)}`);
  const input: FailoverRunInput = {
    primary: primarySpec ? { spec: primarySpec } : { cluster },
    ...(standbySpec ? { standby: { spec: standbySpec } } : standbyName ? { standby: { cluster: standbyName } } : {}),
    ...(values['dry-run'] ? { dryRun: true } : {}),
    ...(values['auto-approve'] ? { autoApprove: true } : {}),
    ...(values.groups ? { groups: values.groups } : {}),
  };
  return { workflowId: failoverWorkflowId(cluster, incident), cluster, input };
}

export async function run(argv: string[]): Promise<number> {
  const sub = argv[0];
  if (sub !== 'start' && sub !== 'status' && sub !== 'release') {
    throw CLI.error(sub === undefined || sub.startsWith('-') ? 'a subcommand is required: start, status or release' : `unknown subcommand "${sub}" (start, status, release)`);
  }
  const { values, positionals } = CLI.parse(argv.slice(1));
  const out = output(values.json ?? false);
  if (sub === 'start') {
    if (positionals.length) throw CLI.error(`unexpected argument "${positionals[0]}"`);
    if (values.by || values.force) throw CLI.error(`--${values.by ? 'by' : 'force'} is for release`);
    return start(values, out);
  }
  if (sub === 'release') {
    if (positionals.length) throw CLI.error(`unexpected argument "${positionals[0]}"`);
    const used = Object.keys(values).filter((k) => !['cluster', 'by', 'force', 'dry-run', 'json'].includes(k));
    if (used.length) throw CLI.error(`release takes --cluster, --by, --force, --dry-run and --json, got --${used[0]}`);
    if (!values.cluster) throw CLI.error('the primary is required: lifeboat failover release --cluster <name>');
    const t = await connectTemporal();
    try {
      return await release(t, clusterName(values.cluster), { by: values.by ?? userInfo().username, force: values.force ?? false, dryRun: values['dry-run'] ?? false }, out);
    } finally {
      await t.close();
    }
  }
  if (positionals.length !== 1) throw CLI.error(positionals.length ? `one workflow ID, got ${positionals.length}: ${positionals.join(' ')}` : 'the workflow ID is required: lifeboat failover status <workflow-id>');
  const used = Object.keys(values).filter((k) => k !== 'json');
  if (used.length) throw CLI.error(`status takes only a workflow ID (and --json), got --${used[0]}`);
  const t = await connectTemporal();
  try {
    return await status(t, positionals[0]!, out);
  } finally {
    await t.close();
  }
}

/** Exit code of a finished run (see the file comment). */
export function exitOf(r: Pick<WorkflowResult<'failover'>, 'status' | 'report'>): number {
  if (r.report.outcome === 'rejected') return EXIT.REJECTED;
  if (r.report.outcome === 'planned') return EXIT.OK;
  if (r.status.outcome === 'escalated') return EXIT.PARTIAL;
  return r.report.outcome === 'succeeded' ? EXIT.OK : EXIT.PARTIAL;
}

function resultText(t: TemporalClient, r: WorkflowResult<'failover'>): string {
  return [renderFailoverStatus(r.status), '', renderMarkdown({ ...r.report, uiLink: workflowUiLink(t.settings, r.report.workflowId, r.report.runId) })].join('\n');
}

async function start(values: Values, out: Output): Promise<number> {
  const { workflowId, cluster, input } = startRequest(values, new Date());
  const t = await connectTemporal();
  try {
    await startRun(t.client, 'failover', { workflowId, args: [input], summary: `${input.dryRun ? 'Plan: ' : ''}failover of ${cluster} (started by hand)` });
    if (!values.follow) {
      out.result(
        { workflowId, ui: workflowUiLink(t.settings, workflowId) },
        `started ${workflowId}\nfollow it: lifeboat failover status ${workflowId}\napprove the promotion when asked: lifeboat approve ${workflowId}`,
      );
      return EXIT.OK;
    }
    const r = await follow<'failover'>(t, workflowId, out);
    out.result({ ...r }, resultText(t, r));
    return exitOf(r);
  } finally {
    await t.close();
  }
}

/**
 * Ends the promotion hold of `cluster` (a dry run shows it). Refused while the failover that holds it
 * still runs (it may be promoting: ending its hold would let another promote beside it) unless --force.
 * Exit 0 when no hold is left (or the dry run), 3 when one is.
 */
async function release(t: TemporalClient, cluster: string, opts: { by: string; force: boolean; dryRun: boolean }, out: Output): Promise<number> {
  const held = await promotionHeld(t.client, cluster);
  if (!held) {
    out.result({ cluster, held: false }, `${cluster}: no promotion hold (a failover of it may promote)`);
    return EXIT.OK;
  }
  const holderRunning = await holderRuns(t.client, held);
  const line = `${cluster} → ${held.standby}: held by ${held.holder} since ${held.since}${holderRunning ? ' (that failover still runs)' : ''}`;
  if (opts.dryRun) {
    out.result({ cluster, held: true, hold: held, holderRuns: holderRunning, dryRun: true }, `${line}\n${holderRunning && !opts.force ? 'would refuse to end it while that failover runs (--force ends it anyway)' : 'would end it'} (dry run: nothing changed)`);
    return EXIT.OK;
  }
  if (holderRunning && !opts.force) {
    out.result({ cluster, held: true, hold: held, holderRuns: holderRunning, released: false }, `${line}\nnot ended: the failover that holds it still runs and may be promoting — wait for it (lifeboat failover status ${held.holder}), or end the hold anyway with --force`);
    return EXIT.PARTIAL;
  }
  const r = await releasePromotion(t.client, cluster, { by: opts.by, reason: 'released by hand (lifeboat failover release)', holder: held.holder, ...(held.holderRunId ? { holderRunId: held.holderRunId } : {}) });
  if (!r.released && r.why === 'held by another') {
    out.result({ cluster, held: true, hold: r.held, released: false }, `${cluster}: not ended — it is now held by ${r.held.holder} (since ${r.held.since}), not the hold read a moment ago`);
    return EXIT.PARTIAL;
  }
  out.result({ cluster, held: false, released: r.released, ...(r.released ? { hold: r.hold } : {}) }, r.released ? `${line}\nended by ${opts.by}: a failover of ${cluster} may promote again` : `${cluster}: no promotion hold (it ended meanwhile)`);
  return EXIT.OK;
}

async function status(t: TemporalClient, workflowId: string, out: Output): Promise<number> {
  const { handle, desc } = await describeRun(t.client, workflowId);
  const running = desc.status.name === 'RUNNING';
  let s: FailoverStatus | undefined;
  if (!running) s = ((await handle.result().catch(() => undefined)) as WorkflowResult<'failover'> | undefined)?.status;
  s ??= await handle.query<FailoverStatus>(FAILOVER_STATUS_QUERY);
  out.result({ ...s, run: desc.status.name.toLowerCase() }, `${renderFailoverStatus(s)}\n(${desc.status.name.toLowerCase()})`);
  return s.outcome === 'failed' ? EXIT.PARTIAL : EXIT.OK;
}
