/**
 * The Lifeboat worker: control task queue "lifeboat" plus one host queue per broker host it serves
 * ("lifeboat-host-<host>"), where disk work runs on the machine that owns the disk. In the lab one
 * process serves every host queue. Workflows come from a prebuilt bundle when LIFEBOAT_WORKFLOW_BUNDLE
 * names one (production), otherwise they are bundled from source at start-up.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import type * as ActivitiesModule from '../../activities';
import type { ActivityDeps } from '../../activities';
import type { SpecCatalog } from '../config/catalog';
import { RepositorySessions } from '../repository/session';
import { temporalSettings, temporalUnreachable, type TemporalSettings } from './connection';
import { CONTROL_TASK_QUEUE, hostTaskQueue } from './taskQueues.pure';
import { PinoTemporalLogger } from './logger';

export const WORKFLOWS_PATH = resolve(__dirname, '..', '..', 'workflows', 'index.ts');
/** Loaded by path, as the workflows are: src/ is the domain and imports activities/ as types only. */
export const ACTIVITIES_PATH = resolve(__dirname, '..', '..', 'activities', 'index.ts');

export interface LifeboatWorkerOptions {
  settings?: TemporalSettings;
  /** Host names whose host queues this process serves. */
  hosts?: string[];
  /** Serve the control queue too (default true). */
  control?: boolean;
  identity?: string;
  /**
   * The cluster specs this worker serves by name (`lifeboat worker --spec a.yaml --spec b.yaml` or
   * `--specs-dir d`): a workflow started with `{ "cluster": "<name>" }` resolves its spec from them.
   */
  specs?: SpecCatalog;
  /** Repository sessions to share (default: this worker's own, one per repository and password). */
  repositories?: RepositorySessions;
}

export interface RunningWorkers {
  workers: Worker[];
  connection: NativeConnection;
  /** What the activities were built with (one set per process: every queue's worker shares it). */
  deps: ActivityDeps;
  /** Runs all workers until `until` settles (or they are shut down), then closes the connection. */
  runUntil<T>(until: Promise<T>): Promise<T>;
  run(): Promise<void>;
  shutdown(): void;
}

function workflowSource(): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> {
  const bundle = process.env.LIFEBOAT_WORKFLOW_BUNDLE;
  if (bundle && existsSync(bundle)) return { workflowBundle: { code: readFileSync(bundle, 'utf8') } };
  return { workflowsPath: WORKFLOWS_PATH };
}

let runtimeInstalled = false;

/**
 * Worker logs at WARN unless LIFEBOAT_LOG_LEVEL says otherwise (INFO includes the bundler's output):
 * one JSON line per event through pino (src/temporal/logger.ts), the SDK core's own logs forwarded to it.
 */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.LIFEBOAT_LOG_LEVEL?.toUpperCase() ?? 'WARN') as LogLevel;
  try {
    Runtime.install({ logger: new PinoTemporalLogger(level), telemetryOptions: { logging: { forward: {}, filter: { core: level, other: 'ERROR' } } } });
  } catch {
    /* already installed by the embedding program */
  }
}

export async function createWorkers(opts: LifeboatWorkerOptions = {}): Promise<RunningWorkers> {
  installRuntime();
  const settings = opts.settings ?? temporalSettings();
  const { address, tls, apiKey } = settings.connection;
  const connection = await NativeConnection.connect({ address, tls, apiKey: typeof apiKey === 'string' ? apiKey : undefined }).catch((e: unknown) => {
    throw temporalUnreachable(settings.address, e);
  });
  const queues = [...(opts.control === false ? [] : [CONTROL_TASK_QUEUE]), ...(opts.hosts ?? []).map(hostTaskQueue)];
  const workers: Worker[] = [];
  const source = workflowSource();
  // Built once per process: every queue's worker shares the specs and the repository sessions.
  const { activityDeps, createActivities } = (await import(ACTIVITIES_PATH)) as typeof ActivitiesModule;
  const deps = activityDeps({ specs: opts.specs, repositories: opts.repositories ?? new RepositorySessions() });
  const activities = createActivities(deps);
  for (const taskQueue of queues) {
    const worker = await Worker.create({
      connection,
      namespace: settings.namespace,
      taskQueue,
      activities,
      ...(opts.identity ? { identity: opts.identity } : {}),
      // Host queues carry only activities; the control queue runs the workflows.
      ...(taskQueue === CONTROL_TASK_QUEUE ? source : {}),
      shutdownGraceTime: '5 seconds',
      // Progress reaches `lifeboat status` and the UI within 2 s: without this cap the SDK holds
      // heartbeats back for 80 % of the heartbeat timeout (16 s of our 20 s), and a step that says
      // what it waits for is seen only after the wait is over.
      maxHeartbeatThrottleInterval: '2 seconds',
    });
    workers.push(worker);
  }
  const runAll = () => Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return {
    workers,
    connection,
    deps,
    async runUntil<T>(until: Promise<T>): Promise<T> {
      const running = runAll();
      try {
        return await until;
      } finally {
        for (const w of workers) w.shutdown();
        await running;
        await connection.close();
      }
    },
    async run() {
      try {
        await runAll();
      } finally {
        await connection.close();
      }
    },
    shutdown() {
      for (const w of workers) w.shutdown();
    },
  };
}
