/** The backup repository (docs/repository-format.md). */
import { LifeboatError } from '../errors';
import { resolveSecret, type ClusterSpec } from '../config/spec';
import { LocalBackend } from './backend';
import { initRepository, openRepository, type LocalRepository, type OpenOptions } from './repo';

export * from './types';
export { initRepository, openRepository, checkEntryPath, LocalRepository, type InitOptions, type OpenOptions } from './repo';
export { Chunker, DEFAULT_CHUNKER, type ChunkerParams } from './chunker';
export type { CompressionMode } from './compress';

/**
 * Opens the spec's primary (or off-site) repository, creating it on first use; the password comes
 * from the spec's secret reference.
 */
export async function openRepositoryForSpec(spec: ClusterSpec, which: 'primary' | 'offsite' = 'primary', opts: OpenOptions = {}): Promise<LocalRepository> {
  const r = which === 'primary' ? spec.repository : spec.offsiteRepository;
  if (!r) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no ${which === 'primary' ? 'repository' : 'offsiteRepository'} section`);
  const password = resolveSecret(r.password);
  const exists = await new LocalBackend(r.path).stat('config', 'config');
  return exists ? openRepository(r.path, password, opts) : initRepository(r.path, password, { ...opts, compression: r.compression });
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
export { copySnapshots, parseRate, RateLimiter, type CopyResult } from './copy';
export { restoreFiles, type RestoreResult } from './restore';
export { addKey, listKeys, removeKey, type KeyInfo } from './keys';
export { LocalBackend, type Backend } from './backend';
