/**
 * restoreState — the cluster's state from a backup set: ZooKeeper (what is there kept first as a
 * pre-restore snapshot), the service registry's persistent nodes, every broker's config files (on
 * its host). The brokers should be stopped: fullClusterRecovery stops them before it starts this;
 * a failover, migration or drill that runs it alone stops them first. Its own approval gate asks
 * before the first write unless `autoApprove` (a parent that asked already passes true).
 */
import { workflowInfo } from '@temporalio/workflow';
import { specReadingFrom } from '../../src/backup/tiers.pure';
import { recoverySteps, stateWork } from '../../src/recovery/plan.pure';
import { configsDetail, registryDetail, zookeeperDetail } from '../../src/report/details.pure';
import type { RunReport } from '../../src/report/report.pure';
import { setCompletedAt } from '../../src/backup/setTimes.pure';
import { type ClusterRef, resolveCluster } from '../support/cluster';
import { RunTracker } from '../support/tracker';
import { checkRecoverable, chooseStepIfNeeded, control, onHost, requiredSet, type RunOptions, type SetRef } from './support';

export interface RestoreStateInput extends ClusterRef, SetRef, RunOptions {
  /** Restore only these of the set's parts (zookeeper, registry, configs:<broker>); default: all it holds. */
  parts?: string[];
  /** ZooKeeper restore mode: overwrite (default: puts back what the set has, deletes nothing) or mirror. */
  zkMode?: 'overwrite' | 'mirror';
  /** Where to write the registry's static address files (one per service), if the set has a registry. */
  registryFallbackDir?: string;
}

export async function restoreState(input: RestoreStateInput): Promise<RunReport> {
  const resolved = await resolveCluster(input);
  const source = resolved.source;
  // Reassigned once the set is known: a set chosen in a tier after the primary is read there.
  let spec = resolved.spec;
  checkRecoverable(spec, input.parts);
  const t = new RunTracker('restoreState', spec.name, [...chooseStepIfNeeded(input, input.parts), ...recoverySteps.state(spec)], input.dryRun ?? false, source);
  try {
    const set = await requiredSet(t, spec, input, input.parts);
    spec = specReadingFrom(spec, set.readFrom);
    const snapshot = { id: set.setId, time: set.time, completedAt: setCompletedAt(set) };
    const work = stateWork(spec, set, input.parts);
    if (work.zookeeper.skip) t.skip('restore-zookeeper', work.zookeeper.skip);
    if (work.registry.skip) t.skip('restore-registry', work.registry.skip);
    if (work.configs.skip) t.skip('restore-configs', work.configs.skip);
    if (t.dryRun) {
      for (const s of t.steps) if (s.status === 'pending') t.skip(s.name, 'dry run');
      t.finish('planned');
      return t.report('planned', { snapshot });
    }
    const first = t.steps.find((s) => s.status === 'pending');
    if (first) {
      await t.approve(first.name, `restore the state of ${spec.name} (ZooKeeper, registry, configs) from set ${set.setId} (${set.time})? What is there is kept first.`, {
        autoApprove: input.autoApprove ?? false,
        timeoutMs: (input.approvalTimeoutMinutes ?? 30) * 60_000,
      });
    }
    const zk = work.zookeeper.run;
    if (zk) await t.step('restore-zookeeper', () => control.restoreZookeeperActivity({ spec, snapshotId: zk, mode: input.zkMode }), zookeeperDetail);
    const reg = work.registry.run;
    if (reg) {
      await t.step('restore-registry', () => control.recoverRegistryActivity({ spec, snapshotId: reg, fallbackDir: input.registryFallbackDir }), (r) =>
        registryDetail(r, input.registryFallbackDir),
      );
    }
    const configs = work.configs.run;
    if (configs) {
      await t.step(
        'restore-configs',
        () => Promise.all(configs.map((c) => control.restoreConfigsActivity.executeWithOptions(onHost(c.host), [{ spec, brokerId: c.brokerId, snapshotId: c.snapshotId }]))),
        configsDetail,
      );
    }
    t.finish('succeeded');
    return t.report('succeeded', { snapshot });
  } finally {
    await t.settle();
  }
}

/** The workflow ID of a parent's n-th restoreState (n counts the set fallbacks from 1). */
export const restoreStateId = (attempt: number): string => `${workflowInfo().workflowId}/restore-state-${attempt}`;
