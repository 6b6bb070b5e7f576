/**
 * The CLI's options, each declared once: its name, what it takes, how its value is checked and
 * converted, and its line in the usage. Commands list the declarations they accept (shared ones from
 * here, their own beside them); `commandLine` turns that list into the usage text and a parser.
 *
 * Parsing rules, the same for every command:
 * - an unknown option, a missing or malformed value, or a single-valued option given twice with
 *   different values is one line naming the option and where the help is (InvalidInput, exit 2);
 * - list options take comma-separated items and may be repeated (`--parts a,b --parts c`);
 * - `--help`/`-h` prints the usage to stdout and ends the command with exit 0.
 */
import { parseArgs } from 'node:util';
import { EXIT, LifeboatError } from '../errors';

/** Ends a command after it printed its usage (asked for with --help: 0; a missing subcommand: 2). */
export class UsageExit extends Error {
  constructor(readonly code: number) {
    super('usage shown');
  }
}

/** One option: `--<name> <arg>`, or a flag. `value` turns every occurrence's raw text into the option's value. */
export interface Opt<N extends string = string, V = unknown> {
  readonly name: N;
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's placeholder in the usage, e.g. "<cluster.yaml>". */
  readonly arg?: string;
  readonly help: string;
  /** The raw values of every occurrence, in order (flags: none); throws BadValue for a bad one. */
  readonly value: (raws: string[]) => V;
}

/** A bad option value: the message says what is expected; the parser adds the option and the help hint. */
export class BadValue extends Error {}

type AnyOpt = Opt<string, unknown>;
export type OptValues<T extends readonly AnyOpt[]> = { [O in T[number] as O['name']]?: O extends Opt<string, infer V> ? V : never };

const one = (name: string, raws: string[]): string => {
  const distinct = [...new Set(raws)];
  if (distinct.length > 1) throw new BadValue(`is given ${raws.length} times (${distinct.map((r) => JSON.stringify(r)).join(', ')}); it takes one value`);
  return distinct[0]!;
};

/** A flag (`--json`): true when given. */
export function flag<N extends string>(name: N, help: string, short?: string): Opt<N, boolean> {
  return { name, type: 'boolean', help, short, value: () => true };
}

/** One value, checked by `check` (which returns it converted, or throws BadValue). */
export function text<N extends string>(name: N, arg: string, help: string): Opt<N, string>;
export function text<N extends string, V>(name: N, arg: string, help: string, check: (raw: string) => V): Opt<N, V>;
export function text<N extends string, V>(name: N, arg: string, help: string, check?: (raw: string) => V): Opt<N, V> {
  return {
    name,
    type: 'string',
    arg,
    help,
    value: (raws) => {
      const raw = one(name, raws);
      return check ? check(raw) : (raw as V);
    },
  };
}

/** A value that may be given several times (`--tag a --tag b`), each kept. */
export function repeated<N extends string>(name: N, arg: string, help: string): Opt<N, string[]>;
export function repeated<N extends string, V>(name: N, arg: string, help: string, check: (raw: string) => V): Opt<N, V[]>;
export function repeated<N extends string, V>(name: N, arg: string, help: string, check?: (raw: string) => V): Opt<N, V[]> {
  return { name, type: 'string', arg, help, value: (raws) => raws.map((r) => (check ? check(r) : (r as V))) };
}

/** The items of a comma-separated list, trimmed, empty ones dropped; undefined when there are none. */
export function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

/** A comma-separated list (`--parts a,b`), repeatable (`--parts a --parts b`); an empty list is refused. */
export function list<N extends string>(name: N, arg: string, help: string): Opt<N, string[]>;
export function list<N extends string, V>(name: N, arg: string, help: string, item: (raw: string) => V): Opt<N, V[]>;
export function list<N extends string, V>(name: N, arg: string, help: string, item?: (raw: string) => V): Opt<N, V[]> {
  return {
    name,
    type: 'string',
    arg,
    help,
    value: (raws) => {
      const items = raws.flatMap(splitList);
      if (!items.length) throw new BadValue(`needs a comma-separated list ${arg}, got ${raws.map((r) => JSON.stringify(r)).join(', ')}`);
      return items.map((i) => (item ? item(i) : (i as V)));
    },
  };
}

