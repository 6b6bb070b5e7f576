/** Cluster specs by name: a workflow started with `{ "cluster": "primary" }` resolves its spec here. */
import type { ResolvedSpec } from '../src/config/catalog';
import type { ActivityDeps } from './deps';

export function specActivities(deps: ActivityDeps) {
  return {
    /**
     * The spec of the cluster named `cluster` among those the worker was started with (`--spec`,
     * `--specs-dir`), with which file and which version of it (sha256 of its bytes) the report records.
     * An unknown name fails at once (InvalidInput, non-retryable), naming the known clusters.
     */
    async resolveClusterSpecActivity(input: { cluster: string }): Promise<ResolvedSpec> {
      return deps.specs.get(input.cluster);
    },
  };
}
