/**
 * Online migration on the lab, primary (ZooKeeper mode, Kafka 3.9) → next (KRaft, Kafka 4.1): a
 * plain headered topic written by an application through the applications' listener until the
 * fence refuses it, a compacted topic, a transactional topic with aborted transactions; groups at the
 * tip (a live consumer stopped at the fence), 10,000 behind and idle. After the cut-over the groups'
 * consumers on next read every record exactly once (sequence numbers), the application's
 * acknowledged records all arrived, the client-switch hooks ran, the report has the
 * write-unavailability window. The dry run changes nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { MIGRATION_STATUS_QUERY, type MigrationStatus } from '../../src/migration/onlineRun.pure';
import type { RunStatus } from '../../workflows/support/tracker';
import { connectTemporal, followRun, startRun, type TemporalClient } from '../../src/temporal/runs';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { findCluster } from '../../lab/topology';
import { lifeboat } from '../support/cli';
import { createTopicsReady } from '../support/kafka';
import { appKafka, nextSpec, primarySpec, topo, unique } from '../support/lab';
import { appProducer, cleanUp, committed, groupReads, topicAcls, topicRecords } from '../support/migration';

const source = primarySpec();
const sourceFile = findCluster(topo, 'primary').specFile;
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-migration-'));
const bootstrapFile = join(dir, 'app.properties');
const commandLog = join(dir, 'hook.log');
/** next with two client-switch hooks: a bootstrap file and a command that logs what it was told. */
const target: ClusterSpec = {
  ...nextSpec(),
  clientSwitch: [
    { type: 'bootstrap-file', path: bootstrapFile, key: 'bootstrap.servers' },
    { type: 'command', command: ['sh', '-c', `echo "dry=$LIFEBOAT_DRY_RUN revert=$LIFEBOAT_REVERT to=$LIFEBOAT_BOOTSTRAP" >> ${commandLog}`], timeoutSeconds: 30 },
  ],
} as ClusterSpec;
const targetFile = join(dir, 'next-with-hooks.yaml');
writeFileSync(targetFile, stringify(target));

const topics: string[] = [];
const groups: string[] = [];
let t: TemporalClient;
let workers: RunningWorkers;
let running: Promise<void>;

