/**
 * `lifeboat failover` argument handling without a lab: the start request (workflow ID, input) from
 * the options, and each refusal as one line, exit 2, before any connection (no Temporal runs at the
 * address given, so a refusal that got past its checks would exit 18).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitOf, startRequest } from '../../src/cli/commands/failover';
import { lifeboat } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-failover-cli-'));
const temporalAddress = process.env.TEMPORAL_ADDRESS;
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (temporalAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
  else process.env.TEMPORAL_ADDRESS = temporalAddress;
});

function specFile(name: string, port: number, standby?: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'kafka:',
      '  bootstrapServers:',
      `    - 127.0.0.1:${port}`,
      ...(standby ? [`standby: ${standby}`] : []),
      'brokers:',
      '  - id: 1',
      '    host: h1',
      `    listener: 127.0.0.1:${port}`,
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

const now = new Date('2026-12-03T15:38:16.000Z');

describe('lifeboat failover start: the request', () => {
  it('by cluster name: ID failover-<cluster>-manual-<time>, the input names the clusters', () => {
    expect(startRequest({ cluster: 'primary' }, now)).toEqual({ workflowId: 'failover-primary-manual-20261203T153816Z', cluster: 'primary', input: { primary: { cluster: 'primary' } } });
    expect(startRequest({ cluster: 'primary', standby: 'standby', 'dry-run': true, 'auto-approve': true, incident: 'drill-7', groups: ['billing', 'audit'] }, now)).toEqual({
      workflowId: 'failover-primary-drill-7',
      cluster: 'primary',
      input: { primary: { cluster: 'primary' }, standby: { cluster: 'standby' }, dryRun: true, autoApprove: true, groups: ['billing', 'audit'] },
    });
  });

  it('by spec file: the spec is sent, the ID takes its name', () => {
    const r = startRequest({ spec: specFile('east', 1, 'west'), 'standby-spec': specFile('west', 2) }, now);
    expect(r.workflowId).toBe('failover-east-manual-20261203T153816Z');
    expect((r.input.primary.spec as { name: string }).name).toBe('east');
    expect((r.input.standby?.spec as { name: string }).name).toBe('west');
  });

  it('refuses a missing or doubled primary, a doubled standby, the primary as its own standby, a bad incident', () => {
    const a = specFile('alpha', 3);
    expect(() => startRequest({}, now)).toThrow('the primary is required: --cluster <name> (or --spec <primary.yaml>) (see "lifeboat failover --help")');
    expect(() => startRequest({ cluster: 'primary', spec: a }, now)).toThrow('give --cluster <name> or --spec <file>, not both');
    expect(() => startRequest({ cluster: 'primary', standby: 's', 'standby-spec': a }, now)).toThrow('give --standby <name> or --standby-spec <file>, not both');
    expect(() => startRequest({ cluster: 'primary', standby: 'primary' }, now)).toThrow('the standby is the primary itself (primary): a failover needs two clusters');
    expect(() => startRequest({ cluster: 'Primary!' }, now)).toThrow('a cluster name is lower-case letters, digits and "-", got "Primary!"');
    expect(() => startRequest({ cluster: 'primary', incident: 'a b' }, now)).toThrow('--incident takes letters, digits');
  });

  it('exit codes of a finished run', () => {
    const r = (outcome: string, status?: string) => ({ report: { outcome }, status: { outcome: status } }) as never;
    expect(exitOf(r('succeeded', 'failed over'))).toBe(0);
    expect(exitOf(r('succeeded', 'stood down'))).toBe(0);
    expect(exitOf(r('planned', 'planned'))).toBe(0);
    expect(exitOf(r('rejected', 'stood down'))).toBe(16);
    expect(exitOf(r('failed', 'escalated'))).toBe(3);
    expect(exitOf(r('failed', 'failed over'))).toBe(3);
  });
});

describe('lifeboat failover: bad input on the command line', () => {
  it('one line and exit 2 for each, nothing started', { timeout: 120_000 }, async () => {
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:9';
    const cases: [string[], string][] = [
      [['failover'], 'lifeboat: a subcommand is required: start, status or release (see "lifeboat failover --help")'],
      [['failover', 'begin'], 'lifeboat: unknown subcommand "begin" (start, status, release) (see "lifeboat failover --help")'],
      [['failover', 'start'], 'lifeboat: the primary is required: --cluster <name> (or --spec <primary.yaml>) (see "lifeboat failover --help")'],
      [['failover', 'start', '--cluster', 'primary', 'extra'], 'lifeboat: unexpected argument "extra" (see "lifeboat failover --help")'],
      [['failover', 'start', '--cluster', 'primary', '--approvers', '2'], 'lifeboat: unknown option --approvers (see "lifeboat failover --help")'],
      [['failover', 'status'], 'lifeboat: the workflow ID is required: lifeboat failover status <workflow-id> (see "lifeboat failover --help")'],
      [['failover', 'status', 'a', 'b'], 'lifeboat: one workflow ID, got 2: a b (see "lifeboat failover --help")'],
      [['failover', 'status', 'a', '--cluster', 'primary'], 'lifeboat: status takes only a workflow ID (and --json), got --cluster (see "lifeboat failover --help")'],
      [['failover', 'start', '--cluster', 'primary', '--by', 'me'], 'lifeboat: --by is for release (see "lifeboat failover --help")'],
      [['failover', 'start', '--cluster', 'primary', '--force'], 'lifeboat: --force is for release (see "lifeboat failover --help")'],
      [['failover', 'release'], 'lifeboat: the primary is required: lifeboat failover release --cluster <name> (see "lifeboat failover --help")'],
      [['failover', 'release', '--cluster', 'primary', 'x'], 'lifeboat: unexpected argument "x" (see "lifeboat failover --help")'],
      [['failover', 'release', '--cluster', 'primary', '--auto-approve'], 'lifeboat: release takes --cluster, --by, --force, --dry-run and --json, got --auto-approve (see "lifeboat failover --help")'],
    ];
    for (const [args, line] of cases) {
      const r = await lifeboat(...args);
      expect({ args, code: r.code, stderr: r.stderr.trim() }).toEqual({ args, code: 2, stderr: line });
    }
  });

  it('--help shows the usage, exit 0', async () => {
    const r = await lifeboat('failover', 'start', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('lifeboat failover start (--cluster <name> | --spec <primary.yaml>)');
    expect(r.stdout).toContain('lifeboat approve <workflow-id>');
    expect(r.stdout).toContain('lifeboat failover release --cluster <name> [--by <name>] [--force] [--dry-run] [--json]');
  });
});
