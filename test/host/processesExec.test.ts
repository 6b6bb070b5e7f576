/**
 * A process caught in the middle of its exec shows an empty /proc/<pid>/cmdline (the kernel sets
 * the new argv only once the binary is loaded). CI once read a just-spawned versitygw in that
 * instant, took it for a stale pid, removed its pid file and failed `lab up` with "versitygw exited
 * during start-up" while it was starting. The instant is too short to hit on purpose, so the reads
 * of /proc are made to show it.
 */
import type * as nodeFs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

const exec = vi.hoisted(() => ({ pid: 0, emptyReads: 0 }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof nodeFs>();
  const readFileSync = ((path: unknown, ...rest: unknown[]) => {
    if (path === `/proc/${exec.pid}/cmdline` && exec.emptyReads > 0) {
      exec.emptyReads--;
      return '';
    }
    return (fs.readFileSync as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFileSync;
  return { ...fs, readFileSync, default: { ...fs, readFileSync } };
});

const { runningPid, startDetached, stopProcess } = await import('../../src/host/processes');

describe('a process in the middle of its exec', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-exec-'));
  const marker = join(dir, 'starting.conf');
  const p = { name: 'starting', command: 'sh', args: ['-c', 'sleep 60; :', marker], pidFile: join(dir, 'p.pid'), logFile: join(dir, 'p.log'), marker };
  afterEach(async () => {
    exec.emptyReads = 0;
    await stopProcess(p, { signal: 'SIGKILL' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is found, not taken for a stale pid, and keeps its pid file', () => {
    exec.pid = startDetached(p);
    exec.emptyReads = 3; // the next reads of its command line come back empty, as during exec
    expect(runningPid(p)).toBe(exec.pid);
    expect(exec.emptyReads).toBe(0);
    expect(runningPid(p)).toBe(exec.pid);
  });

  it('a pid whose command line stays empty is not ours (after a second of looking)', () => {
    exec.pid = startDetached(p);
    exec.emptyReads = 1_000_000;
    const t0 = Date.now();
    // The pid file's process and the /proc scan both read the empty line: nothing is ours.
    expect(runningPid(p)).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    exec.emptyReads = 0;
    expect(runningPid(p)).toBe(exec.pid); // found again by its marker once it shows one
  });
});
