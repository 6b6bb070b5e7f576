/** A repository opened for one piece of work and closed after it (the recovery steps' way in). */
import type { ClusterSpec } from '../config/spec';
import { openRepositoryForSpec } from '../repository';
import type { LocalRepository } from '../repository/repo';

export async function withRepo<T>(spec: ClusterSpec, fn: (repo: LocalRepository) => Promise<T>): Promise<T> {
  const repo = await openRepositoryForSpec(spec);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}
