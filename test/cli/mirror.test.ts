/**
 * `lifeboat mirror` refusals that need no lab: each is one line on stderr and exit 2, before any
 * connection (the specs point at a closed port, and no Temporal runs at the address given).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors';
import { lifeboat } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-mirror-cli-'));
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

describe('lifeboat mirror: bad input', () => {
  const a = specFile('src-a', ['127.0.0.1:1', '127.0.0.1:2']);
  const b = specFile('dst-b', ['127.0.0.1:3']);
  const shared = specFile('dst-shared', ['127.0.0.1:2']);

  it('one line and exit 2 for each, nothing started', { timeout: 120_000 }, async () => {
    // No Temporal: a refusal that got past its checks would fail to connect (exit 18), not exit 2.
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:9';
    const cases: [string[], string][] = [
      [['mirror', 'start', '--spec', a, '--target-spec', a, '--topics', 't'], 'lifeboat: source and target are the same cluster (src-a): a mirror needs two clusters'],
      [
        ['mirror', 'start', '--spec', a, '--target-spec', shared, '--topics', 't'],
        'lifeboat: source src-a and target dst-shared share the bootstrap server 127.0.0.1:2: a mirror onto the same brokers would copy a topic onto itself',
      ],
      [['mirror', 'start', '--spec', a, '--target-spec', b], 'lifeboat: the mirror selects no topics: give --topics a,b or --pattern <regex> (see "lifeboat mirror --help")'],
      [['mirror', 'start', '--spec', a, '--topics', 't'], 'lifeboat: --target-spec <target.yaml> is required (see "lifeboat mirror --help")'],
      [['mirror', 'start', '--spec', a, '--target-spec', b, '--pattern', '('], 'lifeboat: --pattern is not a valid regular expression: Invalid regular expression: /(/: Unterminated group (see "lifeboat mirror --help")'],
      [['mirror', 'start', '--spec', a, '--target-spec', b, '--topics', 't', '--shards', '0'], 'lifeboat: --shards must be a whole number of at least 1, got "0" (see "lifeboat mirror --help")'],
      [['mirror', 'status', 'one', 'two'], 'lifeboat: one workflow ID, got 2: one two (see "lifeboat mirror --help")'],
      [['mirror', 'stop', 'mirror-x', '--spec', a], 'lifeboat: give a workflow ID or --spec/--target-spec, not both (see "lifeboat mirror --help")'],
      [['mirror', 'status', '--spec', a, '--target-spec', a], 'lifeboat: source and target are the same cluster (src-a): a mirror needs two clusters'],
      [['mirror', 'sync'], 'lifeboat: unknown subcommand "mirror sync" (see "lifeboat mirror --help")'],
    ];
    const results = await Promise.all(cases.map(([argv]) => lifeboat(...argv)));
    results.forEach((r, i) => {
      expect(r.stderr, cases[i]![0].join(' ')).toBe(`${cases[i]![1]}\n`);
      expect(r.code, cases[i]![0].join(' ')).toBe(EXIT.USAGE);
      expect(r.stdout).toBe('');
    });
  });

  it('without a subcommand: the usage on stderr, exit 2', { timeout: 60_000 }, async () => {
    const r = await lifeboat('mirror');
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/^usage:\n {2}lifeboat mirror start --spec <source.yaml> --target-spec <target.yaml>/);
  });
});
