/**
 * The --json promise of docs/cli.md, for every command with --json that the lab can run: stdout is
 * exactly one JSON document (lists as arrays, an empty list as [], a failure as {"error": …}) and
 * nothing else; progress goes to stderr. Without --json, progress also stays off stdout. Through the
 * real CLI, a real worker and the lab.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';
import { freePort } from './support';

/** Parses stdout as exactly one JSON document on one line; fails the test otherwise. */
function oneDocument(label: string, r: { code: number; stdout: string; stderr: string }): unknown {
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `${label}: stdout must be one JSON document, got:\n${r.stdout}\nstderr:\n${r.stderr}`).toHaveLength(1);
  return JSON.parse(lines[0]!);
}

describe('--json: one document on stdout, progress on stderr, for every command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-json-'));
  const lab = primarySpec();
  const name = unique('json');
  const pw = join(dir, 'password');
  writeFileSync(pw, 'json-password\n');
  const spec: ClusterSpec = {
    ...lab,
    name,
    repository: { path: join(dir, 'repo'), password: { file: pw }, compression: 'auto' },
    offsiteRepository: { path: join(dir, 'offsite'), password: { file: pw }, compression: 'auto' },
  };
  const specFile = join(dir, 'spec.yaml');
  writeFileSync(specFile, stringify(spec));
  const topic = unique('json-topic');
  let workers: RunningWorkers;
  let running: Promise<void>;

  beforeAll(async () => {
    workers = await createWorkers({ settings: temporalSettings(), hosts: spec.brokers.map((b) => b.host) });
    running = workers.run();
    const kafka = kafkaFor(spec, 'json-test');
    await withAdmin(kafka, name, (admin) => admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true }));
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
  });

  afterAll(async () => {
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  it('empty results are [] or an object, never nothing', async () => {
    const init = await lifeboat('repo', 'init', '--spec', specFile, '--json');
    expect(init.code, init.stderr).toBe(EXIT.OK);
    expect(oneDocument('repo init', init)).toMatchObject({ created: spec.repository!.path });
    const snaps = await lifeboat('repo', 'snapshots', '--spec', specFile, '--json');
    expect(snaps.code, snaps.stderr).toBe(EXIT.OK);
    expect(oneDocument('repo snapshots (empty)', snaps)).toEqual([]);
    const sets = await lifeboat('backup', 'sets', '--spec', specFile, '--json');
    expect(sets.code, sets.stderr).toBe(EXIT.OK);
    expect(oneDocument('backup sets (empty)', sets)).toMatchObject({ sets: [] });
    const schedules = await lifeboat('schedule', 'list', '--spec', specFile, '--json');
    expect(schedules.code, schedules.stderr).toBe(EXIT.OK);
    expect(oneDocument('schedule list (empty)', schedules)).toEqual([]);
    const forget = await lifeboat('repo', 'forget', '--spec', specFile, '--keep-last', '3', '--dry-run', '--json');
    expect(forget.code, forget.stderr).toBe(EXIT.OK);
    expect(oneDocument('repo forget --dry-run (empty)', forget)).toEqual({ dryRun: true, keep: [], remove: [] });
  });

  it('direct commands: probe, metadata, config, zk, topics, logdir, registry, repo', async () => {
    const ok = async (label: string, ...args: string[]) => {
      const r = await lifeboat(...args, '--json');
      expect(r.code, `${label}: ${r.stderr}`).toBe(EXIT.OK);
      return oneDocument(label, r) as Record<string, unknown>;
    };
    expect(await ok('probe', 'probe', '--spec', specFile)).toMatchObject({ ok: true });
    const md = await ok('metadata export', 'metadata', 'export', '--spec', specFile, '--repo');
    const cfg = await ok('config backup', 'config', 'backup', '--spec', specFile, '--repo');
    const zk = await ok('zk export', 'zk', 'export', '--spec', specFile, '--repo');
    const topics = await ok('topics backup', 'topics', 'backup', '--spec', specFile, '--topics', topic);
    expect(topics).toMatchObject({ records: 20 });
    await ok('logdir backup', 'logdir', 'backup', '--spec', specFile, '--broker', '1');
    await ok('zk diff', 'zk', 'diff', '--spec', specFile, '--snapshot', zk.snapshot as string);
    await ok('metadata apply --dry-run', 'metadata', 'apply', '--spec', specFile, '--snapshot', md.snapshot as string, '--topics', `^${topic}$`, '--dry-run');
    await ok('config restore --dry-run', 'config', 'restore', '--spec', specFile, '--snapshot', cfg.snapshot as string, '--target-dir', join(dir, 'configs'), '--dry-run');
    const diff = await lifeboat('config', 'diff', '--spec', specFile, '--snapshot', cfg.snapshot as string, '--json');
    expect([EXIT.OK, EXIT.PARTIAL], diff.stderr).toContain(diff.code);
    oneDocument('config diff', diff);

    const reg = join(dir, 'registry');
    await ok('registry export', 'registry', 'export', '--spec', specFile, '--out', reg);
    expect(await ok('registry restore --dry-run', 'registry', 'restore', '--spec', specFile, '--in', reg, '--dry-run')).toHaveProperty('restores');
    await ok('registry verify', 'registry', 'verify', '--spec', specFile, '--in', reg, '--no-probe');
    await ok('registry fallback', 'registry', 'fallback', '--in', reg, '--out-dir', join(dir, 'fallback'));

    const snaps = (await ok('repo snapshots', 'repo', 'snapshots', '--spec', specFile)) as unknown as { id: string }[];
    expect(snaps.length).toBe(5);
    expect(await ok('repo check', 'repo', 'check', '--spec', specFile)).toMatchObject({ ok: true, problems: [] });
    expect(await ok('repo forget', 'repo', 'forget', '--spec', specFile, '--keep-last', '100', '--dry-run')).toMatchObject({ remove: [] });
    await ok('repo prune --dry-run', 'repo', 'prune', '--spec', specFile, '--dry-run');
    expect(await ok('repo key list', 'repo', 'key', 'list', '--spec', specFile)).toHaveLength(1);
    expect(await ok('repo copy', 'repo', 'copy', '--spec', specFile)).toMatchObject({ copied: expect.any(Array) });
    await ok('repo restore-files', 'repo', 'restore-files', cfg.snapshot as string, '--spec', specFile, '--target', join(dir, 'restored'));
  });

  it('workflow commands: backup, status, report, recover cluster|broker --dry-run; progress stays on stderr', async () => {
    const b = await lifeboat('backup', '--spec', specFile, '--parts', 'kafka-metadata', '--skip-offsite', '--json');
    expect(b.code, b.stderr).toBe(EXIT.OK);
    expect(oneDocument('backup', b)).toMatchObject({ parts: [expect.objectContaining({ part: 'kafka-metadata' })] });
    expect(b.stderr).toContain(`backup-${name}`); // the progress went somewhere: stderr

    const st = await lifeboat('status', `backup-${name}`, '--json');
    expect(st.code, st.stderr).toBe(EXIT.OK);
    expect(oneDocument('status', st)).toMatchObject({ workflowId: `backup-${name}`, status: 'COMPLETED' });
    const rep = await lifeboat('report', `backup-${name}`, '--json');
    expect(rep.code, rep.stderr).toBe(EXIT.OK);
    oneDocument('report', rep);

    // Set retention in both repositories (the off-site one holds the copy made above), planned only.
    const forget = await lifeboat('backup', 'forget', '--spec', specFile, '--dry-run', '--json');
    expect(forget.code, forget.stderr).toBe(EXIT.OK);
    expect(oneDocument('backup forget --dry-run', forget)).toMatchObject({ dryRun: true, primary: expect.any(Object) });
    const sets = await lifeboat('backup', 'sets', '--spec', specFile, '--json');
    expect(sets.code, sets.stderr).toBe(EXIT.OK);
    expect((oneDocument('backup sets', sets) as { sets: unknown[] }).sets).toHaveLength(1);

    // The plan of a recovery: whatever it decides about these sets, its answer is one document.
    const dry = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run', '--json');
    const doc = oneDocument('recover cluster --dry-run', dry) as { report?: unknown; error?: unknown };
    expect(doc.report ?? doc.error).toBeDefined();
    expect(dry.stdout).not.toMatch(/step:/);

    const broker = await lifeboat('recover', 'broker', '--spec', specFile, '--broker', '2', '--dry-run', '--json');
    expect(broker.code, broker.stderr).toBe(EXIT.OK);
    expect(oneDocument('recover broker --dry-run', broker)).toMatchObject({ report: { kind: 'brokerRecovery', outcome: 'planned' } });

    // Without --json the step lines are progress: on stderr, never in the piped result.
    const text = await lifeboat('backup', '--spec', specFile, '--parts', 'kafka-metadata', '--skip-offsite', '--skip-retention');
    expect(text.code, text.stderr).toBe(EXIT.OK);
    expect(text.stderr).toMatch(/step: /);
    expect(text.stdout).not.toMatch(/step: /);
    expect(text.stdout).toMatch(/^backup set [0-9a-f]+ \(manual\), 1 parts:/);
  });

  it('failures are one {"error": …} document with the exit code, and one line on stderr', async () => {
    const dead = join(dir, 'dead.yaml');
    const port = await freePort();
    writeFileSync(dead, stringify({ ...spec, kafka: { ...spec.kafka, bootstrapServers: [`127.0.0.1:${port}`] } }));
    const cases: [string[], number, string][] = [
      [['status', unique('no-such-run'), '--json'], EXIT.NOT_FOUND, 'WorkflowNotFound'],
      [['probe', '--spec', dead, '--json'], EXIT.UNREACHABLE, 'Unreachable'],
      [['repo', 'snapshots', '--spec', specFile, '--component', 'nonsense', '--json'], EXIT.USAGE, 'InvalidInput'],
      [['backup', '--spec', specFile, '--tier', 'yearly', '--json'], EXIT.USAGE, 'InvalidInput'],
    ];
    for (const [args, code, type] of cases) {
      const r = await lifeboat(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      expect(oneDocument(args.join(' '), r)).toMatchObject({ error: { type, exitCode: code, message: expect.any(String) } });
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    }
  });
});
