/**
 * `lifeboat schedule apply|list|pause|unpause|trigger`: the tiered backup plan as Temporal
 * Schedules (src/temporal/schedules.ts). `apply` is idempotent, so it is re-run after editing the spec.
 */
import { userInfo } from 'node:os';
import type { Client } from '@temporalio/client';
import { EXIT, LifeboatError } from '../../errors';
import {
  applyBackupSchedules,
  asBackupState,
  type BackupScheduleState,
  deleteSchedule,
  listBackupSchedules,
  parseScheduleId,
  pauseSchedule,
  planSchedules,
  scheduleId,
  SCHEDULE_TIERS,
  type ScheduleTier,
  type ScheduleState,
  triggerSchedule,
  unpauseSchedule,
} from '../../temporal/schedules';
import { parseDrillScheduleId } from '../../drills/schedule';
import { workflowUiLink } from '../../temporal/connection';
import { choice, commandLine, describe, dryRun, flag, json, list, parts, spec, subcommand, text } from '../options';
import { output } from '../output';
import { requireSpec } from '../requireSpec';
import { printScheduleChanges } from '../scheduleChanges';
import { connectTemporal, type TemporalClient } from '../../temporal/runs';

export const summary = 'install the tiered backup plan as Temporal Schedules; list, pause, trigger, delete them';
const CLI = commandLine(
  'lifeboat schedule',
  `usage:
  lifeboat schedule apply --spec <cluster.yaml> [--tiers hourly,daily,weekly,monthly] [--parts p,..]
                          [--timezone <IANA>] [--prune] [--dry-run] [--json]
  lifeboat schedule list [--spec <cluster.yaml>] [--json]
  lifeboat schedule pause   <schedule-id> | --spec <cluster.yaml> [--tier <tier>]  [--note <text>] [--json]
  lifeboat schedule unpause <schedule-id> | --spec <cluster.yaml> [--tier <tier>]  [--note <text>] [--json]
  lifeboat schedule trigger <schedule-id> | --spec <cluster.yaml> --tier <tier>   [--json]
  lifeboat schedule delete  <schedule-id> | --spec <cluster.yaml> [--tier <tier>]  [--json]
pause, unpause, trigger and delete take the ID of any Lifeboat schedule: lifeboat-backup-<cluster>-<tier>,
lifeboat-drill-<cluster>-<tabletop|partial|full> (lifeboat drill schedule), lifeboat-monitor-<cluster> (backup health).
tiers: hourly (incremental, :15 every hour), daily (full, 01:00), weekly (full, Sunday 02:00),
       monthly (full, 1st 03:00); times in --timezone (default UTC). Schedule IDs: lifeboat-backup-<cluster>-<tier>.
--prune deletes the cluster's schedules of tiers not in --tiers. Overlap policy SKIP, also for trigger.`,
  [
    spec,
    list('tiers', '<t,..>', 'apply: the tiers to schedule (default: all four)'),
    choice('tier', SCHEDULE_TIERS, 'with --spec: the schedule of this tier'),
    describe(parts, 'apply: what each scheduled backup takes (default: the backup default)'),
    text('timezone', '<IANA>', 'apply: the time zone of the schedule times (default UTC)'),
    text('note', '<text>', 'pause, unpause: why (shown by schedule list and the Temporal UI)'),
    flag('prune', "apply: delete the cluster's schedules of tiers not in --tiers"),
    dryRun,
    json,
  ],
);

