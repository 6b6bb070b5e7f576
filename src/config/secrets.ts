/**
 * The parts of the cluster spec's module that a local repository command needs without a spec:
 * secret references and their resolution, the spec's error, the s3:// URL form. Kept apart from
 * src/config/spec.ts (which re-exports them) so that `lifeboat repo ...` does not load zod and
 * yaml (~13 MB of a process's RSS, issue 15) unless it reads a spec.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type * as ActivityModule from '@temporalio/activity';
import { LifeboatError } from '../errors';

/** A secret: the name of an environment variable, or a file holding it (spec.ts's `secretRef` schema). */
export type SecretRef = { env: string } | { file: string };

/** `s3://bucket[/prefix]`: a repository on S3-compatible object storage (its `s3` section says where and as whom). */
export const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[^\s]*)?$/;

/** An error a user can act on: it names the file and every bad field. */
export class SpecError extends LifeboatError {
  constructor(message: string) {
    super('InvalidSpec', message);
  }
}

/**
 * Who lacks an environment variable: inside an activity that is the worker running the step,
 * whose environment is not the one of the command that started the run.
 */
function whoseEnvironment(): string {
  let taskQueue: string | undefined;
  try {
    // Loaded only on this error path: a CLI reading a spec does not carry Temporal's modules
    // (a worker has them loaded already, so this is the same module and the same context).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Context } = require('@temporalio/activity') as typeof ActivityModule;
    taskQueue = Context.current().info.taskQueue;
  } catch {
    return 'the environment of this process';
  }
  return `the environment of the worker on host ${hostname()} (the process that runs this step, task queue ${taskQueue}): set it where that worker starts`;
}

/** Resolves a secret reference to its value; relative files are taken from `baseDir`. */
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): string {
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined || v === '') throw new SpecError(`${ref.env} is not set in ${whoseEnvironment()} (a secret the cluster spec refers to)`);
    return v;
  }
  const path = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new SpecError(`cannot read secret file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
