/**
 * Repository tiers with I/O: each tier's sets, and where each set of a cluster lives (which tiers
 * hold it complete) with its 3-2-1 protection. The pure part (the tiers of a spec, protectionOf) is
 * in tiers.pure.ts, which the workflows import.
 */
import type { ClusterSpec } from '../config/spec';
import { isLifeboatError } from '../errors';
import { openRepositoryForSpec, type SpecOpenOptions } from '../repository';
import type { LocalRepository } from '../repository/repo';
import { type BackupSet, listBackupSets } from './parts';
import { type Protection, protectionOf, type RepositoryTier, repositoryTiers } from './tiers.pure';

export * from './tiers.pure';

/** Opens one tier's repository (by tier name), runs `fn`, closes it. */
export async function withTier<T>(spec: ClusterSpec, tier: string, fn: (repo: LocalRepository) => Promise<T>, opts: SpecOpenOptions = {}): Promise<T> {
  const repo = await openRepositoryForSpec(spec, tier, opts);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

export interface TierSets {
  tier: RepositoryTier;
  /** The tier could be opened and listed; else `error` says why (one line). */
  reachable: boolean;
  error?: string;
  /** No repository there yet (RepositoryNotFound): a tier no copy has reached, or a path gone. */
  missing?: boolean;
  /** The cluster's sets in this tier, oldest first. */
  sets: BackupSet[];
}

/** Each tier's sets of the cluster; a tier that cannot be opened is reported, not thrown. */
export async function setsByTier(spec: ClusterSpec, only?: string): Promise<TierSets[]> {
  const out: TierSets[] = [];
  for (const tier of repositoryTiers(spec)) {
    if (only && tier.name !== only) continue;
    try {
      out.push({ tier, reachable: true, sets: await withTier(spec, tier.name, (repo) => listBackupSets(repo, spec.name)) });
    } catch (e) {
      const missing = isLifeboatError(e) && e.type === 'RepositoryNotFound';
      out.push({ tier, reachable: false, error: (e as Error).message.split('\n')[0], sets: [], ...(missing ? { missing } : {}) });
    }
  }
  return out;
}

export interface SetPlacement {
  setId: string;
  time: string;
  /** The retention tier it was taken as (hourly, daily, …, manual). */
  kind: string;
  /** Per repository tier that holds any of it: complete or not. */
  where: Record<string, 'complete' | 'incomplete'>;
  /** The set as the first tier holding it lists it. */
  set: BackupSet;
  protection: Protection;
}

/** Every set of the cluster found in any tier, oldest first, with where it lives and whether it is protected (3-2-1). */
export function placementOf(byTier: TierSets[]): SetPlacement[] {
  const tiers = byTier.map((t) => t.tier);
  const sets = new Map<string, Omit<SetPlacement, 'protection'>>();
  for (const { tier, sets: list } of byTier) {
    for (const s of list) {
      const p = sets.get(s.setId) ?? { setId: s.setId, time: s.time, kind: s.tier, where: {}, set: s };
      p.where[tier.name] = s.complete ? 'complete' : 'incomplete';
      sets.set(s.setId, p);
    }
  }
  return [...sets.values()]
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
    .map((p) => ({ ...p, protection: protectionOf(Object.keys(p.where).filter((t) => p.where[t] === 'complete'), tiers) }));
}
