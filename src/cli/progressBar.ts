/**
 * Drawing typed progress (src/core/progress.ts) for people: a bar on a terminal (cli-progress, on
 * stderr), plain lines when stderr is a pipe or a file (at most one every few seconds, and at each
 * new phase), nothing with --json (its stderr lines are for machines; the result says it all).
 * Workflow followers and long local commands (repo copy, check, topics, logdir) share it.
 */
import type * as CliProgress from 'cli-progress';
import type { Progress } from '../core/progress';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; whole bytes below 1 KiB. */
export function humanBytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[i]}`;
}

/** A count in its unit: bytes humanised, others as "12 files". */
export function amount(n: number, unit: string | undefined): string {
  if (unit === 'bytes') return humanBytes(n);
  return unit ? `${n} ${unit}` : String(n);
}

/** "done/total unit (pct%)", "done unit", or "" when the progress has no counts. */
export function progressCounts(p: Progress): string {
  if (p.done === undefined) return p.total !== undefined ? `of ${amount(p.total, p.unit)}` : '';
  if (p.total === undefined) return amount(p.done, p.unit);
  const pct = p.total > 0 ? ` (${Math.min(100, Math.floor((p.done / p.total) * 100))}%)` : '';
  return p.unit === 'bytes' ? `${humanBytes(p.done)} / ${humanBytes(p.total)}${pct}` : `${p.done}/${p.total}${p.unit ? ` ${p.unit}` : ''}${pct}`;
}

/** One line: "restore-logdirs: 1.20 GiB / 3.40 GiB (35%) — broker 2". */
export function formatProgress(p: Progress): string {
  const counts = progressCounts(p);
  return `${p.phase}${counts ? `: ${counts}` : ''}${p.subject ? ` — ${p.subject}` : ''}`;
}

export interface ProgressView {
  /** The newest progress; drawn now or soon. */
  update(p: Progress): void;
  /** A line of text on stderr that must not be torn by the bar (step lines, notices). */
  log(line: string): void;
  /** Clears the bar (on a terminal) and stops drawing. */
  stop(): void;
}

export interface ProgressViewOptions {
  /** --json: draw nothing. */
  json?: boolean;
  stream?: NodeJS.WriteStream;
  /** Plain lines: at most one per interval for the same phase (default 2 s). */
  lineIntervalMs?: number;
  /** Prefix of every line (a workflow ID). */
  prefix?: string;
}

/** The view for this process's stderr: a bar on a terminal, lines otherwise, nothing with --json. */
export function progressView(opts: ProgressViewOptions = {}): ProgressView {
  const stream = opts.stream ?? process.stderr;
  if (opts.json) return { update: () => undefined, log: (line) => void stream.write(`${line}\n`), stop: () => undefined };
  return stream.isTTY ? barView(stream, opts.prefix) : lineView(stream, opts.lineIntervalMs ?? 2000, opts.prefix);
}

function lineView(stream: NodeJS.WritableStream, intervalMs: number, prefix = ''): ProgressView {
  let lastPhase: string | undefined;
  let lastLine = '';
  let lastAt = 0;
  return {
    update(p) {
      const line = `${prefix}${formatProgress(p)}`;
      const now = Date.now();
      // A new phase at once; within a phase, a changed line at most every interval.
      if (p.phase === lastPhase && (line === lastLine || now - lastAt < intervalMs)) return;
      stream.write(`${line}\n`);
      [lastPhase, lastLine, lastAt] = [p.phase, line, now];
    },
    log: (line) => void stream.write(`${line}\n`),
    stop: () => undefined,
  };
}

function barView(stream: NodeJS.WriteStream, prefix = ''): ProgressView {
  // Loaded here, on a terminal only: every command imports this module, and cli-progress with its
  // dependencies is ~6 MB of a process's RSS (a backup's or restore's peak, issue 15).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Presets, SingleBar } = require('cli-progress') as typeof CliProgress;
  let current: Progress | undefined;
  const bar = new SingleBar(
    {
      stream,
      clearOnComplete: true,
      hideCursor: false,
      fps: 5,
      barsize: 30,
      // The line is ours: cli-progress draws the bar, we write phase, counts and subject.
      format: (options, params) => {
        const p = current;
        if (!p) return '';
        const size = options.barsize ?? 30;
        const filled = p.total ? Math.round(Math.min(1, params.progress) * size) : 0;
        const barText = p.total ? `${(options.barCompleteChar ?? '█').repeat(filled)}${(options.barIncompleteChar ?? '░').repeat(size - filled)} ` : '';
        const width = stream.columns || 100;
        return `${prefix}${barText}${formatProgress(p)}`.slice(0, width - 1);
      },
    },
    Presets.shades_classic,
  );
  let running = false;
  const draw = (p: Progress) => {
    current = p;
    const total = p.total && p.total > 0 ? p.total : 1;
    const value = p.total && p.total > 0 ? Math.min(p.done ?? 0, p.total) : 0;
    if (!running) {
      bar.start(total, value);
      running = true;
    } else {
      bar.setTotal(total);
      bar.update(value);
    }
  };
  return {
    update: draw,
    log(line) {
      // Stop (clears the bar's line), write, draw again below it.
      if (running) {
        bar.stop();
        running = false;
      }
      stream.write(`${line}\n`);
      if (current) draw(current);
    },
    stop() {
      if (running) bar.stop();
      running = false;
      current = undefined;
    },
  };
}
