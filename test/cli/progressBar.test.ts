/**
 * Drawing typed progress (src/cli/progressBar.ts): counts in their unit (bytes humanised), plain
 * lines on a pipe (throttled within a phase, at once for a new phase), a cli-progress bar on a
 * terminal that lines of text do not tear, nothing with --json.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { amount, formatProgress, humanBytes, progressView } from '../../src/cli/progressBar';

/** A stream that collects what is written; a "terminal" when tty is set. */
function sink(tty = false) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  if (tty) {
    s.isTTY = true;
    s.columns = 120;
  }
  return { stream: s as unknown as NodeJS.WriteStream, text: () => text };
}

const tick = () => new Promise((r) => setImmediate(r));
/** cli-progress clears its line with "erase line" (ESC [2K). */
const CLEAR = '\x1b[2K';

describe('progress text', () => {
  it('humanises bytes, counts other units', () => {
    expect(humanBytes(512)).toBe('512 B');
    expect(humanBytes(1536)).toBe('1.50 KiB');
    expect(humanBytes(5 * 1024 ** 3 + 1)).toBe('5.00 GiB');
    expect(humanBytes(250 * 1024 ** 2)).toBe('250 MiB');
    expect(amount(12, 'files')).toBe('12 files');
    expect(amount(7, undefined)).toBe('7');
  });

  it('formats phase, done/total with unit and percentage, subject', () => {
    expect(formatProgress({ phase: 'restore-logdirs', done: 1.2 * 1024 ** 3, total: 3.4 * 1024 ** 3, unit: 'bytes', subject: 'broker 2' })).toBe(
      'restore-logdirs: 1.20 GiB / 3.40 GiB (35%) — broker 2',
    );
    expect(formatProgress({ phase: 'restore-zookeeper', done: 40, total: 160, unit: 'znodes' })).toBe('restore-zookeeper: 40/160 znodes (25%)');
    expect(formatProgress({ phase: 'topics backup', done: 300, unit: 'records' })).toBe('topics backup: 300 records');
    expect(formatProgress({ phase: 'choose-set' })).toBe('choose-set');
    expect(formatProgress({ phase: 'copy', total: 2048, unit: 'bytes' })).toBe('copy: of 2.00 KiB');
  });
});

describe('progress view', () => {
  it('on a pipe: a line per new phase at once, within a phase at most one per interval', async () => {
    const out = sink();
    const v = progressView({ stream: out.stream, lineIntervalMs: 60_000, prefix: 'run-1: ' });
    v.update({ phase: 'a', done: 1, total: 4, unit: 'files' });
    v.update({ phase: 'a', done: 2, total: 4, unit: 'files' }); // same phase, too soon: not printed
    v.update({ phase: 'b', done: 1, total: 2, unit: 'files' }); // a new phase: printed
    v.log('step: verify');
    v.stop();
    await tick();
    expect(out.text()).toBe('run-1: a: 1/4 files (25%)\nrun-1: b: 1/2 files (50%)\nstep: verify\n');
  });

  it('with --json: no progress drawn, lines still written', async () => {
    const out = sink(true);
    const v = progressView({ stream: out.stream, json: true });
    v.update({ phase: 'a', done: 1, total: 2 });
    v.log('{"message_type":"status"}');
    v.stop();
    await tick();
    expect(out.text()).toBe('{"message_type":"status"}\n');
  });

  it('on a terminal: a bar with the formatted progress; a logged line clears it and it is drawn again below', async () => {
    const out = sink(true);
    const v = progressView({ stream: out.stream });
    v.update({ phase: 'restore-logdirs', done: 512 * 1024, total: 1024 * 1024, unit: 'bytes', subject: 'broker 2' });
    await tick();
    const first = out.text();
    expect(first).toContain('restore-logdirs: 512 KiB / 1.00 MiB (50%) — broker 2');
    expect(first).toMatch(/█{15}░{15} restore-logdirs/);
    v.log('step: verify');
    await tick();
    const after = out.text().slice(first.length);
    // Cleared, the line written, the bar drawn again after it.
    expect(after.indexOf(CLEAR)).toBeGreaterThanOrEqual(0);
    expect(after.indexOf(CLEAR)).toBeLessThan(after.indexOf('step: verify\n'));
    expect(after.lastIndexOf('restore-logdirs: 512 KiB')).toBeGreaterThan(after.indexOf('step: verify\n'));
    v.stop();
    await tick();
    // Stopped: the bar's line is cleared, nothing of it left after the last line.
    expect(out.text().endsWith(CLEAR)).toBe(true);
  });
});
