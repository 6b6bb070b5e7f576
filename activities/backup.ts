/** Backup activities: one part of a backup set, retention of sets, the off-site copy. */
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../src/config/spec';
import { type BackupSet, type BackupSetRef, backupPart, listBackupSets, type PartOptions, type PartResult } from '../src/backup/parts';
import { applySetRetention, type RetentionResult } from '../src/backup/retention';
import { openRepositoryForSpec } from '../src/repository';
import { copySnapshots } from '../src/repository/copy';
import { isLifeboatError } from '../src/errors';
import { checkedSpec, mapped } from './errors';
import { withHeartbeat } from './heartbeat';

export interface BackupPartInput {
  spec: ClusterSpec;
  set: BackupSetRef;
  part: string;
  options?: Omit<PartOptions, 'onProgress'>;
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

/** Idempotent: a part already stored for this set is returned, not taken again. */
export async function backupPartActivity(input: BackupPartInput): Promise<PartResult> {
  return mapped(() =>
    stopAfterBoundedWait(async () => {
      const spec = checkedSpec(input.spec);
      const repo = await openRepositoryForSpec(spec, 'primary', { create: true }); // a backup may create the repository
      try {
        return await withHeartbeat({ part: input.part }, (beat) =>
          backupPart(spec, repo, input.set, input.part, { ...input.options, onProgress: (p) => beat({ part: input.part, ...p }) }),
        );
      } finally {
        await repo.close();
      }
    }),
  );
}

export async function retentionActivity(input: { spec: ClusterSpec; dryRun?: boolean }): Promise<{ primary: RetentionResult; offsite?: RetentionResult }> {
  return mapped(async () => {
    const spec = checkedSpec(input.spec);
    const run = async (which: 'primary' | 'offsite') => {
      const repo = await openRepositoryForSpec(spec, which);
      try {
        return await withHeartbeat({ retention: which }, () => applySetRetention(repo, spec.name, spec.retention, { dryRun: input.dryRun, brokerIds: spec.brokers.map((b) => b.id) }));
      } finally {
        await repo.close();
      }
    };
    const primary = await run('primary');
    // An off-site repository not created yet (copy skipped so far) holds nothing to retain: not created for it.
    const offsite = spec.offsiteRepository ? await run('offsite').catch((e: unknown) => (isLifeboatError(e) && e.type === 'RepositoryNotFound' ? undefined : Promise.reject(e))) : undefined;
    return { primary, offsite };
  });
}

/** Copies a set's snapshots to the off-site repository; resumable (what was sent is reused). */
export async function copyOffsiteActivity(input: { spec: ClusterSpec; setId: string }): Promise<{ copied: number; skipped: number; bytes: number }> {
  return mapped(async () => {
    const spec = checkedSpec(input.spec);
    const src = await openRepositoryForSpec(spec, 'primary');
    const dst = await openRepositoryForSpec(spec, 'offsite', { create: true }); // the set's second copy may create it
    try {
      const r = await withHeartbeat({ copy: input.setId }, (beat) =>
        copySnapshots(src, dst, { filter: { cluster: spec.name, tags: [`set:${input.setId}`] }, progress: (m) => beat({ copy: input.setId, m }) }),
      );
      return { copied: r.copied.length, skipped: r.skipped.length, bytes: r.bytesWritten };
    } finally {
      await dst.close();
      await src.close();
    }
  });
}

export async function listBackupSetsActivity(input: { spec: ClusterSpec }): Promise<BackupSet[]> {
  return mapped(async () => {
    const spec = checkedSpec(input.spec);
    const repo = await openRepositoryForSpec(spec);
    try {
      return await listBackupSets(repo, spec.name);
    } finally {
      await repo.close();
    }
  });
}
