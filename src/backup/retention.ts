/**
 * Retention of backup sets: the tier policy (restic's keep-* rules) decides per *set*, and a set
 * goes as a whole. Guards keep restores possible, judged by what each set can restore
 * (coverage.pure.ts), not by its own plan:
 * - the newest set of each tier that covers a full recovery stays, whatever the policy says;
 * - a complete set stays unless a newer kept set holds every part it holds (a narrow backup such
 *   as `--parts configs:1` never replaces a wider one);
 * - a snapshot that a kept snapshot builds on (an incremental ZooKeeper or topics parent) stays;
 * - an incomplete set stays while its backup may still run: newer than the newest complete set, or
 *   named in `running` (two backups of a cluster overlap: a daily one still writing when an hourly or a
 *   manual one finishes and runs retention), or when nobody could say which backups run (`running`
 *   undefined: Temporal not asked or not reached). Only a set known to be no backup's is removed;
 * - a set one of whose parts builds on a snapshot that is gone is broken, not complete: kept, replacing nothing;
 * - a drill record (src/drills/history.ts) is never removed, even if it were tagged as a set's part;
 * - nothing is removed while a run reads the cluster's sets (`readers`: a recovery, a drill, a migration;
 *   running.ts) or while a snapshot file of the repository does not read (applySetRetention).
 */
import { applyPolicy, isDrillRecord, type RetentionPolicy } from '../repository/forget';
import type { LocalRepository } from '../repository/repo';
import { pruneRepository } from '../repository/prune';
import type { SnapshotMeta } from '../repository/types';
import { type Coverage, coverageOf, coversAll } from './coverage.pure';
import { type BackupSet, heldParts, listBackupSets } from './parts';

export interface SetRetentionPlan {
  keep: { setId: string; time: string; tier: string; reasons: string[]; coverage: Coverage }[];
  remove: { setId: string; time: string; tier: string; complete: boolean; coverage: Coverage }[];
  /** Snapshot ids to delete (the removed sets' parts minus parents of kept snapshots). */
  snapshots: string[];
}

const byTime = <T extends { time: string }>(a: T, b: T) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0);

/**
 * `running`: the ids of the sets whose backups are still running (running.ts: backupSetIdOf of each running
 * backup workflow's original run id); undefined when that is not known, and then no incomplete set is removed.
 */
export function planSetRetention(sets: BackupSet[], all: SnapshotMeta[], policy: RetentionPolicy, brokerIds: number[], running?: ReadonlySet<string>): SetRetentionPlan {
  const coverage = new Map(sets.map((s) => [s.setId, coverageOf(heldParts(s), brokerIds)]));
  const byId = new Map(all.map((s) => [s.id, s]));
  // A part that builds on a snapshot no longer there cannot be restored (a recovery refuses its set): such a
  // set is not complete, so it neither replaces an older set nor counts as a tier's newest full one. Kept.
  const broken = new Map<string, string>();
  for (const s of sets) {
    for (const [part, snap] of Object.entries(s.snapshots)) {
      let p = snap.parent;
      while (p && byId.has(p)) p = byId.get(p)!.parent;
      if (p) {
        broken.set(s.setId, `broken: its part ${part} builds on snapshot ${p.slice(0, 12)}, which is gone (a recovery cannot restore it)`);
        break;
      }
    }
  }
  const complete = sets.filter((s) => s.complete && !broken.has(s.setId));
  const newestFirst = [...complete].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
  const newestComplete = newestFirst[0]?.time ?? '';
  const decided = applyPolicy(
    complete.map((s) => ({ id: s.setId, time: s.time, cluster: '', tags: [`tier:${s.tier}`] })),
    policy,
  );
  const reasons = new Map(decided.keep.map((k) => [k.snapshot.id, [...k.reasons]]));
  const keepFor = (id: string, reason: string) => reasons.set(id, [...(reasons.get(id) ?? []), reason]);

  // The newest set of each tier that can bring the whole cluster back is never removed.
  const tiersDone = new Set<string>();
  for (const s of newestFirst) {
    if (tiersDone.has(s.tier) || !coverage.get(s.setId)!.full) continue;
    tiersDone.add(s.tier);
    keepFor(s.setId, `newest full set of tier ${s.tier}`);
  }
  // Newest to oldest, so a set kept here counts as a newer kept set for the older ones.
  for (const [i, s] of newestFirst.entries()) {
    if (reasons.has(s.setId)) continue;
    const mine = heldParts(s);
    const replacedBy = newestFirst.slice(0, i).find((n) => reasons.has(n.setId) && n.time > s.time && coversAll(heldParts(n), mine));
    if (!replacedBy) keepFor(s.setId, 'no newer kept set covers every part it holds');
  }

  const info = (s: BackupSet) => ({ setId: s.setId, time: s.time, tier: s.tier, coverage: coverage.get(s.setId)! });
  const keep: SetRetentionPlan['keep'] = [];
  const remove: SetRetentionPlan['remove'] = [];
  for (const s of complete) {
    if (reasons.has(s.setId)) keep.push({ ...info(s), reasons: reasons.get(s.setId)! });
    else remove.push({ ...info(s), complete: true });
  }
  for (const s of sets.filter((x) => !x.complete || broken.has(x.setId))) {
    if (broken.has(s.setId)) keep.push({ ...info(s), reasons: [broken.get(s.setId)!] });
    else if (s.time > newestComplete) keep.push({ ...info(s), reasons: ['incomplete, newer than the newest complete set'] });
    else if (!running) keep.push({ ...info(s), reasons: ['incomplete: whether its backup still runs is unknown'] });
    else if (running.has(s.setId)) keep.push({ ...info(s), reasons: ['incomplete: its backup is still running'] });
    else remove.push({ ...info(s), complete: false });
  }
  const removedSets = new Set(remove.map((r) => r.setId));
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
    .filter((id) => !needed.has(id))
    .filter((id) => {
      const meta = byId.get(id);
      return !(meta && isDrillRecord(meta));
    });
  return { keep: keep.sort(byTime), remove: remove.sort(byTime), snapshots };
}

