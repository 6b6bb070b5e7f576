/**
 * `lifeboat mirror start|status|stop|pause|resume`: the long-running mirror of topics from one cluster
 * to another (workflows/mirror.ts, ID mirror-<source>-to-<target>). start returns once the workflow
 * runs (a dry run waits for the plan); status prints the lag per partition; stop ends it after the
 * current round and prints the report.
 */
import { userInfo } from 'node:os';
import { EXIT, LifeboatError } from '../../errors';
import { defaultPayloadConverter } from '@temporalio/common';
import { aclText, type PartitionPosition } from '../../kafka/mirror';
import {
  heartbeatPositions,
  lagTable,
  MIRROR_PAUSE_SIGNAL,
  MIRROR_RESUME_SIGNAL,
  MIRROR_STATUS_QUERY,
  MIRROR_STOP_SIGNAL,
  lostRangeText,
  type MirrorStatus,
  mirrorTotals,
  mirrorWorkflowId,
  renderLagTable,
  sameCluster,
  selectionProblem,
  withLivePositions,
} from '../../kafka/mirrorRun.pure';
import { renderMarkdown } from '../../report/report.pure';
import { workflowUiLink } from '../../temporal/connection';
import { connectTemporal, describeRun, startRun, type TemporalClient, type WorkflowArgs } from '../../temporal/runs';
import { follow } from '../follow';
import { requireSpecPair } from '../requireSpec';
import { commandLine, describe, dryRun, flag, int, json, noWait, regex, spec as specOption, subcommand, targetSpec, text, topicList } from '../options';
import { type Output, output } from '../output';

export const summary = 'mirror topics to another cluster with exact offsets (start, status, stop, pause, resume)';

const USAGE = `usage:
  lifeboat mirror start --spec <source.yaml> --target-spec <target.yaml> (--topics a,b | --pattern <regex>)
                        [--acls] [--shards n] [--round-seconds s] [--dry-run] [--json]
  lifeboat mirror status (<workflow-id> | --spec <source.yaml> --target-spec <target.yaml>) [--json]
  lifeboat mirror stop   (<workflow-id> | --spec ... --target-spec ...) [--no-wait] [--json]
  lifeboat mirror pause|resume (<workflow-id> | --spec ... --target-spec ...) [--json]`;

const source = describe(specOption, 'the source cluster (read from)');
const target = describe(targetSpec, 'the target cluster (written to)');
const CLI = commandLine('lifeboat mirror', USAGE, [
  source,
  target,
  describe(topicList, 'start: the topics to mirror'),
  regex('pattern', 'start: mirror every topic whose name matches (new ones are picked up while it runs)'),
  flag('acls', 'start: also mirror the ACLs binding the topics and their consumer groups (every round; never a migration\'s write fence)'),
  int('shards', '<n>', 'start: partition shards copied in parallel (default 4)', 1),
  int('round-seconds', '<s>', 'start: how long a shard copies before positions are recorded (default 60)', 1),
  describe(dryRun, 'start: show the topics it would create or extend, change nothing'),
  describe(noWait, 'stop: ask it to stop, do not wait for the report'),
  text('by', '<name>', 'stop: who stops it (default: the user running this)'),
  json,
]);

type Values = ReturnType<typeof CLI.parse>['values'];

