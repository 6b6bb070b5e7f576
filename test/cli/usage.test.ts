/**
 * Usage through the real `bin/lifeboat` (no lab needed: nothing gets past its options): a bad option
 * or value is one line on stderr and exit 2 (with --json, stdout holds the error document); --help
 * prints the command's usage with its options to stdout, exit 0; a command group without its
 * subcommand prints its usage on stderr, exit 2.
 */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors';
import { lifeboat } from '../support/cli';

describe('lifeboat usage', () => {
  it('bad options and values: one line, exit 2', { timeout: 120_000 }, async () => {
    const cases: [string[], string][] = [
      [['recover', 'cluster', '--bogus'], 'lifeboat: unknown option --bogus (see "lifeboat recover --help")'],
      [['backup', '--tier', 'yearly', '--spec', 'x.yaml'], 'lifeboat: --tier is one of hourly, daily, weekly, monthly, manual, got "yearly" (see "lifeboat backup --help")'],
      [['logdir', 'backup', '--broker', '1,x'], 'lifeboat: --broker takes broker ids, got "x" (see "lifeboat logdir --help")'],
      [['repo', 'forget', '--keep-last', 'many'], 'lifeboat: --keep-last must be a whole number, got "many" (see "lifeboat repo --help")'],
      [['recover', 'cluster', '--parts', ','], 'lifeboat: --parts needs a comma-separated list <p,..>, got "," (see "lifeboat recover --help")'],
      [['probe', '--spec'], 'lifeboat: --spec needs a value: --spec <cluster.yaml> (see "lifeboat probe --help")'],
      [['status'], 'lifeboat: a workflow ID is required (see "lifeboat status --help")'],
      [['worker', '--spec', 'a.yaml', '--no-control', '--specs-dir', 'd', '--specs-dir', 'e'], 'lifeboat: --specs-dir is given 2 times ("d", "e"); it takes one value (see "lifeboat worker --help")'],
    ];
    const results = await Promise.all(cases.map(([argv]) => lifeboat(...argv)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(EXIT.USAGE);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`${cases[i]![1]}\n`);
    });
  });

  it('with --json the usage error is the one document on stdout', { timeout: 60_000 }, async () => {
    const r = await lifeboat('recover', 'broker', '--broker', 'one', '--json');
    expect(r.code).toBe(EXIT.USAGE);
    expect(JSON.parse(r.stdout)).toEqual({ error: { type: 'InvalidInput', exitCode: 2, message: '--broker takes broker ids, got "one" (see "lifeboat recover --help")' } });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--help: the usage and every option on stdout, exit 0; a group without its subcommand: usage on stderr, exit 2', { timeout: 60_000 }, async () => {
    const [help, subHelp, bare] = await Promise.all([lifeboat('recover', '--help'), lifeboat('zk', 'import', '-h'), lifeboat('topics')]);
    expect(help.code).toBe(EXIT.OK);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^usage:\n {2}lifeboat recover broker/);
    for (const option of ['--spec <cluster.yaml>', '--broker <id>', '--parts <p,..>', '--zk-mode <overwrite|mirror>', '--yes', '--json', '--help, -h']) expect(help.stdout).toContain(`\n  ${option}`);
    expect(subHelp.code).toBe(EXIT.OK);
    expect(subHelp.stdout).toContain('\n  --mode <create-missing|overwrite|mirror>');
    expect(bare.code).toBe(EXIT.USAGE);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toMatch(/^usage:\n {2}lifeboat topics backup/);
  });
});
