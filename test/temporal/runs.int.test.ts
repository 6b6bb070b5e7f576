/**
 * Starting and following runs through src/temporal/runs.ts against the lab's Temporal and Kafka:
 * a typed start under a per-target ID (a second start is refused while one runs), progress through
 * the callback, the typed result, failures as the LifeboatError they carry, a missing run as
 * WorkflowNotFound, and a follower that stops on its signal while the run goes on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT, isLifeboatError, type LifeboatError } from '../../src/errors';
import {
  connectTemporal,
  describeRun,
  followRun,
  type RunProgress,
  startRun,
  type TemporalClient,
  type WorkflowArgs,
} from '../../src/temporal/runs';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { primarySpec, unique } from '../support/lab';

describe('runs: start, follow, describe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-runs-'));
  const lab = primarySpec();
  const spec: ClusterSpec = { ...lab, name: unique('runs'), repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
  const backupArgs = (over: Partial<WorkflowArgs<'backup'>[0]> = {}): WorkflowArgs<'backup'> => [
    { spec, tier: 'manual', parts: ['kafka-metadata'], skipRetention: true, skipOffsite: true, ...over },
  ];
  let t: TemporalClient;
  let workers: RunningWorkers;
  let running: Promise<void>;

  beforeAll(async () => {
    t = await connectTemporal();
    workers = await createWorkers({ settings: t.settings });
    running = workers.run();
  });

  afterAll(async () => {
    workers?.shutdown();
    await running;
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rejection = async (p: Promise<unknown>): Promise<LifeboatError> => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    if (!isLifeboatError(e)) throw new Error(`expected a LifeboatError, got ${String(e)}`);
    return e;
  };

  it('starts a typed run once per ID, follows it with progress and returns its typed result', async () => {
    const workflowId = `backup-${spec.name}`;
    const started = await startRun(t.client, 'backup', { workflowId, args: backupArgs(), summary: 'runs test backup' });
    expect(started).toEqual({ workflowId, runId: expect.stringMatching(/^[0-9a-f-]{36}$/) });

    // A second run under the same ID while the first one runs is refused, not queued.
    const again = await rejection(startRun(t.client, 'backup', { workflowId, args: backupArgs() }));
    expect(again.type).toBe('UnsafeTarget');
    expect(again.exitCode).toBe(EXIT.UNSAFE_TARGET);
    expect(again.message).toBe(`${workflowId} is already running — only one at a time per cluster. Follow it with "lifeboat status ${workflowId}" or wait for it to end.`);

    const updates: RunProgress[] = [];
    const result = await followRun<'backup'>(t.client, workflowId, { onProgress: (u) => updates.push(u), intervalMs: 100 });
    expect(result.report.outcome).toBe('succeeded');
    expect(result.parts.map((p) => p.part)).toEqual(['kafka-metadata']);
    expect(result.setId).toMatch(/^[0-9a-f]{16}$/);

    expect(updates.length).toBeGreaterThan(0);
    for (const u of updates) {
      expect(u.workflowId).toBe(workflowId);
      expect(u.status).toMatchObject({ kind: 'backup', cluster: spec.name, dryRun: false });
      expect(typeof u.status.step).toBe('string');
    }
    // Only looks that differ from the one before are reported (a look may come back: a step's
    // heartbeat progress ends and the status query's own shows again).
    const keys = updates.map((u) => JSON.stringify([u.status.step, u.status.awaitingApproval, u.progress, u.waiting]));
    for (let i = 1; i < keys.length; i++) expect(keys[i], `look ${i} repeats look ${i - 1}`).not.toBe(keys[i - 1]);

    const { desc } = await describeRun(t.client, workflowId);
    expect(desc).toMatchObject({ type: 'backup', runId: started.runId, taskQueue: 'lifeboat' });
    expect(desc.status.name).toBe('COMPLETED');
  });

  it('a failed run is the LifeboatError its failure carries', async () => {
    const workflowId = unique(`backup-${spec.name}-bad`);
    await startRun(t.client, 'backup', { workflowId, args: backupArgs({ parts: ['logdirs:99'] }) });
    const e = await rejection(followRun<'backup'>(t.client, workflowId));
    expect(e.type).toBe('InvalidInput');
    expect(e.message).toBe(`${workflowId} failed: unknown backup parts for ${spec.name}: logdirs:99`);
  });

  it('a run that does not exist is WorkflowNotFound (exit 14)', async () => {
    const e = await rejection(describeRun(t.client, 'recover-no-such-cluster'));
    expect(e.type).toBe('WorkflowNotFound');
    expect(e.exitCode).toBe(EXIT.NOT_FOUND);
    expect(e.message).toBe(`no workflow recover-no-such-cluster in namespace ${t.settings.namespace}`);
  });

  it('the follower stops on its signal; the run goes on', async () => {
    const workflowId = unique(`backup-${spec.name}-signal`);
    await startRun(t.client, 'backup', { workflowId, args: backupArgs() });
    const stop = new AbortController();
    const following = followRun<'backup'>(t.client, workflowId, { signal: stop.signal, intervalMs: 50, onProgress: () => stop.abort(new Error('enough')) });
    await expect(following).rejects.toThrow('enough');
    const result = await followRun<'backup'>(t.client, workflowId);
    expect(result.report.outcome).toBe('succeeded');
  });
});
