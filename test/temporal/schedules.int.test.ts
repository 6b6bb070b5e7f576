/**
 * `lifeboat schedule` against the lab's Temporal: apply installs the tier schedules (overlap SKIP, a
 * catch-up window), is a no-op when repeated, updates after a spec edit (keeping a pause), prunes
 * dropped tiers; pause/unpause/trigger/delete work and a triggered run is a real, completed backup.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Client, Connection } from '@temporalio/client';
import type { ClusterSpec } from '../../src/config/spec';
import { temporalSettings } from '../../src/temporal/connection';
import { deleteSchedule, findSchedule, SCHEDULE_TIERS, scheduleId } from '../../src/temporal/schedules';
import { createWorkers } from '../../src/temporal/worker';
import type { BackupResult } from '../../workflows/backup';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';

/** The one --json document as records: a list's items, an apply's changes followed by its totals, else the document. */
const lines = (stdout: string): Record<string, unknown>[] => {
  const doc = JSON.parse(stdout) as Record<string, unknown> | Record<string, unknown>[];
  if (Array.isArray(doc)) return doc;
  return Array.isArray(doc.changes) ? [...(doc.changes as Record<string, unknown>[]), doc] : [doc];
};

describe('lifeboat schedule', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-schedules-'));
  const cluster = unique('sched');
  const lab = primarySpec();
  const spec: ClusterSpec = { ...lab, name: cluster, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined, retention: { keepLast: 3 } };
  const specFile = join(dir, `${cluster}.yaml`);
  const writeSpec = (s: ClusterSpec) => writeFileSync(specFile, stringify(s));
  const ids = SCHEDULE_TIERS.map((t) => scheduleId(cluster, t));
  const settings = temporalSettings();
  let connection: Connection;
  let client: Client;
  const describeIt = (id: string) => client.schedule.getHandle(id).describe();

  beforeAll(async () => {
    writeSpec(spec);
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
  });

  afterAll(async () => {
    for (const id of ids) if (await findSchedule(client, id)) await deleteSchedule(client, id);
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('dry run plans the four tiers and creates nothing', async () => {
    const r = await lifeboat('schedule', 'apply', '--spec', specFile, '--dry-run', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out.filter((l) => l.action !== undefined).map((l) => [l.id, l.action])).toEqual(ids.map((id) => [id, 'create']));
    for (const id of ids) expect(await findSchedule(client, id)).toBeUndefined();
  });

  it('apply creates the tier schedules with overlap SKIP, a catch-up window and the backup action', async () => {
    const r = await lifeboat('schedule', 'apply', '--spec', specFile, '--parts', 'kafka-metadata', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout).at(-1)).toMatchObject({ created: 4, updated: 0, unchanged: 0 });
    for (const [i, id] of ids.entries()) {
      const tier = SCHEDULE_TIERS[i]!;
      const d = await describeIt(id);
      expect(d.policies.overlap).toBe('SKIP');
      expect(d.policies.catchupWindow).toBe(tier === 'hourly' ? 10 * 60_000 : 60 * 60_000);
      expect(d.state.paused).toBe(false);
      expect(d.action).toMatchObject({ workflowType: 'backup', taskQueue: 'lifeboat', workflowId: `backup-${cluster}-${tier}`, memo: { cluster, tier } });
      expect(d.action.args?.[0]).toMatchObject({ tier, incremental: tier === 'hourly', parts: ['kafka-metadata'], spec: { name: cluster } });
      expect(d.memo).toEqual({ cluster, tier });
      expect(d.info.nextActionTimes.length).toBeGreaterThan(0);
    }
  });

  it('apply again changes nothing', async () => {
    const r = await lifeboat('schedule', 'apply', '--spec', specFile, '--parts', 'kafka-metadata', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout).at(-1)).toMatchObject({ created: 0, updated: 0, unchanged: 4 });
  });

  it('pause and unpause by ID or by spec and tier; a re-apply after a spec edit updates and keeps the pause', async () => {
    const daily = scheduleId(cluster, 'daily');
    let r = await lifeboat('schedule', 'pause', daily, '--note', 'storage maintenance', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect((await describeIt(daily)).state).toMatchObject({ paused: true, note: 'storage maintenance' });

    writeSpec({ ...spec, retention: { keepLast: 5 } });
    r = await lifeboat('schedule', 'apply', '--spec', specFile, '--parts', 'kafka-metadata', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out.at(-1)).toMatchObject({ created: 0, updated: 4, unchanged: 0 });
    expect(out.find((l) => l.id === daily)).toMatchObject({ action: 'update', changed: ['args'] });
    const d = await describeIt(daily);
    expect(d.action.args?.[0]).toMatchObject({ spec: { retention: { keepLast: 5 } } });
    expect(d.state).toMatchObject({ paused: true, note: 'storage maintenance' });

    r = await lifeboat('schedule', 'unpause', '--spec', specFile, '--tier', 'daily');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${daily}: active`);
    expect((await describeIt(daily)).state.paused).toBe(false);

    // Without a tier, pause and unpause act on all of the cluster's schedules.
    r = await lifeboat('schedule', 'pause', '--spec', specFile, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout).map((l) => [l.id, l.paused])).toEqual(ids.map((id) => [id, true]));
    r = await lifeboat('schedule', 'unpause', '--spec', specFile);
    expect(r.code, r.stderr).toBe(0);
    for (const id of ids) expect((await describeIt(id)).state.paused).toBe(false);
  });

  it('trigger starts a real backup run under the schedule, and list reports it', async () => {
    const workers = await createWorkers({ settings });
    const running = workers.run();
    try {
      const r = await lifeboat('schedule', 'trigger', '--spec', specFile, '--tier', 'hourly', '--json');
      expect(r.code, r.stderr).toBe(0);
      const t = lines(r.stdout)[0]!;
      expect(t.workflowId).toMatch(new RegExp(`^backup-${cluster}-hourly-`));
      const result = (await client.workflow.getHandle(t.workflowId as string, t.runId as string).result()) as BackupResult;
      expect(result.tier).toBe('hourly');
      expect(result.parts.map((p) => p.part)).toEqual(['kafka-metadata']);
      expect(result.report.outcome).toBe('succeeded');
      const desc = await client.workflow.getHandle(t.workflowId as string).describe();
      expect(desc.typedSearchAttributes.get({ name: 'LifeboatCluster', type: 'KEYWORD' } as never)).toBe(cluster);
      expect(desc.typedSearchAttributes.get({ name: 'LifeboatKind', type: 'KEYWORD' } as never)).toBe('backup');
    } finally {
      workers.shutdown();
      await running;
    }
    const l = await lifeboat('schedule', 'list', '--spec', specFile, '--json');
    expect(l.code, l.stderr).toBe(0);
    const hourly = lines(l.stdout).find((x) => x.tier === 'hourly')!;
    expect(hourly).toMatchObject({ id: scheduleId(cluster, 'hourly'), paused: false, overlap: 'SKIP', actionsTaken: 1, lastRun: { status: 'COMPLETED' } });
    expect((hourly.nextRuns as string[]).length).toBeGreaterThan(0);
    const text = await lifeboat('schedule', 'list', '--spec', specFile);
    expect(text.stdout).toContain(`${scheduleId(cluster, 'weekly')} (weekly, active`);
  });

  it('apply with fewer tiers keeps the others unless --prune, which deletes them', async () => {
    let r = await lifeboat('schedule', 'apply', '--spec', specFile, '--tiers', 'hourly,daily', '--parts', 'kafka-metadata', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout).filter((l) => l.action === 'extra').map((l) => l.tier)).toEqual(['weekly', 'monthly']);
    r = await lifeboat('schedule', 'apply', '--spec', specFile, '--tiers', 'hourly,daily', '--parts', 'kafka-metadata', '--prune');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`deleted      ${scheduleId(cluster, 'weekly')}`);
    expect(await findSchedule(client, scheduleId(cluster, 'weekly'))).toBeUndefined();
    expect(await findSchedule(client, scheduleId(cluster, 'monthly'))).toBeUndefined();
    expect(await findSchedule(client, scheduleId(cluster, 'hourly'))).toBeDefined();
  });

  it('delete removes the schedules of a tier or of the whole cluster', async () => {
    let r = await lifeboat('schedule', 'delete', '--spec', specFile, '--tier', 'daily');
    expect(r.code, r.stderr).toBe(0);
    expect(await findSchedule(client, scheduleId(cluster, 'daily'))).toBeUndefined();
    await lifeboat('schedule', 'apply', '--spec', specFile, '--tiers', 'daily', '--parts', 'kafka-metadata');
    r = await lifeboat('schedule', 'delete', '--spec', specFile, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout).map((l) => l.id)).toEqual([scheduleId(cluster, 'hourly'), scheduleId(cluster, 'daily')]);
    for (const id of ids) expect(await findSchedule(client, id)).toBeUndefined();
    r = await lifeboat('schedule', 'delete', '--spec', specFile);
    expect(r.code).toBe(14);
    expect(r.stderr).toContain(`no Lifeboat schedules of ${cluster}`);
  });

  it('an unknown or malformed schedule ID is one clear line and a stable exit code', async () => {
    const missing = scheduleId(cluster, 'monthly');
    for (const sub of ['pause', 'unpause', 'trigger', 'delete']) {
      const r = await lifeboat('schedule', sub, missing);
      expect(r.code).toBe(14);
      expect(r.stderr.trim()).toBe(`lifeboat: no schedule ${missing} in namespace ${settings.namespace} (lifeboat schedule list shows the installed ones)`);
    }
    const bad = await lifeboat('schedule', 'pause', 'my-own-schedule');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a Lifeboat schedule ID');
    const tier = await lifeboat('schedule', 'apply', '--spec', specFile, '--tiers', 'yearly');
    expect(tier.code).toBe(2);
    expect(tier.stderr).toContain('unknown schedule tiers: yearly');
  });
});