/** The snapshot files of the repository (any cluster: an unreadable one names none) that do not read. */
async function unreadableSnapshots(repo: LocalRepository): Promise<string[]> {
  const ids = await repo.snapshotIds();
  const read = new Set((await repo.snapshots()).map((s) => s.id));
  return ids.filter((id) => !read.has(id));
}

/** `plan` with every removal kept instead, for `reason`. */
export function removingNothing(plan: SetRetentionPlan, reason: string): SetRetentionPlan {
  const kept = plan.remove.map(({ complete: _complete, ...r }) => ({ ...r, reasons: [reason] }));
  return { keep: [...plan.keep, ...kept].sort(byTime), remove: [], snapshots: [] };
}

export interface RetentionResult extends SetRetentionPlan {
  prunedBytes: number;
}

/** `readers` when Temporal could not be asked which runs read the sets: one may, so nothing goes. */
export const READERS_UNKNOWN = 'unknown';

/**
 * Applies the tier policy to the cluster's sets in `repo` (the primary or the off-site one: the same
 * rule for both), then prunes what no snapshot uses. `brokerIds`: the spec's brokers, for coverage.
 */
export async function applySetRetention(
  repo: LocalRepository,
  cluster: string,
  policy: RetentionPolicy,
  opts: { dryRun?: boolean; brokerIds: number[]; running?: ReadonlySet<string>; readers: readonly string[] | typeof READERS_UNKNOWN },
): Promise<RetentionResult> {
  const planNow = async (): Promise<SetRetentionPlan> => {
    const unreadable = await unreadableSnapshots(repo);
    const all = await repo.snapshots({ cluster });
    const plan = planSetRetention(await listBackupSets(repo, cluster), all, policy, opts.brokerIds, opts.running);
    // A recovery, a drill or a migration may be about to read any of them (the set it chose, perhaps
    // after an approval's wait): nothing goes while one runs.
    if (opts.readers === READERS_UNKNOWN && plan.remove.length) {
      return removingNothing(plan, `whether a recovery, a drill or a migration reads ${cluster}'s sets is not known (Temporal did not answer): nothing is removed until it does`);
    }
    const readers = opts.readers === READERS_UNKNOWN ? [] : opts.readers;
    if (readers.length && plan.remove.length) {
      const named = `${readers.slice(0, 3).join(', ')}${readers.length > 3 ? ', …' : ''}`;
      return removingNothing(plan, `${readers.length === 1 ? 'a run reads' : `${readers.length} runs read`} ${cluster}'s sets (${named}): nothing is removed until ${readers.length === 1 ? 'it ends' : 'they end'}`);
    }
    // A set one of whose snapshot files did not read (a damaged file, a storage error) looks incomplete or
    // narrower than it is: judged so, a complete set could go. Nothing goes until every file reads.
    return unreadable.length
      ? removingNothing(plan, `${unreadable.length} snapshot file${unreadable.length === 1 ? '' : 's'} of the repository could not be read (${unreadable.slice(0, 3).map((id) => id.slice(0, 12)).join(', ')}${unreadable.length > 3 ? ', …' : ''}): nothing is removed until every one reads (lifeboat repo check)`)
      : plan;
  };
  const first = await planNow();
  if (opts.dryRun || first.snapshots.length === 0) return { ...first, prunedBytes: 0 };
  let plan = first;
  await repo.exclusive('forget', async () => {
    // Planned again under the lock: a part committed since the first plan may build on a snapshot it removed.
    plan = await planNow();
    for (const id of plan.snapshots) {
      await repo.backend.remove('snapshots', id);
      repo.dropCached(id);
    }
  });
  if (plan.snapshots.length === 0) return { ...plan, prunedBytes: 0 };
  const pruned = await pruneRepository(repo, {});
  return { ...plan, prunedBytes: pruned.bytesBefore - pruned.bytesAfter };
}
