/**
 * Retention of backup sets: the tier policy (restic's keep-* rules) decides per *set*, and a set
 * goes as a whole. Two guards keep restores possible: a snapshot that a kept snapshot builds on
 * (an incremental ZooKeeper or topics parent) stays, and so does any incomplete set newer than the
 * newest complete one (it may be a backup still running).
 */
import { applyPolicy, type RetentionPolicy } from '../repository/forget';
import type { LocalRepository } from '../repository/repo';
import { pruneRepository } from '../repository/prune';
import type { SnapshotMeta } from '../repository/types';
import { type BackupSet, listBackupSets } from './parts';

export interface SetRetentionPlan {
  keep: { setId: string; time: string; reasons: string[] }[];
  remove: { setId: string; time: string; complete: boolean }[];
  /** Snapshot ids to delete (the removed sets' parts minus parents of kept snapshots). */
  snapshots: string[];
}

export function planSetRetention(sets: BackupSet[], all: SnapshotMeta[], policy: RetentionPolicy): SetRetentionPlan {
  const complete = sets.filter((s) => s.complete);
  const newestComplete = complete.at(-1)?.time ?? '';
  const decided = applyPolicy(
    complete.map((s) => ({ id: s.setId, time: s.time, cluster: '', tags: [`tier:${s.tier}`] })),
    policy,
  );
  const keep = decided.keep.map((k) => ({ setId: k.snapshot.id, time: k.snapshot.time, reasons: k.reasons }));
  const remove: SetRetentionPlan['remove'] = decided.remove.map((r) => ({ setId: r.id, time: r.time, complete: true }));
  for (const s of sets.filter((x) => !x.complete)) {
    if (s.time > newestComplete) keep.push({ setId: s.setId, time: s.time, reasons: ['incomplete, newer than the newest complete set'] });
    else remove.push({ setId: s.setId, time: s.time, complete: false });
  }
  const removedSets = new Set(remove.map((r) => r.setId));
  const byId = new Map(all.map((s) => [s.id, s]));
  const needed = new Set<string>();
  for (const set of sets) {
    if (removedSets.has(set.setId)) continue;
    for (const snap of Object.values(set.snapshots)) {
      for (let p = snap.parent; p && !needed.has(p); p = byId.get(p)?.parent) needed.add(p);
    }
  }
  const snapshots = sets
    .filter((s) => removedSets.has(s.setId))
    .flatMap((s) => Object.values(s.snapshots).map((m) => m.id))
    .filter((id) => !needed.has(id));
  return { keep, remove, snapshots };
}

export interface RetentionResult extends SetRetentionPlan {
  prunedBytes: number;
}

/** Applies the tier policy to the cluster's sets in `repo`, then prunes what no snapshot uses. */
export async function applySetRetention(repo: LocalRepository, cluster: string, policy: RetentionPolicy, opts: { dryRun?: boolean } = {}): Promise<RetentionResult> {
  const all = await repo.snapshots({ cluster });
  const plan = planSetRetention(await listBackupSets(repo, cluster), all, policy);
  if (opts.dryRun || plan.snapshots.length === 0) return { ...plan, prunedBytes: 0 };
  await repo.exclusive('forget', async () => {
    for (const id of plan.snapshots) {
      await repo.backend.remove('snapshots', id);
      repo.dropCached(id);
    }
  });
  const pruned = await pruneRepository(repo, {});
  return { ...plan, prunedBytes: pruned.bytesBefore - pruned.bytesAfter };
}
