/**
 * Output conventions shared by every command (docs/cli.md, "Output"):
 * - stdout carries the result and nothing else: text for people, or with --json exactly one JSON
 *   document (an object, or an array for lists; an empty result is [] or an object, never nothing);
 * - progress, notices and warnings go to stderr in both modes (with --json as JSON lines), so stdout
 *   stays pipeable;
 * - a failure is one line on stderr and a stable exit code, the stack only with LIFEBOAT_DEBUG=1;
 *   with --json, stdout then holds {"error": {type, exitCode, message}} unless the result was printed.
 */
import { EXIT, isLifeboatError, knownError } from '../errors';
import { UsageExit } from './options';
import { progressView, type ProgressView } from './progressBar';

export { subcommand, UsageExit } from './options';

/** This process runs one command: whether it asked for --json and whether its document is out. */
const state: { json: boolean; printed: boolean; view?: ProgressView } = { json: false, printed: false };

const debug = () => !!process.env.LIFEBOAT_DEBUG && process.env.LIFEBOAT_DEBUG !== '0';

/** Called with the command line before the command runs: a failure before output() is made still answers --json. */
export function jsonRequested(argv: string[]): void {
  const end = argv.indexOf('--');
  state.json = (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

export function fail(err: unknown): number {
  state.view?.stop();
  if (err instanceof UsageExit) return err.code;
  const known = knownError(err);
  const e = (known ?? err) as Error | undefined;
  const message = e?.message ?? String(err);
  const code = known ? known.exitCode : EXIT.ERROR;
  process.stderr.write(`lifeboat: ${message}\n`);
  if (debug()) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  if (state.json && !state.printed) {
    state.printed = true;
    const type = isLifeboatError(known) ? known.type : 'Error';
    process.stdout.write(`${JSON.stringify({ error: { type, exitCode: code, message } })}\n`);
  }
  return code;
}

export interface Output {
  json: boolean;
  /**
   * The command's result, once: with --json its one JSON document (an object, or an array for a
   * list), otherwise the text given (or the document, indented).
   */
  result(doc: Record<string, unknown> | unknown[], text?: string): void;
  /** Progress for people, on stderr (with --json: a JSON line {"message_type":"status", message, ...record}). */
  progress(message: string, record?: Record<string, unknown>): void;
  /**
   * Typed progress of long work, drawn for people (src/cli/progressBar.ts: a bar on a terminal,
   * lines otherwise, nothing with --json); progress() lines meanwhile print above the bar. stop() it
   * when the work ends.
   */
  view(prefix?: string): ProgressView;
}

export function output(json: boolean): Output {
  state.json = json;
  return {
    json,
    result(doc, text) {
      if (json) {
        // Two documents would break every consumer of --json: a command bug, caught by test/cli/json.int.test.ts.
        if (state.printed) throw new Error('internal: a second --json result in one command');
        state.printed = true;
        process.stdout.write(`${JSON.stringify(doc)}\n`);
      } else process.stdout.write(`${text ?? JSON.stringify(doc, null, 2)}\n`);
    },
    progress(message, record) {
      if (json) process.stderr.write(`${JSON.stringify({ message_type: 'status', message, ...record })}\n`);
      else if (state.view) state.view.log(message);
      else process.stderr.write(`${message}\n`);
    },
    view(prefix) {
      state.view?.stop();
      const v = progressView({ json, prefix });
      const view: ProgressView = {
        update: (p) => v.update(p),
        log: (line) => v.log(line),
        stop: () => {
          v.stop();
          if (state.view === view) state.view = undefined;
        },
      };
      state.view = view;
      return view;
    },
  };
}


