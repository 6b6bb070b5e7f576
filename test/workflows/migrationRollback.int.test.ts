/**
 * Online migration's bad input and rollback on the lab (primary → next): the same cluster, a target
 * topic with other partitions, a group active on the target — each one line and nothing started or
 * changed; a hook that fails after the fence — rolled back: the hook that ran reverted, the fence
 * removed (the application writes again, the topic's ACLs as before), the report says what was put
 * back; a rollback asked for at the approval gate; the target unreachable mid-run (stopped while the
 * run waits for approval): the drain times out, rolled back, the source writable (cause Unreachable).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ClusterSpec } from '../../src/config/spec';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { MIGRATION_STATUS_QUERY, type MigrationStatus } from '../../src/migration/onlineRun.pure';
import { connectTemporal, startRun, type TemporalClient } from '../../src/temporal/runs';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import type { RunStatus } from '../../workflows/support/tracker';
import { startBroker, stopBroker } from '../../lab/lab';
import { findCluster } from '../../lab/topology';
import { lifeboat } from '../support/cli';
import { createTopicsReady } from '../support/kafka';
import { fencePrimary, unfencePrimary } from '../../src/failover/data/fence';
import { appKafka, appWrite, nextSpec, primarySpec, topo, unique } from '../support/lab';
import { appProducer, cleanUp, topicAcls } from '../support/migration';

const source = primarySpec();
const sourceFile = findCluster(topo, 'primary').specFile;
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-migration-bad-'));
const bootstrapFile = join(dir, 'app.properties');
/** next whose second hook fails for real (its dry run passes): the first one must be reverted. */
const failing: ClusterSpec = {
  ...nextSpec(),
  clientSwitch: [
    { type: 'bootstrap-file', path: bootstrapFile, key: 'bootstrap.servers' },
    { type: 'command', command: ['sh', '-c', '[ "$LIFEBOAT_DRY_RUN" = 1 ] || [ "$LIFEBOAT_REVERT" = 1 ] || { echo "service registry refused the switch" >&2; exit 3; }'], timeoutSeconds: 30 },
  ],
} as ClusterSpec;
const failingFile = join(dir, 'next-failing-hook.yaml');
writeFileSync(failingFile, stringify(failing));
const target = nextSpec();
const topics: string[] = [];
const groups: string[] = [];
let t: TemporalClient;
let workers: RunningWorkers;
let running: Promise<void>;

