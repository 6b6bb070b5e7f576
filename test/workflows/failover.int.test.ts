/**
 * The failover workflow on the lab, through a real worker: a healthy primary with an alert stands
 * down (not confirmed, nothing changed); one primary broker stopped is repaired in place (started
 * again), no failover; a dry run of a primary nobody answers for plans with its decision and
 * changes nothing; a run waiting for approval stands down on a resolved alert (after escalating at
 * its approval timeout); the two-person rule: the same approver twice does not pass, two different
 * people do (approved with `lifeboat approve`, the way operators do); an auto-approved failover to
 * a standby with a running mirror (left read-only for applications by an earlier cut-over): the mirror
 * stopped, the old primary fenced, the standby's write fence lifted, its service registry
 * read-only while the clients switch (an instance's registration refused by ZooKeeper) and open again
 * after, verified, with RTO and its parts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { WorkflowHandle } from '@temporalio/client';
import { brokerRunning, startBroker, stopBroker } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import type { ClusterSpec } from '../../src/config/spec';
import { failoverWorkflowId } from '../../src/failover/ids.pure';
import { promotionHeld, releasePromotion } from '../../src/failover/promotion';
import type { FailoverStatus } from '../../src/failover/run.pure';
import type { AlertEvent, FailoverInput } from '../../src/failover/types';
import { waitForBrokerInIsr } from '../../src/kafka/cluster';
import { TASK_QUEUE } from '../../src/temporal/connection';
import { connectTemporal, type TemporalClient } from '../../src/temporal/runs';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { ACL, create, getACL, getChildren, Id, Permission, remove, withZk } from '../../src/zookeeper/client';
import type { FailoverResult } from '../../workflows/failover';
import type { RunStatus } from '../../workflows/support/tracker';
import { forgetPositions } from '../../src/kafka/mirror/state';
import { MIRROR_STATUS_QUERY, mirrorPair, type MirrorStatus, mirrorWorkflowId } from '../../src/kafka/mirrorRun.pure';
import { kafkaFor } from '../../src/kafka/client';
import { startRun } from '../../src/temporal/runs';
import { lifeboat } from '../support/cli';
import { createTopicsReady } from '../support/kafka';
import { cleanUp } from '../support/migration';
import { fenceWrites } from '../../src/migration/fence';
import { appWrite, primarySpec, standbySpec, topo, unique } from '../support/lab';

const primary = primarySpec();
const standby = standbySpec();
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-failover-'));
/** Quick confirmation: two probes a second apart. */
const fast = { confirmProbes: 2, confirmIntervalSeconds: 1 };
const chroots: string[] = [];
let t: TemporalClient;
let workers: RunningWorkers;
let running: Promise<void>;

/**
 * A primary nobody answers for: brokers on unused ports, on a host whose queue this test's worker
 * serves (its log dirs do not exist). ZooKeeper: unused too, or (`zk`) the lab's under a chroot of
 * its own, so a fence through ZooKeeper writes only there.
 */
function unreachable(zk: boolean, name = unique('unreach')): ClusterSpec {
  const chroot = `/${unique(`fo-${name}`)}`;
  if (zk) chroots.push(chroot);
  return {
    ...primary,
    name,
    kafka: { ...primary.kafka, bootstrapServers: ['127.0.0.1:1', '127.0.0.1:3'] },
    zookeeper: zk ? { ...primary.zookeeper!, chroot } : { ...primary.zookeeper!, connect: '127.0.0.1:2' },
    brokers: [1, 2].map((id) => ({ id, host: 'failover-test-host', listener: `127.0.0.1:${id === 1 ? 1 : 3}`, logDirs: [join(dir, name, `b${id}`)], configDir: join(dir, name, `c${id}`), control: { type: 'systemd' as const, unit: `kafka-${name}-${id}` } })),
    repository: undefined,
    offsiteRepository: undefined,
    standby: standby.name,
  } as ClusterSpec;
}

