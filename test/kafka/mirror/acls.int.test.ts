/**
 * ACLs mirrored with the topics (selection.acls), primary (ZooKeeper 3.9, AclAuthorizer) → next
 * (KRaft 4.1, StandardAuthorizer): LITERAL, PREFIXED and wildcard topic ACLs and the group ACLs of
 * groups with offsets on the topics, copied as they are (WRITE, ALL, DENY, hosts, PREFIXED kept);
 * a migration's write fence and ACLs of other topics and groups not; a second plan creates nothing;
 * new ACLs come with a later plan, removed ones stay; an application (User:app on the SASL listener)
 * on next is bound by them.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, type Admin, type Kafka, ResourcePatternTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../../src/kafka/client';
import { commitGroupOffsets } from '../../../src/kafka/groupOffsets';
import { type MirrorAcl, type MirrorAclPlan, mirrorShard, planMirror } from '../../../src/kafka/mirror';
import { readMirrorableAcls } from '../../../src/kafka/mirror/acls';
import { createWorkers } from '../../../src/temporal/worker';
import { connectTemporal, followRun, startRun } from '../../../src/temporal/runs';
import { MIRROR_STOP_SIGNAL } from '../../../src/kafka/mirrorRun.pure';
import { findCluster } from '../../../lab/topology';
import { lifeboat } from '../../support/cli';
import { appKafka, nextSpec, primarySpec, topo, unique } from '../../support/lab';
import { createTopicsReady } from '../../support/kafka';
import { produceNumbered, readTopic, seqs } from './mirrorSupport';

const primary = kafkaFor(primarySpec(), 'test-macl-src');
const next = kafkaFor(nextSpec(), 'test-macl-dst');
const pair = unique('acl-pair');
const lit = unique('acl-lit');
const prefix = `${unique('aclpre')}.`;
const pre = `${prefix}data`;
const other = unique('acl-other');
const fenced = unique('acl-fenced');
const group = unique('acl-grp');
const idleGroup = unique('acl-idle');
const x = `User:${unique('en')}`;
const topics = [lit, pre, other, fenced];

const acl = (resourceType: 'TOPIC' | 'GROUP', resourceName: string, patternType: 'LITERAL' | 'PREFIXED', principal: string, host: string, operation: string, permission: 'ALLOW' | 'DENY'): MirrorAcl => ({
  resourceType,
  resourceName,
  patternType,
  principal,
  host,
  operation,
  permission,
});
const wire = (a: MirrorAcl) => ({
  resourceType: AclResourceTypes[a.resourceType],
  resourceName: a.resourceName,
  resourcePatternType: ResourcePatternTypes[a.patternType],
  principal: a.principal,
  host: a.host,
  operation: AclOperationTypes[a.operation as keyof typeof AclOperationTypes],
  permissionType: AclPermissionTypes[a.permission],
});

const litAcls = [
  acl('TOPIC', lit, 'LITERAL', 'User:app', '*', 'READ', 'ALLOW'),
  acl('TOPIC', lit, 'LITERAL', 'User:app', '*', 'DESCRIBE', 'ALLOW'),
  acl('TOPIC', lit, 'LITERAL', 'User:app', '*', 'WRITE', 'DENY'),
  acl('TOPIC', lit, 'LITERAL', x, '10.1.2.3', 'WRITE', 'ALLOW'),
  acl('TOPIC', lit, 'LITERAL', x, '*', 'ALL', 'ALLOW'),
];
const preAcls = [acl('TOPIC', prefix, 'PREFIXED', 'User:app', '*', 'WRITE', 'ALLOW'), acl('TOPIC', prefix, 'PREFIXED', 'User:app', '*', 'READ', 'ALLOW')];
const groupAcls = [acl('GROUP', group, 'LITERAL', 'User:app', '*', 'READ', 'ALLOW'), acl('GROUP', group.slice(0, 8), 'PREFIXED', x, '*', 'DESCRIBE', 'DENY')];
// Not to be copied: another topic's, a prefix the topics do not start with, a group without offsets on them, the fence.
const otherAcls = [
  acl('TOPIC', other, 'LITERAL', x, '*', 'READ', 'ALLOW'),
  acl('TOPIC', unique('nomatch'), 'PREFIXED', x, '*', 'READ', 'ALLOW'),
  acl('GROUP', idleGroup, 'LITERAL', x, '*', 'READ', 'ALLOW'),
];
const fenceAcls = [acl('TOPIC', fenced, 'LITERAL', 'User:*', '*', 'WRITE', 'DENY'), acl('TOPIC', fenced, 'LITERAL', 'User:*', '*', 'ALL', 'ALLOW')];
const wildcard = acl('TOPIC', '*', 'LITERAL', x, '*', 'DESCRIBE', 'ALLOW');
const laterAcl = acl('TOPIC', lit, 'LITERAL', x, '*', 'DESCRIBE_CONFIGS', 'ALLOW');
const roundAcl = acl('TOPIC', fenced, 'LITERAL', x, '*', 'ALTER_CONFIGS', 'DENY');
const all = [...litAcls, ...preAcls, ...groupAcls, ...otherAcls, ...fenceAcls, laterAcl, roundAcl];

const k = (a: MirrorAcl) => JSON.stringify([a.resourceType, a.patternType, a.resourceName, a.principal, a.host, a.operation, a.permission]);
const strip = ({ action: _, ...a }: MirrorAclPlan): MirrorAcl => a;
const sorted = (as: MirrorAcl[]) => as.map(k).sort();

async function withAdmin<T>(kafka: Kafka, fn: (a: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** The ACLs of a cluster on this test's resources (other tests' ACLs left out). */
async function mine(kafka: Kafka): Promise<string[]> {
  const names = new Set(all.map((a) => a.resourceName));
  const acls = (await withAdmin(kafka, readMirrorableAcls)) ?? [];
  return sorted(acls.filter((a) => names.has(a.resourceName) || (a.resourceName === '*' && a.principal === x)));
}

