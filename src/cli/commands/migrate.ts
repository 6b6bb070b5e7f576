/**
 * `lifeboat migrate`: online migration with a gated cut-over (workflows/migration/online.ts, ID
 * migrate-<source>-to-<target>), its status and rollback; `--offline` is migrateOffline.ts's.
 *
 * start waits and follows the run: without --yes it stops at the approval gate and says how to
 * approve (`lifeboat approve <id>`), and goes on following once approved. Exit codes: 0 done (or
 * planned), 3 rolled back (the report says what was put back), the cause's own code when a step
 * failed (e.g. 15 a group active on the target, 19 a failing hook), 16 rejected.
 */
import { userInfo } from 'node:os';
import { EXIT, isErrorType, LifeboatError } from '../../errors';
import { sameCluster, selectionProblem } from '../../kafka/mirrorRun.pure';
import { MIGRATION_ROLLBACK_SIGNAL, MIGRATION_STATUS_QUERY, type MigrationStatus, migrationWorkflowId, renderMigrationStatus } from '../../migration/onlineRun.pure';
import { renderMarkdown } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import { connectTemporal, describeRun, startRun, type TemporalClient, type WorkflowArgs, type WorkflowResult } from '../../temporal/runs';
import { follow } from '../follow';
import { requireSpecPair } from '../requireSpec';
import { choice, commandLine, describe, dryRun, flag, int, json, noWait, regex, spec as specOption, subcommand, targetSpec, text, topicList, yes } from '../options';
import { type Output, output } from '../output';
import { runOffline } from './migrateOffline';

export const summary = 'move topics, groups and clients to another cluster (online with a gated cut-over, or --offline)';

const USAGE = `usage:
  lifeboat migrate --spec <source.yaml> --target-spec <target.yaml> (--topics a,b | --pattern <regex>)
                   [--dry-run] [--yes] [--no-wait] [--skip-backup] [--active-groups wait|skip] [--json]
  lifeboat migrate status   (<workflow-id> | --spec <source.yaml> --target-spec <target.yaml>) [--json]
  lifeboat migrate rollback (<workflow-id> | --spec ... --target-spec ...) [--by <name>] [--reason <text>] [--json]
  lifeboat migrate --offline ...   (see lifeboat migrate --offline --help)`;

const CLI = commandLine('lifeboat migrate', USAGE, [
  describe(specOption, 'the source cluster (migrated from)'),
  describe(targetSpec, 'the target cluster (migrated to; its clientSwitch hooks switch the clients)'),
  describe(topicList, 'the topics to migrate'),
  regex('pattern', 'migrate every topic whose name matches'),
  describe(dryRun, 'pre-checks and the plan (topics, fence, group moves, hook dry runs); nothing is changed'),
  yes,
  describe(noWait, 'start it and print its ID, do not follow it'),
  flag('skip-backup', 'no backup set of the source first'),
  choice('active-groups', ['wait', 'skip'] as const, 'a group still active on the source at cut-over: wait for it (default) or skip it (named in the report)'),
  int('group-wait-minutes', '<n>', 'how long to wait for active groups (default 2)', 1),
  int('approval-timeout-minutes', '<n>', 'no answer within this rolls back (default 60)', 1),
  int('max-lag', '<records>', 'caught up: at most this many records behind before the plan (default 1000)'),
  text('by', '<name>', 'rollback: who asks (default: the user running this)'),
  text('reason', '<text>', 'rollback: why, for the report'),
  json,
]);

type Values = ReturnType<typeof CLI.parse>['values'];

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--offline')) return runOffline(argv);
  const sub = argv[0] === 'status' || argv[0] === 'rollback' ? argv[0] : 'start';
  const rest = sub === 'start' ? argv : subcommand(argv, CLI.usage)[1];
  const { values, positionals } = CLI.parse(rest);
  const out = output(values.json ?? false);
  if (sub === 'start') {
    if (positionals.length) throw CLI.error(`unexpected argument "${positionals[0]}" (subcommands: status, rollback)`);
    return start(values, out);
  }
  const workflowId = targetId(values, positionals);
  const t = await connectTemporal();
  try {
    return sub === 'status' ? await status(t, workflowId, out) : await rollback(t, workflowId, values, out);
  } finally {
    await t.close();
  }
}

