/**
 * Workflow tests without waiting: Temporal's time-skipping test server (the Java SDK's, from Maven
 * Central into the cache, see ensureTemporalTestServer) started by @temporalio/testing, and the
 * workflow bundle built once per test file. Such tests use no lab; they are integration tests
 * (`*.int.test.ts`) because the first run fetches the server over the network.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, type LogLevel, makeTelemetryFilterString, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { ensureTemporalTestServer } from '../../../lab/provision';
import { labTopology } from '../../../lab/topology';
import { SEARCH_ATTRIBUTE_TYPES } from '../../../src/temporal/searchAttributes';
import { WORKFLOWS_PATH } from '../../../src/temporal/worker';

let runtimeInstalled = false;
/** The SDK's runtime, quiet unless LIFEBOAT_LOG_LEVEL says otherwise; once per process. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    // ERROR by default: the test server lacks capabilities the SDK warns about on every worker start.
    const level = (process.env.LIFEBOAT_LOG_LEVEL?.toUpperCase() ?? 'ERROR') as LogLevel;
    Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level, other: level }) } } });
  } catch {
    /* installed already */
  }
}

/**
 * The SDK gives the test server's JVM 5 s to listen; on a loaded machine it can take longer (the
 * next start is faster: its classes are in the page cache), so a start that timed out is retried.
 */
async function startTimeSkipping(path: string, attempts = 4): Promise<TestWorkflowEnvironment> {
  for (let i = 1; ; i++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    } catch (e) {
      if (i >= attempts || !/did not start within/.test((e as Error).message)) throw e;
      console.warn(`[test-server] did not start in time (attempt ${i} of ${attempts}); starting it again`);
    }
  }
}

/** A time-skipping environment on a fresh test server, with Lifeboat's search attributes registered. */
export async function timeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const path = ensureTemporalTestServer(labTopology(), (m) => console.log(`[test-server] ${m}`));
  const env = await startTimeSkipping(path);
  // Workflows upsert these; a server that does not know them fails the workflow task.
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTE_TYPES).map((k) => [k, keyword])),
  });
  return env;
}

const bundles = new Map<boolean, Promise<WorkflowBundle>>();
/**
 * The integration run's bundles (labSetup.ts), test-only names: an operator's LIFEBOAT_WORKFLOW_BUNDLE (a
 * production build, maybe stale) in the shell never stands in for the source under test.
 */
export const TEST_BUNDLE_ENV = 'LIFEBOAT_TEST_WORKFLOW_BUNDLE';
export const TIMERS_BUNDLE_ENV = 'LIFEBOAT_TEST_TIMERS_BUNDLE';

/** The workflows (the worker's, or with the interceptor of timersNeverCancelled.ts), bundled. */
const bundleFromSource = (timersNeverCancelled: boolean) =>
  bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    ...(timersNeverCancelled ? { workflowInterceptorModules: [join(__dirname, 'timersNeverCancelled.ts')] } : {}),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });

/** Bundles the workflows into `outFile` (labSetup.ts, once per integration run). */
export async function buildTestBundle(outFile: string, options: { timersNeverCancelled?: boolean } = {}): Promise<void> {
  writeFileSync(outFile, (await bundleFromSource(options.timersNeverCancelled === true)).code);
}

/**
 * The workflows as the worker runs them (workflows/index.ts). An integration run bundles them once in
 * its global setup (labSetup.ts: TEST_BUNDLE_ENV, and TIMERS_BUNDLE_ENV for the variant);
 * otherwise they are bundled once per test file (5-6 s each).
 * `timersNeverCancelled`: with the interceptor of timersNeverCancelled.ts (time-skipping server only).
 */
export function workflowBundle(options: { timersNeverCancelled?: boolean } = {}): Promise<WorkflowBundle> {
  quietRuntime();
  const key = options.timersNeverCancelled === true;
  let bundle = bundles.get(key);
  if (!bundle) {
    const prebuilt = process.env[key ? TIMERS_BUNDLE_ENV : TEST_BUNDLE_ENV];
    bundle =
      prebuilt && existsSync(prebuilt)
        ? Promise.resolve({ code: readFileSync(prebuilt, 'utf8') })
        : bundleFromSource(key);
    bundles.set(key, bundle);
  }
  return bundle;
}