beforeAll(async () => {
  t = await connectTemporal();
  // The backup set's configs parts run on the brokers' host queues.
  workers = await createWorkers({ settings: t.settings, hosts: [...new Set(source.brokers.map((b) => b.host))] });
  running = workers.run();
});
afterAll(async () => {
  workers?.shutdown();
  await running;
  await cleanUp(source, target, topics, groups);
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function statusOf(workflowId: string): Promise<RunStatus | undefined> {
  return t.client.workflow.getHandle(workflowId).query<RunStatus>('status').catch(() => undefined);
}

/** Offsets and SHA-256 of a partition-0 topic's record values, read from the beginning on `spec`. */
async function recordValues(spec: ClusterSpec, topic: string, count: number): Promise<{ offset: number; sha: string }[]> {
  const consumer = kafkaFor(spec, 'mig-test').consumer({ groupId: unique('mig-big-read'), maxBytesPerPartition: 16 * 1024 * 1024 });
  const out: { offset: number; sha: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void out.push({ offset: Number(message.offset), sha: createHash('sha256').update(message.value ?? Buffer.alloc(0)).digest('hex') }) });
    await until(`${count} records of ${topic}`, async () => (out.length >= count ? true : undefined), 60_000);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('online migration primary → next', () => {
  it('the dry run prints the plan (topics, fence, groups, hook dry runs) and changes nothing', { timeout: 120_000 }, async () => {
    const topic = unique('mig-dry');
    topics.push(topic);
    const group = unique('mig-dry-g');
    groups.push(group);
    await createTopicsReady(source, [{ topic, numPartitions: 2, replicationFactor: 3 }], { kafka: kafkaFor(source, 'mig-test') });
    const p = kafkaFor(source, 'mig-test').producer({ idempotent: true });
    await p.connect();
    await p.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ partition: i % 2, value: `seq-${i}` })) });
    await p.disconnect();
    await commitGroupOffsets(kafkaFor(source, 'mig-test'), group, [{ topic, partitions: [{ partition: 0, offset: 10 }, { partition: 1, offset: 20 }] }]);
    writeFileSync(bootstrapFile, 'bootstrap.servers=old:9092\n');
    const aclsBefore = await topicAcls(source, topic);

    const r = await lifeboat('migrate', '--spec', sourceFile, '--target-spec', targetFile, '--topics', topic, '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`plan of migrate ${source.name} → ${target.name} (dry run, nothing changed)`);
    expect(r.stdout).toMatch(new RegExp(`create\\s+${topic} \\(2 partitions\\)`));
    expect(r.stdout).toMatch(new RegExp(`fence on ${source.name}: DENY WRITE User:\\* on ${topic}`));
    expect(r.stdout).toContain(`group ${group}`);
    expect(r.stdout).toMatch(/hook #1 bootstrap-file \(dry run\): ok/);
    expect(r.stdout).toMatch(/hook #2 command \(dry run\): ok/);

    // Nothing changed: no topic on next, the source's ACLs as they were, the hook's file untouched, no mirror.
    const onTarget = await withAdmin(kafkaFor(target, 'mig-test'), target.name, (a) => a.listTopics());
    expect(onTarget).not.toContain(topic);
    expect(await topicAcls(source, topic)).toEqual(aclsBefore);
    expect(readFileSync(bootstrapFile, 'utf8')).toBe('bootstrap.servers=old:9092\n');
    expect(readFileSync(commandLog, 'utf8').trim().split('\n').every((l) => l.startsWith('dry=1'))).toBe(true);
  });

  it(
    'cuts over with the application fenced, every group reads each record exactly once on next, hooks switched, the window measured',
    { timeout: 290_000 },
    async () => {
      const plain = unique('mig-plain');
      const compact = unique('mig-compact');
      const txn = unique('mig-txn');
      const big = unique('mig-big');
      topics.push(plain, compact, txn, big);
      const [gTip, gBehind, gIdle] = [unique('mig-tip'), unique('mig-behind'), unique('mig-idle')];
      groups.push(gTip, gBehind, gIdle);
      const kafka = kafkaFor(source, 'mig-test');
      await createTopicsReady(
        source,
        [
          { topic: plain, numPartitions: 3, replicationFactor: 3 },
          { topic: compact, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
          { topic: txn, numPartitions: 2, replicationFactor: 3 },
          { topic: big, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'max.message.bytes', value: '8388608' }] },
        ],
        { kafka },
      );
      // 5 MB records (the lab's brokers take up to 10 MB), between small ones.
      const bigValues = [randomBytes(5 * 1024 * 1024), Buffer.from('small'), randomBytes(5 * 1024 * 1024)];
      const bp = kafka.producer({ idempotent: true });
      await bp.connect();
      for (const [i, value] of bigValues.entries()) await bp.send({ topic: big, messages: [{ key: `big-${i}`, value, headers: { seq: String(i) } }] });
      await bp.disconnect();
      // 15,000 headered records, 5,000 a partition.
      const p = kafka.producer({ idempotent: true });
      await p.connect();
      for (let i = 0; i < 15_000; i += 1000) {
        await p.send({ topic: plain, messages: Array.from({ length: 1000 }, (_, j) => ({ partition: (i + j) % 3, key: `k${i + j}`, value: `seq-${i + j}`, headers: { seq: String(i + j) } })) });
      }
      await p.send({ topic: compact, messages: Array.from({ length: 500 }, (_, i) => ({ partition: i % 2, key: `key-${i % 50}`, value: `seq-${i}`, headers: { seq: String(i) } })) });
      await p.disconnect();
      // Transactions: committed, aborted, committed.
      const tp = kafka.producer({ transactionalId: unique('mig-txn-id'), idempotent: true, maxInFlightRequests: 1 });
      await tp.connect();
      for (const [from, commit] of [[0, true], [100, false], [200, true]] as const) {
        const tx = await tp.transaction();
        await tx.send({ topic: txn, messages: Array.from({ length: 100 }, (_, i) => ({ partition: (from + i) % 2, value: `seq-${from + i}`, headers: { seq: String(from + i) } })) });
        await (commit ? tx.commit() : tx.abort());
      }
      await tp.disconnect();
      // Groups: 10,000 behind on plain; idle at the tip of txn (past its markers).
      await commitGroupOffsets(kafka, gBehind, [{ topic: plain, partitions: [0, 1, 2].map((partition) => ({ partition, offset: [1667, 1667, 1666][partition]! })) }]);
      const txnEnds = await withAdmin(kafka, source.name, (a) => a.fetchTopicOffsets(txn));
      await commitGroupOffsets(kafka, gIdle, [{ topic: txn, partitions: txnEnds.map((e) => ({ partition: e.partition, offset: e.high })) }]);

      // The application: writes through its listener until the fence refuses it; a live consumer at the tip.
      const app = appProducer('primary', plain, 3, 15_000);
      const tipConsumer = appKafka('primary', 'mig-app').consumer({ groupId: gTip });
      await tipConsumer.connect();
      await tipConsumer.subscribe({ topic: plain, fromBeginning: true });
      await tipConsumer.run({ autoCommit: true, autoCommitInterval: 200, eachMessage: async () => {} });
      writeFileSync(bootstrapFile, `# the application's Kafka\nbootstrap.servers=${source.kafka.bootstrapServers.join(',')}\nacks=all\n`);
      writeFileSync(commandLog, '');

      const workflowId = unique('migrate-main');
      await startRun(t.client, 'migration', {
        workflowId,
        args: [{ source: { spec: source }, target: { spec: target }, selection: { topics: [plain, compact, txn, big] }, groupWaitMinutes: 1 }],
      });
      // It waits for approval once caught up: approved as an operator does.
      const waiting = await until('the approval gate', async () => ((await statusOf(workflowId))?.awaitingApproval ? await statusOf(workflowId) : undefined));
      expect(waiting.awaitingApproval?.question).toContain(`fence writes on 4 topics of ${source.name}`);
      const pre = await t.client.workflow.getHandle(workflowId).query<MigrationStatus>(MIGRATION_STATUS_QUERY);
      expect(pre.phase).toBe('awaiting-approval');
      expect(pre.sourceLeft).toBe('writable');
      expect(app.refusedAt, 'the application writes until the cut-over').toBeUndefined();
      const approve = await lifeboat('approve', workflowId, '--by', 'migration-test');
      expect(approve.code, approve.stderr).toBe(0);
      const approvedAt = Date.now();

      // The fence refuses the application; the tip consumer reads to the fenced end and leaves.
      await until('the fence to refuse the application', async () => app.refusedAt, 60_000);
      await app.stop();
      expect(app.refusal).toMatch(/not authorized/i);
      await new Promise((r) => setTimeout(r, 1000));
      await tipConsumer.disconnect();

      const r = await followRun<'migration'>(t.client, workflowId);
      const s = r.status;
      expect(r.report.outcome, `${JSON.stringify(s.cause)} ${r.report.problems.join('; ')}`).toBe('succeeded');
      expect(s.phase).toBe('done');
      expect(s.pointOfNoReturn).toBe(true);
      expect(s.sourceLeft).toBe('fenced');
      expect(r.report.steps.map((x) => [x.name, x.status])).toEqual(
        ['prechecks', 'backup', 'mirror', 'plan', 'fence', 'drain', 'groups', 'hooks', 'verify'].map((n) => [n, 'done']),
      );
      expect(s.writeUnavailableMs).toBeGreaterThan(0);
      console.log(
        `migration: write-unavailability window ${s.writeUnavailableMs} ms (fence → hooks), cut-over ${s.cutOverMs} ms (approval → verified), ` +
          `application refused ${app.refusedAt! - approvedAt} ms after the approval; steps: ${r.report.steps.map((x) => `${x.name} ${x.durationMs} ms`).join(', ')}`,
      );
      // Every group: nothing re-read, nothing skipped, as the report says.
      expect(s.groupOutcomes?.map((g) => [g.group, g.reRead, g.skipped, g.untranslated]).sort()).toEqual([gBehind, gIdle, gTip].sort().map((g) => [g, 0, 0, 0]));
      expect(r.report.checks.filter((c) => !c.ok).map((c) => c.subject)).toEqual(s.writeUnavailableMs! > 5000 ? ['write-unavailability window (ms, fence → hooks)'] : []);

      // The application's acknowledged records are all on next; source and next hold the same records.
      const total = 15_000 + app.acked.length;
      const srcPlain = await topicRecords(source, plain, total, unique('mig-read'));
      const dstPlain = await topicRecords(target, plain, total, unique('mig-read'));
      expect(dstPlain.map((x) => [x.partition, x.offset, x.seq])).toEqual(srcPlain.map((x) => [x.partition, x.offset, x.seq]));
      const onTarget = new Set(dstPlain.map((x) => x.seq));
      expect(app.acked.filter((n) => !onTarget.has(n)), 'acknowledged records missing on next').toEqual([]);
      expect(dstPlain.every((x) => x.headerSeq === String(x.seq)), 'headers arrive').toBe(true);
      // Compacted: its config and records; transactions: the committed ones only.
      const cfg = await withAdmin(kafkaFor(target, 'mig-test'), target.name, (a) => a.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: compact }] }));
      expect(cfg.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('compact');
      const srcCompact = await topicRecords(source, compact, 0, unique('mig-read'));
      expect((await topicRecords(target, compact, srcCompact.length, unique('mig-read'))).map((x) => x.seq).sort()).toEqual(srcCompact.map((x) => x.seq).sort());
      const dstTxn = await topicRecords(target, txn, 200, unique('mig-read'));
      // The 5 MB records: byte for byte, at their offsets.
      const bigOnNext = await recordValues(target, big, bigValues.length);
      expect(bigOnNext.map((v) => [v.offset, v.sha])).toEqual(bigValues.map((v, i) => [i, createHash('sha256').update(v).digest('hex')]));
      expect(dstTxn.map((x) => x.seq).sort((a, b) => a - b)).toEqual([...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 100 }, (_, i) => 200 + i)]);

      // The source is fenced: the application is still refused there.
      const late = appProducer('primary', plain, 3, 900_000);
      await until('a refusal on the fenced source', async () => late.refusedAt, 20_000);
      await late.stop();
      expect(late.acked).toEqual([]);

      // Clients on next: the application writes there now, and each group reads on from where it was, once.
      const onNext = appProducer('next', plain, 3, 500_000);
      await until('30 records on next', async () => (onNext.acked.length >= 30 ? true : undefined), 30_000);
      await onNext.stop();
      const expectFor = async (group: string, topic: string, records: typeof srcPlain, fresh: number[]) => {
        const from = await committed(source, group, topic);
        // Identical offsets on next (the plain topic; the transactional one is mapped): the group stands where it stood.
        if (topic === plain) expect(await committed(target, group, topic), `${group}: its offsets on next`).toEqual(from);
        const want = [...records.filter((x) => x.offset >= (from.get(x.partition) ?? 0)).map((x) => x.seq), ...fresh].sort((a, b) => a - b);
        const got = (await groupReads('next', group, topic, want.length)).map((x) => x.seq).sort((a, b) => a - b);
        expect(got.length - new Set(got).size, `${group}: records read twice`).toBe(0);
        expect(got, `${group}: exactly the records after its position`).toEqual(want);
        return got.length;
      };
      const behind = await expectFor(gBehind, plain, srcPlain, onNext.acked);
      expect(behind).toBeGreaterThanOrEqual(10_000);
      const tip = await expectFor(gTip, plain, srcPlain, onNext.acked);
      expect(tip, 'the tip group reads only what came on next').toBe(onNext.acked.length);
      const srcTxn = await topicRecords(source, txn, 200, unique('mig-read'));
      expect(await expectFor(gIdle, txn, srcTxn, [])).toBe(0);

      // The hooks: the file names next, the command ran for real once (after its dry run).
      expect(readFileSync(bootstrapFile, 'utf8')).toContain(`bootstrap.servers=${target.kafka.bootstrapServers.join(',')}`);
      expect(readFileSync(bootstrapFile, 'utf8')).toContain('acks=all');
      expect(readFileSync(commandLog, 'utf8').trim().split('\n').filter((l) => l.startsWith('dry=0') || l.startsWith('dry= '))).toHaveLength(1);

      // Past the point of no return: a rollback is refused with one line.
      const rb = await lifeboat('migrate', 'rollback', workflowId);
      expect(rb.code).toBe(2);
      expect(rb.stderr.trim()).toBe(`lifeboat: ${workflowId} is done: past the point of no return (clients on ${target.name}, ${source.name} fenced); to go back, migrate ${target.name} → ${source.name}`);
      const st = await lifeboat('migrate', 'status', workflowId);
      expect(st.code, st.stderr).toBe(0);
      expect(st.stdout).toContain(`source ${source.name}: FENCED`);
      expect(st.stdout).toMatch(/write-unavailability window: /);
    },
  );
});
