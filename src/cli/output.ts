/**
 * Output conventions shared by every command: `--json` writes one JSON object per line to stdout
 * (machines), people get text and progress on stderr; errors are one clear line and a stable exit
 * code, with the stack only when LIFEBOAT_DEBUG is set.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, LifeboatError, isLifeboatError } from '../errors';
import { loadSpec, type ClusterSpec } from '../config/spec';

/** Ends a command after it printed its usage (asked for with --help: 0; a missing subcommand: 2). */
export class UsageExit extends Error {
  constructor(readonly code: number) {
    super('usage shown');
  }
}

export function fail(err: unknown): number {
  if (err instanceof UsageExit) return err.code;
  if (isLifeboatError(err)) {
    console.error(`lifeboat: ${err.message}`);
    if (process.env.LIFEBOAT_DEBUG) console.error(err.stack);
    return err.exitCode;
  }
  const e = err as Error;
  console.error(`lifeboat: ${e?.message ?? String(err)}`);
  if (process.env.LIFEBOAT_DEBUG) console.error(e?.stack);
  return EXIT.ERROR;
}

export interface Output {
  json: boolean;
  /** A result record: JSON line in --json mode, otherwise the text given. */
  result(record: Record<string, unknown>, text?: string): void;
  /** Progress for people (stderr); silent in --json mode unless it is a JSON status line. */
  progress(message: string, record?: Record<string, unknown>): void;
}

export function output(json: boolean): Output {
  return {
    json,
    result(record, text) {
      if (json) console.log(JSON.stringify(record));
      else console.log(text ?? JSON.stringify(record, null, 2));
    },
    progress(message, record) {
      if (json) {
        if (record) console.log(JSON.stringify({ message_type: 'status', ...record }));
      } else process.stderr.write(`${message}\n`);
    },
  };
}

/** node:util parseArgs with usage errors turned into LifeboatError('InvalidInput'); --help prints the usage and ends the command. */
export function parseCli<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new LifeboatError('InvalidInput', `${(e as Error).message}\n${usage}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    throw new UsageExit(EXIT.OK);
  }
  return parsed;
}

/** Splits `<subcommand> [args]`; without one (or with --help) prints the usage and ends the command. */
export function subcommand(argv: string[], usage: string): [string, string[]] {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(usage);
    throw new UsageExit(sub ? EXIT.OK : EXIT.USAGE);
  }
  return [sub, rest];
}

/** The cluster spec named by --spec, which the command requires. */
export function requireSpec(path: string | undefined, usage: string): ClusterSpec {
  if (!path) throw new LifeboatError('InvalidInput', `--spec is required\n${usage}`);
  return loadSpec(path);
}
