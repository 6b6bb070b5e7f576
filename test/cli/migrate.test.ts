/**
 * `lifeboat migrate` refusals that need no lab: each is one line on stderr and exit 2, before any
 * connection (the specs point at closed ports, and no Temporal runs at the address given); --offline
 * goes to the offline migration's command line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors';
import { lifeboat } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-migrate-cli-'));
const temporalAddress = process.env.TEMPORAL_ADDRESS;
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (temporalAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
  else process.env.TEMPORAL_ADDRESS = temporalAddress;
});

function specFile(name: string, servers: string[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'kafka:',
      '  bootstrapServers:',
      ...servers.map((s) => `    - ${s}`),
      'brokers:',
      '  - id: 1',
      '    host: h1',
      `    listener: ${servers[0]}`,
      `    logDirs: [${join(dir, name, 'data')}]`,
      `    configDir: ${join(dir, name, 'config')}`,
      '    control:',
      '      type: adapter',
      '      adapter: lab',
      '',
    ].join('\n'),
  );
  return file;
}

describe('lifeboat migrate: bad input', () => {
  const a = specFile('src-a', ['127.0.0.1:1', '127.0.0.1:2']);
  const b = specFile('dst-b', ['127.0.0.1:3']);
  const shared = specFile('dst-shared', ['127.0.0.1:2']);

  it('one line and exit 2 for each, nothing started', { timeout: 120_000 }, async () => {
    // No Temporal: a refusal that got past its checks would fail to connect (exit 18), not exit 2.
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:9';
    const cases: [string[], string][] = [
      [['migrate', '--spec', a, '--target-spec', a, '--topics', 't'], 'lifeboat: source and target are the same cluster (src-a): a migration needs two clusters'],
      [['migrate', '--spec', a, '--target-spec', shared, '--topics', 't'], 'lifeboat: source src-a and target dst-shared share the bootstrap server 127.0.0.1:2: a migration needs two clusters'],
      [['migrate', '--spec', a, '--target-spec', b], 'lifeboat: the migration selects no topics: give --topics a,b or --pattern <regex> (see "lifeboat migrate --help")'],
      [['migrate', '--spec', a, '--topics', 't'], 'lifeboat: --target-spec <target.yaml> is required (see "lifeboat migrate --help")'],
      [['migrate', '--target-spec', b, '--topics', 't'], 'lifeboat: --spec <source.yaml> is required (see "lifeboat migrate --help")'],
      [['migrate', '--spec', a, '--target-spec', b, '--topics', 't', '--active-groups', 'maybe'], 'lifeboat: --active-groups is one of wait, skip, got "maybe" (see "lifeboat migrate --help")'],
      [['migrate', '--spec', a, '--target-spec', b, '--topics', 't', 'extra'], 'lifeboat: unexpected argument "extra" (subcommands: status, rollback) (see "lifeboat migrate --help")'],
      [['migrate', 'status', 'one', 'two'], 'lifeboat: one workflow ID, got 2: one two (see "lifeboat migrate --help")'],
      [['migrate', 'rollback', 'migrate-x', '--spec', a], 'lifeboat: give a workflow ID or --spec/--target-spec, not both (see "lifeboat migrate --help")'],
      [['migrate', 'rollback', '--spec', a, '--target-spec', a], 'lifeboat: source and target are the same cluster (src-a): a migration needs two clusters'],
    ];
    const results = await Promise.all(cases.map(([argv]) => lifeboat(...argv)));
    results.forEach((r, i) => {
      expect(r.stderr, cases[i]![0].join(' ')).toBe(`${cases[i]![1]}\n`);
      expect(r.code, cases[i]![0].join(' ')).toBe(EXIT.USAGE);
      expect(r.stdout).toBe('');
    });
  });

  it('--help prints the usage with status and rollback; --offline goes to the offline command line', { timeout: 60_000 }, async () => {
    const help = await lifeboat('migrate', '--help');
    expect(help.code).toBe(EXIT.OK);
    expect(help.stdout).toMatch(/^usage:\n {2}lifeboat migrate --spec <source.yaml> --target-spec <target.yaml>/);
    expect(help.stdout).toContain('lifeboat migrate rollback');
    const offline = await lifeboat('migrate', '--offline', '--help');
    expect(offline.code).toBe(EXIT.OK);
    expect(offline.stdout).toContain('lifeboat migrate --offline --spec <source.yaml> --target-spec <target.yaml>');
  });
});
