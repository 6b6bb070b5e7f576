/**
 * The worker's logger: pino behind Temporal's Logger interface, installed with Runtime.install. One
 * JSON line per event on stderr; an error becomes its type and message (and its causes' messages),
 * not a stack trace — the stack only with LIFEBOAT_DEBUG=1. The SDK's default logger printed every
 * failed activity attempt with its full stack, which buried the one line an operator needs.
 */
import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';

export interface ErrorSummary {
  type: string;
  message: string;
  causes?: string[];
  stack?: string;
}

/** An error as one line's worth of fields (stack only when asked for). */
export function summarizeError(e: unknown, withStack = false): ErrorSummary | unknown {
  if (!(e instanceof Error)) return e;
  const x = e as Error & { type?: string; cause?: unknown };
  const causes: string[] = [];
  for (let c = x.cause as (Error & { cause?: unknown }) | undefined, n = 0; c && n < 5; c = c.cause as typeof c, n++) if (c.message) causes.push(c.message);
  return {
    type: x.type ?? x.name,
    message: x.message,
    ...(causes.length ? { causes } : {}),
    ...(withStack && x.stack ? { stack: x.stack } : {}),
  };
}

const debugStacks = () => !!process.env.LIFEBOAT_DEBUG && process.env.LIFEBOAT_DEBUG !== '0';

export class PinoTemporalLogger implements Logger {
  readonly pino: Pino;

  constructor(level: LogLevel = 'WARN', destination: DestinationStream = pino.destination({ fd: 2, sync: true })) {
    this.pino = pino({ level: level.toLowerCase(), base: { name: 'lifeboat-worker' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  }

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const fields: Record<string, unknown> = {};
    const withStack = debugStacks();
    for (const [k, v] of Object.entries(meta ?? {})) fields[k] = v instanceof Error ? summarizeError(v, withStack) : v;
    const fn = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    this.pino[fn](fields, message);
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