/** A whole number, at least `min` (default 0). */
export function wholeNumber(raw: string, min = 0): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) throw new BadValue(`must be a whole number${min ? ` of at least ${min}` : ''}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function int<N extends string>(name: N, arg: string, help: string, min = 0): Opt<N, number> {
  return text(name, arg, help, (raw) => wholeNumber(raw, min));
}

/** One of `choices`. */
export function choice<N extends string, const C extends string>(name: N, choices: readonly C[], help: string): Opt<N, C> {
  return text(name, `<${choices.join('|')}>`, help, (raw) => {
    if (!(choices as readonly string[]).includes(raw)) throw new BadValue(`is one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
    return raw as C;
  });
}

/** A regular expression. */
export function regex<N extends string>(name: N, help: string): Opt<N, RegExp> {
  return text(name, '<regex>', help, (raw) => {
    try {
      return new RegExp(raw);
    } catch (e) {
      throw new BadValue(`is not a valid regular expression: ${(e as Error).message}`);
    }
  });
}

/** The same option with the help line a command wants (what `--parts` means differs a little by command). */
export function describe<N extends string, V>(opt: Opt<N, V>, help: string): Opt<N, V> {
  return { ...opt, help };
}

/** A broker id. */
export const brokerId = (raw: string): number => {
  if (!/^\d+$/.test(raw.trim())) throw new BadValue(`takes broker ids, got ${JSON.stringify(raw)}`);
  return Number(raw);
};

// Options shared by several commands: one declaration each.
export const spec = text('spec', '<cluster.yaml>', 'the cluster spec');
export const specs = repeated('spec', '<cluster.yaml>', 'a cluster spec (repeatable)');
export const targetSpec = text('target-spec', '<cluster.yaml>', 'the cluster to write to (default: --spec)');
export const json = flag('json', 'one JSON document on stdout (progress stays on stderr)');
export const dryRun = flag('dry-run', 'show the plan, change nothing');
export const yes = flag('yes', 'approve the destructive steps up front (otherwise: lifeboat approve <workflow id>)');
export const noWait = flag('no-wait', 'start the workflow and print its ID, do not follow it');
export const parts = list('parts', '<p,..>', 'the parts: zookeeper, kafka-metadata, registry, topics, configs:<broker id>, logdirs:<broker id>');
export const topicList = list('topics', '<a,b>', 'the topics');
export const brokers = list('broker', '<id,..>', 'broker ids (comma-separated or repeated)', brokerId);
export const snapshot = text('snapshot', '<ref>', 'a snapshot of the --spec cluster\'s repository (id, prefix or latest)');
export const incremental = flag('incremental', 'only what changed since the previous snapshot');
export const tags = repeated('tag', '<t>', 'a snapshot tag (repeatable)');
export const offsite = flag('offsite', 'the spec\'s off-site repository');
export const passwordFile = text('password-file', '<file>', 'the repository password (else LIFEBOAT_PASSWORD)');
export const readData = flag('read-data', 'read all of the data, not a sample');
export const confirm = flag('confirm', 'allow a mode that deletes (mirror)');
export const includeEphemerals = flag('include-ephemerals', 'also restore ephemeral znodes');
export const noPreRestoreSnapshot = flag('no-pre-restore-snapshot', 'do not keep what is replaced as a "pre-restore" snapshot');
export const toRepository = flag('repo', "into the spec cluster's repository, as a snapshot");
export const cold = flag('cold', 'cold log-dir copy: stop the broker, copy, start it again (default: hot, the broker keeps running)');
export const ignoreInode = flag('ignore-inode', 'leave inode numbers out of the unchanged-file test');
export const ignoreCtime = flag('ignore-ctime', 'leave ctime out of the unchanged-file test');
export const isoTime = (raw: string): string => {
  if (Number.isNaN(Date.parse(raw))) throw new BadValue(`must be an ISO time, got ${JSON.stringify(raw)}`);
  return raw;
};

const help = flag('help', 'show this help', 'h');

