/** Runs the real `bin/lifeboat` as a user would and returns its exit code and output (never throws). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const LIFEBOAT_BIN = join(__dirname, '..', '..', 'bin', 'lifeboat');

export async function lifeboat(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return lifeboatWith({}, ...args);
}

/**
 * `bin/lifeboat` with `env` added to this process's environment; never throws. Asynchronous on
 * purpose: a test that blocks its worker (spawnSync) for a minute under load makes vitest's RPC
 * time out ("Timeout calling onTaskUpdate") and the whole run fail.
 */
export async function lifeboatWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(LIFEBOAT_BIN, args, { timeout: 120_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_NO_WARNINGS: '1', ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}
