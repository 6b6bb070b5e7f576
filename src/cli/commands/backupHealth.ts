/**
 * `lifeboat backup health --spec <file>`: the backup monitor's verdicts for a person (issue 15),
 * from the same facts and rules as the backupMonitor workflow and /metrics: the repositories'
 * sets (read, nothing written), the schedule and failed runs in Temporal, and the verifications
 * the monitor recorded (not re-read here). Exit 0 healthy, 3 degraded (warnings), 13 failing.
 * `--schedule` installs (or updates) the monitor's own Temporal Schedule for the cluster.
 */
import { EXIT, LifeboatError } from '../../errors';
import { gatherBackupFacts } from '../../monitoring/facts';
import { duration, healthOf, policyOf } from '../../monitoring/health.pure';
import { monitorScheduleId, planMonitorSchedule } from '../../monitoring/schedule';
import type { BackupHealth, HealthCheck } from '../../monitoring/types';
import { applySchedules, deleteSchedule, findSchedule } from '../../temporal/schedules';
import { connectTemporal, type TemporalClient } from '../../temporal/runs';
import { BadValue, commandLine, dryRun, flag, int, json, list, spec as specOption, text } from '../options';
import { output } from '../output';
import { requireSpec } from '../requireSpec';

const positive = (raw: string): number => {
  const n = Number(raw);
  if (!(n > 0) || !Number.isFinite(n)) throw new BadValue(`must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
};

const CLI = commandLine(
  'lifeboat backup health',
  `usage:
  lifeboat backup health --spec <cluster.yaml> [--interval <seconds>] [--stale-factor <k>] [--json]
  lifeboat backup health --spec <cluster.yaml> --schedule [--every <minutes>] [--alertmanager <url>,..] [--dry-run] [--json]
  lifeboat backup health --spec <cluster.yaml> --unschedule [--json]
checks: reachable, fresh (newest complete set younger than k × the expected interval), verified
(by the backupMonitor runs), offsite, scheduled, protected (3-2-1). Exit 0 healthy, 3 degraded
(warnings only), 13 failing (a critical check). --schedule installs lifeboat-monitor-<cluster>:
the backupMonitor workflow every --every minutes (default 15), alerting the Alertmanagers given
(default: the worker's LIFEBOAT_ALERTMANAGER_URLS).`,
  [
    specOption,
    text('interval', '<seconds>', 'the expected interval between sets (default: the backup schedule, else the spec RPO)', positive),
    text('stale-factor', '<k>', 'stale when the newest set is older than k × the interval (default 2)', positive),
    flag('schedule', "install or update the monitor's Temporal Schedule for the cluster"),
    flag('unschedule', "delete the monitor's Temporal Schedule of the cluster"),
    int('every', '<minutes>', '--schedule: minutes between monitor runs (default 15)', 1),
    list('alertmanager', '<url,..>', '--schedule: Alertmanager base URLs to post alerts to'),
    dryRun,
    json,
  ],
);

const MARK: Record<HealthCheck['severity'], string> = { ok: 'ok  ', warning: 'WARN', critical: 'CRIT' };

/** The verdicts as text: one line per check, then the tiers and failed runs. */
export function renderHealth(h: BackupHealth, staleFactor: number): string {
  const f = h.facts;
  const lines = [
    `backup health of ${h.cluster}: ${h.verdict.toUpperCase()} (at ${h.at}; a set expected every ${duration(f.expectedIntervalSeconds)}, stale after ${duration(staleFactor * f.expectedIntervalSeconds)})`,
  ];
  const order = { critical: 0, warning: 1, ok: 2 } as const;
  for (const c of [...h.checks].sort((a, b) => order[a.severity] - order[b.severity])) {
    lines.push(`  ${MARK[c.severity]}  ${c.check.padEnd(9)}  ${(c.tier ?? '').padEnd(8)}  ${c.summary}`);
  }
  lines.push('tiers:');
  for (const t of f.tiers) {
    const parts = [
      `${t.tier.padEnd(8)} ${t.medium.padEnd(7)} ${t.offsite ? 'off-site' : 'on-site '} ${t.location}`,
      t.reachable ? `${t.sets} sets` : `unreachable: ${t.error ?? ''}`,
      ...(t.lastSuccess ? [`newest ${t.lastSuccess.setId} at ${t.lastSuccess.time}`] : []),
      ...(t.lastVerified ? [`verified ${t.lastVerified.setId} at ${t.lastVerified.time} ${t.lastVerified.ok ? 'ok' : 'FAILED'}`] : []),
      ...(t.storedBytes !== undefined ? [`${(t.storedBytes / 1e6).toFixed(1)} MB stored`] : []),
    ];
    lines.push(`  ${parts.join(', ')}`);
  }
  if (f.failures.length) lines.push(`failed backup runs: ${f.failures.map((x) => `${x.reason} ${x.count}`).join(', ')}`);
  return lines.join('\n');
}

export const exitOf = (h: BackupHealth): number => (h.verdict === 'healthy' ? EXIT.OK : h.verdict === 'degraded' ? EXIT.PARTIAL : EXIT.INTEGRITY);

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = CLI.parse(argv);
  if (positionals.length) throw CLI.error(`unexpected argument "${positionals[0]}"`);
  const spec = requireSpec(values.spec, CLI);
  const out = output(values.json ?? false);
  if (values.schedule && values.unschedule) throw CLI.error('--schedule and --unschedule exclude each other');
  const scheduling = values.schedule || values.unschedule;
  if (!values.schedule && (values.every !== undefined || values.alertmanager)) throw CLI.error('--every and --alertmanager go with --schedule');
  if (scheduling && (values.interval !== undefined || values['stale-factor'] !== undefined)) throw CLI.error('--interval and --stale-factor are for reading the health, not with --schedule');
  if (!scheduling && values['dry-run']) throw CLI.error('--dry-run goes with --schedule');

  if (values.schedule) {
    const plan = planMonitorSchedule(spec, { everyMinutes: values.every, alertmanagers: values.alertmanager });
    const t = await connectTemporal();
    try {
      const [change] = await applySchedules(t.client, [plan], { dryRun: values['dry-run'] });
      out.result({ ...change! }, `${change!.id}: ${change!.action}${change!.dryRun ? ' (dry run)' : ''} — ${plan.description}`);
      return EXIT.OK;
    } finally {
      await t.close();
    }
  }
  if (values.unschedule) {
    const id = monitorScheduleId(spec.name);
    const t = await connectTemporal();
    try {
      if (!(await findSchedule(t.client, id))) throw new LifeboatError('WorkflowNotFound', `no schedule ${id} (lifeboat backup health --spec <file> --schedule installs it)`);
      await deleteSchedule(t.client, id);
      out.result({ id, action: 'delete' }, `${id}: deleted`);
      return EXIT.OK;
    } finally {
      await t.close();
    }
  }

  const policy = policyOf({ staleFactor: values['stale-factor'] });
  let t: TemporalClient | undefined;
  let unreachable: string | undefined;
  try {
    t = await connectTemporal();
  } catch (e) {
    unreachable = (e as Error).message.split('\n')[0];
  }
  try {
    const facts = await gatherBackupFacts(spec, { temporal: t?.client, expectedIntervalSeconds: values.interval });
    if (unreachable) facts.temporal = { reachable: false, error: unreachable };
    const h = healthOf(facts, policy);
    out.result({ ...h }, renderHealth(h, policy.staleFactor));
    return exitOf(h);
  } finally {
    await t?.close().catch(() => undefined);
  }
}
