/**
 * Repository tiers as the seed lays them out (local → NAS → object storage → archive): the spec's
 * `repository` first (the primary), then `offsiteRepository` (tier "offsite"), then `tiers[]` in
 * order. Sets are copied down this list after a backup, and recovery falls back along it.
 *
 * 3-2-1 is a check on where a set lives: it is protected when its complete copies are on at least
 * two media and at least one of them is off-site.
 *
 * Pure (no I/O): the backup and recovery workflows import it.
 */
import type { ClusterSpec } from '../config/spec';
import { megabytes as mb } from '../report/report.pure';
import type { RetentionResult } from './retention';

/** A repository section of a spec (the primary's, the off-site one's, or a tier's). */
export type RepositorySection = NonNullable<ClusterSpec['repository']>;
export type Medium = 'disk' | 'nas' | 'object' | 'archive';
/** Retention policy of a tier: restic's keep-* rules (the spec's `retention` shape). */
export type TierRetention = ClusterSpec['retention'];

export interface RepositoryTier {
  /** "primary" (`repository`), "offsite" (`offsiteRepository`), else the `tiers[]` entry's name. */
  name: string;
  /** Where in the spec it is written, for messages: repository, offsiteRepository, tiers[1]. */
  field: string;
  medium: Medium;
  offsite: boolean;
  /** The repository's path or s3:// URL (never credentials). */
  location: string;
  repository: RepositorySection;
  /** The tier's own retention, else the spec's. */
  retention: TierRetention;
}
/** The contract's name for it. */
export type Tier = RepositoryTier;

export const PRIMARY_TIER = 'primary';
export const OFFSITE_TIER = 'offsite';

/** The medium a repository without a declared one is on: object storage for s3://, else `fallback`. */
const mediumOf = (r: RepositorySection, fallback: Medium): Medium => (r.path.startsWith('s3://') ? 'object' : fallback);

/**
 * The spec's tiers in copy and fallback order. The primary is on disk (object storage when its
 * path is s3://) and on-site; `offsiteRepository` is off-site, on object storage for s3:// and
 * otherwise counted as a NAS (a mounted volume elsewhere: that is what it is there for).
 */
export function repositoryTiers(spec: ClusterSpec): RepositoryTier[] {
  const out: RepositoryTier[] = [];
  // Specs recorded before issue 15 (replayed workflow histories) have no `tiers`.
  const tiers = spec.tiers ?? [];
  if (spec.repository) {
    out.push({ name: PRIMARY_TIER, field: 'repository', medium: mediumOf(spec.repository, 'disk'), offsite: false, location: spec.repository.path, repository: spec.repository, retention: spec.retention });
  }
  if (spec.offsiteRepository) {
    out.push({ name: OFFSITE_TIER, field: 'offsiteRepository', medium: mediumOf(spec.offsiteRepository, 'nas'), offsite: true, location: spec.offsiteRepository.path, repository: spec.offsiteRepository, retention: spec.retention });
  }
  tiers.forEach((t, i) => {
    const { name, medium, offsite, retention, ...repository } = t;
    out.push({ name, field: `tiers[${i}]`, medium, offsite, location: t.path, repository, retention: retention ?? spec.retention });
  });
  return out;
}

/** One tier by name ("primary", "offsite" or a `tiers[]` name); undefined when the spec has none such. */
export function tierOf(spec: ClusterSpec, name: string): RepositoryTier | undefined {
  return repositoryTiers(spec).find((t) => t.name === name);
}

/** The tiers after the primary: where a complete set is copied to, in order. */
export const copyTiers = (spec: ClusterSpec): RepositoryTier[] => repositoryTiers(spec).filter((t) => t.name !== PRIMARY_TIER);

export interface Protection {
  /** Tiers holding a complete copy of the set, in tier order. */
  tiers: string[];
  copies: number;
  /** Distinct media of those copies. */
  media: Medium[];
  /** Off-site tiers among them. */
  offsite: string[];
  /** 3-2-1: at least two media, at least one copy off-site. */
  protected: boolean;
  /** Why not, in one line (absent when protected). */
  missing?: string;
}

/**
 * Where a set lives, judged for 3-2-1. `holding`: names of the tiers that hold a complete copy of
 * it (names not in `tiers` are ignored: a tier removed from the spec protects nothing). Only a
 * tier's name, medium and off-site flag are read (monitoring facts carry those).
 */
