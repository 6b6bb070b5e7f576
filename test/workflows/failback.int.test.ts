/**
 * Failback on the lab, after a failover primary → standby: a mirror primary → standby on a fresh
 * topic run until caught up and stopped (the mirror engine, as test/kafka/mirror does), then records
 * written on the primary after the mirror's position (the divergent tail, uneven over partitions,
 * with binary headers), records written on the standby as if the clients had moved, a group with
 * offsets on the standby (inside the mirrored prefix, inside the clients' records, at the end); the
 * primary's topic without the fence (the failback sets it first).
 *
 * The dry run counts the tail exactly and writes nothing. A failback whose cut-over is rejected
 * (after the reverse mirror copied) leaves the primary fenced; run again, it quarantines exactly the
 * tail (bytes, headers, original offsets and timestamps), the reverse mirror copies the standby's
 * records onto the primary's existing log (the prefix kept where it is, the clients' records after
 * the tail: every standby record at its mapped offset), the group is positioned exactly, the
 * primary takes applications' writes again and the standby refuses them. An export after a killed
 * one (a committed part and an open transaction left behind) and an export run again write nothing
 * twice.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { commitGroupOffsets } from '../../src/kafka/groupOffsets';
import { mirroredOffsets, mirrorShard, planMirror } from '../../src/kafka/mirror';
import { STATE_TOPIC, readState, stateKey } from '../../src/kafka/mirror/state';
import { mirrorPair } from '../../src/kafka/mirrorRun.pure';
import { WireClient } from '../../src/kafka/wire/client';
import type { DecodedRecord } from '../../src/kafka/wire/recordBatch';
import { failbackWorkflowId } from '../../src/failover/ids.pure';
import { promotionHeld, releasePromotion, takePromotion } from '../../src/failover/promotion';
import { failbackMigrationId, ORIGINAL_HEADERS, quarantineTail, quarantineTopic } from '../../src/failover/failback';
import { connectTemporal, followRun, startRun, type TemporalClient, type WorkflowResult } from '../../src/temporal/runs';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { createTopicsReady } from '../support/kafka';
import { findCluster } from '../../lab/topology';
import { lifeboat } from '../support/cli';
import { appKafka, primarySpec, standbySpec, topo, unique } from '../support/lab';
import { cleanUp } from '../support/migration';
import type { RunStatus } from '../../workflows/support/tracker';
import { content, produceNumbered, readTopic } from '../kafka/mirror/mirrorSupport';

const primary = primarySpec();
const standby = standbySpec();
const pk = kafkaFor(primary, 'test-failback');
const sk = kafkaFor(standby, 'test-failback');
const topic = unique('fb');
const qtopic = quarantineTopic(primary.name, topic);
const group = unique('fb-group');
const PARTITIONS = 3;
const PREFIX = 300;
/** The divergent tail per partition (uneven; partition 1 has none). */
const TAIL = [7, 0, 16];
const CLIENTS = 60;
const fwdPair = mirrorPair(primary.name, standby.name);
const revPair = mirrorPair(standby.name, primary.name);

let t: TemporalClient;
let workers: RunningWorkers;
let running: Promise<void>;

async function ends(kafka: Kafka, tp: string): Promise<Map<number, number>> {
  const c = await WireClient.open(kafka, [tp]);
  try {
    return await c.listOffsets(tp, 'end');
  } finally {
    await c.close();
  }
}

/** Tombstones for a topic's keys of a pair in the mirror's state topic (other tests read the pair's positions). */
async function forgetState(kafka: Kafka, pair: string): Promise<void> {
  const state = await readState(kafka, pair).catch(() => undefined);
  const keys: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const k = stateKey(pair, topic, p);
    const segs = state?.positions.get(k)?.segments ?? 0;
    keys.push(k, `${k}/claim`, ...Array.from({ length: segs + 1 }, (_, i) => `${k}/seg/${i}`));
  }
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: STATE_TOPIC, acks: -1, messages: keys.map((key) => ({ partition: 0, key, value: null })) }).catch(() => undefined);
  await producer.disconnect();
}

const tailRecords: { partition: number; key: Buffer; value: Buffer; headers: Record<string, Buffer>; timestamp: number }[] = [];

