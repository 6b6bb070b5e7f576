/**
 * Timing one command for the repository benches (bench/repository.ts, bench/s3.ts): wall time, peak
 * RSS and CPU from GNU time, each tool started from the same machine state.
 *
 * On this kind of VM the first write into memory the guest freed a few seconds earlier costs ~2.3 s
 * per GB of kernel time (the host takes freed pages back and faults them in again: `dd` of 1.2 GB
 * into the page cache took 3.5 s, and 0.24 s right after a delete). Whichever tool ran while pages
 * had just been given back paid it, so the same restore took 1.6 s or 4 s. `prefaultBytes`: that
 * much is written to a file and deleted just before the command, so every tool finds warm free
 * memory for what it writes, and the figures are the tools' own.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface Run {
  seconds: number;
  rssMB: number;
  /** user + system CPU time of the process (all its threads). */
  cpu: number;
}

export interface TimedOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  prefaultBytes?: number;
}

/** Writes `bytes` of zeros to a file in `dir` and deletes it (see above). */
export function prefault(dir: string, bytes: number): void {
  const file = join(dir, '.prefault');
  const block = Buffer.alloc(8 * 1024 * 1024);
  const fd = openSync(file, 'w');
  try {
    for (let left = bytes; left > 0; left -= block.length) writeSync(fd, block, 0, Math.min(block.length, left));
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

export function timed(cmd: string, args: string[], opts: TimedOptions): Run {
  // Dirty pages of the previous step (a 1 GB restore) are written back first, so no tool pays for another's writes.
  execFileSync('sync');
  if (opts.prefaultBytes) prefault(opts.cwd, opts.prefaultBytes);
  const out = join(opts.cwd, '.time');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', '-o', out, cmd, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().slice(-2000)}`);
  const [secs, kb, user, sys] = readFileSync(out, 'utf8').trim().split(/\s+/).slice(-4).map(Number);
  return { seconds: secs!, rssMB: kb! / 1024, cpu: user! + sys! };
}

/** The middle value (the lower of the two middle ones for an even count). */
export const medianOf = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
