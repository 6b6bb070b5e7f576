/**
 * The worker logs a failed activity attempt as one line (pino, JSON), not the SDK default's
 * multi-line stack; LIFEBOAT_DEBUG=1 puts the stack into that line. A real `lifeboat worker` child
 * process on the lab runs a probe workflow against a cluster nobody answers for; every attempt fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_QUEUE, temporalSettings } from '../../src/temporal/connection';
import { LIFEBOAT_BIN } from '../support/cli';
import { primarySpec, unique } from '../support/lab';
import { freePort } from './support';

interface Worker {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** `lifeboat worker` (control queue only) as its own process group; stdout and stderr collected together. */
function startWorker(env: NodeJS.ProcessEnv): Worker {
  const child = spawn(LIFEBOAT_BIN, ['worker'], { env: { ...process.env, NODE_NO_WARNINGS: '1', ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(-child.pid!, 'SIGTERM');
      const t = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('worker log: one line per failure', () => {
  let connection: Connection;
  let client: Client;
  let port: number;
  const workers: Worker[] = [];

  beforeAll(async () => {
    const settings = temporalSettings();
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
    port = await freePort();
  });

  afterAll(async () => {
    for (const w of workers) await w.stop();
    await connection?.close();
  });

  /** Runs a probe of a dead cluster until the worker logged `attempts` failed attempts; returns those lines and the whole output. */
  async function failingRun(env: NodeJS.ProcessEnv, attempts: number): Promise<{ failures: string[]; output: string }> {
    const w = startWorker(env);
    workers.push(w);
    const lab = primarySpec();
    const spec = { ...lab, name: unique('log-dead'), kafka: { ...lab.kafka, bootstrapServers: [`127.0.0.1:${port}`] } };
    const handle = await client.workflow.start('clusterProbe', { taskQueue: TASK_QUEUE, workflowId: unique('log-probe'), args: [{ spec, records: 1 }] });
    try {
      await until(`${attempts} failed attempts in the worker's log`, () => w.output().split('\n').filter((l) => l.includes('Activity failed')).length >= attempts, 120_000);
    } finally {
      await handle.terminate('test done').catch(() => {});
      await w.stop();
    }
    const output = w.output();
    return { failures: output.split('\n').filter((l) => l.includes('Activity failed')), output };
  }

  it('without LIFEBOAT_DEBUG: each failed attempt is one line with the error, and no stack lines', async () => {
    const { failures, output } = await failingRun({ LIFEBOAT_DEBUG: '' }, 2);
    expect(failures.length).toBeGreaterThanOrEqual(2);
    for (const line of failures) {
      const entry = JSON.parse(line) as { level: number; msg: string; activityType?: string; error: { type: string; message: string; stack?: string } };
      expect(entry).toMatchObject({ msg: 'Activity failed', activityType: 'produceConsumeProbeActivity' });
      expect(entry.error.message).toMatch(/127\.0\.0\.1|reach|connect/i);
      expect(entry.error.stack).toBeUndefined();
    }
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain('    at ');
  });

  it('with LIFEBOAT_DEBUG=1 the stack is in the failure line', async () => {
    const { failures, output } = await failingRun({ LIFEBOAT_DEBUG: '1' }, 1);
    const entry = JSON.parse(failures[0]!) as { error: { stack?: string } };
    expect(entry.error.stack).toMatch(/\n\s+at /);
    // Still one line per event: the stack sits inside the JSON line.
    expect(output).not.toMatch(/^\s+at /m);
  });
});
