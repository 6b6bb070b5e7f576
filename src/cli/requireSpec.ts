import { loadSpec, type ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';

/**
 * The cluster spec named by --spec, which the command requires. Apart from src/cli/output.ts, which
 * every command loads: the spec's module loads zod and yaml, which `lifeboat repo ...` does without.
 */
export function requireSpec(path: string | undefined, cl: { error(message: string): Error }): ClusterSpec {
  if (!path) throw cl.error('--spec <cluster.yaml> is required');
  return loadSpec(path);
}

/**
 * The source (--spec) and target (--target-spec) a mirror or a migration needs, both required, refused
 * before anything starts when they are the same cluster (`sameCluster` says why, in the command's words).
 */
export function requireSpecPair(
  values: { spec?: string; 'target-spec'?: string },
  cl: { error(message: string): Error },
  sameCluster: (src: ClusterSpec, dst: ClusterSpec) => string | undefined,
): { src: ClusterSpec; dst: ClusterSpec } {
  if (!values.spec) throw cl.error('--spec <source.yaml> is required');
  if (!values['target-spec']) throw cl.error('--target-spec <target.yaml> is required');
  const src = loadSpec(values.spec);
  const dst = loadSpec(values['target-spec']);
  const same = sameCluster(src, dst);
  if (same) throw new LifeboatError('InvalidInput', same);
  return { src, dst };
}
