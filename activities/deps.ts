/**
 * What activities need from the process that runs them, built once per worker (src/temporal/worker.ts)
 * and handed to createActivities, as Temporal's samples do: the cluster specs the worker was started
 * with (a workflow may name its cluster instead of carrying the spec), and the repository sessions
 * (each repository opened once: keys unlocked and index read once, refreshed when it changed).
 * Broker-control adapters are registered with src/host/brokerControl by the process at start-up.
 */
import { specCatalog, type SpecCatalog } from '../src/config/catalog';
import { RepositorySessions } from '../src/repository/session';

export interface ActivityDeps {
  specs: SpecCatalog;
  repositories: RepositorySessions;
}

/** Deps with defaults for what is not given: no cluster specs, fresh repository sessions. */
export function activityDeps(given: Partial<ActivityDeps> = {}): ActivityDeps {
  return { specs: given.specs ?? specCatalog([]), repositories: given.repositories ?? new RepositorySessions() };
}
