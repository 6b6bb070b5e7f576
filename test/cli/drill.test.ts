/**
 * `lifeboat drill` argument handling without a lab: the run request (workflow ID, input) from the
 * options, the schedule plan (§8.5 cadence), and each refusal as one line, exit 2, before any
 * connection (TEMPORAL_ADDRESS points where nothing listens, so a refusal that got past its checks
 * would exit 18, unreachable).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRequest } from '../../src/cli/commands/drill';
import { drillAlerts } from '../../src/drills/control';
import { planDrillSchedules } from '../../src/drills/schedule';
import { expandCalendars } from '../../src/temporal/schedules';
import { lifeboat } from '../support/cli';
import { loadSpec } from '../../src/config/spec';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-drill-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function specFile(name: string, environment?: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'kafka:',
      '  bootstrapServers:',
      '    - 127.0.0.1:1',
      ...(environment ? [`environment: ${environment}`] : []),
      'brokers:',
      '  - id: 1',
      '    host: h1',
      '    listener: 127.0.0.1:1',
      `    logDirs: [${join(dir, name, 'data')}]`,
      `    configDir: ${join(dir, name, 'config')}`,
      '    control:',
      '      type: adapter',
      '      adapter: lab',
      'repository:',
      `  path: ${join(dir, name, 'repo')}`,
      '  password:',
      '    env: LIFEBOAT_PASSWORD',
      '',
    ].join('\n'),
  );
  return file;
}

const now = new Date('2026-12-03T22:05:09.000Z');
// Nothing listens here: a command that reached Temporal would exit 18, not 2.
const offline = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
const run = async (...args: string[]) => {
  const saved = process.env.TEMPORAL_ADDRESS;
  process.env.TEMPORAL_ADDRESS = offline.TEMPORAL_ADDRESS;
  try {
    return await lifeboat('drill', ...args);
  } finally {
    if (saved === undefined) delete process.env.TEMPORAL_ADDRESS;
    else process.env.TEMPORAL_ADDRESS = saved;
  }
};
const oneLine = (r: { code: number; stderr: string; stdout: string }, code: number, pattern: RegExp) => {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
};

describe('lifeboat drill run: the request', () => {
  it('by cluster name: ID drill-<cluster>-<scenario>-<time>, type full by default, the input names the cluster', () => {
    expect(startRequest({ cluster: 'standby', scenario: 'cluster-lost' }, now)).toEqual({
      workflowId: 'drill-standby-cluster-lost-20261203T220509000Z',
      cluster: 'standby',
      input: { cluster: 'standby', scenario: 'cluster-lost', type: 'full' },
    });
  });

  it('by spec file: the spec is sent; --dry-run is the tabletop; --type is kept', () => {
    const file = specFile('stage', 'staging');
    const r = startRequest({ spec: file, scenario: 'broker-killed', 'dry-run': true }, now);
    expect(r.workflowId).toBe('drill-stage-broker-killed-20261203T220509000Z');
    expect(r.input).toEqual({ spec: loadSpec(file), scenario: 'broker-killed', type: 'tabletop' });
    expect(startRequest({ spec: specFile('dev', 'development'), scenario: 'brokers-lost', type: 'partial' }, now).input).toMatchObject({ type: 'partial', scenario: 'brokers-lost' });
  });

  it('a production spec only with --i-know-this-is-production, which the workflow gets too', () => {
    const prod = specFile('prod', 'production');
    expect(() => startRequest({ spec: prod, scenario: 'cluster-lost' }, now)).toThrow(/marked environment: production.*--i-know-this-is-production/);
    expect(() => startRequest({ spec: specFile('unmarked'), scenario: 'cluster-lost' }, now)).toThrow(/not marked as a drill target/);
    expect(startRequest({ spec: prod, scenario: 'cluster-lost', 'i-know-this-is-production': true }, now).input).toMatchObject({ iKnowThisIsProduction: true });
  });

  it('--use-newest-set and --escalation-minutes go into the input (at most 60 minutes)', () => {
    const r = startRequest({ cluster: 'primary', scenario: 'datacenter-lost', 'use-newest-set': true, 'escalation-minutes': 5 }, now);
    expect(r.input).toEqual({ cluster: 'primary', scenario: 'datacenter-lost', type: 'full', useNewestSet: true, escalationMinutes: 5 });
    expect(() => startRequest({ cluster: 'primary', scenario: 'datacenter-lost', 'escalation-minutes': 61 }, now)).toThrow(/--escalation-minutes is at most 60, got 61/);
  });

  it('--agent-wait goes into the input (at most 3600 seconds)', () => {
    expect(startRequest({ cluster: 'primary', scenario: 'cluster-lost', 'agent-wait': 30 }, now).input).toEqual({ cluster: 'primary', scenario: 'cluster-lost', type: 'full', agentWaitSeconds: 30 });
    expect(() => startRequest({ cluster: 'primary', scenario: 'cluster-lost', 'agent-wait': 3601 }, now)).toThrow(/--agent-wait is at most 3600 seconds, got 3601/);
  });

  it('--registry-wait goes into the input (at most 240 seconds)', () => {
    expect(startRequest({ cluster: 'primary', scenario: 'registry-lost', 'registry-wait': 30 }, now).input).toEqual({ cluster: 'primary', scenario: 'registry-lost', type: 'full', registryWaitSeconds: 30 });
    expect(() => startRequest({ cluster: 'primary', scenario: 'registry-lost', 'registry-wait': 241 }, now)).toThrow(/--registry-wait is at most 240 seconds, got 241/);
  });

  it('--reverts-checked goes into the input; without it the input does not say so', () => {
    expect(startRequest({ cluster: 'standby', scenario: 'cluster-lost', 'reverts-checked': true }, now).input).toEqual({ cluster: 'standby', scenario: 'cluster-lost', type: 'full', revertsChecked: true });
    expect(startRequest({ cluster: 'standby', scenario: 'cluster-lost' }, now).input).not.toHaveProperty('revertsChecked');
  });
});

// Each case runs bin/lifeboat (a few seconds each on a loaded machine).
describe('lifeboat drill: refusals are one line, exit 2, nothing started', { timeout: 90_000 }, () => {
  it('an unknown scenario', async () => {
    oneLine(await run('run', '--cluster', 'standby', '--scenario', 'meteor'), 2, /--scenario is one of broker-killed, .*got "meteor"/);
  });

  it('no scenario', async () => {
    oneLine(await run('run', '--cluster', 'standby'), 2, /--scenario is required/);
  });

  it('a production target without the flag (run and plan)', async () => {
    const prod = specFile('prod2', 'production');
    oneLine(await run('run', '--spec', prod, '--scenario', 'cluster-lost'), 2, /cluster prod2 is marked environment: production.*--i-know-this-is-production/);
    oneLine(await run('plan', '--spec', prod, '--scenario', 'cluster-lost'), 2, /marked environment: production/);
  });

  it('both --cluster and --spec, and neither', async () => {
    oneLine(await run('run', '--cluster', 'standby', '--spec', specFile('s2', 'staging'), '--scenario', 'cluster-lost'), 2, /give --cluster <name> or --spec <file>, not both/);
    oneLine(await run('run', '--scenario', 'cluster-lost'), 2, /the target is required/);
    oneLine(await run('schedule', 'apply', '--cluster', 'a', '--spec', specFile('s3', 'staging')), 2, /not both/);
  });

  it('--dry-run with another type, an unknown type, a stray argument', async () => {
    oneLine(await run('run', '--cluster', 'standby', '--scenario', 'cluster-lost', '--dry-run', '--type', 'full'), 2, /--dry-run is the tabletop drill/);
    oneLine(await run('run', '--cluster', 'standby', '--scenario', 'cluster-lost', '--type', 'huge'), 2, /--type is one of tabletop, partial, full, chaos/);
  });

  it('stop: an ID or --all, not both, not neither; --cluster only with --all', async () => {
    oneLine(await run('stop'), 2, /a drill workflow ID is required \(or --all\)/);
    oneLine(await run('stop', 'drill-x', '--all'), 2, /not both/);
    oneLine(await run('stop', 'drill-x', '--cluster', 'standby'), 2, /--cluster goes with --all/);
  });

  it('schedule: unknown subcommand, type, scenario pair', async () => {
    oneLine(await run('schedule', 'rm', '--cluster', 'a'), 2, /unknown subcommand "drill schedule rm"/);
    oneLine(await run('schedule', 'apply', '--cluster', 'a', '--types', 'weekly'), 2, /--types takes tabletop, partial, full, got "weekly"/);
    oneLine(await run('schedule', 'apply', '--cluster', 'a', '--scenarios', 'full=flood'), 2, /--scenarios names a scenario/);
  });

  it('schedule: an option of another subcommand, a production spec, no target; an unknown drill subcommand', async () => {
    oneLine(await run('schedule', 'list', '--prune'), 2, /drill schedule list does not take --prune/);
    oneLine(await run('schedule', 'apply', '--spec', specFile('prod3', 'production')), 2, /marked environment: production/);
    oneLine(await run('schedule', 'delete'), 2, /the target is required/);
    oneLine(await run('explode'), 2, /unknown subcommand "drill explode"/);
  });

  it('a well-formed run gets as far as Temporal (exit 18, unreachable): the refusals above are the parser\'s', async () => {
    const r = await run('run', '--cluster', 'standby', '--scenario', 'cluster-lost');
    expect(r.code, r.stderr).toBe(18);
  });

  it('plan prints the drill without starting one (no Temporal needed): faults, the recovery child, its runbook', async () => {
    const r = await run('plan', '--spec', specFile('s4', 'staging'), '--scenario', 'cluster-lost', '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ cluster: 's4', input: { scenario: 'cluster-lost', type: 'full', spec: 's4' }, plan: { dryRun: false, recovery: [{ workflow: 'fullClusterRecovery' }] } });
    expect(doc.plan.faults).toEqual([{ kind: 'broker-kill', brokerId: 1 }, { kind: 'broker-disk', brokerId: 1 }]);
    expect(doc.plan.runbook.length).toBeGreaterThan(2);
    expect(doc.workflowId).toMatch(/^drill-s4-cluster-lost-\d{8}T\d+Z$/);
    const text = await run('plan', '--spec', specFile('s5', 'staging'), '--scenario', 'cluster-lost', '--dry-run');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^a tabletop drill of s5: cluster-lost \(nothing started\)$/m);
    expect(text.stdout).toMatch(/^faults \(in order; reverted in reverse\): none$/m);
    expect(text.stdout).toMatch(/^note: tabletop: no fault is applied \(planned: broker 1 killed; broker 1's log dirs moved aside\)/m);
  });

  it('plan --cluster finds the spec in LIFEBOAT_SPECS_DIR (and refuses a production one there too)', async () => {
    specFile('named', 'staging');
    specFile('named-prod', 'production');
    process.env.LIFEBOAT_SPECS_DIR = dir;
    try {
      const r = await run('plan', '--cluster', 'named', '--scenario', 'cluster-lost');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^a full drill of named: cluster-lost \(nothing started\)$/m);
      expect(r.stdout).toMatch(/^faults \(in order; reverted in reverse\): broker 1 killed; broker 1's log dirs moved aside$/m);
      expect(r.stdout).toMatch(/^recovery: fullClusterRecovery$/m);
      oneLine(await run('plan', '--cluster', 'named-prod', '--scenario', 'cluster-lost'), 2, /cluster named-prod is marked environment: production/);
    } finally {
      delete process.env.LIFEBOAT_SPECS_DIR;
    }
  });
});

describe('the drill schedules (§8.5)', () => {
  it('tabletop monthly, partial quarterly, full half-yearly, each starting the drill workflow with its schedule', () => {
    const plan = planDrillSchedules({ cluster: 'standby' });
    expect(plan.map((s) => [s.id, s.type, s.scenario, s.workflow, s.kind, s.catchupWindowMs])).toEqual([
      ['lifeboat-drill-standby-tabletop', 'tabletop', 'cluster-lost', 'drill', 'drill', 86_400_000],
      ['lifeboat-drill-standby-partial', 'partial', 'broker-killed', 'drill', 'drill', 86_400_000],
      ['lifeboat-drill-standby-full', 'full', 'cluster-lost', 'drill', 'drill', 86_400_000],
    ]);
    for (const s of plan) expect(s.args).toEqual([{ cluster: 'standby', scenario: s.scenario, type: s.type, schedule: s.id }]);
    const months = plan.map((s) => expandCalendars(s.calendars)[0]!.month);
    expect(months[0]).toEqual([{ start: 'JANUARY', end: 'DECEMBER', step: 1 }]);
    expect(months[1]!.map((r) => r.start)).toEqual(['JANUARY', 'APRIL', 'JULY', 'OCTOBER']);
    expect(months[2]!.map((r) => r.start)).toEqual(['MARCH', 'SEPTEMBER']);
  });

  it('a spec target is carried in every run; production needs the flag; scenarios and types can be chosen', () => {
    const stage = loadSpec(specFile('st', 'staging'));
    const plan = planDrillSchedules({ spec: stage }, { types: ['full'], scenarios: { full: 'brokers-lost' } });
    expect(plan).toHaveLength(1);
    expect(plan[0]!.args[0]).toEqual({ spec: stage, scenario: 'brokers-lost', type: 'full', schedule: 'lifeboat-drill-st-full' });
    const prod = loadSpec(specFile('pr', 'production'));
    expect(() => planDrillSchedules({ spec: prod })).toThrow(/--i-know-this-is-production/);
    expect(planDrillSchedules({ spec: prod }, { iKnowThisIsProduction: true })[0]!.args[0]).toMatchObject({ iKnowThisIsProduction: true });
    expect(() => planDrillSchedules({ cluster: 'a' }, { timezone: 'Mars/Olympus' })).toThrow(/unknown time zone/);
  });
});

describe('the drill notice', () => {
  it("fires the phase's info alert and resolves the drill's other phases; ended resolves all", () => {
    const at = new Date('2026-12-03T10:00:00Z');
    const alerts = drillAlerts({ cluster: 'standby', drillId: 'd1', scenario: 'cluster-lost', phase: 'execute', summary: 's', now: at });
    const firing = alerts.filter((a) => Date.parse(a.endsAt) > at.getTime());
    expect(firing.map((a) => a.labels)).toEqual([
      { alertname: 'LifeboatDrillRunning', cluster: 'standby', drill: 'd1', scenario: 'cluster-lost', phase: 'execute', severity: 'info', source: 'lifeboat-drill' },
    ]);
    expect(alerts.map((a) => a.labels.phase).sort()).toEqual(['execute', 'prepare', 'review', 'start', 'verify']);
    const ended = drillAlerts({ cluster: 'standby', drillId: 'd1', scenario: 'cluster-lost', phase: 'review', summary: 's', ended: true, now: at });
    expect(ended.every((a) => Date.parse(a.endsAt) <= at.getTime() && Date.parse(a.startsAt) < Date.parse(a.endsAt))).toBe(true);
  });
});
