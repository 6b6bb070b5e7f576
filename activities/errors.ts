/**
 * The activities' boundary, applied once to every activity by createActivities: the cluster spec in
 * the input is validated before the body runs (workflow inputs are data from outside the worker),
 * the body runs with the worker's repository sessions, and domain errors become Temporal failures
 * on the way out: a LifeboatError keeps its type (visible in the UI and to workflow code) and is
 * non-retryable when a retry cannot fix it; other errors stay retryable.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isLifeboatError } from '../src/errors';
import { BlobError } from '../src/repository/repo';
import { withRepositorySessions } from '../src/repository/session';
import { SpecError, parseSpec, type ClusterSpec } from '../src/config/spec';
import type { ActivityDeps } from './deps';

export function toFailure(err: unknown): unknown {
  // A chunk that is missing or fails its hash will not get better on a retry: the backup is corrupt.
  if (err instanceof BlobError) return ApplicationFailure.create({ type: 'CorruptBackup', message: err.message, nonRetryable: true });
  if (isLifeboatError(err)) {
    return ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: !err.retryable, details: err.details ? [err.details] : [] });
  }
  // Cancellation (CancelledFailure, AbortError) and anything unknown pass as they are.
  return err;
}

/** Workflow inputs are data from outside the worker: validate the spec again at this boundary. */
export function checkedSpec(spec: unknown): ClusterSpec {
  try {
    return parseSpec(spec, '(workflow input)');
  } catch (e) {
    if (e instanceof SpecError) throw e;
    throw new SpecError(String(e));
  }
}

/** The input with its `spec` (if it has one) validated and defaulted. */
function checkedInput(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || !('spec' in input)) return input;
  return { ...input, spec: checkedSpec((input as { spec: unknown }).spec) };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any activity signature
type AnyActivity = (...args: any[]) => Promise<unknown>;

/** One activity behind the boundary (same name, same signature). */
export function atBoundary<F extends AnyActivity>(name: string, fn: F, deps: Pick<ActivityDeps, 'repositories'>): F {
  const wrapped = async (...args: unknown[]): Promise<unknown> => {
    try {
      const [first, ...rest] = args;
      const input = checkedInput(first);
      return await withRepositorySessions(deps.repositories, () => fn(input, ...rest));
    } catch (err) {
      throw toFailure(err);
    }
  };
  Object.defineProperty(wrapped, 'name', { value: name });
  return wrapped as F;
}

/** Every activity of `activities` behind the boundary. */
export function allAtBoundary<T extends Record<string, AnyActivity>>(activities: T, deps: Pick<ActivityDeps, 'repositories'>): T {
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, atBoundary(name, fn, deps)])) as T;
}