/** Both specs, refused before anything starts when they are the same cluster. */
const pairSpecs = (values: Values) => requireSpecPair(values, CLI, (s, d) => sameCluster(s, d, 'migration'));

function targetId(values: Values, positionals: string[]): string {
  if (positionals.length > 1) throw CLI.error(`one workflow ID, got ${positionals.length}: ${positionals.join(' ')}`);
  if (positionals.length && (values.spec || values['target-spec'])) throw CLI.error('give a workflow ID or --spec/--target-spec, not both');
  if (positionals.length) return positionals[0]!;
  const { src, dst } = pairSpecs(values);
  return migrationWorkflowId(src.name, dst.name);
}

/** Exit code of a finished run: 0 done or planned (3 when the plan found problems), else its cause's. */
function exitOf(r: WorkflowResult<'migration'>): number {
  if (r.report.outcome === 'succeeded') return EXIT.OK;
  if (r.report.outcome === 'planned') return r.report.problems.length ? EXIT.PARTIAL : EXIT.OK;
  if (r.report.outcome === 'rejected') return EXIT.REJECTED;
  if (r.status.rollback && !r.status.rollback.notPutBack.length && r.status.cause?.type === 'RollbackRequested') return EXIT.PARTIAL;
  const type = r.status.cause?.type;
  return isErrorType(type) ? new LifeboatError(type, '').exitCode : EXIT.PARTIAL;
}

function resultText(t: TemporalClient, r: WorkflowResult<'migration'>): string {
  const plan = r.mirrorPlan?.length ? ['topics on the target:', ...r.mirrorPlan.map((p) => `  ${p.action.padEnd(14)} ${p.topic} (${p.partitions} partitions)`)] : [];
  const fence = r.status.fencePlan ? [`fence on ${r.status.source}: ${r.status.fencePlan.acls.map((a) => `${a.permission} ${a.operation} ${a.principal} on ${a.resourceName}`).join('; ') || 'nothing to add'}`] : [];
  const moves = (r.status.moves ?? []).map((m) => `group ${m.group}: ${m.partitions.map((p) => `${p.topic}/${p.partition} ${p.sourceOffset}→${p.targetOffset}`).join(', ') || 'no offsets'}${m.untranslated.length ? `; not yet translatable: ${m.untranslated.map((u) => `${u.topic}/${u.partition}@${u.sourceOffset} (${u.reason})`).join(', ')}` : ''}`);
  const head = r.report.outcome === 'planned' ? [`plan of migrate ${r.status.source} → ${r.status.target} (dry run, nothing changed):`, ...plan, ...fence, ...moves] : [];
  return [...head, renderMigrationStatus(r.status), '', renderMarkdown({ ...r.report, uiLink: workflowUiLink(t.settings, r.report.workflowId, r.report.runId) })].join('\n');
}

