/** The backup repository (docs/repository-format.md). */
import { LifeboatError } from '../errors';
import { resolveSecret } from '../config/secrets';
import type { ClusterSpec } from '../config/spec';
import { repositoryTiers, tierOf } from '../backup/tiers.pure';
import { defaultNotice, initRepository, openRepository, type LocalRepository, type OpenOptions } from './repo';
import { describeLocation, locationOf } from './location';
import { currentRepositorySessions, type RepositorySessions } from './session';

export * from './types';
export { initRepository, openRepository, checkEntryPath, LocalRepository, type InitOptions, type OpenOptions } from './repo';
export { RepositorySession, RepositorySessions, withRepositorySessions, type SessionStats } from './session';
export { Chunker, DEFAULT_CHUNKER, type ChunkerParams } from './chunker';
export type { CompressionMode } from './compress';

export interface SpecOpenOptions extends OpenOptions {
  /**
   * Create the repository when there is none. Only writers of backups pass it (a backup part, the
   * off-site copy of a set, a pre-restore snapshot, `repo backup`): a read of a mistyped or unmounted
   * path must fail rather than answer from an empty repository it just made there.
   */
  create?: boolean;
  /**
   * Open through these sessions (a worker's: keys unlocked and index read once per repository).
   * Default: the sessions of the activity running now (withRepositorySessions), else a fresh open.
   */
  sessions?: RepositorySessions;
}

/**
 * Opens one of the spec's repository tiers: the primary (`repository`), the off-site one, or a
 * `tiers[]` entry by name (src/backup/tiers.pure.ts); the password comes from the spec's secret
 * reference. A missing repository is RepositoryNotFound (nothing written) unless `create` is set.
 */
export async function openRepositoryForSpec(spec: ClusterSpec, which: 'primary' | 'offsite' | (string & {}) = 'primary', opts: SpecOpenOptions = {}): Promise<LocalRepository> {
  const tier = tierOf(spec, which);
  if (!tier) {
    const section = which === 'primary' ? 'repository' : which === 'offsite' ? 'offsiteRepository' : undefined;
    const known = repositoryTiers(spec).map((t) => t.name).join(', ') || 'none';
    throw new LifeboatError('InvalidSpec', section ? `cluster spec ${spec.name} has no ${section} section` : `cluster spec ${spec.name} has no repository tier "${which}" (its tiers: ${known})`);
  }
  const { field, repository: r } = tier;
  const password = resolveSecret(r.password);
  const where = locationOf(r);
  const { create, sessions: given, ...open } = opts;
  const sessions = given ?? currentRepositorySessions();
  const openIt = (): Promise<LocalRepository> => (sessions ? sessions.open(where, password, open) : openRepository(where, password, open));
  try {
    return await openIt();
  } catch (e) {
    if (!(e instanceof LifeboatError && e.type === 'RepositoryNotFound')) throw e;
    // A missing bucket says so itself (and creating cannot help: Lifeboat never creates buckets).
    if (/^no bucket /.test(e.message)) throw e;
    if (!create) {
      throw new LifeboatError(
        'RepositoryNotFound',
        `no repository at ${describeLocation(where)} (${field}.path of cluster spec ${spec.name}): ${typeof where === 'string' ? 'is the path right and its volume mounted?' : 'is the prefix right?'} ` +
          `Only a backup or 'lifeboat repo init' creates one`,
      );
    }
  }
  try {
    const repo = await initRepository(where, password, { ...open, compression: r.compression });
    (open.notice ?? defaultNotice)(`created a new repository at ${repo.path} (${field} of ${spec.name})`);
    return repo;
  } catch (e) {
    // Another writer created it meanwhile.
    if (e instanceof LifeboatError && e.type === 'InvalidInput' && /already exists/.test(e.message)) return openIt();
    throw e;
  }
}

/** The repository password for CLI use: --password-file, else LIFEBOAT_PASSWORD. */
export function passwordFrom(passwordFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (passwordFile) return resolveSecret({ file: passwordFile }, env);
  const v = env.LIFEBOAT_PASSWORD;
  if (!v) throw new LifeboatError('InvalidInput', 'no repository password: set LIFEBOAT_PASSWORD or pass --password-file <file>');
  return v;
}

export { applyPolicy, forget, isoWeek, type RetentionPolicy, type PolicyResult } from './forget';
export { checkRepository, parseSubset, type CheckResult, type CheckProblem, type Subset } from './check';
export { pruneRepository, type PruneResult } from './prune';
export { repairIndex, type RepairIndexResult } from './repair';
export { copySnapshots, parseRate, RateLimiter, type CopyResult } from './copy';
export { restoreFiles, type RestoreResult } from './restore';
export { addKey, listKeys, removeKey, type KeyInfo } from './keys';
export { LocalBackend, type Backend } from './backend';
export { describeLocation, locationOf, openBackend, s3FromEnv, type RepositoryLocation, type RepositoryPlace, type S3Location } from './location';
