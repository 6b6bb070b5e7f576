/**
 * The backup monitor's Temporal Schedule: one per cluster (`lifeboat-monitor-<cluster>`), starting
 * the backupMonitor workflow with the cluster's spec every N minutes (overlap SKIP, as every
 * Lifeboat schedule). A firing alert lives three intervals, so a monitor that stops running lets
 * its alerts end rather than fire forever (Prometheus' rules on /metrics cover a silent monitor).
 */
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import type { ScheduleDefinition } from '../temporal/schedules';

export const monitorScheduleId = (cluster: string): string => `lifeboat-monitor-${cluster}`;

export interface MonitorScheduleOptions {
  /** Minutes between runs (default 15). */
  everyMinutes?: number;
  /** Alertmanagers to post to (default: the worker's LIFEBOAT_ALERTMANAGER_URLS). */
  alertmanagers?: string[];
  /** Labels added to every alert. */
  labels?: Record<string, string>;
}

/** The monitor's schedule of a cluster. Pure. */
export function planMonitorSchedule(spec: ClusterSpec, opts: MonitorScheduleOptions = {}): ScheduleDefinition<'backupMonitor'> {
  if (!spec.repository) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository section, so there are no backups to watch`);
  const every = opts.everyMinutes ?? 15;
  if (!(every >= 1 && every <= 24 * 60)) throw new LifeboatError('InvalidInput', `the monitor runs every 1 to 1440 minutes, got ${every}`);
  for (const u of opts.alertmanagers ?? []) {
    if (!/^https?:\/\/[^\s/]+/.test(u)) throw new LifeboatError('InvalidInput', `"${u}" is not an Alertmanager URL (http://host:port)`);
  }
  const id = monitorScheduleId(spec.name);
  return {
    id,
    workflow: 'backupMonitor',
    args: [
      {
        specs: [spec],
        alertTtlSeconds: 3 * every * 60,
        ...(opts.alertmanagers?.length ? { alertmanagers: opts.alertmanagers } : {}),
        ...(opts.labels && Object.keys(opts.labels).length ? { labels: opts.labels } : {}),
      },
    ],
    workflowId: `backupMonitor-${spec.name}`,
    intervals: [{ everyMs: every * 60_000 }],
    catchupWindowMs: Math.min(every, 10) * 60_000,
    cluster: spec.name,
    kind: 'backupMonitor',
    memo: { cluster: spec.name },
    runMemo: { cluster: spec.name, schedule: id },
    summary: `backup monitor of ${spec.name} (schedule ${id})`,
    description: `every ${every} min: facts, verification of the newest sets, alerts`,
    note: 'installed by lifeboat backup health --schedule',
  };
}
