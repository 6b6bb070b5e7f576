/**
 * Choosing the backup set a recovery restores: the newest complete set that covers what the
 * recovery needs and whose parts read back intact (structure, small parts whole, a sample or all of
 * the log-dir and topics data), with the newer sets passed over and why.
 *
 * The repository tiers are the fallback chain (the second document's §5.4): when the primary is
 * missing, unreadable or holds no set that verifies, the newest verifying set of the next tier
 * (offsite, then tiers[] in order: NAS, object storage, archive) is taken, and `fromTier` says so.
 */
import { coverageGap, coverageLabel, coverageOf, type SetRequirement } from '../backup/coverage.pure';
import { type DataReadResult, isLargePart, readPartsData, type VerifyData } from '../backup/coverageData';
import { type BackupSet, heldParts, listBackupSets } from '../backup/parts';
import { invalidParts } from '../backup/plan.pure';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import { checkRepository } from '../repository/check';
import type { LocalRepository } from '../repository/repo';
import type { SnapshotMeta } from '../repository/types';
import { materializeZkTree } from '../zookeeper/storage';
import { repositoryTiers, withTier } from '../backup/tiers';
import { isLifeboatError, type ErrorType } from '../errors';

export interface ChosenSet {
  set: BackupSet;
  /**
   * Set when the set comes from a tier after the primary (the recovery reads it there, see
   * specReadingFrom): which tier, and why each tier before it could not be used.
   */
  fromTier?: { tier: string; location: string; medium: string; offsite: boolean; passed: { tier: string; location: string; reason: string }[] };
  /** Newer sets that were passed over, and why. */
  rejected: { setId: string; time: string; reason: string }[];
  /** What the chosen set covers ("full" or "partial: ..."), and how much of its data was read. */
  coverage?: string;
  dataRead?: { mode: VerifyData; chunks: number; chunksRead: number; bytesRead: number; packsChecked: number };
}

export interface SetCheckOptions {
  /** How much of the large parts (log dirs, topics) to read: a sample (default) or all of it. */
  verifyData?: VerifyData;
  sampleBytes?: number;
  /** Chunks already read (good or bad) by an earlier set of the same choice. */
  verified?: Set<string>;
  bad?: Map<string, string>;
  onProgress?: (m: string) => void;
  /** Check only these parts (what the recovery will restore); default: every part of the set. */
  only?: string[];
}

/**
 * Problems of one set: structure of every snapshot it needs (its parts and their parent chains),
 * a full read of its small parts (ZooKeeper, metadata, configs, registry, baseline) and a read of
 * its large parts' data (log dirs, topics: a sample or all of it, see backup/coverageData.ts).
 */
export async function setProblems(repo: LocalRepository, set: BackupSet, damaged: Set<string>, opts: SetCheckOptions = {}): Promise<string[]> {
  const r = await checkSet(repo, set, damaged, opts);
  return r.problems;
}

async function checkSet(repo: LocalRepository, set: BackupSet, damaged: Set<string>, opts: SetCheckOptions): Promise<{ problems: string[]; data?: DataReadResult }> {
  const problems: string[] = [];
  const all = new Map((await repo.snapshots()).map((s) => [s.id, s]));
  const large: { part: string; meta: SnapshotMeta }[] = [];
  for (const [part, meta] of Object.entries(set.snapshots)) {
    if (opts.only && !opts.only.includes(part)) continue;
    for (let s: SnapshotMeta | undefined = meta; s; s = s.parent ? all.get(s.parent) : undefined) {
      if (damaged.has(s.id)) problems.push(`${part}: snapshot ${s.id.slice(0, 12)} is damaged`);
      if (s.parent && !all.has(s.parent)) problems.push(`${part}: parent snapshot ${s.parent.slice(0, 12)} is missing`);
      if (isLargePart(part)) large.push({ part, meta: s });
    }
    if (isLargePart(part)) continue;
    try {
      const reader = await repo.openSnapshot(meta.id);
      for (const f of reader.list()) if (f.type === 'file') await reader.readBuffer(f.path);
      if (part === 'zookeeper') await materializeZkTree(repo, meta.id);
    } catch (e) {
      problems.push(`${part}: ${(e as Error).message}`);
    }
  }
  if (large.length === 0) return { problems };
  opts.onProgress?.(`reading the data of set ${set.setId} (${opts.verifyData ?? 'sample'})`);
  const data = await readPartsData(repo, large, { mode: opts.verifyData ?? 'sample', sampleBytes: opts.sampleBytes, verified: opts.verified, bad: opts.bad, onProgress: opts.onProgress });
  problems.push(...data.problems);
  return { problems, data };
}

