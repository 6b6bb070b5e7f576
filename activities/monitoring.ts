/** Backup monitoring's activities (issue 15): facts, verification of the newest set, alerts to Alertmanager. Thin. */
import type { ActivityDeps } from './deps';

export function monitoringActivities(_deps: ActivityDeps) {
  return {};
}
