/**
 * Long-running processes that we start and must later find again: detached children whose pid
 * goes to a pid file, recognised by a marker in their command line so that a stale pid file
 * (the pid since reused by something else) never makes us signal a stranger.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { poll, sleep } from '../core/poll';

export { sleep };

export interface ManagedProcess {
  /** Human name used in messages, e.g. "broker primary-2". */
  name: string;
  command: string;
  args: string[];
  pidFile: string;
  logFile: string;
  /** A string that appears in the process's command line and nowhere else (usually a config path). */
  marker: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function readCmdlineOnce(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

const pauseMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * The command line of a process. A process in the middle of its exec (spawn returns before the
 * kernel has set the new argv) shows an empty one: CI once took a starting versitygw for a stale
 * pid that way. An empty line is read again for up to a second before it counts.
 */
function readCmdline(pid: number): string | undefined {
  let cmdline = readCmdlineOnce(pid);
  for (let waited = 0; cmdline === '' && waited < 1_000 && !isZombie(pid); waited += 10) {
    pauseMs(10);
    cmdline = readCmdlineOnce(pid);
  }
  return cmdline;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** A live process whose command line carries the marker (our process, whatever happened to its pid file). */
function findByMarker(marker: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const e of entries) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    // The marker as an argument of its own (not, say, inside a shell command that mentions it).
    if (args.includes(marker) && !isZombie(pid)) return pid;
  }
  return undefined;
}

/**
 * The pid of our process if it is running, otherwise undefined (stale pid files are removed).
 * A process that runs without a pid file (its starter was killed between spawn and write) is
 * found by its marker and adopted, so it is never started twice or waited on forever.
 */
export function runningPid(p: Pick<ManagedProcess, 'pidFile' | 'marker'>): number | undefined {
  const pid = existsSync(p.pidFile) ? Number.parseInt(readFileSync(p.pidFile, 'utf8').trim(), 10) : NaN;
  if (Number.isInteger(pid) && pid > 0) {
    const cmdline = readCmdline(pid);
    if (cmdline !== undefined && cmdline.includes(p.marker) && !isZombie(pid)) return pid;
  }
  rmSync(p.pidFile, { force: true });
  const orphan = findByMarker(p.marker);
  if (orphan !== undefined) {
    mkdirSync(dirname(p.pidFile), { recursive: true });
    writeFileSync(p.pidFile, `${orphan}\n`);
  }
  return orphan;
}

/** Starts the process detached (it outlives us), appending its output to its log file. */
export function startDetached(p: ManagedProcess): number {
  const existing = runningPid(p);
  if (existing !== undefined) return existing;
  mkdirSync(dirname(p.pidFile), { recursive: true });
  mkdirSync(dirname(p.logFile), { recursive: true });
  const out = openSync(p.logFile, 'a');
  try {
    const child = spawn(p.command, p.args, {
      cwd: p.cwd,
      env: p.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    if (child.pid === undefined) throw new Error(`could not start ${p.name} (${p.command})`);
    child.unref();
    writeFileSync(p.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** True while `pid` runs (a zombie does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

/**
 * Stops our process: SIGTERM (Kafka then does a controlled shutdown), and SIGKILL if it has not
 * exited within `graceMs`. Returns false if it was not running. `abort` ends the wait at once (the
 * signal already sent stands: the process goes on shutting down).
 */
export async function stopProcess(
  p: Pick<ManagedProcess, 'pidFile' | 'marker'>,
  opts: { graceMs?: number; signal?: NodeJS.Signals; abort?: AbortSignal } = {},
): Promise<boolean> {
  const pid = runningPid(p);
  if (pid === undefined) return false;
  const signal = opts.signal ?? 'SIGTERM';
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
  const gone = () => !processAlive(pid);
  const graceMs = signal === 'SIGKILL' ? 10_000 : (opts.graceMs ?? 60_000);
  const exited = await poll(gone, { what: `process ${pid} to exit`, timeoutMs: graceMs, intervalMs: 100, signal: opts.abort }).catch((e: unknown) => {
    if (opts.abort?.aborted) throw e;
    return false;
  });
  if (!exited) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
    // A SIGKILLed process is gone once the kernel has reaped it; it cannot refuse.
    await poll(gone, { what: `process ${pid} to exit after SIGKILL`, timeoutMs: 60_000, intervalMs: 100, signal: opts.abort });
  }
  rmSync(p.pidFile, { force: true });
  return true;
}

/**
 * Polls `check` until it returns true or the timeout passes; `describe` names what we waited for.
 * A timeout is a LifeboatError (Unreachable) naming it and the last error `check` threw, followed
 * by `onTimeout`'s text (e.g. a log tail).
 */
export async function waitUntil(
  describe: string,
  check: () => Promise<boolean> | boolean,
  opts: { timeoutMs: number; intervalMs?: number; onTimeout?: () => string; signal?: AbortSignal },
): Promise<void> {
  try {
    await poll(async () => (await check()) || undefined, { what: describe, timeoutMs: opts.timeoutMs, intervalMs: opts.intervalMs, signal: opts.signal });
  } catch (e) {
    if (opts.onTimeout && !opts.signal?.aborted && e instanceof Error) e.message += `\n${opts.onTimeout()}`;
    throw e;
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}
