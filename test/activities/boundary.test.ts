/**
 * The activities' one boundary (activities/errors.ts, applied by createActivities): spec checked
 * before the body, errors mapped once, the worker's repository sessions in scope. Run in Temporal's
 * MockActivityEnvironment, the way the worker runs them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { activityDeps, createActivities } from '../../activities';
import { allAtBoundary } from '../../activities/errors';
import { loadSpecCatalog } from '../../src/config/catalog';
import type { ClusterSpec } from '../../src/config/spec';
import { parseProgress } from '../../src/core/progress';
import { LifeboatError } from '../../src/errors';
import { openRepositoryForSpec, RepositorySessions } from '../../src/repository';
import { BlobError } from '../../src/repository/repo';
import { testDir } from '../support/tmp';

const rawSpec = (dir: string) => ({
  name: 'unit',
  kafka: { bootstrapServers: ['127.0.0.1:1'] },
  brokers: [{ id: 1, host: 'h1', logDirs: [join(dir, 'logs')], configDir: join(dir, 'config'), control: { type: 'systemd', unit: 'kafka.service' } }],
  repository: { path: join(dir, 'repo'), password: { file: join(dir, 'pw') } },
});

function workspace(): { dir: string; spec: ClusterSpec } {
  const dir = testDir('lifeboat-activities-');
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'server.properties'), 'broker.id=1\nlog.dirs=/tmp/x\n');
  writeFileSync(join(dir, 'pw'), 'a password for the unit test\n');
  return { dir, spec: rawSpec(dir) as unknown as ClusterSpec };
}

/** Runs `fn` in the mock environment, keeping its result type (MockActivityEnvironment.run infers unknown). */
const inEnv = <T>(env: MockActivityEnvironment, fn: () => Promise<T>): Promise<T> => env.run(fn) as Promise<T>;

const failureOf = async (p: Promise<unknown>): Promise<ApplicationFailure> => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ApplicationFailure);
  return e as ApplicationFailure;
};

