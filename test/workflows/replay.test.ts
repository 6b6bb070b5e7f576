/**
 * Replay of recorded histories (test/workflows/histories/*.json, real runs on the lab recorded by
 * `npm run record-histories`) against today's workflow code: a change that makes a workflow issue
 * other commands than it did for a recorded run — reordered activities, a new step, a timer — fails
 * here, before it breaks runs that are open in production. No server: replay runs in the worker.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../src/temporal/worker';
import { historyFromJson } from './support/historyJson';
import { quietRuntime, workflowBundle } from './support/timeSkipping';

const DIR = join(__dirname, 'histories');
const histories = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromJson(readFileSync(join(DIR, f), 'utf8')) }));
const workflowType = (h: (typeof histories)[number]): string =>
  h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';

async function replayAll(workflowBundle: { code: string }): Promise<Map<string, Error | undefined>> {
  const results = new Map<string, Error | undefined>();
  for await (const r of Worker.runReplayHistories({ workflowBundle }, histories)) results.set(r.workflowId, r.error);
  return results;
}

describe('replay of recorded histories', () => {
  beforeAll(() => quietRuntime());

  it('covers every workflow, including an answered approval gate, a run by cluster name and a parent with its children', () => {
    const types = new Set(histories.map(workflowType));
    for (const t of ['backup', 'fullClusterRecovery', 'restoreState', 'restoreData', 'verifyCluster', 'brokerRecovery', 'clusterProbe', 'mirror', 'migration', 'backupMonitor', 'drill']) expect(types).toContain(t);
    const events = histories.flatMap((h) => h.history.events ?? []);
    expect(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length).toBeGreaterThanOrEqual(1);
    // A parent that started its children (restoreState twice: a fallback) and heard their progress signals.
    const started = events.flatMap((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowType?.name ?? []);
    expect(started).toEqual(expect.arrayContaining(['restoreState', 'restoreState', 'restoreData', 'verifyCluster']));
    expect(events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'childProgress')).toBe(true);
    // A full drill whose faults waited for its write stream's signal (a timer, cancelled by it).
    expect(events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'drillStreamSeeded')).toBe(true);
    // Children recorded under their parent, with the parent in their start event (they signal it on replay too).
    const children = histories.filter((h) => h.workflowId.includes('--'));
    expect(children.length).toBeGreaterThanOrEqual(4);
    for (const c of children) expect(c.history.events?.[0]?.workflowExecutionStartedEventAttributes?.parentWorkflowExecution?.workflowId).toBeTruthy();
    // A drill that took its cluster's lock (the drill-lock patch, then local activities): the lock's branch replays too.
    const locked = histories.find((h) => h.workflowId === 'drill-clusterLost-locked')?.history.events ?? [];
    const patches = locked.flatMap((e) => (e.markerRecordedEventAttributes?.markerName === 'core_patch' ? [Buffer.from(e.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString('utf8')] : []));
    expect(patches.map((p) => (JSON.parse(p) as { id: string }).id)).toContain('drill-lock');
    // A run started with only { cluster: "primary" }.
    const byName = histories.find((h) => h.workflowId === 'fullClusterRecovery-byName-dryRun');
    expect(byName?.history.events?.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'resolveClusterSpecActivity')).toBe(true);
  });

  it('today\'s workflow code replays every recorded history', async () => {
    const results = await replayAll(await workflowBundle());
    expect([...results.keys()]).toEqual(histories.map((h) => h.workflowId));
    const failed = [...results].filter(([, e]) => e).map(([id, e]) => `${id}: ${e!.message}`);
    expect(failed).toEqual([]);
  }, 120_000);

  it('a workflow that issues other commands than it recorded fails to replay (the test can fail)', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: [join(__dirname, 'support', 'nonDeterministic.ts')],
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
    const results = await replayAll(changed);
    expect(results.size).toBe(histories.length);
    for (const [id, error] of results) {
      expect(error?.name, id).toBe('DeterminismViolationError');
    }
  }, 120_000);
});