const deleteAcls = (kafka: Kafka, as: MirrorAcl[]) => withAdmin(kafka, (a) => a.deleteAcls({ filters: as.map(wire) }));

/** Polls until `fn` holds (ACLs reach every broker's cache by notification). */
async function eventually(fn: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`still not so after 15 s: ${what}`);
}

beforeAll(async () => {
  await createTopicsReady(primarySpec(), topics.map((topic) => ({ topic, numPartitions: 2, replicationFactor: 3 })), { kafka: primary });
  await produceNumbered(primary, lit, 40, 2);
  await produceNumbered(primary, pre, 10, 2);
  await withAdmin(primary, async (a) => {
    await a.createAcls({ acl: [...litAcls, ...preAcls, ...groupAcls, ...otherAcls, ...fenceAcls].map(wire) });
  });
  // The group has offsets on the mirrored topic; the idle one has none anywhere.
  await commitGroupOffsets(primary, group, [{ topic: lit, partitions: [{ partition: 0, offset: 5 }] }]);
});

afterAll(async () => {
  for (const kafka of [primary, next]) {
    await deleteAcls(kafka, [...all, wildcard]).catch(() => {});
    await withAdmin(kafka, async (a) => {
      await a.deleteTopics({ topics }).catch(() => {});
      await a.deleteGroups([group]).catch(() => {});
    });
  }
});

