import type { ActivityDeps } from './deps';

/** (being built this session) */
export function failbackActivities(_deps: ActivityDeps) {
  return {};
}
