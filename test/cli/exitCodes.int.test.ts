/**
 * Exit codes as docs/cli.md documents them, through the real CLI: unreachable Kafka (probe, topics
 * restore) and Temporal (worker) are exit 18 with one line; approve of an unknown run is 14, of a
 * run that has ended a clear line (exit 2). Ports nobody listens on are taken from the OS at runtime.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT, knownError } from '../../src/errors';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { temporalSettings } from '../../src/temporal/connection';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';
import { freePort, lifeboatWith } from './support';

/** One line on stderr, nothing on stdout, no stack or transport dump. */
function oneLine(r: { stdout: string; stderr: string }): string {
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |tonic::|KafkaJS/);
  return lines[0]!;
}

describe('exit codes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-exit-'));
  const lab = primarySpec();
  const name = unique('exit');
  const pw = join(dir, 'password');
  writeFileSync(pw, 'exit-password\n');
  const spec: ClusterSpec = { ...lab, name, repository: { path: join(dir, 'repo'), password: { file: pw }, compression: 'auto' }, offsiteRepository: undefined };
  const specFile = join(dir, 'spec.yaml');
  writeFileSync(specFile, stringify(spec));
  let dead: string;
  let port: number;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    port = await freePort();
    dead = join(dir, 'dead.yaml');
    writeFileSync(dead, stringify({ ...spec, name: `${name}-dead`, kafka: { ...spec.kafka, bootstrapServers: [`127.0.0.1:${port}`] } }));
    const settings = temporalSettings();
    connection = await Connection.connect(settings.connection);
    client = new Client({ connection, namespace: settings.namespace });
  });

  afterAll(async () => {
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('probe of a cluster nobody answers for: exit 18, one line naming it, in seconds', async () => {
    const t0 = Date.now();
    const r = await lifeboat('probe', '--spec', dead);
    expect(r.code, r.stderr).toBe(EXIT.UNREACHABLE);
    expect(oneLine(r)).toBe(`lifeboat: cannot reach Kafka cluster "${name}-dead" (127.0.0.1:${port} ECONNREFUSED); check kafka.bootstrapServers and that the brokers run`);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('topics restore into a cluster nobody answers for: exit 18, one line', async () => {
    const topic = unique('exit-topic');
    const kafka = kafkaFor(spec, 'exit-test');
    await withAdmin(kafka, name, (admin) => admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true }));
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'one' }, { value: 'two' }] });
    await producer.disconnect();
    await lifeboat('repo', 'init', '--spec', specFile);
    const b = await lifeboat('topics', 'backup', '--spec', specFile, '--topics', topic, '--json');
    expect(b.code, b.stderr).toBe(EXIT.OK);
    const snapshot = (JSON.parse(b.stdout) as { snapshot: string }).snapshot;

    const r = await lifeboat('topics', 'restore', '--spec', specFile, '--snapshot', snapshot, '--target-spec', dead, '--offset-map', join(dir, 'restore.map'));
    expect(r.code, r.stderr).toBe(EXIT.UNREACHABLE);
    // The progress line first ("restoring from ..."), then the one failure line.
    const last = r.stderr.trim().split('\n').at(-1);
    expect(last).toBe(`lifeboat: cannot reach Kafka cluster "${name}-dead" (127.0.0.1:${port} ECONNREFUSED); check kafka.bootstrapServers and that the brokers run`);
    expect(r.stderr).not.toMatch(/\n\s+at |KafkaJS/);
    expect(r.stdout).toBe('');
  });

  it('a kafkajs connection failure (after its own retries) reads as Unreachable, exit 18', async () => {
    const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], connectionTimeout: 500, retry: { retries: 1, initialRetryTime: 100 }, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const err = await admin.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).name).toMatch(/^KafkaJS/);
    const known = knownError(err);
    expect(known?.type).toBe('Unreachable');
    expect(known?.exitCode).toBe(EXIT.UNREACHABLE);
    expect(known?.message).toContain(`127.0.0.1:${port}`);
  });

  it('worker with Temporal down: exit 18, one line, no transport dump', async () => {
    const r = await lifeboatWith({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` }, 'worker', '--no-control', '--host', 'h');
    expect(r.code, r.stderr).toBe(EXIT.UNREACHABLE);
    expect(oneLine(r)).toBe(`lifeboat: cannot reach Temporal at 127.0.0.1:${port}: connection refused (set TEMPORAL_ADDRESS, or start the lab)`);
  });

  it('approve of an unknown run: exit 14; of a run that has ended: exit 2 and a line that says so', async () => {
    const unknown = unique('no-such-run');
    const r = await lifeboat('approve', unknown);
    expect(r.code, r.stderr).toBe(EXIT.NOT_FOUND);
    expect(oneLine(r)).toBe(`lifeboat: no workflow ${unknown} in namespace default`);

    // A real run that ended (terminated before any worker took it).
    const id = unique('ended-run');
    const handle = await client.workflow.start('fullClusterRecovery', { taskQueue: unique('nobody-polls'), workflowId: id, args: [] });
    await handle.terminate('test: ended before approval');
    const ended = await lifeboat('approve', id, '--reject');
    expect(ended.code, ended.stderr).toBe(EXIT.USAGE);
    expect(oneLine(ended)).toMatch(new RegExp(`^lifeboat: ${id} has already ended \\(terminated at [0-9T:.-]+Z\\): nothing waits for approval; see "lifeboat report ${id}"$`));
  });
});
