/**
 * A real `lifeboat worker` process for tests that SIGKILL one mid-run: started in its own process
 * group with a prebuilt workflow bundle (LIFEBOAT_WORKFLOW_BUNDLE, built once per file with
 * buildWorkflowBundle), ready once it printed its banner; `killWorker` SIGKILLs the whole group.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { buildWorkflowBundle } from '../../src/temporal/bundle';
import { TEST_BUNDLE_ENV } from '../workflows/support/timeSkipping';
import { LIFEBOAT_BIN } from './cli';

/**
 * Writes the workflow bundle a spawned worker runs to `file`: a copy of the integration run's (built once in
 * labSetup.ts, TEST_BUNDLE_ENV) when there is one, else built here (npm run build:workflows's way).
 */
export async function workerBundle(file: string): Promise<void> {
  const prebuilt = process.env[TEST_BUNDLE_ENV];
  if (prebuilt && existsSync(prebuilt)) copyFileSync(prebuilt, file);
  else await buildWorkflowBundle(file);
}

export function startWorker(bundle: string, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(LIFEBOAT_BIN, ['worker', ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LIFEBOAT_LOG_LEVEL: 'ERROR', LIFEBOAT_WORKFLOW_BUNDLE: bundle },
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('lifeboat worker:')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${err}`)));
  });
}

/** SIGKILLs the worker and everything it started (a no-op when it is gone). */
export function killWorker(child: ChildProcess | undefined): void {
  try {
    if (child) process.kill(-child.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
