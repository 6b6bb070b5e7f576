/**
 * Log-dir copies against a private one-broker cluster (test/host/logdirsScratchBroker.ts), so the
 * shared lab's brokers are never stopped: a hot copy taken while producing, restored into the
 * stopped broker which then starts and serves exactly the covered offsets; refusal to restore
 * into a running broker; a cold copy (stop, copy, start, back in the ISR) and incremental copies
 * that store only new bytes and read only changed files; and a copy refused by a cluster whose
 * ZooKeeper has another cluster id.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import type { BrokerControl } from '../../src/host/brokerControl';
import { labBrokerControl } from '../../lab/brokerControl';
import { copyLogDirs, restoreLogDirs, type LogDirManifest } from '../../src/host/logdirs';
import { kafkaFor } from '../../src/kafka/client';
import { readRanges } from '../../src/kafka/topicReader';
import { zkConnect } from '../../lab/topology';
import { initRepository, type LocalRepository } from '../../src/repository';
import { EXIT } from '../../src/errors';
import { lifeboat } from '../support/cli';
import { unique } from '../support/lab';
import { createZkNode, removeChroot, scratchCluster, type ScratchCluster } from './logdirsScratchBroker';

let scratch: ScratchCluster;
let control: BrokerControl;
let kafka: Kafka;
let repo: LocalRepository;
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-logdirs-'));
const topic = unique('logdir');
let hotSnapshot = '';
let hot: LogDirManifest;

async function partitionValues(k: Kafka, t: string): Promise<Map<number, { offset: number; value: string }[]>> {
  const admin = k.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(t);
  await admin.disconnect();
  const out = new Map<number, { offset: number; value: string }[]>();
  const ranges = new Map(offsets.map((o) => [o.partition, { from: Number(o.low), to: Number(o.high) }]));
  for (const p of ranges.keys()) out.set(p, []);
  await readRanges(k, t, ranges, async (p, ms) => {
    for (const m of ms) out.get(p)!.push({ offset: Number(m.offset), value: m.value!.toString() });
  });
  return out;
}

beforeAll(async () => {
  scratch = await scratchCluster();
  await scratch.start();
  control = labBrokerControl(scratch.topo, scratch.name, 1);
  kafka = kafkaFor(scratch.spec, 'test');
  repo = await initRepository(join(dir, 'repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
  const admin = kafka.admin();
  await admin.connect();
  // Small segments so the copy has closed segments with indexes as well as an active one.
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'segment.bytes', value: String(256 * 1024) }] }] });
  await admin.disconnect();
});

afterAll(async () => {
  await repo?.close();
  await scratch?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('log-dir copies', () => {
  it('hot copy while producing; restore refused while running; restored into the stopped broker it serves exactly the covered offsets', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const next = [0, 0, 0];
    const produce = async (n: number) => {
      const messages = Array.from({ length: n }, (_, i) => {
        const p = i % 3;
        return { partition: p, value: `p${p}-${next[p]!++}-`.padEnd(200, '#') };
      });
      await producer.send({ topic, acks: -1, messages });
    };
    for (let i = 0; i < 10; i++) await produce(900);
    let producing = true;
    const background = (async () => {
      while (producing) await produce(60);
    })();
    const writer = await repo.newSnapshot({ cluster: scratch.name, components: ['logdirs'] });
    hot = await copyLogDirs(scratch.spec, 1, writer, { mode: 'hot', control });
    hotSnapshot = (await writer.commit()).id;
    producing = false;
    await background;
    await producer.disconnect();

    const covered = [0, 1, 2].map((p) => hot.partitions[`${topic}-${p}`]!);
    for (const c of covered) {
      expect(c.start).toBe(0);
      expect(c.end).toBeGreaterThanOrEqual(3000);
      expect(c.segments).toBeGreaterThan(1);
    }
    expect(Math.max(...next)).toBeGreaterThan(Math.min(...covered.map((c) => c.end))); // production went on past the copy
    const reader = await repo.openSnapshot(hotSnapshot);
    const files = reader.list(`logdirs/${scratch.broker.host}`).map((e) => e.path);
    expect(files.some((f) => f.endsWith('/meta.properties'))).toBe(true);
    expect(files.some((f) => f.endsWith('/replication-offset-checkpoint'))).toBe(true);
    expect(files.filter((f) => f.includes(`${topic}-0/`) && f.endsWith('.index')).length).toBe(covered[0]!.segments - 1); // active index left out

    await expect(restoreLogDirs(scratch.spec, 1, reader, { control })).rejects.toMatchObject({ type: 'UnsafeTarget' });
    expect(existsSync(join(scratch.broker.logDir, `${topic}-0`))).toBe(true);

    await control.stop();
    const restored = await restoreLogDirs(scratch.spec, 1, reader, { control });
    expect(restored.movedAside).toHaveLength(1);
    expect(restored.files).toBe(files.length - 1); // all but the manifest
    await control.start();
    const values = await partitionValues(kafka, topic);
    for (const [p, recs] of values) {
      expect(recs.length).toBe(covered[p]!.end);
      recs.forEach((r, i) => expect(r.value.startsWith(`p${p}-${i}-`)).toBe(true));
      expect(recs.at(-1)!.offset).toBe(covered[p]!.end - 1);
    }
    rmSync(restored.movedAside[0]!, { recursive: true, force: true });
  });

  it('cold copy stops the broker, copies, starts it back into the ISR; following hot copies store only new bytes and read only the files that changed', async () => {
    const writer = await repo.newSnapshot({ cluster: scratch.name, components: ['logdirs'] });
    const cold = await copyLogDirs(scratch.spec, 1, writer, { mode: 'cold', control });
    const coldId = (await writer.commit()).id;
    expect(await control.status()).toBe('running');
    const reader = await repo.openSnapshot(coldId);
    expect(reader.exists(`logdirs/${scratch.broker.host}/0/.kafka_cleanshutdown`)).toBe(true);
    for (const p of [0, 1, 2]) expect(cold.partitions[`${topic}-${p}`]!.end).toBe(hot.partitions[`${topic}-${p}`]!.end);
    const admin = kafka.admin();
    await admin.connect();
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    for (const p of md.topics[0]!.partitions) expect(p.isr).toEqual([1]);

    // Reusing the cold copy: unchanged files (closed segments, their indexes, the quiet active
    // segments) are recorded without being read; only what changed is read.
    const w2 = await repo.newSnapshot({ cluster: scratch.name, components: ['logdirs'], reuseFrom: coldId });
    const again = await copyLogDirs(scratch.spec, 1, w2, { mode: 'hot', control });
    const againId = (await w2.commit()).id;
    expect(again.bytes).toBeGreaterThan(1_000_000);
    expect(again.newBytes).toBeLessThan(again.bytes / 4);
    expect(again.reusedBytes).toBeGreaterThan(again.bytes / 2);

    // More records into partition 0: its active segment changed and is read again, and every
    // segment file of the copy, reused or read, holds the bytes the broker has.
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ partition: 0, value: `late-${i}`.padEnd(500, '.') })) });
    await producer.disconnect();
    const w3 = await repo.newSnapshot({ cluster: scratch.name, components: ['logdirs'], reuseFrom: againId });
    const third = await copyLogDirs(scratch.spec, 1, w3, { mode: 'hot', control });
    const thirdId = (await w3.commit()).id;
    expect(third.newBytes).toBeGreaterThan(0);
    expect(third.reusedBytes).toBeLessThan(third.bytes);
    const r3 = await repo.openSnapshot(thirdId);
    const root = `logdirs/${scratch.broker.host}/0/`;
    const segments = r3.list(root).filter((e) => e.type === 'file' && e.path.endsWith('.log'));
    expect(segments.length).toBeGreaterThan(3);
    for (const e of segments) {
      const onDisk = readFileSync(join(scratch.broker.logDir, e.path.slice(root.length)));
      expect((await r3.readBuffer(e.path)).equals(onDisk.subarray(0, e.size)), e.path).toBe(true);
    }
    expect(third.partitions[`${topic}-0`]!.end).toBe(again.partitions[`${topic}-0`]!.end + 50);
  });

  it('lifeboat logdir backup, twice (the second reads only what changed), and restore refused into the running broker', async () => {
    const specFile = join(dir, 'cli-spec.yaml');
    // As an operator's spec would say it: the broker's state from a command (its pid file here).
    const commandControl = { type: 'command', status: `kill -0 "$(cat ${scratch.broker.pidFile})"`, start: 'false', stop: 'false' };
    const brokers = scratch.spec.brokers.map((b) => ({ ...b, control: commandControl }));
    writeFileSync(specFile, JSON.stringify({ ...scratch.spec, brokers, repository: { path: join(dir, 'cli-repo'), password: { env: 'LIFEBOAT_PASSWORD' } } }));
    const first = await lifeboat('logdir', 'backup', '--spec', specFile, '--json');
    expect(first.code, first.stderr).toBe(0);
    const { snapshot } = JSON.parse(first.stdout) as { snapshot: string };
    const second = await lifeboat('logdir', 'backup', '--spec', specFile);
    expect(second.code, second.stderr).toBe(0);
    const line = /broker 1 .*: \d+ files, ([\d.]+) MB, ([\d.]+) MB new, ([\d.]+) MB unchanged \(not read\)/.exec(second.stdout);
    expect(line, second.stdout).not.toBeNull();
    expect(Number(line![3])).toBeGreaterThan(Number(line![1]) / 2);
    const refused = await lifeboat('logdir', 'restore', '--spec', specFile, '--snapshot', snapshot, '--broker', '1');
    expect(refused.code).toBe(EXIT.UNSAFE_TARGET);
    expect(refused.stderr).toMatch(/broker 1 of .* is running .*: stop it before restoring its log dirs/);
  });

  it('refuses a copy whose cluster id differs from the one in the target ZooKeeper, before writing anything', async () => {
    const chroot = `/${unique('lifeboat-test-other')}`;
    await createZkNode(zkConnect(scratch.topo), `${chroot}/cluster/id`, JSON.stringify({ version: '1', id: 'AAAAAAAAAAAAAAAAAAAAAA' }));
    const logDir = join(dir, 'other-broker-data');
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, 'marker'), 'untouched');
    const other = parseSpec({
      name: 'other',
      kafka: { bootstrapServers: ['127.0.0.1:1'] },
      zookeeper: { connect: zkConnect(scratch.topo), chroot },
      brokers: [{ id: 1, host: 'other-broker-1', logDirs: [logDir], configDir: dir, control: { type: 'command', start: 'true', stop: 'true', status: 'false' } }],
    });
    try {
      const reader = await repo.openSnapshot(hotSnapshot);
      await expect(restoreLogDirs(other, 1, reader, { fromHost: scratch.broker.host })).rejects.toMatchObject({ type: 'ClusterIdMismatch' });
      expect(readdirSync(logDir)).toEqual(['marker']);
      expect(readdirSync(dir).filter((n) => n.startsWith('other-broker-data.'))).toEqual([]);
    } finally {
      await removeChroot(zkConnect(scratch.topo), chroot);
    }
  });
});
