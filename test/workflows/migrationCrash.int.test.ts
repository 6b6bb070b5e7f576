/**
 * Online migration with its `lifeboat worker` SIGKILLed twice: while the mirror copies, and during the
 * cut-over (fenced, drained, waiting at the groups step for a consumer still active on the source).
 * A new worker each time; the run ends done with every record once on next at its offset, each
 * group reading exactly the records after its position, and the source fenced — nothing lost,
 * nothing duplicated, the fence whole.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { MIGRATION_STATUS_QUERY, type MigrationStatus } from '../../src/migration/onlineRun.pure';
import { connectTemporal, followRun, startRun, type TemporalClient } from '../../src/temporal/runs';
import type { RunStatus } from '../../workflows/support/tracker';
import { createTopicsReady } from '../support/kafka';
import { appKafka, nextSpec, primarySpec, unique } from '../support/lab';
import { appProducer, cleanUp, committed, groupReads, topicRecords } from '../support/migration';
import { killWorker, startWorker, workerBundle } from '../support/worker';

const source = primarySpec();
const target = nextSpec();
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-migration-crash-'));
const bundle = join(dir, 'workflows.js');
const topics: string[] = [];
const groups: string[] = [];
let t: TemporalClient;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  t = await connectTemporal();
  await workerBundle(bundle);
});
afterAll(async () => {
  killWorker(worker);
  await cleanUp(source, target, topics, groups);
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('online migration with its worker SIGKILLed', () => {
  it('during mirroring and during the cut-over: done, nothing lost or duplicated, the fence whole', { timeout: 290_000 }, async () => {
    const topic = unique('mig-crash');
    topics.push(topic);
    const [gBehind, gActive] = [unique('mig-crash-behind'), unique('mig-crash-active')];
    groups.push(gBehind, gActive);
    const kafka = kafkaFor(source, 'mig-test');
    await createTopicsReady(source, [{ topic, numPartitions: 4, replicationFactor: 3 }], { kafka });
    const p = kafka.producer({ idempotent: true });
    await p.connect();
    for (let i = 0; i < 30_000; i += 500) {
      await p.send({ topic, messages: Array.from({ length: 500 }, (_, j) => ({ partition: (i + j) % 4, key: `k${i + j}`, value: `seq-${i + j}`.padEnd(1000, ' '), headers: { seq: String(i + j) } })) });
    }
    await p.disconnect();
    await commitGroupOffsets(kafka, gBehind, [{ topic, partitions: [0, 1, 2, 3].map((partition) => ({ partition, offset: 1000 })) }]);
    // A consumer active on the source through the cut-over: the groups step waits for it.
    const active = appKafka('primary', 'mig-app').consumer({ groupId: gActive });
    await active.connect();
    await active.subscribe({ topic, fromBeginning: true });
    await active.run({ autoCommit: true, autoCommitInterval: 200, eachMessage: async () => {} });
    const app = appProducer('primary', topic, 4, 30_000);

    worker = await startWorker(bundle);
    const workflowId = unique('migrate-crash');
    await startRun(t.client, 'migration', {
      workflowId,
      args: [{ source: { spec: source }, target: { spec: target }, selection: { topics: [topic] }, autoApprove: true, skipBackup: true, groupWaitMinutes: 3, roundSeconds: 30 }],
    });
    const mirrorId = `mirror-${source.name}-to-${target.name}`;

    // Kill 1: a shard of the mirror child copies.
    await until('a mirror shard copying', async () => {
      const d = await t.client.workflow.getHandle(mirrorId).describe();
      return (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'mirrorShardActivity' && (a.heartbeatDetails?.payloads?.length ?? 0) > 0) ? true : undefined;
    });
    killWorker(worker);
    worker = await startWorker(bundle);

    // Kill 2: fenced and drained, waiting at the groups step for the active consumer.
    await until('the cut-over at the groups step', async () => ((await t.client.workflow.getHandle(workflowId).query<RunStatus>('status')).step === 'groups' ? true : undefined), 200_000, 200);
    const mid = await t.client.workflow.getHandle(workflowId).query<MigrationStatus>(MIGRATION_STATUS_QUERY);
    expect(mid.sourceLeft).toBe('fenced');
    await new Promise((r) => setTimeout(r, 500));
    killWorker(worker);
    worker = undefined;
    await until('the application refused', async () => app.refusedAt, 30_000);
    await app.stop();
    await active.disconnect();
    worker = await startWorker(bundle);

    const r = await followRun<'migration'>(t.client, workflowId);
    expect(r.report.outcome, `${JSON.stringify(r.status.cause)} ${r.report.problems.join('; ')}`).toBe('succeeded');
    expect(r.status.sourceLeft).toBe('fenced');
    console.log(`migration with two worker kills: write-unavailability window ${r.status.writeUnavailableMs} ms, cut-over ${r.status.cutOverMs} ms`);
    expect(r.status.groupOutcomes?.map((g) => [g.group, g.reRead, g.skipped]).sort()).toEqual([gActive, gBehind].sort().map((g) => [g, 0, 0]));

    // Every record once at its offset; the application's acknowledged ones among them.
    const total = 30_000 + app.acked.length;
    const src = await topicRecords(source, topic, total, unique('mig-read'));
    const dst = await topicRecords(target, topic, total, unique('mig-read'));
    expect(dst.map((x) => [x.partition, x.offset, x.seq])).toEqual(src.map((x) => [x.partition, x.offset, x.seq]));
    const on = new Set(dst.map((x) => x.seq));
    expect(app.acked.filter((n) => !on.has(n))).toEqual([]);
    for (const g of [gBehind, gActive]) {
      const from = await committed(source, g, topic);
      const want = src.filter((x) => x.offset >= (from.get(x.partition) ?? 0)).map((x) => x.seq).sort((a, b) => a - b);
      const got = (await groupReads('next', g, topic, want.length)).map((x) => x.seq).sort((a, b) => a - b);
      expect(got, `${g} on next`).toEqual(want);
    }
    // The fence whole: the application is refused on the source.
    const late = appProducer('primary', topic, 4, 900_000);
    await until('a refusal on the fenced source', async () => late.refusedAt, 20_000, 200);
    await late.stop();
    expect(late.acked).toEqual([]);
  });
});
