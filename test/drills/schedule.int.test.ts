/**
 * `lifeboat drill schedule` against the lab's Temporal: apply installs the §8.5 cadence as three
 * Schedules starting the drill workflow (the times the server computes are the cadence's), applying
 * again changes nothing, list shows them, `lifeboat schedule pause|unpause|trigger` take their IDs
 * (an unknown one is one line), delete removes them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Client, Connection } from '@temporalio/client';
import type { ClusterSpec } from '../../src/config/spec';
import { drillScheduleId, SCHEDULED_DRILL_TYPES } from '../../src/drills/schedule';
import { temporalSettings } from '../../src/temporal/connection';
import { deleteSchedule, findSchedule } from '../../src/temporal/schedules';
import { lifeboat } from '../support/cli';
import { standbySpec, unique } from '../support/lab';

/** Every time is a Tuesday at 10:00 UTC, in the given week of the month and months. */
function expectCadence(times: Date[], week: number, months: number[] | 'all'): void {
  expect(times.length).toBeGreaterThanOrEqual(2);
  for (const t of times) {
    expect(t.getUTCDay(), t.toISOString()).toBe(2);
    expect([t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()], t.toISOString()).toEqual([10, 0, 0]);
    expect(Math.floor((t.getUTCDate() - 1) / 7) + 1, t.toISOString()).toBe(week);
    if (months !== 'all') expect(months, t.toISOString()).toContain(t.getUTCMonth() + 1);
  }
  // One a month (tabletop), or the listed months in turn: consecutive times are in different months.
  for (let i = 1; i < times.length; i++) expect(times[i]!.getUTCMonth()).not.toBe(times[i - 1]!.getUTCMonth());
}