beforeAll(async () => {
  t = await connectTemporal();
  workers = await createWorkers({ settings: t.settings });
  running = workers.run();

  // The mirror primary → standby, run until caught up and stopped.
  await createTopicsReady(primary, [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }], { kafka: pk });
  await produceNumbered(pk, topic, PREFIX, PARTITIONS);
  await planMirror(primary, standby, { topics: [topic] });
  const shard = await mirrorShard(primary, standby, fwdPair, { topic, partitions: [0, 1, 2] }, { until: 'caught-up' });
  expect(shard.caughtUp).toBe(true);

  // The divergent tail: written on the primary after the mirror's last position.
  const producer = pk.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const base = Date.now() - 3_600_000;
  TAIL.forEach((n, partition) => {
    for (let i = 0; i < n; i++) {
      tailRecords.push({ partition, key: randomBytes(8), value: randomBytes(200 + i), headers: { seq: Buffer.from(`tail-${partition}-${i}`), bin: randomBytes(5) }, timestamp: base + partition * 1000 + i });
    }
  });
  await producer.send({ topic, acks: -1, messages: tailRecords.map((r) => ({ partition: r.partition, key: r.key, value: r.value, headers: r.headers, timestamp: String(r.timestamp) })) });
  await producer.disconnect();

  // The clients on the standby: new records, and a group's offsets there.
  await produceNumbered(sk, topic, CLIENTS, PARTITIONS, 120, 10_000);
  const se = await ends(sk, topic);
  await commitGroupOffsets(sk, group, [
    {
      topic,
      partitions: [
        { partition: 0, offset: PREFIX / PARTITIONS + 5 }, // 5 into the clients' records
        { partition: 1, offset: 50 }, // inside the mirrored prefix
        { partition: 2, offset: se.get(2)! }, // everything read
      ],
    },
  ]);

  // The primary is left without the failover's fence here: the failback sets it first (the first run)
  // and finds it there (the second).
}, 180_000);

afterAll(async () => {
  workers?.shutdown();
  await running;
  await forgetState(sk, fwdPair).catch(() => undefined);
  await forgetState(pk, revPair).catch(() => undefined);
  await cleanUp(primary, standby, [topic], [group]);
  await cleanUp(standby, primary, [topic, qtopic], [group]);
  if (t) await releasePromotion(t.client, primary.name, { by: 'test', reason: 'test clean-up' }).catch(() => undefined);
  await t?.close();
}, 120_000);

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const headerOf = (r: DecodedRecord, key: string) => r.headers.find((h) => h.key === key)?.value?.toString();