beforeAll(async () => {
  t = await connectTemporal();
  workers = await createWorkers({ settings: t.settings });
  running = workers.run();
});
afterAll(async () => {
  workers?.shutdown();
  await running;
  await cleanUp(source, target, topics, groups);
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const notStarted = (id: string) =>
  t.client.workflow
    .getHandle(id)
    .describe()
    .then(
      () => 'exists',
      (e: unknown) => (e instanceof WorkflowNotFoundError ? 'not found' : String(e)),
    );

async function topicWithRecords(partitions: number, records: number): Promise<string> {
  const topic = unique('mig-bad');
  topics.push(topic);
  const kafka = kafkaFor(source, 'mig-test');
  await createTopicsReady(source, [{ topic, numPartitions: partitions, replicationFactor: 3 }], { kafka });
  const p = kafka.producer({ idempotent: true });
  await p.connect();
  await p.send({ topic, messages: Array.from({ length: records }, (_, i) => ({ partition: i % partitions, value: `seq-${i}`, headers: { seq: String(i) } })) });
  await p.disconnect();
  return topic;
}

describe('online migration: bad input and rollback', () => {
  it('the same cluster: one line, exit 2, nothing started', async () => {
    const r = await lifeboat('migrate', '--spec', sourceFile, '--target-spec', sourceFile, '--topics', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`lifeboat: source and target are the same cluster (${source.name}): a migration needs two clusters`);
    expect(await notStarted(`migrate-${source.name}-to-${source.name}`)).toBe('not found');
  });

  it('a target topic with other partitions: refused by the pre-checks in one line, the source untouched', { timeout: 120_000 }, async () => {
    const topic = await topicWithRecords(2, 10);
    await createTopicsReady(target, [{ topic, numPartitions: 3, replicationFactor: 1 }], { kafka: kafkaFor(target, 'mig-test') });
    const r = await lifeboat('migrate', '--spec', sourceFile, '--target-spec', topo.kraft.specFile, '--topics', topic, '--yes', '--skip-backup');
    expect(r.code, r.stdout).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('lifeboat:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('refused');
    expect(lines[0]).toContain(topic);
    expect(await topicAcls(source, topic)).toEqual([]);
  });

  it('a group active on the target: refused in one line naming it, the source untouched', { timeout: 120_000 }, async () => {
    const topic = await topicWithRecords(2, 10);
    const group = unique('mig-active');
    groups.push(group);
    await commitGroupOffsets(kafkaFor(source, 'mig-test'), group, [{ topic, partitions: [{ partition: 0, offset: 2 }, { partition: 1, offset: 3 }] }]);
    // A member of the group on next (subscribed to a topic there, so the group is Stable).
    const busy = unique('mig-busy');
    topics.push(busy);
    await createTopicsReady(target, [{ topic: busy, numPartitions: 1, replicationFactor: 1 }], { kafka: kafkaFor(target, 'mig-test') });
    const consumer = appKafka('next', 'mig-app').consumer({ groupId: group });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: busy });
      await consumer.run({ eachMessage: async () => {} });
      const end = Date.now() + 30_000;
      for (;;) {
        const d = await withAdmin(kafkaFor(target, 'mig-test'), target.name, (a) => a.describeGroups([group]));
        if (d.groups[0]?.members.length) break;
        if (Date.now() > end) throw new Error('the consumer never joined');
        await new Promise((r) => setTimeout(r, 300));
      }
      const r = await lifeboat('migrate', '--spec', sourceFile, '--target-spec', topo.kraft.specFile, '--topics', topic, '--yes', '--skip-backup');
      expect([2, 15]).toContain(r.code);
      const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('lifeboat:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(group);
      expect(await topicAcls(source, topic)).toEqual([]);
    } finally {
      await consumer.disconnect();
    }
  });

  it('a hook failing after the fence: rolled back — hook reverted, fence removed, the application writes again, ACLs as before', { timeout: 240_000 }, async () => {
    const topic = await topicWithRecords(2, 200);
    const before = `# app\nbootstrap.servers=${source.kafka.bootstrapServers.join(',')}\n`;
    writeFileSync(bootstrapFile, before);
    const aclsBefore = await topicAcls(source, topic);
    const app = appProducer('primary', topic, 2, 1000);
    const r = await lifeboat('migrate', '--spec', sourceFile, '--target-spec', failingFile, '--topics', topic, '--yes', '--skip-backup', '--json');
    await app.stop();
    expect(r.code, r.stderr).toBe(19);
    const out = JSON.parse(r.stdout) as { status: MigrationStatus; report: { outcome: string; steps: { name: string; status: string }[]; problems: string[] } };
    expect(out.report.outcome).toBe('failed');
    expect(out.status.phase).toBe('rolled-back');
    expect(out.status.cause).toMatchObject({ type: 'HookFailed', message: expect.stringContaining('client-switch hook #2 (command) failed') });
    expect(out.status.sourceLeft).toBe('writable');
    expect(out.status.rollback?.notPutBack).toEqual([]);
    expect(out.status.rollback?.putBack.join('\n')).toMatch(/client-switch hook #1 \(bootstrap-file\) reverted/);
    expect(out.status.rollback?.putBack.join('\n')).toMatch(new RegExp(`writes allowed again on ${source.name}`));
    expect(out.report.steps.find((s) => s.name === 'fence')?.status).toBe('done');
    expect(out.report.steps.find((s) => s.name === 'hooks')?.status).toBe('failed');
    // Put back: the file as it was, the ACLs as they were, the application writes again.
    expect(readFileSync(bootstrapFile, 'utf8')).toBe(before);
    expect(await topicAcls(source, topic)).toEqual(aclsBefore);
    const again = appProducer('primary', topic, 2, 5000);
    const end = Date.now() + 30_000;
    while (again.acked.length < 20 && again.refusedAt === undefined && Date.now() < end) await new Promise((res) => setTimeout(res, 200));
    await again.stop();
    expect(again.refusedAt).toBeUndefined();
    expect(again.acked.length).toBeGreaterThanOrEqual(20);
  });

  it('the target unreachable mid-run: the drain times out, rolled back, the source writable again, cause Unreachable', { timeout: 240_000 }, async () => {
    const topic = await topicWithRecords(2, 100);
    const workflowId = `migrate-${source.name}-to-${target.name}`;
    await startRun(t.client, 'migration', { workflowId, args: [{ source: { spec: source }, target: { spec: target }, selection: { topics: [topic] }, skipBackup: true, drainTimeoutSeconds: 15 }] });
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      const s = await t.client.workflow.getHandle(workflowId).query<RunStatus>('status').catch(() => undefined);
      if (s?.awaitingApproval) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const node = topo.kraft.brokers[0]!;
    await stopBroker(topo, node);
    try {
      const r = await lifeboat('migrate', 'status', workflowId);
      expect(r.code, r.stderr).toBe(0);
      const approve = await lifeboat('approve', workflowId, '--by', 'unreachable-test');
      expect(approve.code, approve.stderr).toBe(0);
      const handle = t.client.workflow.getHandle(workflowId);
      const result = (await handle.result()) as { status: MigrationStatus; report: { outcome: string } };
      expect(result.report.outcome).toBe('failed');
      expect(result.status.cause).toMatchObject({ type: 'Unreachable', message: expect.stringContaining('did not drain within 15 s') });
      expect(result.status.phase).toBe('rolled-back');
      expect(result.status.sourceLeft).toBe('writable');
      expect(result.status.rollback?.putBack.join('\n')).toMatch(new RegExp(`writes allowed again on ${source.name}`));
      expect(await topicAcls(source, topic)).toEqual([]);
      const app = appProducer('primary', topic, 2, 5000);
      const until = Date.now() + 30_000;
      while (app.acked.length < 20 && app.refusedAt === undefined && Date.now() < until) await new Promise((res) => setTimeout(res, 200));
      await app.stop();
      expect(app.refusedAt).toBeUndefined();
      const st = await lifeboat('migrate', 'status', workflowId);
      expect(st.stdout).toContain('did not drain within 15 s');
    } finally {
      await startBroker(topo, node);
    }
  });

  it('rolled back after the clients switched and wrote to the target: those records named as on the target only, never dropped', { timeout: 240_000 }, async () => {
    const topic = await topicWithRecords(2, 40);
    const hold = join(dir, 'hook-2.hold');
    writeFileSync(hold, 'held by the test\n');
    writeFileSync(bootstrapFile, `bootstrap.servers=${source.kafka.bootstrapServers.join(',')}\n`);
    // Hook #1 switches the clients; #2 holds while they write to the target, then fails: the cut-over rolls back.
    const holding: ClusterSpec = {
      ...nextSpec(),
      clientSwitch: [
        { type: 'bootstrap-file', path: bootstrapFile, key: 'bootstrap.servers' },
        { type: 'command', command: ['sh', '-c', `[ "$LIFEBOAT_DRY_RUN" = 1 ] || [ "$LIFEBOAT_REVERT" = 1 ] || { while [ -e '${hold}' ]; do sleep 0.1; done; echo "registry refused" >&2; exit 3; }`], timeoutSeconds: 120 },
      ],
    } as ClusterSpec;
    const workflowId = `migrate-${source.name}-to-${target.name}`;
    try {
      await startRun(t.client, 'migration', { workflowId, args: [{ source: { spec: source }, target: { spec: holding }, selection: { topics: [topic] }, skipBackup: true, autoApprove: true, shards: 1, roundSeconds: 1 }] });
      const handle = t.client.workflow.getHandle(workflowId);
      const end = Date.now() + 150_000;
      let s: MigrationStatus | undefined;
      while (Date.now() < end && (s?.hooks?.length ?? 0) < 1) {
        s = await handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(s?.hooks, 'hook #1 switched the clients').toHaveLength(1);
      // A switched client writes 7 records to partition 1 on the target.
      const p = appKafka('next', 'mig-switched').producer({ idempotent: true });
      await p.connect();
      await p.send({ topic, acks: -1, messages: Array.from({ length: 7 }, (_, i) => ({ partition: 1, value: `on-next-${i}` })) });
      await p.disconnect();
      rmSync(hold, { force: true });
      const until = Date.now() + 120_000;
      s = await handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY);
      while (Date.now() < until && s.phase !== 'rolled-back' && s.phase !== 'failed' && s.phase !== 'done') {
        await new Promise((res) => setTimeout(res, 300));
        s = await handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY);
      }
      // Rolled back, but not wholly: the clients' records are on next only, named exactly.
      expect(s.phase).toBe('failed');
      expect(s.cause).toMatchObject({ type: 'HookFailed' });
      expect(s.sourceLeft).toBe('writable');
      expect(s.rollback?.notPutBack).toEqual([expect.stringMatching(new RegExp(`^7 records written to ${target.name} after the clients switched \\(${topic}-1: 7 \\(offsets 20-26\\)\\) are on ${target.name} only`))]);
      expect(s.rollback?.putBack.join('\n')).toMatch(/client-switch hook #1 \(bootstrap-file\) reverted/);
      // Never dropped: still on next.
      const ends = await withAdmin(kafkaFor(target, 'mig-test'), target.name, (a) => a.fetchTopicOffsets(topic));
      expect(ends.find((o) => o.partition === 1)?.high).toBe('27');
    } finally {
      rmSync(hold, { force: true });
    }
  });

  it("a target fenced for applications (a failback's old primary): lifted for the hooks, put back by the rollback", { timeout: 240_000 }, async () => {
    const topic = await topicWithRecords(2, 20);
    // The target's copy of the topic exists and is fenced for applications, as a failed-over primary is.
    await createTopicsReady(target, [{ topic, numPartitions: 2, replicationFactor: 1 }], { kafka: kafkaFor(target, 'mig-test') });
    const targetFence = await fencePrimary(target, [topic]);
    expect(await appWrite('next', topic)).toMatch(/not authorized|TOPIC_AUTHORIZATION_FAILED/i);
    writeFileSync(bootstrapFile, `bootstrap.servers=${source.kafka.bootstrapServers.join(',')}\n`);
    const workflowId = `migrate-${source.name}-to-${target.name}`;
    await startRun(t.client, 'migration', { workflowId, args: [{ source: { spec: source }, target: { spec: failing }, selection: { topics: [topic] }, skipBackup: true, autoApprove: true, shards: 1, roundSeconds: 1, targetFence }] });
    const handle = t.client.workflow.getHandle(workflowId);
    const until = Date.now() + 150_000;
    let s = await handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY);
    while (Date.now() < until && s.phase !== 'rolled-back' && s.phase !== 'failed' && s.phase !== 'done') {
      await new Promise((res) => setTimeout(res, 300));
      s = await handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY);
    }
    // Hook #2 failed after the fence was lifted and hook #1 ran: rolled back, the target fenced again, the source writable.
    expect(s.phase, JSON.stringify(s.rollback)).toBe('rolled-back');
    expect(s.targetFenceLiftedAt).toBeDefined();
    expect(s.targetFenceLeft).toBe('fenced');
    expect(s.rollback?.putBack.join('\n')).toMatch(new RegExp(`${target.name}'s write fence put back on 1 topics`));
    expect(await appWrite('next', topic)).toMatch(/not authorized|TOPIC_AUTHORIZATION_FAILED/i);
    expect(await appWrite('primary', topic)).toBe('accepted');
    await unfencePrimary(target, targetFence);
  });

  it('a topic the pattern takes, created after the pre-checks: the cut-over refuses before fencing, rolled back, the source writable', { timeout: 240_000 }, async () => {
    const prefix = unique('mig-late');
    const first = `${prefix}-a`;
    const late = `${prefix}-b`;
    topics.push(first, late);
    const kafka = kafkaFor(source, 'mig-test');
    await createTopicsReady(source, [{ topic: first, numPartitions: 2, replicationFactor: 3 }], { kafka });
    const workflowId = `migrate-${source.name}-to-${target.name}`;
    await startRun(t.client, 'migration', { workflowId, args: [{ source: { spec: source }, target: { spec: target }, selection: { pattern: `${prefix}-.*` }, skipBackup: true, shards: 1, roundSeconds: 1 }] });
    const handle = t.client.workflow.getHandle(workflowId);
    const end = Date.now() + 120_000;
    let gate: RunStatus | undefined;
    while (Date.now() < end && !gate?.awaitingApproval) {
      gate = await handle.query<RunStatus>('status').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(gate?.awaitingApproval, 'the migration waits at its gate').toBeDefined();
    expect((await handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY)).topics.map((x) => x.topic)).toEqual([first]);
    // An application creates a topic the pattern takes while the migration waits for its approval.
    await createTopicsReady(source, [{ topic: late, numPartitions: 1, replicationFactor: 3 }], { kafka });
    const ok = await lifeboat('approve', workflowId, '--by', 'late-topic-test');
    expect(ok.code, ok.stderr).toBe(0);
    const until = Date.now() + 120_000;
    let s = await handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY);
    while (Date.now() < until && s.phase !== 'rolled-back' && s.phase !== 'done' && s.phase !== 'failed') {
      await new Promise((res) => setTimeout(res, 300));
      s = await handle.query<MigrationStatus>(MIGRATION_STATUS_QUERY);
    }
    expect(s.phase).toBe('rolled-back');
    expect(s.cause).toMatchObject({ type: 'UnsafeTarget', message: expect.stringContaining(`1 topic(s) created on ${source.name} since the pre-checks match the selection: ${late}`) });
    expect(s.sourceLeft).toBe('writable');
    // Nothing was fenced: neither topic carries an ACL the migration made, and no client was switched.
    expect(await topicAcls(source, first)).toEqual([]);
    expect(await topicAcls(source, late)).toEqual([]);
    expect(s.hooks ?? []).toEqual([]);
  });

  it('rollback at the approval gate: nothing fenced, the mirror stopped, exit 0; status says rolled back', { timeout: 180_000 }, async () => {
    const topic = await topicWithRecords(2, 50);
    const workflowId = `migrate-${source.name}-to-${target.name}`;
    await startRun(t.client, 'migration', { workflowId, args: [{ source: { spec: source }, target: { spec: target }, selection: { topics: [topic] }, skipBackup: true }] });
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      const s = await t.client.workflow.getHandle(workflowId).query<RunStatus>('status').catch(() => undefined);
      if (s?.awaitingApproval) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const r = await lifeboat('migrate', 'rollback', '--spec', sourceFile, '--target-spec', topo.kraft.specFile, '--by', 'rollback-test', '--reason', 'changed our mind');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('rolled back (rollback-test: changed our mind)');
    expect(r.stdout).toMatch(/put back: mirror mirror-.* stopped/);
    const s = await t.client.workflow.getHandle(workflowId).query<MigrationStatus>(MIGRATION_STATUS_QUERY);
    expect(s.phase).toBe('rolled-back');
    expect(s.sourceLeft).toBe('writable');
    expect(await topicAcls(source, topic)).toEqual([]);
    const mirror = await t.client.workflow.getHandle(s.mirrorWorkflowId).describe();
    expect(mirror.status.name).toBe('COMPLETED');
    const st = await lifeboat('migrate', 'status', workflowId);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain('rolled-back');
  });
});
