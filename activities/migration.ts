/** Online migration activities (pre-checks, fence, group offsets, client-switch hooks, verify). Being built. */
import type { ActivityDeps } from './deps';

export function migrationActivities(_deps: ActivityDeps) {
  return {};
}
