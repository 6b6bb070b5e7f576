import { loadSpec, type ClusterSpec } from '../config/spec';

/**
 * The cluster spec named by --spec, which the command requires. Apart from src/cli/output.ts, which
 * every command loads: the spec's module loads zod and yaml, which `lifeboat repo ...` does without.
 */
export function requireSpec(path: string | undefined, cl: { error(message: string): Error }): ClusterSpec {
  if (!path) throw cl.error('--spec <cluster.yaml> is required');
  return loadSpec(path);
}
