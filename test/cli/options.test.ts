/**
 * The CLI's option table (src/cli/options.ts): one parser for every command. Usage errors are one
 * InvalidInput line (exit 2) naming the option and the help; lists take commas and repeats; a
 * single-valued option given twice with different values is refused; --help prints the usage.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT, LifeboatError } from '../../src/errors';
import { brokers, choice, commandLine, dryRun, int, json, list, parts, repeated, spec, splitList, tags, text, UsageExit, yes } from '../../src/cli/options';

const cli = commandLine('lifeboat test', 'usage: lifeboat test [options]', [
  spec,
  json,
  dryRun,
  yes,
  parts,
  brokers,
  tags,
  int('records', '<N>', 'how many', 1),
  choice('mode', ['hot', 'cold'], 'how'),
  text('note', '<text>', 'a note'),
  repeated('host', '<name>', 'hosts'),
]);

/** The usage error `argv` gives: its message, checked to be one InvalidInput line. */
function usageError(argv: string[]): string {
  try {
    cli.parse(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(LifeboatError);
    const err = e as LifeboatError;
    expect(err.type).toBe('InvalidInput');
    expect(err.exitCode).toBe(EXIT.USAGE);
    expect(err.message).not.toContain('\n');
    expect(err.message).toMatch(/\(see "lifeboat test --help"\)$/);
    return err.message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

afterEach(() => vi.restoreAllMocks());

describe('option table', () => {
  it('parses values and positionals in any order, typed', () => {
    const { values, positionals } = cli.parse(['cluster', '--spec', 's.yaml', '--json', '--records', '12', '--mode=cold', 'extra', '--dry-run']);
    expect(values).toEqual({ spec: 's.yaml', json: true, records: 12, mode: 'cold', 'dry-run': true });
    expect(positionals).toEqual(['cluster', 'extra']);
  });

  it('leaves options not given undefined', () => {
    const { values } = cli.parse([]);
    expect(values.spec).toBeUndefined();
    expect(values.json).toBeUndefined();
    expect(values.parts).toBeUndefined();
  });

  it('comma lists: trimmed, empty items dropped, repeats joined', () => {
    expect(cli.parse(['--parts', ' zookeeper, configs:1 ,,logdirs:2 ']).values.parts).toEqual(['zookeeper', 'configs:1', 'logdirs:2']);
    expect(cli.parse(['--parts', 'a,b', '--parts', 'c']).values.parts).toEqual(['a', 'b', 'c']);
    expect(cli.parse(['--broker', '1,2', '--broker', '3']).values.broker).toEqual([1, 2, 3]);
    expect(splitList(' a ,, b,')).toEqual(['a', 'b']);
  });

  it('an empty list is refused', () => {
    expect(usageError(['--parts', ','])).toBe('--parts needs a comma-separated list <p,..>, got "," (see "lifeboat test --help")');
    expect(usageError(['--parts='])).toContain('--parts needs a comma-separated list');
  });

  it('a bad list item names the item', () => {
    expect(usageError(['--broker', '1,x'])).toBe('--broker takes broker ids, got "x" (see "lifeboat test --help")');
  });

  it('repeatable options keep every value', () => {
    expect(cli.parse(['--tag', 'a', '--tag', 'b', '--host', 'h1', '--host', 'h2']).values).toEqual({ tag: ['a', 'b'], host: ['h1', 'h2'] });
  });

  it('a single-valued option given twice: the same value is fine, different values are refused', () => {
    expect(cli.parse(['--spec', 'a.yaml', '--spec', 'a.yaml']).values.spec).toBe('a.yaml');
    expect(usageError(['--spec', 'a.yaml', '--spec', 'b.yaml'])).toBe('--spec is given 2 times ("a.yaml", "b.yaml"); it takes one value (see "lifeboat test --help")');
    // Flags may repeat.
    expect(cli.parse(['--json', '--json']).values.json).toBe(true);
  });

  it('bad values: numbers, choices', () => {
    expect(usageError(['--records', 'x'])).toBe('--records must be a whole number of at least 1, got "x" (see "lifeboat test --help")');
    expect(usageError(['--records', '0'])).toContain('--records must be a whole number of at least 1, got "0"');
    expect(usageError(['--records', '-3'])).toContain('--records needs a value');
    expect(usageError(['--mode', 'warm'])).toBe('--mode is one of hot, cold, got "warm" (see "lifeboat test --help")');
  });

  it('unknown options and misplaced values', () => {
    expect(usageError(['--bogus'])).toBe('unknown option --bogus (see "lifeboat test --help")');
    expect(usageError(['-q'])).toBe('unknown option -q (see "lifeboat test --help")');
    expect(usageError(['--json=yes'])).toBe('--json takes no value, got "--json=yes" (see "lifeboat test --help")');
    expect(usageError(['--spec'])).toBe('--spec needs a value: --spec <cluster.yaml> (see "lifeboat test --help")');
    // A forgotten value is not a spec file named "--json".
    expect(usageError(['--spec', '--json'])).toContain('--spec needs a value: --spec <cluster.yaml> (for a value starting with "-", write --spec=--json)');
    expect(cli.parse(['--note=-x']).values.note).toBe('-x');
  });

  it('after --, everything is a positional', () => {
    expect(cli.parse(['--', '--json']).positionals).toEqual(['--json']);
  });

  it('--help and -h print the usage with one line per option to stdout and end with exit 0', () => {
    const writes: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      writes.push(String(s));
      return true;
    });
    for (const argv of [['--help'], ['-h'], ['--spec', 'x', '--help']]) {
      let thrown: unknown;
      try {
        cli.parse(argv);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(UsageExit);
      expect((thrown as UsageExit).code).toBe(EXIT.OK);
    }
    expect(writes).toHaveLength(3);
    const usage = writes[0]!;
    expect(usage).toBe(cli.usage + '\n');
    expect(usage).toMatch(/^usage: lifeboat test \[options\]\noptions:\n/);
    expect(usage).toMatch(/\n {2}--spec <cluster\.yaml> +the cluster spec\n/);
    expect(usage).toMatch(/\n {2}--broker <id,\.\.> +broker ids/);
    expect(usage).toMatch(/\n {2}--help, -h +show this help$/m);
  });

  it('a command declaring one option twice is a bug caught at once', () => {
    expect(() => commandLine('lifeboat x', 'usage', [spec, text('spec', '<f>', 'again')])).toThrow(/declared twice/);
  });

  it('list() with an item parser converts each item', () => {
    const c = commandLine('lifeboat y', 'usage', [list('ports', '<n,..>', 'ports', Number)]);
    expect(c.parse(['--ports', '1,2']).values.ports).toEqual([1, 2]);
  });
});