describe('failback', () => {
  it('dry run (lifeboat failback --dry-run --follow --json): the tail counted exactly per partition, nothing written', async () => {
    const r = await lifeboat('failback', '--primary-spec', findCluster(topo, 'primary').specFile, '--standby-spec', findCluster(topo, 'standby').specFile, '--topics', topic, '--dry-run', '--follow', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as WorkflowResult<'failback'>;
    expect(out.report.outcome).toBe('planned');
    expect(out.status.workflowId).toBe(`${failbackWorkflowId(primary.name, standby.name)}-plan`);
    const pe = await ends(pk, topic);
    expect(out.status.tail!.map((x) => [x.partition, x.from, x.to, x.records, x.quarantined])).toEqual(
      [0, 1, 2].map((p) => [p, PREFIX / PARTITIONS, pe.get(p), TAIL[p], 0]),
    );
    expect(out.status.seed!.every((s) => s.action === 'would-seed')).toBe(true);
    expect(out.status.checks!.unfenced).toEqual([topic]);
    expect(out.status.fence!.dryRun).toBe(true);
    expect(await withAdmin(sk, standby.name, (a) => a.listTopics())).not.toContain(qtopic);
    const rev = await readState(pk, revPair).catch(() => undefined);
    expect([...(rev?.positions.keys() ?? [])].filter((k) => k.includes(`/${topic}/`))).toEqual([]);
    // Bad input: one line, exit 2.
    const bad = await lifeboat('failback', '--primary', 'primary');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')[0]).toMatch(/--standby <name>/);
  }, 120_000);

  it('quarantines the tail, mirrors back over the existing log, moves the group, unfences the primary and fences the standby', async () => {
    // A killed export: 3 records of partition 0 committed, the next 2 in a transaction left open
    // (the same transactional id the export uses). The export then fences that producer, its open
    // transaction is aborted, and it resumes after the committed ones: nothing twice, nothing skipped.
    await createTopicsReady(standby, [{ topic: qtopic, numPartitions: PARTITIONS, replicationFactor: Math.min(3, standby.brokers.length) }], { kafka: sk });
    const zombie = sk.producer({ transactionalId: `lifeboat-quarantine/${primary.name}/${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await zombie.connect();
    const asExported = (i: number) => {
      const w = tailRecords.filter((x) => x.partition === 0)[i]!;
      const offset = PREFIX / PARTITIONS + i;
      return {
        partition: 0,
        key: w.key,
        value: w.value,
        timestamp: String(w.timestamp),
        headers: { ...w.headers, [ORIGINAL_HEADERS.topic]: topic, [ORIGINAL_HEADERS.partition]: '0', [ORIGINAL_HEADERS.offset]: String(offset), [ORIGINAL_HEADERS.timestamp]: String(w.timestamp) },
      };
    };
    const done = await zombie.transaction();
    await done.send({ topic: qtopic, acks: -1, messages: [0, 1, 2].map(asExported) });
    await done.commit();
    const open = await zombie.transaction();
    await open.send({ topic: qtopic, acks: -1, messages: [3, 4].map(asExported) });

    // The export, then again (as a retried activity would): the second writes nothing.
    const first = await quarantineTail(primary, standby, { topics: [topic] });
    await zombie.disconnect().catch(() => undefined);
    expect(first.map((x) => [x.writtenNow, x.quarantined])).toEqual(TAIL.map((n, p) => [p === 0 ? n - 3 : n, n]));
    const again = await quarantineTail(primary, standby, { topics: [topic] });
    expect(again.map((x) => [x.writtenNow, x.quarantined])).toEqual(TAIL.map((n) => [0, n]));

    const standbyBefore = await readTopic(sk, topic);
    const primaryBefore = await ends(pk, topic);
    const id = failbackWorkflowId(primary.name, standby.name);
    const input = { primary: { spec: primary }, standby: { spec: standby }, topics: [topic], skipBackup: true, shards: 1, roundSeconds: 2 };

    // The failover that moved the clients holds the primary's promotion (src/failover/promotion.ts).
    const holder = unique('failover-primary-fb');
    expect(await takePromotion(t.client, { primary: primary.name, standby: standby.name, holder })).toMatchObject({ taken: true });

    // First the cut-over back is rejected at its gate, after the reverse mirror has copied the
    // clients' records onto the primary: the clients stay on the standby, the primary stays fenced.
    await startRun(t.client, 'failback', { workflowId: id, args: [{ ...input, autoApprove: false }] });
    const child = t.client.workflow.getHandle(failbackMigrationId(id));
    await until('the cut-over gate', async () => ((await child.query<RunStatus>('status').catch(() => undefined))?.awaitingApproval ? true : undefined), 120_000);
    await child.executeUpdate('approve', { args: [{ approve: false, by: 'failback-test' }] });
    const rejected = await followRun<'failback'>(t.client, id);
    expect(rejected.report.outcome).toBe('rejected');
    expect(rejected.status.primaryLeft).toBe('fenced');
    expect(rejected.status.fencedBy).toBe('failback');
    const copied = await ends(pk, topic);
    expect([0, 1, 2].map((p) => copied.get(p)! - primaryBefore.get(p)!)).toEqual([0, 1, 2].map((p) => standbyBefore.get(p)!.length - PREFIX / PARTITIONS));
    const refusedP = appKafka('primary', 'fb-app').producer({ retry: { retries: 1 } });
    await refusedP.connect();
    await expect(refusedP.send({ topic, acks: -1, messages: [{ partition: 0, value: 'still fenced' }] })).rejects.toThrow(/not authorized/i);
    await refusedP.disconnect();
    // The clients stay on the standby: the failover's promotion stays held.
    expect(await promotionHeld(t.client, primary.name)).toMatchObject({ holder });

    // Then again, approved: the tail is still exactly the tail (the copied records after it are not).
    // The primary's hook fails while the topic is still fenced there: the clients it switches must write at once.
    const tsx = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const fencedHook = join(__dirname, '..', 'support', 'fencedHook.ts');
    const primaryWithHook = { ...primary, clientSwitch: [{ type: 'command', command: ['sh', '-c', `[ "$LIFEBOAT_DRY_RUN" = 1 ] || [ "$LIFEBOAT_REVERT" = 1 ] || '${tsx}' '${fencedHook}' primary '${topic}'`], timeoutSeconds: 60 }] } as ClusterSpec;
    await startRun(t.client, 'failback', {
      workflowId: id,
      args: [{ ...input, primary: { spec: primaryWithHook }, autoApprove: true }],
    });
    const r = await followRun<'failback'>(t.client, id);
    expect(r.status.problems, JSON.stringify(r.report.problems)).toEqual([]);
    expect(r.report.outcome, JSON.stringify(r.status.migration?.cause)).toBe('succeeded');
    expect(r.status.fencedBy).toBe('failover');
    // The primary's fence was lifted by the migration before its hooks (the hook saw it gone), not after its verify.
    expect(r.status.migration?.hooks?.map((h) => h.ok)).toEqual([true]);
    expect(Date.parse(r.status.migration!.targetFenceLiftedAt!)).toBeLessThanOrEqual(Date.parse(r.status.migration!.windowEndedAt!));
    expect(r.report.steps.find((s) => s.name === 'unfence')?.detail).toMatch(/by the migration at its cut-over .*before its hooks$/);
    // Back on the primary: its promotion hold ended, so a later incident of it may fail over again.
    expect(await promotionHeld(t.client, primary.name)).toBeUndefined();

    // The quarantine: exactly the tail, byte for byte, with where each record was.
    const q = await readTopic(sk, qtopic);
    for (let p = 0; p < PARTITIONS; p++) {
      const want = tailRecords.filter((x) => x.partition === p);
      const got = q.get(p)!;
      expect(got.length).toBe(TAIL[p]);
      got.forEach((rec, i) => {
        const w = want[i]!;
        expect(rec.key!.equals(w.key)).toBe(true);
        expect(rec.value!.equals(w.value)).toBe(true);
        expect(rec.timestamp).toBe(w.timestamp);
        expect(headerOf(rec, 'seq')).toBe(w.headers.seq!.toString());
        expect(rec.headers.find((h) => h.key === 'bin')!.value!.equals(w.headers.bin!)).toBe(true);
        expect(headerOf(rec, ORIGINAL_HEADERS.topic)).toBe(topic);
        expect(headerOf(rec, ORIGINAL_HEADERS.partition)).toBe(String(p));
        expect(headerOf(rec, ORIGINAL_HEADERS.offset)).toBe(String(PREFIX / PARTITIONS + i));
        expect(headerOf(rec, ORIGINAL_HEADERS.timestamp)).toBe(String(w.timestamp));
      });
    }
    expect(r.status.tail!.map((x) => [x.partition, x.from, x.to, x.records, x.quarantined, x.quarantineTopic])).toEqual(
      [0, 1, 2].map((p) => [p, PREFIX / PARTITIONS, primaryBefore.get(p), TAIL[p], TAIL[p], qtopic]),
    );
    expect(r.status.seed!.every((x) => x.action === 'kept')).toBe(true);

    // Every standby record on the primary at its mapped offset: the prefix where it was, the clients' after the tail.
    const onPrimary = await readTopic(pk, topic);
    const translate = await mirroredOffsets(primary, revPair);
    for (let p = 0; p < PARTITIONS; p++) {
      const byOffset = new Map(onPrimary.get(p)!.map((x) => [x.offset, x]));
      const recs = standbyBefore.get(p)!;
      recs.forEach((rec, i) => {
        const mirrored = i < PREFIX / PARTITIONS;
        const expected = mirrored ? rec.offset : primaryBefore.get(p)! + (i - PREFIX / PARTITIONS);
        expect(translate(topic, p, rec.offset)).toBe(expected);
        expect(content(byOffset.get(expected)!)).toEqual(content(rec));
      });
      // Nothing else: prefix + tail + the clients' records.
      expect(onPrimary.get(p)!.length).toBe(recs.length + TAIL[p]!);
    }

    // The group, positioned exactly.
    const held = await withAdmin(pk, primary.name, (a) => a.fetchOffsets({ groupId: group, topics: [topic] }));
    const at = new Map(held[0]!.partitions.map((x) => [x.partition, Number(x.offset)]));
    const pe = await ends(pk, topic);
    expect(at.get(0)).toBe(primaryBefore.get(0)! + 5);
    expect(at.get(1)).toBe(50);
    expect(at.get(2)).toBe(pe.get(2));

    // The primary takes applications' writes again; the standby refuses them.
    const appP = appKafka('primary', 'fb-app').producer();
    await appP.connect();
    await appP.send({ topic, acks: -1, messages: [{ partition: 0, value: 'back home' }] });
    await appP.disconnect();
    const appS = appKafka('standby', 'fb-app').producer({ retry: { retries: 1 } });
    await appS.connect();
    await expect(appS.send({ topic, acks: -1, messages: [{ partition: 0, value: 'refused' }] })).rejects.toThrow(/not authorized/i);
    await appS.disconnect();
  }, 240_000);
});
