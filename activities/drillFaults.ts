/**
 * A drill's faults and their reverts, and the target's inventory (issue 16). Thin: src/drills/faults.ts,
 * src/drills/inventory.ts. Broker faults run on the broker's host task queue (the workflow routes
 * them); the others on the control queue, where the repository and ZooKeeper are reachable.
 */
import type { ClusterSpec } from '../src/config/spec';
import { applyFault, revertFault } from '../src/drills/faults';
import { takeInventory } from '../src/drills/inventory';
import { awaitRegistryInstances, type InstancesBack, registryInstances } from '../src/drills/registryInstances';
import type { AppliedFault, FaultSpec, Inventory, RevertMode, RevertResult } from '../src/drills/records';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

const subjectOf = (f: FaultSpec): string => ('brokerId' in f ? `${f.kind} broker ${f.brokerId}` : f.kind);

export function drillFaultActivities(_deps: ActivityDeps) {
  return {
    /** The target's inventory (topics, groups, znodes, broker configs); a read, never a write. */
    async drillInventoryActivity(input: { spec: ClusterSpec; drillId: string; excludeTopics?: string[] }): Promise<Inventory> {
      return withHeartbeat({ phase: 'drill inventory', subject: input.spec.name }, (_beat, signal) => takeInventory(input.spec, input.drillId, { excludeTopics: input.excludeTopics, signal }));
    },
    /** The service instances (ephemeral nodes) under the registry roots now; a read. */
    async drillRegistryInstancesActivity(input: { spec: ClusterSpec }): Promise<string[]> {
      return withHeartbeat({ phase: 'drill registry instances', subject: input.spec.name }, (_beat, signal) => registryInstances(input.spec, signal));
    },
    /** Waits (bounded) for the instances registered before a registry fault to be registered again; what is missing is the answer. */
    async drillAwaitRegistryInstancesActivity(input: { spec: ClusterSpec; instances: string[]; timeoutSeconds: number }): Promise<InstancesBack> {
      return withHeartbeat({ phase: 'drill registry instances', subject: input.spec.name }, (beat, signal) =>
        awaitRegistryInstances(input.spec, input.instances, {
          timeoutMs: input.timeoutSeconds * 1000,
          signal,
          onProgress: (back, expected) => beat({ phase: `drill registry instances: ${back} of ${expected} registered again`, subject: input.spec.name }),
        }),
      );
    },
    /** Applies one fault (broker faults on the broker's host task queue); idempotent: a second run finds it applied and returns the same record. */
    async drillApplyFaultActivity(input: { spec: ClusterSpec; drillId: string; fault: FaultSpec }): Promise<AppliedFault> {
      const subject = subjectOf(input.fault);
      return withHeartbeat({ phase: 'drill fault', subject }, (beat, signal) =>
        applyFault(input.spec, input.drillId, input.fault, { signal, onProgress: (m) => beat({ phase: `drill fault: ${m}`, subject }) }),
      );
    },
    /** Undoes an applied fault (restore) or drops what it kept (discard); runs twice without harm. */
    async drillRevertFaultActivity(input: { spec: ClusterSpec; drillId: string; applied: AppliedFault; mode: RevertMode }): Promise<RevertResult> {
      const subject = subjectOf(input.applied.fault);
      return withHeartbeat({ phase: `drill revert (${input.mode})`, subject }, (beat, signal) =>
        revertFault(input.spec, input.drillId, input.applied, input.mode, { signal, onProgress: (m) => beat({ phase: `drill revert: ${m}`, subject }) }),
      );
    },
  };
}