function alertFor(cluster: string, incident: string): AlertEvent {
  const now = new Date().toISOString();
  return { source: 'generic', cluster, incident, status: 'firing', alertname: 'KafkaDown', labels: { lifeboat_action: 'failover', lifeboat_cluster: cluster }, annotations: {}, startsAt: now, receivedAt: now, fingerprint: incident };
}

/** Starts it as the alert receiver does: SignalWithStart with the alert as input and as signal. */
async function startByAlert(input: FailoverInput & { alert: AlertEvent }): Promise<WorkflowHandle> {
  return t.client.workflow.signalWithStart('failover', {
    workflowId: failoverWorkflowId(input.alert.cluster, input.alert.incident),
    taskQueue: TASK_QUEUE,
    args: [input],
    signal: 'failoverAlert',
    signalArgs: [input.alert],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const stepStatus = (r: FailoverResult, name: string) => r.report.steps.find((s) => s.name === name)?.status;
const CHANGING = ['stop-mirror', 'fence', 'divergence', 'groups', 'lift-fence', 'degrade', 'hooks', 'verify', 'lift-degradation'];

beforeAll(async () => {
  t = await connectTemporal();
  workers = await createWorkers({ settings: t.settings, hosts: [...primary.brokers.map((b) => b.host), 'failover-test-host'] });
  running = workers.run();
});

afterAll(async () => {
  workers?.shutdown();
  await running;
  await t?.close();
  const deleteTree = async (c: Parameters<typeof remove>[0], path: string): Promise<void> => {
    for (const child of await getChildren(c, path).catch(() => [] as string[])) await deleteTree(c, `${path}/${child}`);
    await remove(c, path).catch(() => undefined);
  };
  for (const chroot of chroots) await withZk(primary.zookeeper!.connect, (c) => deleteTree(c, chroot)).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('failover workflow', () => {
  it('a healthy primary with an alert: stood down, not confirmed, nothing changed; the duplicate alert of SignalWithStart counted once', { timeout: 120_000 }, async () => {
    const alert = alertFor(primary.name, unique('healthy'));
    const handle = await startByAlert({ primary: { spec: primary }, standby: { spec: standby }, alert, policy: fast });
    const r = (await handle.result()) as FailoverResult;
    expect(r.status.outcome).toBe('stood down');
    expect(r.status.reason).toMatch(/^not confirmed: the cluster is healthy in all 2 probe/);
    expect(r.report.outcome).toBe('succeeded');
    expect(r.status.alerts.count).toBe(1);
    expect(r.status.probes).toHaveLength(2);
    for (const p of r.status.probes) expect(p).toMatchObject({ reachable: true, brokersUp: 3, brokersTotal: 3, offline: 0 });
    expect(r.status.branches[0]!.answer).toBe('no: every probe found the cluster healthy');
    expect(r.status.pointOfNoReturn).toBe(false);
    expect(stepStatus(r, 'confirm')).toBe('done');
    expect(stepStatus(r, 'decide')).toBe('done');
    for (const s of ['repair', 'assess', 'approve', ...CHANGING]) expect(stepStatus(r, s), s).toBe('skipped');
    expect(r.status.degradation.level).toBe(0);
  });

  it('one primary broker stopped: repaired in place (started again), no failover', { timeout: 170_000 }, async () => {
    const b3 = findBroker(topo, 'primary', 3);
    await stopBroker(topo, b3);
    try {
      expect(brokerRunning(topo, b3)).toBe(false);
      const alert = alertFor(primary.name, unique('broker-down'));
      const handle = await startByAlert({ primary: { spec: primary }, standby: { spec: standby }, alert, policy: fast });
      const r = (await handle.result()) as FailoverResult;
      expect(r.status.outcome, JSON.stringify(r.status.branches)).toBe('repaired in place');
      expect(r.status.reason).toMatch(/^repaired in place, no failover: /);
      expect(r.status.repair).toMatchObject({ ok: true });
      expect(r.status.repair!.tried).toMatch(/of broker 3$/);
      expect(brokerRunning(topo, b3)).toBe(true);
      // Confirmed twice: before the repair (a problem in both probes) and after it (healthy in both).
      expect(r.status.probes).toHaveLength(4);
      expect(r.status.probes[0]!.brokersUp).toBe(2);
      expect(r.status.probes[3]!.brokersUp).toBe(3);
      expect(r.report.steps.find((s) => s.name === 'confirm')?.attempts).toHaveLength(1);
      expect(stepStatus(r, 'repair')).toBe('done');
      for (const s of ['approve', ...CHANGING]) expect(stepStatus(r, s), s).toBe('skipped');
      expect(r.report.outcome).toBe('succeeded');
      expect(r.status.pointOfNoReturn).toBe(false);
    } finally {
      await startBroker(topo, b3);
      await waitForBrokerInIsr(primary, 3, { timeoutMs: 150_000 });
    }
  });

  it('a dry run of a primary nobody answers for: a plan with its decision, nothing changed', { timeout: 120_000 }, async () => {
    const spec = unreachable(false);
    const workflowId = failoverWorkflowId(spec.name, 'manual-dry');
    const r = (await t.client.workflow.execute('failover', { workflowId, taskQueue: TASK_QUEUE, args: [{ primary: { spec }, standby: { spec: standby }, dryRun: true, policy: fast }] })) as FailoverResult;
    expect(r.report.outcome).toBe('planned');
    expect(r.status.outcome).toBe('planned');
    expect(r.status.severity).toBe('P0');
    expect(r.status.decision).toBeDefined();
    expect(r.status.reason).toMatch(/^would /);
    expect(r.status.branches.length).toBeGreaterThanOrEqual(3);
    expect(r.status.probes.every((p) => !p.reachable && p.brokersUp === 0)).toBe(true);
    expect(r.status.standby).toBe(standby.name);
    expect(r.status.standbyObservation?.mirror.running).toBe(false);
    for (const s of CHANGING) expect(stepStatus(r, s), s).toBe('skipped');
    expect(r.status.pointOfNoReturn).toBe(false);
    expect(r.observations.probes).toHaveLength(2);
  });

  it('lifeboat failover start --dry-run --follow by spec files, then lifeboat failover status: the plan, exit 0', { timeout: 120_000 }, async () => {
    const spec = unreachable(false);
    const file = join(dir, `${spec.name}.yaml`);
    writeFileSync(file, stringify(JSON.parse(JSON.stringify({ ...spec, policy: undefined, failover: { confirmProbes: 2, confirmIntervalSeconds: 1 } }))));
    const standbyFile = join(dir, 'standby.yaml');
    writeFileSync(standbyFile, stringify(JSON.parse(JSON.stringify(standby))));
    const r = await lifeboat('failover', 'start', '--spec', file, '--standby-spec', standbyFile, '--dry-run', '--follow', '--json', '--incident', 'cli-dry');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as FailoverResult;
    expect(out.status).toMatchObject({ workflowId: `failover-${spec.name}-cli-dry`, outcome: 'planned', dryRun: true, severity: 'P0' });
    const s = await lifeboat('failover', 'status', `failover-${spec.name}-cli-dry`);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain(`failover-${spec.name}-cli-dry: planned (dry run), ${spec.name} → ${standby.name}`);
    expect(s.stdout).toContain('severity: P0; decision: ');
    expect(s.stdout.trim().endsWith('(completed)')).toBe(true);
  });

  it('waiting for approval: escalated at the timeout, then a resolved alert stands it down', { timeout: 150_000 }, async () => {
    const spec = unreachable(false);
    const alert = alertFor(spec.name, unique('resolved'));
    const handle = await startByAlert({ primary: { spec }, standby: { spec: standby }, alert, policy: { ...fast, repairBudgetMinutes: 0, approvalTimeoutMinutes: 0.05, onApprovalTimeout: 'escalate' } });
    const st = await until('the approval wait to escalate', () => handle.query<RunStatus>('status'), (s) => (s.awaitingApproval?.escalations ?? 0) >= 1);
    expect(st.step).toBe('escalated');
    expect(st.awaitingApproval?.safeDefault).toBe('escalate');
    expect(st.problems.some((p) => /no approval for "approve" within .* escalated \(1×\), still waiting/.test(p))).toBe(true);
    const status = await handle.query<FailoverStatus>('failoverStatus');
    expect(status.phase).toBe('awaiting-approval');
    await handle.signal('failoverResolved', { ...alert, status: 'resolved', receivedAt: new Date().toISOString() });
    const r = (await handle.result()) as FailoverResult;
    expect(r.status.outcome).toBe('stood down');
    expect(r.status.reason).toMatch(/^the alert was resolved at .*: stood down before anything changed$/);
    expect(r.status.resolved?.effect).toBe('stood down');
    expect(r.report.outcome).toBe('succeeded');
    for (const s of CHANGING) expect(stepStatus(r, s), s).toBe('skipped');
    expect(r.status.pointOfNoReturn).toBe(false);
  });

  it('the two-person rule: the same approver twice does not pass, two different people do', { timeout: 170_000 }, async () => {
    const spec = unreachable(true);
    const alert = alertFor(spec.name, unique('two-person'));
    const handle = await startByAlert({ primary: { spec }, standby: { spec: standby }, alert, policy: { ...fast, repairBudgetMinutes: 0, approvers: 2, degradationLevel: 0 } });
    const id = handle.workflowId;
    try {
      await until('the approval wait', () => handle.query<RunStatus>('status'), (s) => s.awaitingApproval !== undefined);
      const first = await lifeboat('approve', id, '--by', 'alice');
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout.trim()).toBe(`approved "approve" of ${id} as alice; 1 more approver needed`);
      const again = await lifeboat('approve', id, '--by', 'alice');
      expect(again.code).toBe(2);
      expect(again.stderr.trim()).toBe(`lifeboat: ${id}: alice has already approved "approve": it needs 2 different approvers (1 more)`);
      const waiting = await handle.query<RunStatus>('status');
      expect(waiting.awaitingApproval?.approvers).toEqual({ needed: 2, approvedBy: ['alice'] });
      const second = await lifeboat('approve', id, '--by', 'bob');
      expect(second.code, second.stderr).toBe(0);
      const r = (await handle.result()) as FailoverResult;
      expect(r.status.approval).toMatchObject({ needed: 2, approvedBy: ['alice', 'bob'], auto: false });
      expect(r.report.steps.find((s) => s.name === 'approve')?.detail).toBe('approved by alice and bob');
      // Past the gate it promoted: the mirror (none for this pair) and the fence attempted.
      expect(r.status.pointOfNoReturn).toBe(true);
      expect(r.status.mirror?.stopped).toBe('not running');
      expect(await promotionHeld(t.client, spec.name)).toMatchObject({ holder: id, standby: standby.name });
    } finally {
      await releasePromotion(t.client, spec.name, { by: 'test', reason: 'test cleanup' }).catch(() => undefined);
    }
  });

  it('auto-approved to a ready standby: the mirror stopped, fenced through ZooKeeper, clients switched, verified, RTO and its parts', { timeout: 170_000 }, async () => {
    // The lab primary's mirror into the standby runs; then a "primary" nobody answers for (its brokers
    // on unused ports, its ZooKeeper a scratch chroot) fails over onto it.
    const topic = unique('fo-ready');
    const mirrorId = mirrorWorkflowId(primary.name, standby.name);
    try {
      const kafka = kafkaFor(primary, 'fo-test');
      await createTopicsReady(primary, [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka });
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ partition: i % 2, value: `r${i}` })) });
      await producer.disconnect();
      await startRun(t.client, 'mirror', { workflowId: mirrorId, args: [{ source: { spec: primary }, target: { spec: standby }, selection: { topics: [topic] }, shards: 1, roundSeconds: 1 }] });
      const m = t.client.workflow.getHandle(mirrorId);
      await until('the mirror to catch up', () => m.query<MirrorStatus>(MIRROR_STATUS_QUERY), (s) => s.rounds >= 1 && s.totals.partitions === 2 && s.totals.lagRecords === 0);

      // The standby was left read-only for applications on the topic (as a cut-over away from it leaves it).
      const standbyFence = await fenceWrites(standby, [topic]);
      expect(await appWrite('standby', topic)).toMatch(/TOPIC_AUTHORIZATION_FAILED|not authorized/i);
      // Its service registry (Curator layout, in the lab's ZooKeeper) is held read-only while the clients switch.
      const registryRoot = `/${unique('fo-registry')}`;
      chroots.push(registryRoot);
      const services = `${registryRoot}/services`;
      const open = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
      await withZk(primary.zookeeper!.connect, async (c) => {
        await create(c, registryRoot, null, open);
        await create(c, services, null, open);
        await create(c, `${services}/orders-api`, null, open);
      });
      const gone: ClusterSpec = { ...unreachable(true, primary.name), registry: { curator: services } } as ClusterSpec;
      const bootstrapFile = join(dir, 'clients.properties');
      writeFileSync(bootstrapFile, `# the application's settings\nbootstrap.servers=${primary.kafka.bootstrapServers.join(',')}\n`);
      // A second hook: an instance tries to register while the clients switch (Kafka's own ZooKeeper shell).
      const registerLog = join(dir, 'register.log');
      const zkShell = `java -cp '${join(topo.kafkaLibs, '*')}' org.apache.zookeeper.ZooKeeperMain -server ${primary.zookeeper!.connect} create ${services}/orders-api/instance-1 x`;
      const target: ClusterSpec = {
        ...standby,
        clientSwitch: [
          { type: 'bootstrap-file', path: bootstrapFile, key: 'bootstrap.servers' },
          { type: 'command', command: ['sh', '-c', `[ "$LIFEBOAT_DRY_RUN" = 1 ] || ${zkShell} >> ${registerLog} 2>&1; true`], timeoutSeconds: 60 },
        ],
      } as ClusterSpec;
      const alert = alertFor(primary.name, unique('ready'));
      const handle = await startByAlert({ primary: { spec: gone }, standby: { spec: target }, alert, autoApprove: true, policy: { ...fast, repairBudgetMinutes: 0, degradationLevel: 1 } });
      const r = (await handle.result()) as FailoverResult;
      // Degraded to read-only for the switch: the registration was refused, and lifted after it.
      expect(stepStatus(r, 'degrade'), r.report.steps.find((x) => x.name === 'degrade')?.detail).toBe('done');
      expect(stepStatus(r, 'lift-degradation'), r.report.steps.find((x) => x.name === 'lift-degradation')?.detail).toBe('done');
      expect(readFileSync(registerLog, 'utf8')).toMatch(/Insufficient permission|NoAuth/i);
      expect(r.status.degradation.level).toBe(0);
      await withZk(primary.zookeeper!.connect, async (c) => {
        expect((await getACL(c, `${services}/orders-api`)).acl.map((a) => [(a as unknown as { permission: number }).permission, a.id.scheme, a.id.id])).toEqual([[Permission.ALL, 'world', 'anyone']]);
        await create(c, `${services}/orders-api/instance-2`, null, open);
      });
      expect(r.status.decision?.action, r.status.decision?.reason).toBe('failover');
      expect(r.status.outcome, r.report.problems.join('; ')).toBe('failed over');
      expect(r.status.approval).toMatchObject({ auto: true });
      // Stopped by its signal, or cancelled 3 s later (this primary answers no probe) on a slow machine.
      expect(r.status.mirror?.workflowId).toBe(mirrorId);
      expect(['stopped', 'cancel requested']).toContain(r.status.mirror?.stopped);
      expect(['COMPLETED', 'CANCELED']).toContain((await m.describe()).status.name);
      expect(r.status.pointOfNoReturn).toBe(true);
      expect(r.status.fence).toMatchObject({ fenced: true });
      expect(r.status.fence!.how).toMatch(/ZooKeeper/);
      expect(readFileSync(bootstrapFile, 'utf8')).toContain(`bootstrap.servers=${standby.kafka.bootstrapServers.join(',')}`);
      expect(r.status.hooks).toHaveLength(2);
      // The standby takes the applications' writes: the fence lifted, exactly its ACLs.
      expect(r.status.standbyFence).toEqual({ topics: [topic], acls: standbyFence.acls.length });
      expect(await appWrite('standby', topic)).toBe('accepted');
      expect(r.report.checks.find((c) => c.subject === `produce/consume probe on ${standby.name}`)?.ok).toBe(true);
      // RTO: alert received → the probe's records consumed on the standby; its parts add up to it.
      expect(r.status.rtoMs).toBeGreaterThan(0);
      const parts = r.status.rtoParts;
      const sum = (parts.confirm ?? 0) + (parts.decide ?? 0) + (parts.approve ?? 0) + (parts.promote ?? 0) + (parts.switch ?? 0) + (parts.verify ?? 0);
      expect(Math.abs(sum - r.status.rtoMs!)).toBeLessThanOrEqual(1000);
      expect(r.report.rtoMs).toBe(r.status.rtoMs);

      // The promotion is held until a failback: a later incident of the same outage (another alert
      // group) stands down at it; nothing is stopped, fenced, moved or switched a second time.
      expect(await promotionHeld(t.client, primary.name)).toMatchObject({ primary: primary.name, standby: standby.name, holder: handle.workflowId });
      const switched = readFileSync(bootstrapFile, 'utf8');
      const again = await startByAlert({ primary: { spec: gone }, standby: { spec: target }, alert: alertFor(primary.name, unique('again')), autoApprove: true, policy: { ...fast, repairBudgetMinutes: 0, degradationLevel: 1 } });
      const r2 = (await again.result()) as FailoverResult;
      expect(r2.status.decision?.action, r2.status.decision?.reason).toBe('failover');
      expect(r2.status.outcome, r2.status.reason).toBe('stood down');
      expect(r2.status.reason).toContain(`failed over to ${standby.name} by ${handle.workflowId}`);
      expect(r2.status.pointOfNoReturn).toBe(false);
      for (const step of ['stop-mirror', 'fence', 'groups', 'hooks']) expect(stepStatus(r2, step), step).toBe('skipped');
      expect(r2.status.hooks ?? []).toHaveLength(0);
      expect(readFileSync(bootstrapFile, 'utf8')).toBe(switched);
      // Released by hand (the failover was undone by hand): the dry run shows it, the release ends it.
      const dry = await lifeboat('failover', 'release', '--cluster', primary.name, '--dry-run', '--json');
      expect(dry.code, dry.stderr).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({ held: true, dryRun: true, holderRuns: false, hold: { holder: handle.workflowId } });
      expect(await promotionHeld(t.client, primary.name)).toBeDefined();
      const rel = await lifeboat('failover', 'release', '--cluster', primary.name, '--by', 'test', '--json');
      expect(rel.code, rel.stderr).toBe(0);
      expect(JSON.parse(rel.stdout)).toMatchObject({ held: false, released: true, hold: { holder: handle.workflowId } });
      expect(await promotionHeld(t.client, primary.name)).toBeUndefined();
    } finally {
      await releasePromotion(t.client, primary.name, { by: 'test', reason: 'test cleanup' }).catch(() => undefined);
      await t.client.workflow.getHandle(mirrorId).terminate('test cleanup').catch(() => undefined);
      await cleanUp(primary, standby, [topic], []);
      await forgetPositions(kafkaFor(standby, 'fo-cleanup'), mirrorPair(primary.name, standby.name), topic, 2).catch(() => undefined);
    }
  });
});
