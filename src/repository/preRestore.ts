/**
 * The safety rule for every restore into a live target: first keep what is there now, as a
 * snapshot tagged "pre-restore" in the target cluster's repository, so the restore can be undone.
 * With nowhere to keep it, the restore is refused unless the operator explicitly opts out.
 */
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import { openRepositoryForSpec } from './index';
import type { ComponentName, SnapshotMeta, SnapshotWriter } from './types';

export const PRE_RESTORE_TAG = 'pre-restore';
export const NO_PRE_RESTORE_FLAG = '--no-pre-restore-snapshot';

export async function preRestoreSnapshot(
  target: ClusterSpec | undefined,
  what: string,
  component: ComponentName,
  fill: (w: SnapshotWriter) => Promise<unknown>,
  opts: { optOut?: boolean } = {},
): Promise<SnapshotMeta | undefined> {
  if (opts.optOut) return undefined;
  if (!target?.repository) {
    throw new LifeboatError(
      'UnsafeTarget',
      `${what} changes a live target and there is no repository to keep a pre-restore snapshot in: name the target with a cluster spec that has a repository, or pass ${NO_PRE_RESTORE_FLAG}`,
    );
  }
  // A backup of what the target holds now: it may create the target's repository.
  const repo = await openRepositoryForSpec(target, 'primary', { create: true });
  try {
    const { meta } = await repo.saveSnapshot({ cluster: target.name, components: [component], tags: [PRE_RESTORE_TAG, component] }, fill);
    return meta;
  } finally {
    await repo.close();
  }
}
