import type { ActivityDeps } from './deps';

/** (being built this session) */
export function failoverDataActivities(_deps: ActivityDeps) {
  return {};
}
