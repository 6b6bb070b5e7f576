/**
 * Registry operations a failover (or an operator) runs: set and read the registry's degradation level
 * (src/registry/degrade.ts). The off-site registry sync's long-running activity joins them (sync.ts).
 */
import type { ClusterSpec } from '../src/config/spec';
import { type DegradationLevel, type DegradationState, readDegradation, setDegradation } from '../src/registry/degrade';
import type { ActivityDeps } from './deps';
import { checkedSpec } from './errors';
import { withHeartbeat } from './heartbeat';

export interface RegistryDegradeInput {
  /** The cluster whose registry is degraded: its spec, or its name among the worker's specs. */
  spec?: ClusterSpec;
  cluster?: string;
  level: DegradationLevel;
  by: string;
  reason?: string;
  /** Levels 3-4: where the static address files go, on the worker that runs this. */
  fallbackDir?: string;
  /** Level 4: critical services (names or regular expressions); default the spec's registry.critical. */
  critical?: string[];
  /** Levels 3-4: a registry snapshot ref instead of the newest. */
  snapshot?: string;
  dryRun?: boolean;
}

function specOf(deps: ActivityDeps, input: { spec?: ClusterSpec; cluster?: string }): ClusterSpec {
  if (input.spec) return checkedSpec(input.spec);
  if (input.cluster) return deps.specs.get(input.cluster).spec;
  return checkedSpec(undefined);
}

export function registryOpsActivities(deps: ActivityDeps) {
  return {
    /** Moves the registry to a degradation level (idempotent; 0 lifts everything back exactly). */
    async registryDegradeActivity(input: RegistryDegradeInput): Promise<DegradationState> {
      const spec = specOf(deps, input);
      return withHeartbeat({ phase: `registry degradation → level ${input.level}${input.dryRun ? ' (dry run)' : ''}`, subject: spec.name }, () =>
        setDegradation({ spec, level: input.level, by: input.by, reason: input.reason, fallbackDir: input.fallbackDir, critical: input.critical, snapshot: input.snapshot, dryRun: input.dryRun }),
      );
    },

    /** The registry's current degradation (a read: changes nothing). */
    async registryDegradationActivity(input: { spec?: ClusterSpec; cluster?: string }): Promise<DegradationState> {
      return readDegradation(specOf(deps, input));
    },
  };
}
