/** Backup activities: one part of a backup set, retention of sets, the off-site copy. */
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../src/config/spec';
import { type BackupSet, type BackupSetRef, backupPart, listBackupSets, type PartOptions, type PartResult } from '../src/backup/parts';
import { applySetRetention, type RetentionResult } from '../src/backup/retention';
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

export function backupActivities(deps: ActivityDeps) {
  /** A handle from the worker's session of the spec's repository, closed after `fn`. */
  async function withRepository<T>(spec: ClusterSpec, which: 'primary' | 'offsite', opts: SpecOpenOptions, fn: (repo: LocalRepository) => Promise<T>): Promise<T> {
    const repo = await openRepositoryForSpec(spec, which, { ...opts, sessions: deps.repositories });
    try {
      return await fn(repo);
    } finally {
      await repo.close();
    }
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

    async retentionActivity(input: { spec: ClusterSpec; dryRun?: boolean }): Promise<{ primary: RetentionResult; offsite?: RetentionResult }> {
      const { spec } = input;
      const run = (which: 'primary' | 'offsite') =>
        withRepository(spec, which, {}, (repo) =>
          withHeartbeat({ phase: 'retention', subject: which }, () => applySetRetention(repo, spec.name, spec.retention, { dryRun: input.dryRun, brokerIds: spec.brokers.map((b) => b.id) })),
        );
      const primary = await run('primary');
      // An off-site repository not created yet (copy skipped so far) holds nothing to retain: not created for it.
      const offsite = spec.offsiteRepository ? await run('offsite').catch((e: unknown) => (isLifeboatError(e) && e.type === 'RepositoryNotFound' ? undefined : Promise.reject(e))) : undefined;
      return { primary, offsite };
    },

    /** Copies a set's snapshots to the off-site repository; resumable (what was sent is reused). */
    async copyOffsiteActivity(input: { spec: ClusterSpec; setId: string }): Promise<{ copied: number; skipped: number; bytes: number }> {
      const { spec, setId } = input;
      return withRepository(spec, 'primary', {}, (src) =>
        // The set's second copy may create the off-site repository.
        withRepository(spec, 'offsite', { create: true }, async (dst) => {
          let copied = 0;
          const phase = 'copy off-site';
          const r = await withHeartbeat({ phase, subject: `set ${setId}` }, (beat, signal) =>
            copySnapshots(src, dst, { filter: { cluster: spec.name, tags: [`set:${setId}`] }, progress: (m) => beat({ phase, done: ++copied, unit: 'snapshots', subject: m }), signal }),
          );
          return { copied: r.copied.length, skipped: r.skipped.length, bytes: r.bytesWritten };
        }),
      );
    },

    async listBackupSetsActivity(input: { spec: ClusterSpec }): Promise<BackupSet[]> {
      return withRepository(input.spec, 'primary', {}, (repo) => listBackupSets(repo, input.spec.name));
    },
  };
}