async function start(values: Values, out: Output): Promise<number> {
  const { src, dst } = pairSpecs(values);
  const selection = { ...(values.topics ? { topics: values.topics } : {}), ...(values.pattern ? { pattern: values.pattern.source } : {}) };
  if (selectionProblem(selection)) throw CLI.error('the migration selects no topics: give --topics a,b or --pattern <regex>');
  const input: WorkflowArgs<'migration'>[0] = {
    source: { spec: src },
    target: { spec: dst },
    selection,
    dryRun: values['dry-run'] ?? false,
    autoApprove: values.yes ?? false,
    ...(values['skip-backup'] ? { skipBackup: true } : {}),
    ...(values['active-groups'] ? { activeGroups: values['active-groups'] } : {}),
    ...(values['group-wait-minutes'] !== undefined ? { groupWaitMinutes: values['group-wait-minutes'] } : {}),
    ...(values['approval-timeout-minutes'] !== undefined ? { approvalTimeoutMinutes: values['approval-timeout-minutes'] } : {}),
    ...(values['max-lag'] !== undefined ? { maxLagRecords: values['max-lag'] } : {}),
  };
  const what = selection.topics ? selection.topics.join(', ') : `/${selection.pattern}/`;
  const t = await connectTemporal();
  try {
    // A dry run plans under its own ID: it never collides with a migration that runs.
    const workflowId = `${migrationWorkflowId(src.name, dst.name)}${input.dryRun ? '-plan' : ''}`;
    await startRun(t.client, 'migration', { workflowId, args: [input], summary: `${input.dryRun ? 'Plan: ' : ''}migrate ${src.name} → ${dst.name}: ${what}` });
    if (values['no-wait']) {
      out.result({ workflowId, ui: workflowUiLink(t.settings, workflowId) }, `started ${workflowId} (${what})\nfollow it: lifeboat migrate status ${workflowId}\napprove the cut-over when asked: lifeboat approve ${workflowId}`);
      return EXIT.OK;
    }
    if (!input.autoApprove && !input.dryRun) out.progress(`${workflowId}: the cut-over waits for approval: lifeboat approve ${workflowId} (or --reject); lifeboat migrate rollback ${workflowId} stops it`, { workflowId });
    const r = await follow<'migration'>(t, workflowId, out);
    out.result({ ...r }, resultText(t, r));
    const code = exitOf(r);
    if (code !== EXIT.OK && r.status.cause && !values.json) process.stderr.write(`lifeboat: ${r.status.cause.message}\n`);
    return code;
  } finally {
    await t.close();
  }
}

/** A run's status: from its result once it ended (no worker needed), else from the query. */
async function statusOf(handle: Awaited<ReturnType<typeof describeRun>>['handle'], running: boolean): Promise<MigrationStatus> {
  if (!running) {
    const r = (await handle.result().catch(() => undefined)) as WorkflowResult<'migration'> | undefined;
    if (r?.status) return r.status;
  }
  return handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY);
}

async function status(t: TemporalClient, workflowId: string, out: Output): Promise<number> {
  const { handle, desc } = await describeRun(t.client, workflowId);
  const s = await statusOf(handle, desc.status.name === 'RUNNING');
  out.result({ ...s, run: desc.status.name.toLowerCase() }, `${renderMigrationStatus(s)}\n(${desc.status.name.toLowerCase()})`);
  if (s.phase === 'failed' || (s.rollback?.notPutBack.length ?? 0) > 0) return EXIT.PARTIAL;
  return EXIT.OK;
}

async function rollback(t: TemporalClient, workflowId: string, values: Values, out: Output): Promise<number> {
  const { handle, desc } = await describeRun(t.client, workflowId);
  if (desc.status.name !== 'RUNNING') {
    const s = await statusOf(handle, false).catch(() => undefined);
    if (s?.pointOfNoReturn) {
      throw new LifeboatError('InvalidInput', `${workflowId} is done: past the point of no return (clients on ${s.target}, ${s.source} fenced); to go back, migrate ${s.target} → ${s.source}`);
    }
    throw new LifeboatError('InvalidInput', `${workflowId} is not running (${desc.status.name.toLowerCase()}${s ? `, ${s.phase}` : ''}): nothing to roll back; see "lifeboat migrate status ${workflowId}"`);
  }
  const s = await handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY);
  if (s.pointOfNoReturn) throw new LifeboatError('InvalidInput', `${workflowId} is past the point of no return: rollback refused`);
  await handle.signal(MIGRATION_ROLLBACK_SIGNAL, { by: values.by ?? userInfo().username, reason: values.reason ?? 'asked for' });
  const r = await follow<'migration'>(t, workflowId, out);
  out.result({ ...r }, resultText(t, r));
  // Rolled back whole: 0; anything not put back (or it ended otherwise): 3.
  return r.status.rollback && !r.status.rollback.notPutBack.length ? EXIT.OK : EXIT.PARTIAL;
}
