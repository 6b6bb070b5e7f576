/** Helpers of the CLI tests: a port nobody listens on, and the CLI run with extra environment. */
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { LIFEBOAT_BIN } from '../support/cli';

/** A port on loopback that nobody listens on (taken from the OS, then closed). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** `bin/lifeboat` with `env` added to this process's environment; never throws. */
export async function lifeboatWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(LIFEBOAT_BIN, args, { timeout: 120_000, env: { ...process.env, NODE_NO_WARNINGS: '1', ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}
