/**
 * Global setup of the integration project: brings the lab up if it is not healthy (provisioning
 * into the cache on a fresh machine), and stops it afterwards only if this run started it and
 * LIFEBOAT_LAB_KEEP is not set.
 *
 * The lab's Temporal keeps its history in the cache, so a run that was killed (a CI time limit, a
 * developer's Ctrl-C) leaves its workflows running there, and the next run's workers pick them up: a
 * mirror left running took the next run's drill stream and failed three tests. No test expects a
 * workflow from before it started, so every one still running is terminated first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { labDown, labHealthy, labUp } from '../../lab/lab';
import { labTopology, useLabEnv } from '../../lab/topology';
import { temporalSettings } from '../../src/temporal/connection';
import { buildTestBundle, TEST_BUNDLE_ENV, TIMERS_BUNDLE_ENV } from '../workflows/support/timeSkipping';

/**
 * The workflows bundled once for the whole run (5-6 s a bundle, against once per test file before):
 * the worker's (TEST_BUNDLE_ENV, and LIFEBOAT_WORKFLOW_BUNDLE, which createWorkers reads as production
 * workers do) and the time-skipping tests' variant (TIMERS_BUNDLE_ENV). The test files' processes
 * start after the global setup and inherit the variables. Returns the removal of the files.
 */
async function bundleOnce(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bundles-'));
  const t0 = Date.now();
  await Promise.all([buildTestBundle(join(dir, 'workflows.js')), buildTestBundle(join(dir, 'workflows-timers.js'), { timersNeverCancelled: true })]);
  process.env.LIFEBOAT_WORKFLOW_BUNDLE = process.env[TEST_BUNDLE_ENV] = join(dir, 'workflows.js');
  process.env[TIMERS_BUNDLE_ENV] = join(dir, 'workflows-timers.js');
  console.log(`[lab] workflows bundled in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return () => rmSync(dir, { recursive: true, force: true });
}

async function terminateLeftovers(): Promise<void> {
  const settings = temporalSettings();
  const connection = await Connection.connect(settings.connection);
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    const left: string[] = [];
    for await (const w of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
      await client.workflow
        .getHandle(w.workflowId, w.runId)
        .terminate('left running by an earlier test run')
        .then(() => left.push(`${w.type} ${w.workflowId}`))
        .catch(() => undefined); // ended meanwhile
    }
    if (left.length) console.log(`[lab] terminated ${left.length} workflows an earlier run left running: ${left.slice(0, 5).join(', ')}${left.length > 5 ? ', …' : ''}`);
  } finally {
    await connection.close();
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const topo = labTopology();
  useLabEnv(topo);
  const removeBundles = await bundleOnce();
  if (await labHealthy(topo)) {
    await terminateLeftovers();
    return async () => removeBundles();
  }
  const t0 = Date.now();
  await labUp(topo, { log: (m) => console.log(`[lab] ${m}`) }).catch((e: unknown) => {
    removeBundles();
    throw e;
  });
  console.log(`[lab] up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  await terminateLeftovers();
  return async () => {
    removeBundles();
    if (!process.env.LIFEBOAT_LAB_KEEP) await labDown(topo, (m) => console.log(`[lab] ${m}`));
  };
}