export interface CommandLine<T extends readonly AnyOpt[]> {
  /** "lifeboat recover": named in errors ("see lifeboat recover --help"). */
  readonly name: string;
  readonly options: T;
  /** The synopsis, then one line per option, then the notes. */
  readonly usage: string;
  /** The values and positionals of `argv`; --help prints the usage and ends the command. */
  parse(argv: string[]): { values: OptValues<T>; positionals: string[] };
  /** A usage error: one line, with where the help is. */
  error(message: string): LifeboatError;
}

/** The option lines of a usage: `  --spec <cluster.yaml>   the cluster spec`. */
export function optionLines(options: readonly AnyOpt[]): string {
  const heads = options.map((o) => `--${o.name}${o.arg ? ` ${o.arg}` : ''}${o.short ? `, -${o.short}` : ''}`);
  const width = Math.min(34, Math.max(...heads.map((h) => h.length)) + 2);
  return options.map((o, i) => `  ${heads[i]!.padEnd(width)}${heads[i]!.length >= width ? `\n  ${' '.repeat(width)}` : ''}${o.help}`).join('\n');
}

export function commandLine<const T extends readonly AnyOpt[]>(name: string, synopsis: string, options: T, notes?: string): CommandLine<T> {
  const byName = new Map<string, AnyOpt>();
  for (const o of [...options, help]) {
    if (byName.has(o.name)) throw new Error(`internal: option --${o.name} declared twice for ${name}`);
    byName.set(o.name, o);
  }
  const usage = [synopsis, 'options:', optionLines([...options, help]), ...(notes ? [notes] : [])].join('\n');
  const error = (message: string) => new LifeboatError('InvalidInput', `${message} (see "${name} --help")`);
  return {
    name,
    options,
    usage,
    error,
    parse(argv) {
      const config = Object.fromEntries([...byName.values()].map((o) => [o.name, { type: o.type, multiple: true, ...(o.short ? { short: o.short } : {}) }]));
      // Not strict: the tokens are checked here, so every mistake reads the same way.
      const { tokens } = parseArgs({ args: argv, options: config, allowPositionals: true, strict: false, tokens: true });
      const raws = new Map<string, string[]>();
      const positionals: string[] = [];
      for (const t of tokens) {
        if (t.kind === 'positional') positionals.push(t.value);
        if (t.kind !== 'option') continue;
        const o = byName.get(t.name);
        if (!o) throw error(`unknown option ${t.rawName}`);
        if (o.type === 'boolean') {
          if (t.value !== undefined) throw error(`--${o.name} takes no value, got "${t.rawName}=${t.value}"`);
        } else if (t.value === undefined || (!t.inlineValue && t.value.startsWith('-') && t.value.length > 1)) {
          // "--spec --json": a forgotten value, not a spec file named --json.
          throw error(`--${o.name} needs a value: --${o.name} ${o.arg ?? '<value>'}${t.value ? ` (for a value starting with "-", write --${o.name}=${t.value})` : ''}`);
        }
        raws.set(o.name, [...(raws.get(o.name) ?? []), ...(t.value !== undefined ? [t.value] : [])]);
      }
      if (raws.has('help')) {
        process.stdout.write(`${usage}\n`);
        throw new UsageExit(EXIT.OK);
      }
      const values: Record<string, unknown> = {};
      for (const [key, r] of raws) {
        try {
          values[key] = byName.get(key)!.value(r);
        } catch (e) {
          if (e instanceof BadValue) throw error(`--${key} ${e.message}`);
          throw e;
        }
      }
      return { values: values as OptValues<T>, positionals };
    },
  };
}

/** Splits `<subcommand> [args]`; without one (or with --help) prints the usage and ends the command. */
export function subcommand(argv: string[], usage: string): [string, string[]] {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    // Asked for: stdout; a usage error: stderr (stdout stays for results).
    (sub ? process.stdout : process.stderr).write(`${usage}\n`);
    throw new UsageExit(sub ? EXIT.OK : EXIT.USAGE);
  }
  return [sub, rest];
}

/** The one `<workflow-id>` argument of status, approve and report. */
export function workflowIdArg(positionals: string[], cl: { error(message: string): LifeboatError }): string {
  if (!positionals.length) throw cl.error('a workflow ID is required');
  if (positionals.length > 1) throw cl.error(`one workflow ID, got ${positionals.length}: ${positionals.join(' ')}`);
  return positionals[0]!;
}