export async function run(argv: string[]): Promise<number> {
  const [sub, rest] = subcommand(argv, CLI.usage);
  if (!['start', 'status', 'stop', 'pause', 'resume'].includes(sub)) throw CLI.error(`unknown subcommand "mirror ${sub}"`);
  const { values, positionals } = CLI.parse(rest);
  const out = output(values.json ?? false);
  if (sub === 'start') {
    if (positionals.length) throw CLI.error(`mirror start takes no arguments, got ${positionals.join(' ')}`);
    return start(values, out);
  }
  const workflowId = targetId(values, positionals);
  const t = await connectTemporal();
  try {
    if (sub === 'status') return await status(t, workflowId, out);
    const { handle, desc } = await describeRun(t.client, workflowId);
    if (desc.status.name !== 'RUNNING') {
      throw new LifeboatError('InvalidInput', `${workflowId} is not running (${desc.status.name.toLowerCase()}): nothing to ${sub}; see "lifeboat report ${workflowId}"`);
    }
    if (sub === 'pause' || sub === 'resume') {
      await handle.signal(sub === 'pause' ? MIRROR_PAUSE_SIGNAL : MIRROR_RESUME_SIGNAL);
      out.result({ workflowId, signal: sub }, `${sub === 'pause' ? 'pausing' : 'resuming'} ${workflowId} (${sub === 'pause' ? 'after the current round' : 'at once'})`);
      return EXIT.OK;
    }
    await handle.signal(MIRROR_STOP_SIGNAL, { by: values.by ?? userInfo().username });
    if (values['no-wait']) {
      out.result({ workflowId, signal: 'stop' }, `stopping ${workflowId} after its current round`);
      return EXIT.OK;
    }
    const r = await follow<'mirror'>(t, workflowId, out);
    out.result({ ...r }, `${renderLagTable(r.status.partitions, r.status.totals)}\n\n${renderMarkdown({ ...r.report, uiLink: workflowUiLink(t.settings, r.report.workflowId, r.report.runId) })}`);
    return r.report.outcome === 'succeeded' ? EXIT.OK : EXIT.PARTIAL;
  } finally {
    await t.close();
  }
}

/** Both specs, refused before anything starts when they are the same cluster. */
const pairSpecs = (values: Values) => requireSpecPair(values, CLI, sameCluster);

/** The workflow ID given, or the one of the --spec/--target-spec pair. */
function targetId(values: Values, positionals: string[]): string {
  if (positionals.length > 1) throw CLI.error(`one workflow ID, got ${positionals.length}: ${positionals.join(' ')}`);
  if (positionals.length && (values.spec || values['target-spec'])) throw CLI.error('give a workflow ID or --spec/--target-spec, not both');
  if (positionals.length) return positionals[0]!;
  const { src, dst } = pairSpecs(values);
  return mirrorWorkflowId(src.name, dst.name);
}

