/** Offline migration activities (being built). */
import type { ActivityDeps } from './deps';

export function offlineMigrationActivities(_deps: ActivityDeps) {
  return {};
}