export interface ChooseOptions {
  setId?: string;
  exclude?: string[];
  /** What the set must cover: the whole cluster (default), one broker, or the parts an operator named. */
  require?: SetRequirement;
  verifyData?: VerifyData;
  sampleBytes?: number;
  onProgress?: (m: string) => void;
}

const requirementText = (req: SetRequirement) =>
  req.kind === 'cluster' ? 'a full recovery' : req.kind === 'broker' ? `a recovery of broker ${req.brokerId}` : `the parts asked for (${req.parts.join(',')})`;

/**
 * The newest complete set that covers what the recovery needs and verifies (or the one asked
 * for), with the newer ones passed over and why. Its data is read here, before any approval.
 */
export async function chooseBackupSet(spec: ClusterSpec, opts: ChooseOptions = {}): Promise<ChosenSet> {
  const req = opts.require ?? { kind: 'cluster' };
  if (req.kind === 'parts') {
    const bad = invalidParts(spec, req.parts);
    if (bad.length) throw new LifeboatError('InvalidInput', `unknown parts for ${spec.name}: ${bad.join(', ')} (zookeeper, kafka-metadata, registry, topics, configs:<broker>, logdirs:<broker>)`);
  }
  if (!spec.repository) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository section`);
  const tiers = repositoryTiers(spec);
  const passed: { tier: string; location: string; reason: string }[] = [];
  let primaryError: unknown;
  for (const tier of tiers) {
    try {
      const chosen = await withTier(spec, tier.name, (repo) => chooseIn(repo, spec, req, opts));
      if (passed.length === 0) return chosen;
      opts.onProgress?.(`set ${chosen.set.setId} from tier ${tier.name} (${tier.location})`);
      return { ...chosen, fromTier: { tier: tier.name, location: tier.location, medium: tier.medium, offsite: tier.offsite, passed } };
    } catch (e) {
      if (!fallsBack(e) || tiers.length === 1) throw e;
      primaryError ??= e;
      const reason = (e as Error).message.split('\n')[0]!;
      passed.push({ tier: tier.name, location: tier.location, reason });
      opts.onProgress?.(`tier ${tier.name} (${tier.location}) cannot be used: ${reason}`);
    }
  }
  // No tier has a set to use: the primary's error (its type, its exit code), the other tiers named.
  const first = primaryError as Error & { type?: ErrorType };
  const others = passed.slice(1).map((p) => `tier ${p.tier} (${p.location}): ${p.reason}`);
  throw new LifeboatError(isLifeboatError(first) ? first.type : 'CorruptBackup', `${first.message.split('\n')[0]}; no other tier has a set to use either: ${others.join(' | ')}`);
}

/**
 * The primary's failures a tier after it can stand in for: no repository, one that cannot be read,
 * no set (or none that covers or verifies). Not bad input (a named set that does not cover, a spec
 * error): another tier would say the same.
 */
const FALLS_BACK: ErrorType[] = ['RepositoryNotFound', 'WrongPassword', 'RepositoryFormat', 'CorruptBackup', 'SnapshotNotFound', 'Locked', 'Unreachable'];
/** True when the next repository tier can stand in for the one that failed with `e` (drill records' reads use it too). */
export const fallsBack = (e: unknown): boolean => (isLifeboatError(e) ? FALLS_BACK.includes(e.type) : e instanceof Error);

/** The choice within one repository. */
async function chooseIn(repo: LocalRepository, spec: ClusterSpec, req: SetRequirement, opts: ChooseOptions): Promise<ChosenSet> {
  const brokerIds = spec.brokers.map((b) => b.id);
  const sets = await listBackupSets(repo, spec.name);
  if (sets.length === 0) throw new LifeboatError('SnapshotNotFound', `the repository of ${spec.name} (${repo.path}) holds no backup set: run a backup first`);
  const coverage = (s: BackupSet) => coverageOf(heldParts(s), brokerIds, req);
  let candidates = sets.filter((s) => s.complete).reverse();
  if (opts.setId) {
    // An exact id, else a prefix of one set only: a prefix of several (`offline` names every migration's) is refused.
    const exact = sets.find((s) => s.setId === opts.setId);
    const matching = exact ? [exact] : sets.filter((s) => s.setId.startsWith(opts.setId!));
    if (matching.length > 1)
      throw new LifeboatError('InvalidInput', `backup set ${opts.setId} of ${spec.name} is ambiguous: ${matching.length} sets start with it (${matching.slice(-3).map((s) => s.setId).join(', ')}${matching.length > 3 ? ', …' : ''}); give more of its id`);
    const wanted = matching[0];
    if (!wanted) throw new LifeboatError('SnapshotNotFound', `no backup set ${opts.setId} of ${spec.name} (newest: ${sets.at(-1)!.setId})`);
    if (!wanted.complete) throw new LifeboatError('CorruptBackup', `backup set ${wanted.setId} is incomplete (missing ${wanted.parts.filter((p) => !wanted.snapshots[p]).join(', ')})`);
    const c = coverage(wanted);
    if (!c.full) {
      const hint = req.kind === 'cluster' ? '; to restore only what it holds, name the parts (recover cluster --parts ...)' : '';
      throw new LifeboatError('InvalidInput', `backup set ${wanted.setId} ${coverageGap(c, req)}${hint}`);
    }
    candidates = [wanted];
  }
  const check = await checkRepository(repo, { progress: opts.onProgress });
  const damaged = new Set(check.damagedSnapshots);
  const rejected: ChosenSet['rejected'] = [];
  const shared = { verified: new Set<string>(), bad: new Map<string, string>() };
  // Only what the recovery restores must read back: a damaged logdirs:3 does not stop a restore of configs:1.
  const only = req.kind === 'parts' ? req.parts : req.kind === 'broker' ? [`logdirs:${req.brokerId}`] : undefined;
  for (const set of candidates) {
    if (opts.exclude?.includes(set.setId)) {
      rejected.push({ setId: set.setId, time: set.time, reason: 'failed during an earlier restore attempt' });
      continue;
    }
    const c = coverage(set);
    if (!c.full) {
      rejected.push({ setId: set.setId, time: set.time, reason: coverageGap(c, req) });
      continue;
    }
    opts.onProgress?.(`verifying set ${set.setId}`);
    const { problems, data } = await checkSet(repo, set, damaged, { verifyData: opts.verifyData, sampleBytes: opts.sampleBytes, onProgress: opts.onProgress, only, ...shared });
    if (problems.length === 0) {
      // Newer sets that are incomplete: a backup that failed or runs now, or a snapshot file that is unreadable.
      const newerIncomplete = opts.setId ? [] : sets.filter((s) => !s.complete && s.time > set.time);
      for (const s of newerIncomplete) {
        rejected.push({ setId: s.setId, time: s.time, reason: `incomplete: no readable ${s.parts.filter((p) => !s.snapshots[p]).join(', ')} (a backup that failed or still runs, or a damaged snapshot file)` });
      }
      rejected.sort((x, y) => (x.time < y.time ? 1 : -1));
      const dataRead = data && { mode: opts.verifyData ?? 'sample', chunks: data.chunks, chunksRead: data.chunksRead, bytesRead: data.bytesRead, packsChecked: data.packsChecked };
      return { set, rejected, coverage: coverageLabel(coverageOf(heldParts(set), brokerIds)), ...(dataRead ? { dataRead } : {}) };
    }
    rejected.push({ setId: set.setId, time: set.time, reason: [...new Set(problems)].slice(0, 3).join('; ') });
  }
  const list = rejected.map((r) => `${r.setId}: ${r.reason}`).join(' | ');
  // Nothing damaged, only nothing that covers enough: "not found", not a corrupt backup.
  if (candidates.length && candidates.every((c) => !coverage(c).full)) {
    throw new LifeboatError('SnapshotNotFound', `no backup set of ${spec.name} covers ${requirementText(req)}: ${list}`);
  }
  throw new LifeboatError('CorruptBackup', `no backup set of ${spec.name} can be used (${candidates.length ? `none that covers ${requirementText(req)} verifies` : 'none is complete'}): ${list || 'no complete set'}`);
}