async function start(values: Values, out: Output): Promise<number> {
  const { src, dst } = pairSpecs(values);
  const selection = { ...(values.topics ? { topics: values.topics } : {}), ...(values.pattern ? { pattern: values.pattern.source } : {}), ...(values.acls ? { acls: true } : {}) };
  const bad = selectionProblem(selection);
  // A pattern that does not compile was refused by its option already: only an empty selection is left.
  if (bad) throw CLI.error('the mirror selects no topics: give --topics a,b or --pattern <regex>');
  const input: WorkflowArgs<'mirror'>[0] = {
    source: { spec: src },
    target: { spec: dst },
    selection,
    ...(values.shards !== undefined ? { shards: values.shards } : {}),
    ...(values['round-seconds'] !== undefined ? { roundSeconds: values['round-seconds'] } : {}),
    dryRun: values['dry-run'] ?? false,
  };
  const what = selection.topics ? selection.topics.join(', ') : `/${selection.pattern}/`;
  const t = await connectTemporal();
  try {
    // A dry run plans under its own ID: it never collides with (or is refused by) the running mirror.
    const workflowId = `${mirrorWorkflowId(src.name, dst.name)}${input.dryRun ? '-plan' : ''}`;
    await startRun(t.client, 'mirror', { workflowId, args: [input], summary: `${input.dryRun ? 'Plan: ' : ''}mirror ${src.name} → ${dst.name}: ${what}` });
    const ui = workflowUiLink(t.settings, workflowId);
    if (!input.dryRun) {
      out.result({ workflowId, ui }, `started ${workflowId} (${what})\n${ui ?? ''}\nfollow it: lifeboat mirror status ${workflowId}`);
      return EXIT.OK;
    }
    const r = await follow<'mirror'>(t, workflowId, out);
    const lines = r.plan.flatMap((p) => [
      `  ${p.action.padEnd(14)} ${p.topic} (${p.partitions} partitions${Object.keys(p.configs).length ? `; ${Object.entries(p.configs).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''})`,
      ...(p.changed ? [`    follows the source: ${Object.entries(p.changed).map(([k, v]) => `${k}=${v}`).join(', ')}`] : []),
      ...(p.dropped ? [`    not on the target (its Kafka has no such config): ${Object.entries(p.dropped).map(([k, v]) => `${k}=${v}`).join(', ')}`] : []),
      ...(p.acls ?? []).map((a) => `    acl ${a.action.padEnd(8)} ${aclText(a)}${a.action === 'skipped' ? ' (a migration\'s write fence: never mirrored)' : ''}`),
    ]);
    // Said once, not under each topic: the listing is the source's, not a topic's.
    for (const w of new Set(r.plan.flatMap((p) => p.aclWarnings ?? []))) lines.push(`  warning: group ACLs may be missing: ${w}`);
    out.result({ ...r }, `plan of mirror ${src.name} → ${dst.name} (dry run, nothing changed):\n${lines.length ? lines.join('\n') : '  no topic selected'}`);
    return EXIT.OK;
  } finally {
    await t.close();
  }
}

/** What the running shards heartbeat: their newest positions (data from another process, checked). */
function runningShardPositions(desc: Awaited<ReturnType<typeof describeRun>>['desc']): PartitionPosition[] {
  return (desc.raw.pendingActivities ?? [])
    .filter((a) => a.activityType?.name === 'mirrorShardActivity')
    .flatMap((a) => {
      const payload = a.heartbeatDetails?.payloads?.[0];
      try {
        return payload ? heartbeatPositions(defaultPayloadConverter.fromPayload(payload as never)) : [];
      } catch {
        return [];
      }
    });
}

async function status(t: TemporalClient, workflowId: string, out: Output): Promise<number> {
  const { handle, desc } = await describeRun(t.client, workflowId);
  const recorded = await handle.query<MirrorStatus>(MIRROR_STATUS_QUERY);
  // Mid-round, the running shards know newer positions than the last round recorded: lag as of now.
  const { positions, live } = withLivePositions(recorded.partitions, runningShardPositions(desc));
  const now = Date.now();
  const partitions = live ? lagTable(positions, now, recorded.dataLost) : recorded.partitions;
  const s: MirrorStatus = live ? { ...recorded, partitions, totals: mirrorTotals(partitions), updatedAt: new Date(now).toISOString() } : recorded;
  const head =
    `${workflowId}: ${s.state} (${desc.status.name.toLowerCase()}), ${s.source} → ${s.target}, round ${s.rounds}, ${s.shards} shards` +
    `${s.updatedAt ? `, as of ${s.updatedAt}${live ? ` (${live} partitions from the running shards)` : ''}` : ''}; ${s.throughput.recordsPerSecond} records/s, ${s.throughput.bytesPerSecond} bytes/s`;
  const lost = s.dataLost.map((d) => `DATA LOST: ${d.topic}/${d.partition} offsets ${lostRangeText(d)} — ${d.message}`);
  // A shard or plan that failed and waits for its next attempt (an unreachable cluster): said, not hidden.
  const retrying = (desc.raw.pendingActivities ?? [])
    .filter((a) => (a.attempt ?? 1) > 1 && a.lastFailure?.message)
    .map((a) => ({ activity: a.activityType?.name ?? '', attempt: a.attempt ?? 0, failure: a.lastFailure?.message ?? '' }));
  const retryLines = retrying.map((r) => `RETRYING ${r.activity} (attempt ${r.attempt}): ${r.failure}`);
  out.result({ workflowId, ...s, live, retrying }, [head, '', renderLagTable(s.partitions, s.totals), ...(lost.length ? ['', ...lost] : []), ...(retryLines.length ? ['', ...retryLines] : [])].join('\n'));
  return s.dataLost.length ? EXIT.PARTIAL : EXIT.OK;
}