export async function run(argv: string[]): Promise<number> {
  const [sub, rest] = subcommand(argv, CLI.usage);
  const { values, positionals } = CLI.parse(rest);
  const out = output(values.json ?? false);
  const allowed: Record<string, string[]> = {
    apply: ['spec', 'tiers', 'parts', 'timezone', 'prune', 'dry-run', 'json'],
    list: ['spec', 'json'],
    pause: ['spec', 'tier', 'note', 'json'],
    unpause: ['spec', 'tier', 'note', 'json'],
    trigger: ['spec', 'tier', 'json'],
    delete: ['spec', 'tier', 'json'],
  };
  const ok = allowed[sub];
  if (!ok) throw CLI.error(`unknown subcommand "schedule ${sub}"`);
  const extra = Object.keys(values).filter((k) => values[k as keyof typeof values] !== undefined && !ok.includes(k));
  if (extra.length) throw CLI.error(`schedule ${sub} does not take ${extra.map((k) => `--${k}`).join(', ')}`);
  if (positionals.length > (sub === 'apply' || sub === 'list' ? 0 : 1)) throw CLI.error(`unexpected argument "${positionals.at(-1)}"`);

  if (sub === 'apply') {
    const spec = requireSpec(values.spec, CLI);
    const plan = planSchedules(spec, { tiers: values.tiers as ScheduleTier[] | undefined, parts: values.parts, timezone: values.timezone });
    return withTemporal(async (t) => {
      const changes = await applyBackupSchedules(t.client, spec.name, plan, { prune: values.prune, dryRun: values['dry-run'] });
      printScheduleChanges(out, spec.name, changes);
      return EXIT.OK;
    });
  }
  if (sub === 'list') {
    const cluster = values.spec ? requireSpec(values.spec, CLI).name : undefined;
    return withTemporal(async (t) => {
      const states = await listBackupSchedules(t.client, cluster);
      out.result(states, states.length ? states.map(formatState).join('\n') : `no Lifeboat schedules${cluster ? ` of ${cluster}` : ''} (lifeboat schedule apply --spec <file> installs them)`);
      return EXIT.OK;
    });
  }

  return withTemporal(async (t) => {
    const ids = await targets(t.client, sub, positionals[0], values.spec, values.tier);
    if (sub === 'trigger') {
      const r = await triggerSchedule(t.client, ids[0]!);
      const ui = r.workflowId ? workflowUiLink(t.settings, r.workflowId, r.runId) : undefined;
      out.result({ ...r, ui }, r.workflowId ? `${r.id}: started ${r.workflowId}${ui ? `\n${ui}` : ''}` : `${r.id}: skipped — ${r.skipped}`);
      return r.workflowId ? EXIT.OK : EXIT.PARTIAL;
    }
    if (sub === 'delete') {
      const deleted: { id: string; action: 'delete' }[] = [];
      for (const id of ids) {
        await deleteSchedule(t.client, id);
        deleted.push({ id, action: 'delete' });
      }
      out.result(deleted, deleted.map((d) => `${d.id}: deleted`).join('\n'));
      return EXIT.OK;
    }
    const who = `${userInfo().username} at ${new Date().toISOString()}`;
    const note = values.note ?? `${sub === 'pause' ? 'paused' : 'unpaused'} with lifeboat schedule ${sub} by ${who}`;
    const states: (BackupScheduleState | ScheduleState)[] = [];
    for (const id of ids) {
      const s = sub === 'pause' ? await pauseSchedule(t.client, id, note) : await unpauseSchedule(t.client, id, note);
      states.push(parseScheduleId(id) ? asBackupState(s) : s);
    }
    out.result(states, states.map((s) => `${s.id}: ${s.paused ? 'paused' : 'active'}${s.note ? ` — ${s.note}` : ''}`).join('\n'));
    return EXIT.OK;
  });
}

async function withTemporal(fn: (t: TemporalClient) => Promise<number>): Promise<number> {
  const t = await connectTemporal();
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

/** The schedules a command is about: an ID, or a spec's cluster with one tier (or, except to trigger, all its installed tiers). */
async function targets(client: Client, sub: string, id: string | undefined, specFile: string | undefined, tier: ScheduleTier | undefined): Promise<string[]> {
  if (id) {
    if (specFile || tier) throw CLI.error('give a schedule ID or --spec/--tier, not both');
    if (!lifeboatScheduleOf(id)) {
      throw new LifeboatError(
        'InvalidInput',
        `"${id}" is not a Lifeboat schedule ID (lifeboat-backup-<cluster>-<${SCHEDULE_TIERS.join('|')}>, lifeboat-drill-<cluster>-<tabletop|partial|full> or lifeboat-monitor-<cluster>; lifeboat schedule list and lifeboat drill schedule list show them)`,
      );
    }
    return [id];
  }
  if (!specFile) throw CLI.error('a schedule ID or --spec is required');
  const cluster = requireSpec(specFile, CLI).name;
  if (tier !== undefined) return [scheduleId(cluster, tier)];
  if (sub === 'trigger') throw CLI.error('trigger needs --tier with --spec');
  const installed = (await listBackupSchedules(client, cluster)).map((s) => s.id);
  if (!installed.length) throw new LifeboatError('WorkflowNotFound', `no Lifeboat schedules of ${cluster} in namespace ${client.options.namespace} (lifeboat schedule apply --spec ${specFile} installs them)`);
  return installed;
}

/** What a Lifeboat schedule ID names: a backup tier's, a drill type's or the backup monitor's schedule of a cluster. */
export function lifeboatScheduleOf(id: string): { kind: 'backup' | 'drill' | 'monitor'; cluster: string } | undefined {
  const backup = parseScheduleId(id);
  if (backup) return { kind: 'backup', cluster: backup.cluster };
  const drill = parseDrillScheduleId(id);
  if (drill) return { kind: 'drill', cluster: drill.cluster };
  const monitor = /^lifeboat-monitor-([a-z0-9][a-z0-9-]*)$/.exec(id);
  return monitor ? { kind: 'monitor', cluster: monitor[1]! } : undefined;
}

const minutes = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${Math.round(ms / 60_000)}m`);

function formatState(s: BackupScheduleState): string {
  return [
    `${s.id} (${s.tier}, ${s.paused ? 'PAUSED' : 'active'}${s.note ? `: ${s.note}` : ''})`,
    `  ${s.description}; overlap ${s.overlap}, catch-up window ${minutes(s.catchupWindowMs)}`,
    `  next: ${s.paused ? '(paused) ' : ''}${s.nextRuns.join(', ') || '—'}`,
    `  last: ${s.lastRun ? `${s.lastRun.status} ${s.lastRun.workflowId} at ${s.lastRun.startedAt}` : 'never run'}${s.running.length ? `; running ${s.running.join(', ')}` : ''}`,
    `  runs ${s.actionsTaken}, skipped (overlap) ${s.skippedOverlap}, missed (catch-up) ${s.missedCatchupWindow}`,
  ].join('\n');
}
