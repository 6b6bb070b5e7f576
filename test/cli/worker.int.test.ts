/**
 * `lifeboat worker` as an operator starts it: --spec (repeatable) and --specs-dir are the clusters its
 * workflows can name ({ "cluster": "<name>" } resolves there, the run records the spec's file and
 * digest); --adapter loads a module that registers broker-control adapters (a path from the
 * directory it is started in); a module that cannot load, or a bad spec, stops it with one line.
 * A real worker process, the lab's Temporal and Kafka.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EXIT } from '../../src/errors';
import { temporalSettings } from '../../src/temporal/connection';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import { LIFEBOAT_BIN } from '../support/cli';
import { primarySpec, unique } from '../support/lab';
import { lifeboatWith } from './support';

interface Worker {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** `lifeboat worker <args>` in `cwd`, as its own process group; stderr collected. */
function startWorker(args: string[], cwd: string): Worker {
  const child = spawn(LIFEBOAT_BIN, ['worker', ...args], { cwd, env: { ...process.env, NODE_NO_WARNINGS: '1' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('lifeboat worker: --spec, --specs-dir, --adapter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-worker-'));
  const lab = primarySpec();
  // Specs of the lab's primary cluster under names of their own: only this worker knows them.
  const [one, two, three] = [unique('w-one'), unique('w-two'), unique('w-three')];
  const specsDir = join(dir, 'specs');
  mkdirSync(specsDir);
  const oneFile = join(dir, 'one.yaml');
  const twoFile = join(specsDir, 'two.yaml');
  const threeFile = join(specsDir, 'three.yml');
  writeFileSync(oneFile, stringify({ ...lab, name: one }));
  writeFileSync(twoFile, stringify({ ...lab, name: two }));
  writeFileSync(threeFile, stringify({ ...lab, name: three }));
  writeFileSync(join(specsDir, 'notes.txt'), 'not a spec');
  // An adapter module as an operator writes one; it records what is registered once it has run.
  const marker = join(dir, 'adapters.json');
  writeFileSync(
    join(dir, 'adapter.ts'),
    `import { writeFileSync } from 'node:fs';
import { registerBrokerControl, registeredBrokerControls } from ${JSON.stringify(resolve(__dirname, '../../src/host/brokerControl'))};
registerBrokerControl('h3-test', (broker) => ({ describe: 'h3-test ' + broker.id, start: async () => {}, stop: async () => {}, status: async () => 'running' }));
writeFileSync(${JSON.stringify(marker)}, JSON.stringify(registeredBrokerControls()));
`,
  );
  writeFileSync(join(dir, 'broken.ts'), `throw new Error('this adapter is broken');\n`);
  let connection: Connection;
  let client: Client;
  const workers: Worker[] = [];

  beforeAll(async () => {
    const settings = temporalSettings();
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
  });

  afterAll(async () => {
    for (const w of workers) await w.stop();
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the clusters of --spec and --specs-dir by name, with the adapters of --adapter loaded (a path from its directory)', { timeout: 240_000 }, async () => {
    const w = startWorker(['--spec', oneFile, '--specs-dir', specsDir, '--adapter', './adapter.ts', '--no-control'], dir);
    workers.push(w);
    // --no-control: only host queues. The banner names every cluster it knows.
    await until('the worker banner', () => w.output().includes('lifeboat worker:') || w.child.exitCode !== null, 120_000);
    expect(w.child.exitCode, w.output()).toBeNull();
    const banner = w.output().split('\n').find((l) => l.startsWith('lifeboat worker:'))!;
    expect(banner).toContain(`clusters: ${[one, three, two].sort().join(', ')}`);
    expect(banner).toContain(`lifeboat-host-${lab.brokers[0]!.host}`);
    expect(banner).not.toContain(`${CONTROL_TASK_QUEUE},`);
    // The adapter module ran in the worker, from the directory the worker was started in.
    expect(JSON.parse(readFileSync(marker, 'utf8'))).toContain('h3-test');
    await w.stop();

    // With the control queue: a probe by name resolves the spec from the files it was started with.
    const c = startWorker(['--spec', oneFile, '--specs-dir', specsDir, '--adapter', './adapter.ts'], dir);
    workers.push(c);
    await until('the worker banner', () => c.output().includes('lifeboat worker:') || c.child.exitCode !== null, 180_000);
    expect(c.child.exitCode, c.output()).toBeNull();
    for (const [name, file] of [
      [one, oneFile],
      [two, twoFile],
    ] as const) {
      const r = await client.workflow.execute('clusterProbe', { taskQueue: CONTROL_TASK_QUEUE, workflowId: unique(`probe-${name}`), args: [{ cluster: name, records: 3 }] });
      expect(r).toMatchObject({ ok: true, spec: { name, digest: sha256(file), file } });
    }
    // A name it does not know: the run fails naming the ones it knows.
    const failed = await client.workflow
      .execute('clusterProbe', { taskQueue: CONTROL_TASK_QUEUE, workflowId: unique('probe-unknown'), args: [{ cluster: 'no-such-cluster', records: 3 }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    let message = '';
    for (let e = failed as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) message += ` ${e.message ?? ''}`;
    expect(message).toContain(`unknown cluster "no-such-cluster": this worker knows "${[one, three, two].sort().join('", "')}"`);
    await c.stop();
  });

  it('an adapter module that cannot load: one line, exit 2, before connecting', async () => {
    for (const [module, why] of [
      ['./broken.ts', 'this adapter is broken'],
      ['./no-such-adapter.ts', 'Cannot find module'],
    ] as const) {
      const child = spawn(LIFEBOAT_BIN, ['worker', '--adapter', module, '--spec', oneFile], { cwd: dir, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? -1)));
      expect(code, err).toBe(EXIT.USAGE);
      expect(out).toBe('');
      const lines = err.trim().split('\n');
      expect(lines, err).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^lifeboat: broker-control adapter module ${module.replace(/\./g, '\\.')} cannot be loaded: .*${why}`));
    }
  });

  it('bad specs and usage: the worker does not start, and says why', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, stringify({ ...lab, name: unique('bad'), kafka: { ...lab.kafka, bootstrapServers: ['127.0.0.1:99999'] } }));
    const r = await lifeboatWith({}, 'worker', '--spec', bad);
    expect(r.code, r.stderr).toBe(EXIT.INVALID_SPEC);
    // The spec's own format: the file, then one line per problem naming the field.
    expect(r.stderr.trim().split('\n')).toEqual([`lifeboat: invalid cluster spec ${bad}:`, expect.stringMatching(/^ {2}kafka\.bootstrapServers.*99999/)]);

    const empty = mkdtempSync(join(dir, 'empty-'));
    const e = await lifeboatWith({}, 'worker', '--specs-dir', empty);
    expect(e.code, e.stderr).toBe(EXIT.INVALID_SPEC);
    expect(e.stderr.trim()).toMatch(/^lifeboat: the specs directory .* holds no cluster spec \(\*\.yaml or \*\.yml\)$/);

    const same = await lifeboatWith({}, 'worker', '--spec', oneFile, '--spec', join(dir, 'copy-of-one.yaml'));
    expect(same.code).toBe(EXIT.INVALID_SPEC); // the second file does not exist

    const u = await lifeboatWith({}, 'worker', '--specs-dir', specsDir, '--specs-dir', dir);
    expect(u.code, u.stderr).toBe(EXIT.USAGE);
    expect(u.stderr.trim()).toBe(`lifeboat: --specs-dir is given 2 times ("${specsDir}", "${dir}"); it takes one value (see "lifeboat worker --help")`);
  });
});
