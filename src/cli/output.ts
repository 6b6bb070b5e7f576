/**
 * Output conventions shared by every command: `--json` writes one JSON object per line to stdout
 * (machines), people get text and progress on stderr; errors are one clear line and a stable exit
 * code, with the stack only when LIFEBOAT_DEBUG is set.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, LifeboatError, isLifeboatError } from '../errors';

export function fail(err: unknown): number {
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

/** node:util parseArgs with usage errors turned into LifeboatError('InvalidInput'). */
export function parseCli<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new LifeboatError('InvalidInput', `${(e as Error).message}\n${usage}`);
  }
}