describe('activity boundary', () => {
  it('validates the spec before the body runs: InvalidSpec, non-retryable, naming the field', async () => {
    let ran = false;
    const acts = allAtBoundary({ async step(_input: { spec: ClusterSpec }) { ran = true; return 1; } }, activityDeps());
    const bad = { ...rawSpec('/tmp'), kafka: { bootstrapServers: ['no-port'] } } as unknown as ClusterSpec;
    const f = await failureOf(new MockActivityEnvironment().run(acts.step, { spec: bad }));
    expect(ran).toBe(false);
    expect(f.type).toBe('InvalidSpec');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('invalid cluster spec (workflow input)');
    expect(f.message).toContain('kafka.bootstrapServers[0]: expected host:port');
    // The real activities too: a bad spec never reaches Kafka.
    const real = createActivities(activityDeps());
    expect((await failureOf(new MockActivityEnvironment().run(real.clusterHealthActivity, { spec: bad }))).type).toBe('InvalidSpec');
  });

  it('hands the body the spec as parsed (defaults filled in)', async () => {
    let seen: ClusterSpec | undefined;
    const acts = allAtBoundary({ async step(input: { spec: ClusterSpec }) { seen = input.spec; return 1; } }, activityDeps());
    await new MockActivityEnvironment().run(acts.step, { spec: rawSpec('/tmp') as unknown as ClusterSpec });
    expect(seen?.kafka.mode).toBe('zookeeper');
    expect(seen?.retention.keepLast).toBe(1);
  });

  it('a LifeboatError keeps its type, retryability and details; a BlobError is a non-retryable CorruptBackup; others pass as they are', async () => {
    const boom = new Error('transient');
    const acts = allAtBoundary(
      {
        async locked(_: object) { throw new LifeboatError('Locked', 'repository is locked', { lock: 'x' }); },
        async missing(_: object) { throw new LifeboatError('SnapshotNotFound', 'no snapshot abc'); },
        async blob(_: object) { throw new BlobError('ab'.repeat(32), 'cd'.repeat(32), 'does not match its hash'); },
        async other(_: object) { throw boom; },
      },
      activityDeps(),
    );
    const env = new MockActivityEnvironment();
    const locked = await failureOf(env.run(acts.locked, {}));
    expect([locked.type, locked.nonRetryable, locked.message, locked.details]).toEqual(['Locked', false, 'repository is locked', [{ lock: 'x' }]]);
    const missing = await failureOf(env.run(acts.missing, {}));
    expect([missing.type, missing.nonRetryable]).toEqual(['SnapshotNotFound', true]);
    const blob = await failureOf(env.run(acts.blob, {}));
    expect([blob.type, blob.nonRetryable]).toEqual(['CorruptBackup', true]);
    expect(blob.message).toBe(`chunk ${'ab'.repeat(6)} in pack ${'cd'.repeat(6)} does not match its hash`);
    await expect(env.run(acts.other, {})).rejects.toBe(boom);
    expect(acts.locked.name).toBe('locked');
  });

  it('resolveClusterSpecActivity: the spec and its source by name; an unknown name fails at once naming the known ones', async () => {
    const { dir } = workspace();
    writeFileSync(join(dir, 'unit.yaml'), stringify(rawSpec(dir)));
    const acts = createActivities(activityDeps({ specs: loadSpecCatalog({ dir }) }));
    const env = new MockActivityEnvironment();
    const r = await inEnv(env, () => acts.resolveClusterSpecActivity({ cluster: 'unit' }));
    expect(r.spec.name).toBe('unit');
    expect(r.source).toMatchObject({ name: 'unit', file: join(dir, 'unit.yaml') });
    expect(r.source.digest).toMatch(/^[0-9a-f]{64}$/);
    const f = await failureOf(env.run(acts.resolveClusterSpecActivity, { cluster: 'nope' }));
    expect([f.type, f.nonRetryable]).toEqual(['InvalidInput', true]);
    expect(f.message).toBe('unknown cluster "nope": this worker knows "unit" (start it with --spec <file> or --specs-dir <dir> to add one)');
  });

  it('activities open repositories through the worker session: one unlock for many calls, also inside src/ code', async () => {
    const { spec } = workspace();
    const repositories = new RepositorySessions();
    const acts = createActivities(activityDeps({ repositories }));
    const env = new MockActivityEnvironment();
    const set = { setId: 's1', tier: 'daily' as const, parts: ['configs:1'] };
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const first = await inEnv(env, () => acts.backupPartActivity({ spec, set, part: 'configs:1' }));
    expect(first.reused).toBe(false);
    const again = await inEnv(env, () => acts.backupPartActivity({ spec, set, part: 'configs:1' }));
    expect(again).toMatchObject({ reused: true, snapshot: first.snapshot });
    const sets = await inEnv(env, () => acts.listBackupSetsActivity({ spec }));
    expect(sets.map((s) => s.setId)).toEqual(['s1']);
    // A src/ function that opens by spec, run inside an activity of these deps, uses the same session.
    const inner = allAtBoundary({ async open(input: { spec: ClusterSpec }) { (await openRepositoryForSpec(input.spec)).close(); return 1; } }, activityDeps({ repositories }));
    await env.run(inner.open, { spec });
    const [session] = repositories.all();
    expect(repositories.all()).toHaveLength(1);
    // The first part created the repository (init opens it itself); the three calls after it opened through the session.
    expect(session!.stats).toMatchObject({ unlocks: 1, opens: 3 });
    // Heartbeats are typed Progress.
    expect(beats.length).toBeGreaterThan(0);
    for (const b of beats) expect(parseProgress(b), JSON.stringify(b)).toBeDefined();
    expect(beats[0]).toEqual({ phase: 'backup configs:1' });
  });
});