export function protectionOf(holding: Iterable<string>, tiers: readonly Pick<RepositoryTier, 'name' | 'medium' | 'offsite'>[]): Protection {
  const has = new Set(holding);
  const mine = tiers.filter((t) => has.has(t.name));
  const media = [...new Set(mine.map((t) => t.medium))];
  const offsite = mine.filter((t) => t.offsite).map((t) => t.name);
  const lacks: string[] = [];
  if (media.length < 2) lacks.push(`on ${media.length === 0 ? 'no' : `only one`} medium${media.length ? ` (${media[0]})` : ''}, 3-2-1 asks for two`);
  if (offsite.length === 0) lacks.push('no copy off-site');
  return {
    tiers: mine.map((t) => t.name),
    copies: mine.length,
    media,
    offsite,
    protected: lacks.length === 0,
    ...(lacks.length ? { missing: lacks.join('; ') } : {}),
  };
}

/**
 * The spec a recovery reads a set from `tier` with: the same cluster, its `repository` being the
 * tier's (what the restore steps open). Pre-restore snapshots then go to the tier the set came
 * from too: the primary is missing or unusable, which is why the recovery is reading elsewhere.
 */
export function specReadingFrom(spec: ClusterSpec, tier: string | undefined): ClusterSpec {
  if (!tier || tier === PRIMARY_TIER) return spec;
  const t = tierOf(spec, tier);
  if (!t) throw new Error(`cluster spec ${spec.name} has no repository tier "${tier}"`);
  return { ...spec, repository: t.repository };
}

/** A set's copy to one tier. */
export interface CopyToTierResult {
  copied: number;
  skipped: number;
  bytes: number;
}

/** What retention kept and removed in one tier (src/backup/retention.ts's result, the parts a report needs). */
export interface TierRetentionResult {
  keep: { setId: string }[];
  remove: { setId: string }[];
  prunedBytes: number;
}

/** Retention of every tier it ran in: `primary`, `offsite` (as before tiers), and `tiers[]` by name. */
export interface TiersRetention<R extends TierRetentionResult = RetentionResult> {
  primary?: R;
  offsite?: R;
  tiers?: Record<string, R>;
}

/** The copy step of a tier in a backup's report ("offsite" keeps its name from before tiers). */
export const copyStepOf = (tier: string): string => (tier === OFFSITE_TIER ? 'offsite' : `copy-${tier}`);

export function copyStepTitle(t: RepositoryTier): string {
  return t.name === OFFSITE_TIER ? 'Copy the set off-site' : `Copy the set to tier ${t.name} (${t.medium}${t.offsite ? ', off-site' : ''})`;
}

export function copyDetail(r: CopyToTierResult): string {
  return `${r.copied} snapshots copied${r.skipped ? `, ${r.skipped} already there` : ''}, ${mb(r.bytes)} sent`;
}

/** One line for the retention step: each tier's kept and removed sets. */
export function tiersRetentionDetail(r: TiersRetention<TierRetentionResult>): string {
  const rows: [string, TierRetentionResult][] = [
    ...(r.primary ? [['primary', r.primary] as [string, TierRetentionResult]] : []),
    ...(r.offsite ? [['offsite', r.offsite] as [string, TierRetentionResult]] : []),
    ...Object.entries(r.tiers ?? {}),
  ];
  if (rows.length === 0) return 'no tier to retain';
  // The primary alone reads as before tiers.
  if (rows.length === 1 && r.primary) return `kept ${r.primary.keep.length} sets, removed ${r.primary.remove.length} (${mb(r.primary.prunedBytes)} freed)`;
  return rows.map(([n, x]) => `${n}: kept ${x.keep.length}, removed ${x.remove.length} (${mb(x.prunedBytes)} freed)`).join('; ');
}

/** Where a recovery's set came from when it is not the primary (src/recovery/choose.ts's `fromTier`). */
export interface FromTier {
  tier: string;
  location: string;
  passed: { tier: string; location: string; reason: string }[];
}

/** The choose-set step's detail suffix for a set from a tier after the primary. */
export const fromTierDetail = (c: { fromTier?: FromTier }): string => (c.fromTier ? `; from tier ${c.fromTier.tier} (${c.fromTier.location})` : '');

/** The report's line for a recovery that reads its set from a tier after the primary, with why each tier before it was passed over. */
export function fromTierProblem(setId: string, f: FromTier): string {
  const why = f.passed.map((p) => `${p.tier === PRIMARY_TIER ? 'the primary repository' : `tier ${p.tier}`} (${p.location}): ${p.reason}`).join('; ');
  return `backup set ${setId} is read from tier ${f.tier} (${f.location}), the next tier of the fallback chain: ${why}`;
}
