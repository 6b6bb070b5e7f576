import type { ActivityDeps } from './deps';

/** (being built this session) */
export function registryOpsActivities(_deps: ActivityDeps) {
  return {};
}
