import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { runningPid, startDetached, stopProcess, waitUntil } from '../../src/host/processes';

/** The child has set its SIGTERM handler (it says so in its log). */
const ready = (log: string) => waitUntil('the child to start', () => existsSync(log) && readFileSync(log, 'utf8').includes('ready'), { timeoutMs: 10_000, intervalMs: 20 });

describe('managed processes', () => {
  it('adopts a running process whose pid file was lost (its starter was killed), and stops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-proc-'));
    const marker = join(dir, 'marker.conf');
    const p = { name: 'sleeper', command: 'sh', args: ['-c', 'sleep 60; :', marker], pidFile: join(dir, 'p.pid'), logFile: join(dir, 'p.log'), marker };
    try {
      const pid = startDetached(p);
      rmSync(p.pidFile);
      expect(runningPid(p)).toBe(pid);
      expect(existsSync(p.pidFile)).toBe(true);
      // Started again, it is not started twice.
      expect(startDetached(p)).toBe(pid);
      expect(await stopProcess(p)).toBe(true);
      expect(runningPid(p)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kills a process that ignores SIGTERM once the grace time is over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-proc-'));
    const marker = join(dir, 'stubborn.conf');
    const p = { name: 'stubborn', command: process.execPath, args: ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setTimeout(() => {}, 60000)", marker], pidFile: join(dir, 'p.pid'), logFile: join(dir, 'p.log'), marker };
    try {
      startDetached(p);
      await ready(p.logFile);
      const t0 = Date.now();
      expect(await stopProcess(p, { graceMs: 500 })).toBe(true);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
      expect(runningPid(p)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops waiting for the process at once when aborted, leaving it to shut down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-proc-'));
    const marker = join(dir, 'slow.conf');
    const p = { name: 'slow', command: process.execPath, args: ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setTimeout(() => {}, 60000)", marker], pidFile: join(dir, 'p.pid'), logFile: join(dir, 'p.log'), marker };
    try {
      const pid = startDetached(p);
      await ready(p.logFile);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const t0 = Date.now();
      await expect(stopProcess(p, { graceMs: 30_000, abort: ac.signal })).rejects.toThrow(/cancel|abort/i);
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(runningPid(p)).toBe(pid);
      expect(await stopProcess(p, { signal: 'SIGKILL' })).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waitUntil names what it waited for and the last failure in one LifeboatError', async () => {
    const err = await waitUntil('the moon to rise', () => Promise.reject(new Error('still day')), { timeoutMs: 200, intervalMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as Error).message).toBe('timed out after 200ms waiting for the moon to rise (still day)');
  });
});
