/** Backup activities: one part of a backup set, retention of sets per tier, the copies down the tiers. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../src/config/spec';
import { type BackupSet, type BackupSetRef, backupPart, listBackupSets, missingParts, type PartOptions, type PartResult } from '../src/backup/parts';
import { applySetRetention, READERS_UNKNOWN } from '../src/backup/retention';
import { runningBackupSets, runningSetReaders } from '../src/backup/running';
import { type CopyToTierResult, OFFSITE_TIER, PRIMARY_TIER, repositoryTiers, type TiersRetention } from '../src/backup/tiers.pure';
import { openRepositoryForSpec, type SpecOpenOptions } from '../src/repository';
import { copySnapshots } from '../src/repository/copy';
import type { LocalRepository } from '../src/repository/repo';
import { isLifeboatError } from '../src/errors';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';
import { partProgress } from './progress';

export interface BackupPartInput {
  spec: ClusterSpec;
  set: BackupSetRef;
  part: string;
  options?: Omit<PartOptions, 'onProgress' | 'signal'>;
}

/**
 * A service the part already waited for, for its bounded time (ZooKeeper: `waitedMs` in the
 * error), is not retried: a retry would wait the same again, and the run should stop and say so
 * within seconds, not minutes. Blips shorter than the wait were waited out inside the attempt.
 */
async function stopAfterBoundedWait<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isLifeboatError(e) && e.type === 'Unreachable' && typeof e.details?.waitedMs === 'number') {
      throw ApplicationFailure.create({ type: e.type, message: e.message, nonRetryable: true, details: [e.details] });
    }
    throw e;
  }
}

/** How long retention waits for Temporal's list of running backups. */
const RUNNING_QUERY_MS = 10_000;

/** The worker's Temporal client, where the activity has one (a test's mock environment may not). */
function clientOfActivity() {
  try {
    return Context.current().client;
  } catch {
    return undefined;
  }
}

export function backupActivities(deps: ActivityDeps) {
  /** A handle from the worker's session of one of the spec's repository tiers, closed after `fn`. */
  async function withRepository<T>(spec: ClusterSpec, which: string, opts: SpecOpenOptions, fn: (repo: LocalRepository) => Promise<T>): Promise<T> {
    const repo = await openRepositoryForSpec(spec, which, { ...opts, sessions: deps.repositories });
    try {
      return await fn(repo);
    } finally {
      await repo.close();
    }
  }

  function copyToTier(spec: ClusterSpec, setId: string, tier: string): Promise<CopyToTierResult> {
    return withRepository(spec, PRIMARY_TIER, {}, (src) =>
      // The set's copy may create the tier's repository.
      withRepository(spec, tier, { create: true }, async (dst) => {
        let copied = 0;
        const phase = tier === OFFSITE_TIER ? 'copy off-site' : `copy to tier ${tier}`;
        const r = await withHeartbeat({ phase, subject: `set ${setId}` }, (beat, signal) =>
          copySnapshots(src, dst, { filter: { cluster: spec.name, tags: [`set:${setId}`] }, progress: (m) => beat({ phase, done: ++copied, unit: 'snapshots', subject: m }), signal }),
        );
        return { copied: r.copied.length, skipped: r.skipped.length, bytes: r.bytesWritten };
      }),
    );
  }

  return {
    /** Idempotent: a part already stored for this set is returned, not taken again. */
    async backupPartActivity(input: BackupPartInput): Promise<PartResult> {
      const { spec, part } = input;
      return stopAfterBoundedWait(() =>
        // A backup may create the repository.
        withRepository(spec, 'primary', { create: true }, (repo) =>
          withHeartbeat({ phase: `backup ${part}` }, (beat, signal) =>
            backupPart(spec, repo, input.set, part, { ...input.options, onProgress: (p) => beat(partProgress(part, p)), signal }),
          ),
        ),
      );
    },

    /**
     * Set retention in the primary and every tier after it (each by its own retention, else the
     * spec's; the same guards in each: a tier's only complete set is never removed). `only`: these
     * tiers (default all). A tier's repository not created yet (no copy so far) holds nothing to retain.
     */
    async retentionActivity(input: { spec: ClusterSpec; dryRun?: boolean; only?: string[] }): Promise<TiersRetention> {
      const { spec } = input;
      const out: TiersRetention = {};
      // Another backup of the cluster may still be writing its set (a daily one when an hourly one ends): asked once, for every tier.
      // Bounded (a listing that does not answer is "unknown": nothing incomplete goes), heartbeating meanwhile.
      // And whether a recovery, a drill or a migration reads the cluster's sets (then none goes).
      const [running, readers] = await withHeartbeat({ phase: 'retention: running backups', subject: spec.name }, (_beat, signal) => {
        const within = AbortSignal.any([signal, AbortSignal.timeout(RUNNING_QUERY_MS)]);
        return Promise.all([runningBackupSets(clientOfActivity(), within), runningSetReaders(clientOfActivity(), spec.name, within)]).catch((e: unknown) => {
          if (signal.aborted) throw e;
          return [undefined, undefined] as const;
        });
      });
      for (const tier of repositoryTiers(spec)) {
        if (input.only && !input.only.includes(tier.name)) continue;
        const r = await withRepository(spec, tier.name, {}, (repo) =>
          withHeartbeat({ phase: 'retention', subject: tier.name }, () => applySetRetention(repo, spec.name, tier.retention, { dryRun: input.dryRun, brokerIds: spec.brokers.map((b) => b.id), running, readers: readers ?? READERS_UNKNOWN })),
        ).catch((e: unknown) => (tier.name !== PRIMARY_TIER && isLifeboatError(e) && e.type === 'RepositoryNotFound' ? undefined : Promise.reject(e)));
        if (!r) continue;
        if (tier.name === PRIMARY_TIER) out.primary = r;
        else if (tier.name === OFFSITE_TIER) out.offsite = r;
        else (out.tiers ??= {})[tier.name] = r;
      }
      return out;
    },

    /** Copies a set's snapshots to the off-site repository; resumable (what was sent is reused). */
    async copyOffsiteActivity(input: { spec: ClusterSpec; setId: string }): Promise<CopyToTierResult> {
      return copyToTier(input.spec, input.setId, OFFSITE_TIER);
    },

    /** Copies a set's snapshots from the primary to one tier (by name); resumable (what was sent is reused). */
    async copySetToTierActivity(input: { spec: ClusterSpec; setId: string; tier: string }): Promise<CopyToTierResult> {
      return copyToTier(input.spec, input.setId, input.tier);
    },

    /** The parts of `parts` that set `setId` does not hold in the primary repository (a read). */
    async backupSetMissingPartsActivity(input: { spec: ClusterSpec; setId: string; parts: string[] }): Promise<string[]> {
      return withRepository(input.spec, 'primary', {}, (repo) => missingParts(repo, input.spec.name, input.setId, input.parts));
    },

    async listBackupSetsActivity(input: { spec: ClusterSpec }): Promise<BackupSet[]> {
      return withRepository(input.spec, 'primary', {}, (repo) => listBackupSets(repo, input.spec.name));
    },
  };
}
