/** The backup repository (docs/repository-format.md). */
import { resolve } from 'node:path';
import { LifeboatError } from '../errors';
import { resolveSecret, type ClusterSpec } from '../config/spec';
import { defaultNotice, initRepository, openRepository, type LocalRepository, type OpenOptions } from './repo';
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
 * Opens the spec's primary (or off-site) repository; the password comes from the spec's secret
 * reference. A missing repository is RepositoryNotFound (nothing written) unless `create` is set.
 */
export async function openRepositoryForSpec(spec: ClusterSpec, which: 'primary' | 'offsite' = 'primary', opts: SpecOpenOptions = {}): Promise<LocalRepository> {
  const field = which === 'primary' ? 'repository' : 'offsiteRepository';
  const r = spec[field];
  if (!r) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no ${field} section`);
  const password = resolveSecret(r.password);
  const { create, sessions: given, ...open } = opts;
  const sessions = given ?? currentRepositorySessions();
  const openIt = (): Promise<LocalRepository> => (sessions ? sessions.open(r.path, password, open) : openRepository(r.path, password, open));
  try {
    return await openIt();
  } catch (e) {
    if (!(e instanceof LifeboatError && e.type === 'RepositoryNotFound')) throw e;
    if (!create) {
      throw new LifeboatError(
        'RepositoryNotFound',
        `no repository at ${resolve(r.path)} (${field}.path of cluster spec ${spec.name}): is the path right and its volume mounted? ` +
          `Only a backup or 'lifeboat repo init' creates one`,
      );
    }
  }
  try {
    const repo = await initRepository(r.path, password, { ...open, compression: r.compression });
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