describe('ACLs mirrored with the topics, primary → next', () => {
  it('copies every ACL binding the topics and their groups as it is, skips the fence and the rest; dry run creates nothing; idempotent', async () => {
    const sel = { topics: [lit, pre, fenced], acls: true };
    const dry = await planMirror(primarySpec(), nextSpec(), sel, { dryRun: true });
    const of = (t: string) => dry.find((p) => p.topic === t)!.acls!;
    // Other tests' ACLs may bind these topics too (a wildcard left behind): only this test's are compared.
    const own = (ps: MirrorAclPlan[]) => ps.filter((p) => all.some((a) => k(a) === k(strip(p))));
    expect(sorted(own(of(lit)).map(strip))).toEqual(sorted([...litAcls, ...groupAcls]));
    expect(own(of(lit)).every((p) => p.action === 'create')).toBe(true);
    expect(sorted(own(of(pre)).map(strip))).toEqual(sorted(preAcls));
    expect(own(of(fenced)).map((p) => [p.operation, p.permission, p.action]).sort()).toEqual([
      ['ALL', 'ALLOW', 'skipped'],
      ['WRITE', 'DENY', 'skipped'],
    ]);
    expect(await mine(next)).toEqual([]);

    const plan = await planMirror(primarySpec(), nextSpec(), sel);
    expect(plan.map((p) => [p.topic, p.action]).sort()).toEqual([lit, pre, fenced].map((t) => [t, 'create']).sort());
    // On next exactly: WRITE and ALL and DENY kept, the host kept, PREFIXED kept, the group's; no fence, nothing of the rest.
    expect(await mine(next)).toEqual(sorted([...litAcls, ...preAcls, ...groupAcls]));

    const again = await planMirror(primarySpec(), nextSpec(), sel);
    const actions = again.flatMap((p) => own(p.acls!)).map((p) => p.action);
    expect(actions.filter((a) => a === 'create')).toEqual([]);
    expect(actions.filter((a) => a === 'exists')).toHaveLength(litAcls.length + groupAcls.length + preAcls.length);
    expect(await mine(next)).toEqual(sorted([...litAcls, ...preAcls, ...groupAcls]));
  });

  it('binds the application on next: DENY WRITE refuses it, READ (topic and group) and the PREFIXED WRITE let it', async () => {
    await mirrorShard(primarySpec(), nextSpec(), pair, { topic: lit, partitions: [0, 1] }, { until: 'caught-up' });
    const app = appKafka('next', unique('app'));
    const producer = app.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      let refused: unknown;
      await eventually(async () => {
        refused = await producer.send({ topic: lit, messages: [{ value: 'denied' }] }).then(() => undefined, (e: unknown) => e);
        return refused !== undefined;
      }, `User:app refused writing ${lit}`);
      expect(String((refused as Error).message)).toMatch(/not authorized/i);
      // The PREFIXED ALLOW WRITE: the app writes the prefixed topic.
      await eventually(() => producer.send({ topic: pre, messages: [{ value: 'allowed' }] }).then(() => true, () => false), `User:app writes ${pre}`);
    } finally {
      await producer.disconnect();
    }
    // Nothing the app tried landed on lit: the target holds exactly the mirrored records.
    expect([...(await readTopic(next, lit)).values()].flatMap(seqs).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));

    const consumer = app.consumer({ groupId: group });
    const got: number[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: lit, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void got.push(Number(message.headers?.seq?.toString())) });
      await eventually(async () => got.length >= 40, `User:app reads 40 records of ${lit} in group ${group} (got ${got.length})`);
    } finally {
      await consumer.disconnect();
    }
    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('a wildcard ACL is copied; a new ACL comes with a later plan; one removed on the source stays on the target', async () => {
    const sel = { topics: [lit], acls: true };
    await withAdmin(primary, (a) => a.createAcls({ acl: [wire(wildcard), wire(laterAcl)] }));
    try {
      const plan = await planMirror(primarySpec(), nextSpec(), sel);
      const acts = new Map(plan[0]!.acls!.map((p) => [k(strip(p)), p.action]));
      expect(acts.get(k(wildcard))).toBe('create');
      expect(acts.get(k(laterAcl))).toBe('create');
      expect(acts.get(k(litAcls[0]!))).toBe('exists');
      expect(await mine(next)).toEqual(sorted([...litAcls, ...preAcls, ...groupAcls, wildcard, laterAcl]));
    } finally {
      // A wildcard binds every topic: it does not outlive this test on either cluster.
      await deleteAcls(primary, [wildcard]);
      await deleteAcls(next, [wildcard]);
    }
    await deleteAcls(primary, [litAcls[3]!]);
    const after = await planMirror(primarySpec(), nextSpec(), sel);
    expect(after[0]!.acls!.some((p) => k(strip(p)) === k(litAcls[3]!))).toBe(false);
    expect(await mine(next)).toContain(k(litAcls[3]!));
  });

  it('lifeboat mirror start --acls --dry-run lists each ACL with what the plan does with it; a running mirror copies an ACL added on the source', async () => {
    const t = await connectTemporal();
    const workers = await createWorkers({ settings: t.settings });
    const running = workers.run();
    try {
      const r = await lifeboat('mirror', 'start', '--spec', findCluster(topo, 'primary').specFile, '--target-spec', topo.kraft.specFile, '--topics', `${lit},${fenced}`, '--acls', '--dry-run');
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
      expect(lines).toContain(`acl exists DENY WRITE User:app@* on topic ${lit}`);
      expect(lines).toContain(`acl exists ALLOW ALL ${x}@* on topic ${lit}`);
      expect(lines).toContain(`acl exists ALLOW READ User:app@* on group ${group}`);
      expect(lines).toContain(`acl skipped DENY WRITE User:*@* on topic ${fenced} (a migration's write fence: never mirrored)`);

      // The mirror workflow plans every round: an ACL set on the source while it runs reaches the target
      // (on a topic no other pair copied: the workflow's pair is mirror-primary-to-next).
      const id = unique('mirror-acls');
      await startRun(t.client, 'mirror', { workflowId: id, args: [{ source: { spec: primarySpec() }, target: { spec: nextSpec() }, selection: { topics: [fenced], acls: true }, shards: 1, roundSeconds: 1 }] });
      try {
        await eventually(async () => (await t.client.workflow.getHandle(id).describe()).status.name === 'RUNNING', `${id} running`);
        await withAdmin(primary, (a) => a.createAcls({ acl: [wire(roundAcl)] }));
        for (let i = 0; i < 8 && !(await mine(next)).includes(k(roundAcl)); i++) await new Promise((r) => setTimeout(r, 2500));
        expect(await mine(next)).toContain(k(roundAcl));
        await t.client.workflow.getHandle(id).signal(MIRROR_STOP_SIGNAL, { by: 'test' });
        expect((await followRun<'mirror'>(t.client, id)).report.outcome).toBe('succeeded');
      } finally {
        await t.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
      }
    } finally {
      workers.shutdown();
      await running;
      await t.close();
    }
  });
});
