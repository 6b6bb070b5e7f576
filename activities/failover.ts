import type { ActivityDeps } from './deps';

/** (being built this session) */
export function failoverActivities(_deps: ActivityDeps) {
  return {};
}