describe('lifeboat drill schedule', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-drill-schedules-'));
  const cluster = unique('drsched');
  const spec: ClusterSpec = { ...standbySpec(), name: cluster };
  const specFile = join(dir, `${cluster}.yaml`);
  const ids = SCHEDULED_DRILL_TYPES.map((t) => drillScheduleId(cluster, t));
  const settings = temporalSettings();
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    writeFileSync(specFile, stringify(spec));
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
  });

  afterAll(async () => {
    for (const id of ids) if (client && (await findSchedule(client, id))) await deleteSchedule(client, id);
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('apply creates the three schedules: the drill workflow with its schedule set, overlap SKIP, a day of catch-up, the cadence', async () => {
    const r = await lifeboat('drill', 'schedule', 'apply', '--spec', specFile, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cluster, created: 3, updated: 0, unchanged: 0 });
    const scenarios = { tabletop: 'cluster-lost', partial: 'broker-killed', full: 'cluster-lost' } as const;
    for (const [i, id] of ids.entries()) {
      const type = SCHEDULED_DRILL_TYPES[i]!;
      const d = await client.schedule.getHandle(id).describe();
      expect(d.policies.overlap).toBe('SKIP');
      expect(d.policies.catchupWindow).toBe(24 * 3_600_000);
      expect(d.action).toMatchObject({ workflowType: 'drill', taskQueue: 'lifeboat', workflowId: `drill-${cluster}-${scenarios[type]}` });
      expect(d.action.args?.[0]).toMatchObject({ type, scenario: scenarios[type], schedule: id, spec: { name: cluster, environment: 'staging' } });
      const sa = d.action.typedSearchAttributes;
      const pairs = sa ? (Array.isArray(sa) ? sa : sa.getAll()) : [];
      expect(pairs.map((p) => [p.key.name, p.value]).sort()).toEqual([
        ['LifeboatCluster', cluster],
        ['LifeboatKind', 'drill'],
      ]);
      expect(d.spec.timezone ?? 'UTC').toBe('UTC');
      // The server's own next times: the §8.5 cadence.
      const next = d.info.nextActionTimes.slice(0, 3);
      if (type === 'tabletop') expectCadence(next, 1, 'all');
      if (type === 'partial') expectCadence(next, 2, [1, 4, 7, 10]);
      if (type === 'full') expectCadence(next, 3, [3, 9]);
    }
  });

  it('apply again changes nothing; list shows the three with their cadence and no missed drill', async () => {
    const again = await lifeboat('drill', 'schedule', 'apply', '--spec', specFile, '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: 0, updated: 0, unchanged: 3 });

    const list = await lifeboat('drill', 'schedule', 'list', '--cluster', cluster, '--json');
    expect(list.code, list.stderr).toBe(0);
    const states = JSON.parse(list.stdout) as { id: string; type: string; scenario: string; description: string; overlap: string; paused: boolean; missedCatchupWindow: number }[];
    expect(states.map((s) => [s.id, s.type, s.scenario, s.overlap, s.paused, s.missedCatchupWindow])).toEqual([
      [ids[0], 'tabletop', 'cluster-lost', 'SKIP', false, 0],
      [ids[1], 'partial', 'broker-killed', 'SKIP', false, 0],
      [ids[2], 'full', 'cluster-lost', 'SKIP', false, 0],
    ]);
    expect(states.map((s) => s.description)).toEqual([
      'monthly, the first Tuesday at 10:00 UTC',
      'quarterly, the second Tuesday of January, April, July and October at 10:00 UTC',
      'half-yearly, the third Tuesday of March and September at 10:00 UTC',
    ]);
    const text = await lifeboat('drill', 'schedule', 'list', '--spec', specFile);
    expect(text.code, text.stderr).toBe(0);
    for (const id of ids) expect(text.stdout).toContain(id);
  });

  it('a changed scenario is an update of that schedule only', async () => {
    const r = await lifeboat('drill', 'schedule', 'apply', '--spec', specFile, '--scenarios', 'full=zookeeper-data-lost', '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { updated: number; unchanged: number; changes: { id: string; action: string }[] };
    expect(doc).toMatchObject({ updated: 1, unchanged: 2 });
    expect(doc.changes.find((c) => c.action === 'update')?.id).toBe(ids[2]);
    const d = await client.schedule.getHandle(ids[2]!).describe();
    expect(d.action.args?.[0]).toMatchObject({ scenario: 'zookeeper-data-lost', type: 'full' });
  });

  it('lifeboat schedule pause, unpause and trigger take a drill schedule ID; an unknown one is one line', { timeout: 120_000 }, async () => {
    const tabletop = ids[0]!;
    const paused = await lifeboat('schedule', 'pause', tabletop, '--note', 'staging rebuilt this week', '--json');
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject([{ id: tabletop, paused: true, note: 'staging rebuilt this week', workflowType: 'drill', kind: 'drill', cluster }]);
    expect((await client.schedule.getHandle(tabletop).describe()).state).toMatchObject({ paused: true, note: 'staging rebuilt this week' });
    const list = await lifeboat('drill', 'schedule', 'list', '--cluster', cluster, '--json');
    expect((JSON.parse(list.stdout) as { id: string; paused: boolean }[]).map((s) => [s.id, s.paused])).toEqual([
      [ids[0], true],
      [ids[1], false],
      [ids[2], false],
    ]);

    const unpaused = await lifeboat('schedule', 'unpause', tabletop);
    expect(unpaused.code, unpaused.stderr).toBe(0);
    expect(unpaused.stdout.trim()).toMatch(new RegExp(`^${tabletop}: active — unpaused with lifeboat schedule unpause by `));
    expect((await client.schedule.getHandle(tabletop).describe()).state.paused).toBe(false);

    // Trigger: the schedule's own action, a tabletop drill run (ended at once: this test runs no worker, and a tabletop touches nothing).
    const triggered = await lifeboat('schedule', 'trigger', tabletop, '--json');
    expect(triggered.code, triggered.stderr).toBe(0);
    const run = JSON.parse(triggered.stdout) as { id: string; workflowId: string; runId: string };
    try {
      expect(run.id).toBe(tabletop);
      expect(run.workflowId).toMatch(new RegExp(`^drill-${cluster}-cluster-lost-`));
      const desc = await client.workflow.getHandle(run.workflowId, run.runId).describe();
      expect(desc.type).toBe('drill');
    } finally {
      await client.workflow.getHandle(run.workflowId, run.runId).terminate('schedule trigger test').catch(() => undefined);
    }

    // Unknown: a drill schedule ID nobody installed (exit 14), and something that is no Lifeboat schedule ID (exit 2), one line each.
    const missing = `lifeboat-drill-${cluster}-none-full`;
    for (const sub of ['pause', 'unpause', 'trigger']) {
      const r = await lifeboat('schedule', sub, missing);
      expect(r.code, sub).toBe(14);
      expect(r.stderr.trim()).toBe(`lifeboat: no schedule ${missing} in namespace ${settings.namespace} (lifeboat schedule list shows the installed ones)`);
    }
    const bad = await lifeboat('schedule', 'trigger', `lifeboat-drill-${cluster}-chaos`);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/is not a Lifeboat schedule ID \(lifeboat-backup-<cluster>-<hourly\|daily\|weekly\|monthly>, lifeboat-drill-<cluster>-<tabletop\|partial\|full> or lifeboat-monitor-<cluster>/);
  });

  it('delete removes them (and a second delete finds none)', async () => {
    const r = await lifeboat('drill', 'schedule', 'delete', '--cluster', cluster, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { id: string }[]).map((x) => x.id)).toEqual(ids);
    for (const id of ids) expect(await findSchedule(client, id)).toBeUndefined();
    const again = await lifeboat('drill', 'schedule', 'delete', '--cluster', cluster);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/no drill schedules of/);
  });
});
