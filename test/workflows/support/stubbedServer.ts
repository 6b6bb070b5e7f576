/**
 * A describe block's time-skipping server with the stub workers of recoveryStubs.ts (vitest hooks:
 * kept apart from the stubs, which record-histories loads outside vitest).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { override, type Stub, stubWorkers } from './recoveryStubs';
import { timeSkippingEnvironment } from './timeSkipping';

/**
 * The time-skipping server with stub workers (stubWorkers) for the describe block that calls it: its
 * hooks start them before the block and stop them after; after each test `calls` and `override` are
 * cleared. `env` is there once the block's tests run.
 */
export function stubbedServer(calls: string[], more: Record<string, Stub> = {}): { readonly env: TestWorkflowEnvironment; execute: typeof executeExplained } {
  let env: TestWorkflowEnvironment | undefined;
  let workers: Worker[] = [];
  let running: Promise<unknown> | undefined;
  beforeAll(async () => {
    env = await timeSkippingEnvironment();
    workers = await stubWorkers(env, calls, more, { timersNeverCancelled: true });
    running = Promise.all(workers.map((w) => w.run()));
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) w.shutdown();
    await running;
    await env?.teardown();
  });
  afterEach(() => {
    calls.length = 0;
    for (const k of Object.keys(override)) delete override[k];
  });
  const server = {
    get env(): TestWorkflowEnvironment {
      if (!env) throw new Error('stubbedServer: env is there only once the describe block runs its tests');
      return env;
    },
    execute: ((...args: Parameters<typeof executeExplained>) => executeExplained(...args)) as typeof executeExplained,
  };
  return server;
}

/** How long a stubbed workflow may take in real time before the test says where it waits (the test's own timeout is 180 s). */
const EXPLAIN_AFTER_MS = 120_000;

/**
 * `env.client.workflow.execute`, failing after EXPLAIN_AFTER_MS with where the workflow waits (its
 * pending activities and children, its last events) instead of a bare test timeout: a stubbed run
 * takes seconds, so one still running then is stuck, and the next run needs to know on what.
 */
async function executeExplained(env: TestWorkflowEnvironment, type: string, options: { taskQueue: string; workflowId: string; args: unknown[] }): Promise<unknown> {
  const run = env.client.workflow.execute(type, options);
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void explain(env, options.workflowId).then((why) => reject(new Error(`${type} ${options.workflowId} still running after ${EXPLAIN_AFTER_MS / 1000} s of real time: ${why}`)), reject);
    }, EXPLAIN_AFTER_MS);
  });
  try {
    return await Promise.race([run, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

async function explain(env: TestWorkflowEnvironment, workflowId: string): Promise<string> {
  const handle = env.client.workflow.getHandle(workflowId);
  const d = await handle.describe();
  const raw = d.raw;
  const activities = (raw.pendingActivities ?? []).map((a) => `${a.activityType?.name} (state ${a.state}, attempt ${a.attempt})`);
  const children = (raw.pendingChildren ?? []).map((c) => `${c.workflowTypeName} ${c.workflowId}`);
  const events = ((await handle.fetchHistory()).events ?? []).slice(-8).map((e) => temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType));
  return `status ${d.status.name}; pending activities: ${activities.join(', ') || 'none'}; pending children: ${children.join(', ') || 'none'}; last events: ${events.join(', ')}`;
}
