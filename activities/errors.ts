/**
 * Maps domain errors to Temporal failures: a LifeboatError keeps its type (visible in the UI and
 * to workflow code) and is non-retryable when a retry cannot fix it; other errors stay retryable.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isLifeboatError } from '../src/errors';
import { BlobError } from '../src/repository/repo';
import { SpecError, parseSpec, type ClusterSpec } from '../src/config/spec';

export function toFailure(err: unknown): unknown {
  // A chunk that is missing or fails its hash will not get better on a retry: the backup is corrupt.
  if (err instanceof BlobError) return ApplicationFailure.create({ type: 'CorruptBackup', message: err.message, nonRetryable: true });
  if (isLifeboatError(err)) {
    return ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: !err.retryable, details: err.details ? [err.details] : [] });
  }
  return err;
}

/** Runs an activity body, converting domain errors on the way out. */
export async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
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
