import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runningPid, startDetached, stopProcess } from '../../src/host/processes';

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
});
