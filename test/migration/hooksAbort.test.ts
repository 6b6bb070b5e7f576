/** A command hook whose caller no longer wants it (its activity cancelled: the workflow cancelled or terminated) is killed, not left running. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import { LifeboatError } from '../../src/errors';
import { runSwitchHooks } from '../../src/migration/hooks';

const spec = (name: string) => parseSpec({ name, kafka: { bootstrapServers: [`${name}:9092`], mode: 'kraft' } });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('command hooks and the caller signal', () => {
  it('an abort kills the command at once, and the outcome says it was stopped (it may have changed something)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hook-abort-'));
    const pidFile = join(dir, 'pid');
    const done = join(dir, 'done');
    // Writes its pid, then would switch the clients a second later.
    const hook = parseSpec({ ...spec('next'), clientSwitch: [{ type: 'command', command: ['sh', '-c', `echo $$ > ${pidFile}; sleep 1; touch ${done}`] }] }).clientSwitch;
    const ac = new AbortController();
    const t0 = Date.now();
    const run = runSwitchHooks(hook, { source: spec('old'), target: spec('next') }, { signal: ac.signal });
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);
    ac.abort();
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(900);
    expect(err).toBeInstanceOf(LifeboatError);
    const outcome = ((err as LifeboatError).details as { outcomes: { ok: boolean; changed?: boolean; detail: string }[] }).outcomes[0]!;
    expect(outcome).toMatchObject({ ok: false, changed: true });
    expect(outcome.detail).toMatch(/^stopped: the run that started it no longer wants it/);
    // Killed (SIGKILL): gone within moments, and what it would have done a second later never happens.
    for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(done)).toBe(false);
  });
});
