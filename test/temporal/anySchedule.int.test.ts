/**
 * A schedule of a workflow other than backup, against the lab's Temporal: a `clusterProbe` every
 * 6 hours and at 04:30 (typed args), applied, re-applied without change, updated when its args
 * change (keeping a pause), listed, and triggered: the run it starts gets the schedule's args and
 * probes the lab's primary cluster for real.
 */
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalSettings } from '../../src/temporal/connection';
import { followRun } from '../../src/temporal/runs';
import {
  applySchedules,
  deleteSchedule,
  findSchedule,
  listSchedules,
  pauseSchedule,
  type ScheduleDefinition,
  triggerSchedule,
} from '../../src/temporal/schedules';
import { createWorkers } from '../../src/temporal/worker';
import { primarySpec, unique } from '../support/lab';

describe('a schedule of any workflow (clusterProbe)', () => {
  const settings = temporalSettings();
  const name = unique('probe');
  const spec = primarySpec();
  const def: ScheduleDefinition<'clusterProbe'> = {
    id: `lifeboat-probe-${name}`,
    workflow: 'clusterProbe',
    args: [{ spec, records: 7 }],
    workflowId: `probe-${name}`,
    calendars: [{ hour: 4, minute: 30, comment: 'morning probe' }],
    intervals: [{ everyMs: 6 * 3_600_000 }],
    catchupWindowMs: 5 * 60_000,
    cluster: spec.name,
    kind: 'probe',
    memo: { cluster: spec.name, test: name },
    summary: `probe of ${spec.name} (schedule lifeboat-probe-${name})`,
    description: 'every 6 hours and at 04:30 UTC',
    note: 'installed by a test',
  };
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
  });

  afterAll(async () => {
    if (client && (await findSchedule(client, def.id))) await deleteSchedule(client, def.id);
    await connection?.close();
  });

  it('apply creates it as defined; again changes nothing; a change of args updates it and keeps its pause', async () => {
    expect(await applySchedules(client, [def], { dryRun: true })).toEqual([{ id: def.id, action: 'create', description: def.description, dryRun: true }]);
    expect(await findSchedule(client, def.id)).toBeUndefined();

    expect((await applySchedules(client, [def])).map((c) => c.action)).toEqual(['create']);
    const d = (await findSchedule(client, def.id))!;
    expect(d.action).toMatchObject({ workflowType: 'clusterProbe', workflowId: def.workflowId, taskQueue: 'lifeboat', args: [{ records: 7, spec: { name: spec.name } }] });
    expect(d.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 300_000 });
    expect(d.spec.intervals).toEqual([{ every: 21_600_000, offset: 0 }]);
    expect(d.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 4, end: 4, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }], comment: 'morning probe' });
    expect(d.memo).toEqual({ cluster: spec.name, test: name });
    expect(d.state.note).toBe('installed by a test');

    expect((await applySchedules(client, [def])).map((c) => c.action)).toEqual(['unchanged']);

    await pauseSchedule(client, def.id, 'paused by the test');
    const changed = await applySchedules(client, [{ ...def, args: [{ spec, records: 9 }] }]);
    expect(changed).toMatchObject([{ id: def.id, action: 'update', changed: ['args'] }]);
    const after = (await findSchedule(client, def.id))!;
    expect(after.action.args).toMatchObject([{ records: 9 }]);
    expect(after.state).toMatchObject({ paused: true, note: 'paused by the test' });
    // Back to the definition (still paused: a trigger runs a paused schedule's action too).
    expect((await applySchedules(client, [def])).map((c) => c.action)).toEqual(['update']);

    const [state] = await listSchedules(client, [def.id, `${def.id}-missing`]);
    expect(state).toMatchObject({ id: def.id, workflowType: 'clusterProbe', cluster: spec.name, kind: 'probe', paused: true, overlap: 'SKIP', catchupWindowMs: 300_000 });
    expect(state!.description).toBe('min 30 hour 4 day 1-31 weekday SUNDAY-SATURDAY; every 21600s UTC');
  });

  it('trigger starts a clusterProbe run with the schedule’s typed args, and it probes the cluster', async () => {
    const workers = await createWorkers({ settings });
    const running = workers.run();
    try {
      const t = await triggerSchedule(client, def.id);
      expect(t.workflowId).toMatch(new RegExp(`^probe-${name}-`));
      const result = await followRun<'clusterProbe'>(client, t.workflowId!);
      // Typed result: ProbeResult of the records the schedule asked for.
      expect(result).toMatchObject({ ok: true, produced: 7, consumed: 7, workflowId: t.workflowId });

      const handle = client.workflow.getHandle(t.workflowId!, t.runId);
      const desc = await handle.describe();
      expect(desc.type).toBe('clusterProbe');
      expect(desc.typedSearchAttributes.get({ name: 'LifeboatKind', type: 'KEYWORD' } as never)).toBe('probe');
      const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
      const input = defaultPayloadConverter.fromPayload(started!.input!.payloads![0]! as never);
      expect(input).toMatchObject({ records: 7, spec: { name: spec.name } });
    } finally {
      workers.shutdown();
      await running;
    }
    const [state] = await listSchedules(client, [def.id]);
    expect(state).toMatchObject({ actionsTaken: 1, lastRun: { status: 'COMPLETED' } });
  });

  it('prune deletes an owned schedule the plan dropped, and leaves the others', async () => {
    const other = `${def.id}-other`;
    expect(await applySchedules(client, [], { owned: [def.id, other] })).toEqual([{ id: def.id, action: 'extra', dryRun: false }]);
    expect(await applySchedules(client, [], { owned: [def.id, other], prune: true })).toEqual([{ id: def.id, action: 'delete', dryRun: false }]);
    expect(await findSchedule(client, def.id)).toBeUndefined();
  });
});
