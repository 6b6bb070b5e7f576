/**
 * Runs the CLI as a user would and returns its exit code and output (never throws): its bundle
 * (cliBundle.ts) where one fits the call, else the real `bin/lifeboat`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { adapterModulesFromEnv, ADAPTERS_ENV } from '../../src/host/adapterModules';
import { CLI_BUNDLES, LAB_ADAPTER_MODULE } from './cliBundle';

const run = promisify(execFile);
export const LIFEBOAT_BIN = join(__dirname, '..', '..', 'bin', 'lifeboat');

/** The bundle that runs this call as bin/lifeboat would, if one does. */
function bundleFor(args: string[], env: NodeJS.ProcessEnv): string | undefined {
  // `worker` imports activities/ by path; watch mode re-runs after edits, and the bundles are built once per run.
  if (args[0] === 'worker' || process.env.VITEST_MODE === 'WATCH') return undefined;
  const adapters = adapterModulesFromEnv(env);
  if (adapters.length === 0) return CLI_BUNDLES.plain;
  return adapters.every((m) => m === LAB_ADAPTER_MODULE) ? CLI_BUNDLES.lab : undefined;
}

/** The program and arguments for one call: a bundle when one fits it (bundleFor), else bin/lifeboat. */
export function cliCommand(args: string[], env: NodeJS.ProcessEnv): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const bundle = bundleFor(args, env);
  if (!bundle || !existsSync(bundle)) return { file: LIFEBOAT_BIN, args, env };
  // The lab bundle has the adapter built in: plain node could not load the .ts module the variable names.
  const { [ADAPTERS_ENV]: _builtIn, ...rest } = env;
  return { file: process.execPath, args: [bundle, ...args], env: rest };
}

export async function lifeboat(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return lifeboatWith({}, ...args);
}

/**
 * The CLI with `env` added to this process's environment; never throws. Asynchronous on
 * purpose: a test that blocks its worker (spawnSync) for a minute under load makes vitest's RPC
 * time out ("Timeout calling onTaskUpdate") and the whole run fail.
 */
export async function lifeboatWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const cmd = cliCommand(args, { ...process.env, NODE_NO_WARNINGS: '1', ...env });
    const r = await run(cmd.file, cmd.args, { timeout: 120_000, maxBuffer: 64 * 1024 * 1024, env: cmd.env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}
