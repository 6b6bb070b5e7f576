/**
 * A workflow's cluster: the whole spec in the input (what the CLI sends), or only its name (what an
 * operator types in the Temporal UI's "Start Workflow" form), resolved from the specs the worker
 * was started with (`lifeboat worker --spec a.yaml` / `--specs-dir d`). The report records which
 * spec file, and which version of it (sha256), a run by name used.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { LifeboatActivities } from '../../activities';
import type { ClusterSpec } from '../../src/config/spec';
import type { SpecRef } from '../../src/report/report.pure';

/** The cluster part of every workflow input: `spec`, or `cluster` (a name), not both. */
export interface ClusterRef {
  /** The cluster spec itself. */
  spec?: ClusterSpec;
  /** The name of a cluster spec the worker was started with, e.g. "primary". */
  cluster?: string;
  /** Where `spec` came from, when a parent workflow resolved it by name (children report it too). */
  specSource?: SpecRef;
}

const { resolveClusterSpecActivity } = proxyActivities<Pick<LifeboatActivities, 'resolveClusterSpecActivity'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
});

export interface ResolvedCluster {
  spec: ClusterSpec;
  /** Set when the spec was found by name (or handed down by a parent that did). */
  source?: SpecRef;
}

/** The spec of a workflow input; a missing or doubled cluster is one non-retryable InvalidInput. */
export async function resolveCluster(input: ClusterRef): Promise<ResolvedCluster> {
  if (input.spec && input.cluster) {
    throw ApplicationFailure.nonRetryable(`give either "spec" or "cluster", not both (cluster "${input.cluster}", spec ${input.spec.name})`, 'InvalidInput');
  }
  if (input.spec) return { spec: input.spec, source: input.specSource };
  if (typeof input.cluster === 'string' && input.cluster) return resolveClusterSpecActivity({ cluster: input.cluster });
  throw ApplicationFailure.nonRetryable('the input names no cluster: give { "cluster": "<name>" } (a spec the worker was started with) or { "spec": { ... } }', 'InvalidInput');
}
