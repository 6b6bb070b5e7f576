/**
 * `lifeboat failback`: brings the clients back from the standby to the repaired old primary
 * (workflows/failback.ts; ID failback-<standby>-to-<primary>) and shows a run's status.
 *
 * start prints the ID and how to approve the cut-over back (it is the child migration's gate:
 * `lifeboat approve <id>-migration`); with --follow it waits for the end. Exit codes (--follow):
 * 0 failed back (or planned), 3 the migration rolled back or the plan found problems, 16 rejected,
 * the cause's own code when a step failed.
 */
import { clusterName, loadSpec } from '../../config/spec';
import { EXIT, isErrorType, LifeboatError } from '../../errors';
import { failbackWorkflowId } from '../../failover/ids.pure';
import { FAILBACK_STATUS_QUERY, type FailbackStatus, failbackMigrationId, renderFailbackStatus } from '../../failover/failback/run.pure';
import { renderMarkdown } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import { connectTemporal, describeRun, startRun, type TemporalClient, type WorkflowArgs, type WorkflowResult } from '../../temporal/runs';
import { follow } from '../follow';
import { commandLine, describe, dryRun, flag, json, type OptValues, text, topicList } from '../options';
import { type Output, output } from '../output';

export const summary = 'bring the clients back to the repaired old primary (divergent tail quarantined, reverse mirror, gated cut-over)';

const USAGE = `usage:
  lifeboat failback (--primary <name> | --primary-spec <primary.yaml>) [--standby <name> | --standby-spec <standby.yaml>]
                    [--topics a,b] [--dry-run] [--auto-approve] [--follow] [--json]
  lifeboat failback status <workflow-id> [--json]
approve (or reject) the cut-over back: lifeboat approve <workflow-id>-migration [--by <name>] [--reject]`;

const CLI = commandLine('lifeboat failback', USAGE, [
  text('primary', '<name>', 'the old primary, repaired, by name (a spec the worker was started with)'),
  text('primary-spec', '<primary.yaml>', 'the old primary, by spec file'),
  text('standby', '<name>', "the standby the clients use now, by name (default: the primary spec's standby)"),
  text('standby-spec', '<standby.yaml>', 'the standby, by spec file'),
  describe(topicList, 'only these mirrored topics (default: every topic the mirror copied)'),
  describe(dryRun, 'checks, the divergent tail counted and the plan: nothing is written'),
  flag('auto-approve', 'approve the cut-over back up front'),
  flag('follow', 'wait for the run and show its progress and report'),
  json,
]);

type Values = OptValues<typeof CLI.options>;

/** The run a start asks for (no connection). */
export function startRequest(values: Values): { workflowId: string; input: WorkflowArgs<'failback'>[0]; primary: string; standby?: string } {
  if (values.primary && values['primary-spec']) throw CLI.error('give --primary <name> or --primary-spec <file>, not both');
  if (values.standby && values['standby-spec']) throw CLI.error('give --standby <name> or --standby-spec <file>, not both');
  if (!values.primary && !values['primary-spec']) throw CLI.error('the old primary is required: --primary <name> (or --primary-spec <primary.yaml>)');
  const ps = values['primary-spec'] ? loadSpec(values['primary-spec']) : undefined;
  const primary = ps?.name ?? clusterName(values.primary!);
  const ss = values['standby-spec'] ? loadSpec(values['standby-spec']) : undefined;
  const standby = ss?.name ?? (values.standby ? clusterName(values.standby) : ps?.standby);
  if (!standby) throw CLI.error(`the standby is required: --standby <name> (the spec ${primary} names none)`);
  if (standby === primary) throw new LifeboatError('InvalidInput', `the standby is the primary itself (${primary}): failback needs two clusters`);
  const dry = values['dry-run'] ?? false;
  return {
    workflowId: `${failbackWorkflowId(primary, standby)}${dry ? '-plan' : ''}`,
    primary,
    standby,
    input: {
      primary: ps ? { spec: ps } : { cluster: primary },
      standby: ss ? { spec: ss } : { cluster: standby },
      ...(values.topics ? { topics: values.topics } : {}),
      dryRun: dry,
      autoApprove: values['auto-approve'] ?? false,
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const sub = argv[0] === 'status' ? 'status' : 'start';
  const { values, positionals } = CLI.parse(sub === 'status' ? argv.slice(1) : argv);
  const out = output(values.json ?? false);
  if (sub === 'status') {
    if (positionals.length !== 1) throw CLI.error('lifeboat failback status <workflow-id>');
    const t = await connectTemporal();
    try {
      return await status(t, positionals[0]!, out);
    } finally {
      await t.close();
    }
  }
  if (positionals.length) throw CLI.error(`unexpected argument "${positionals[0]}" (subcommand: status)`);
  const req = startRequest(values);
  const t = await connectTemporal();
  try {
    await startRun(t.client, 'failback', { workflowId: req.workflowId, args: [req.input], summary: `${req.input.dryRun ? 'Plan: ' : ''}failback ${req.standby} → ${req.primary}` });
    const approveLine = req.input.dryRun || req.input.autoApprove ? '' : `\napprove the cut-over back when asked: lifeboat approve ${failbackMigrationId(req.workflowId)}`;
    if (!values.follow) {
      out.result({ workflowId: req.workflowId, migrationWorkflowId: failbackMigrationId(req.workflowId), ui: workflowUiLink(t.settings, req.workflowId) }, `started ${req.workflowId}\nfollow it: lifeboat failback status ${req.workflowId}${approveLine}`);
      return EXIT.OK;
    }
    if (approveLine) out.progress(`${req.workflowId}: the cut-over back waits for approval: lifeboat approve ${failbackMigrationId(req.workflowId)} (or --reject)`, { workflowId: req.workflowId });
    const r = await follow<'failback'>(t, req.workflowId, out);
    out.result({ ...r }, resultText(t, r));
    return exitOf(r);
  } catch (e) {
    throw e instanceof Error && /already started|already running/i.test(e.message) ? new LifeboatError('UnsafeTarget', `a failback ${req.workflowId} already runs: lifeboat failback status ${req.workflowId}`) : e;
  } finally {
    await t.close();
  }
}

function exitOf(r: WorkflowResult<'failback'>): number {
  const o = r.report.outcome;
  if (o === 'succeeded') return EXIT.OK;
  if (o === 'planned') return r.report.problems.length ? EXIT.PARTIAL : EXIT.OK;
  if (o === 'rejected') return EXIT.REJECTED;
  const type = r.status.migration?.cause?.type;
  if (type && type !== 'RollbackRequested' && isErrorType(type)) return new LifeboatError(type, '').exitCode;
  return EXIT.PARTIAL;
}

function resultText(t: TemporalClient, r: WorkflowResult<'failback'>): string {
  return [renderFailbackStatus(r.status), '', renderMarkdown({ ...r.report, uiLink: workflowUiLink(t.settings, r.report.workflowId, r.report.runId) })].join('\n');
}

async function status(t: TemporalClient, workflowId: string, out: Output): Promise<number> {
  const { handle, desc } = await describeRun(t.client, workflowId);
  let s: FailbackStatus | undefined;
  if (desc.status.name !== 'RUNNING') s = ((await handle.result().catch(() => undefined)) as WorkflowResult<'failback'> | undefined)?.status;
  s ??= await handle.query<FailbackStatus>(FAILBACK_STATUS_QUERY);
  out.result({ ...s, run: desc.status.name.toLowerCase() }, `${renderFailbackStatus(s)}\n(${desc.status.name.toLowerCase()})`);
  return s.phase === 'failed' ? EXIT.PARTIAL : EXIT.OK;
}
