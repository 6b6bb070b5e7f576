/**
 * Partition ends and record counts from log dirs laid out as Kafka lays them out (segments named by
 * base offset, a batch cut short at the newest one's tail by a kill), through the host activity as
 * the worker runs it (MockActivityEnvironment, the activities' boundary).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { activityDeps, createActivities } from '../../../activities';
import type { ClusterSpec } from '../../../src/config/spec';
import { partitionEndsFromDisk } from '../../../src/failover/data/disk';
import { mergeDisk } from '../../../src/failover/data/divergence';
import type { DiskPartitions } from '../../../src/failover/data/types';
import { batch } from './batches';

const seg = (base: number) => `${String(base).padStart(20, '0')}.log`;

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** Broker 1: t-0 with two segments and a torn tail; broker 2: a shorter replica of t-0. */
function layout(): { dir: string; spec: ClusterSpec; logs: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ex-disk-'));
  made.push(dir);
  const logs = [join(dir, 'b1'), join(dir, 'b2')];
  const p1 = join(logs[0]!, 't-0');
  mkdirSync(p1, { recursive: true });
  // 0-9 plain, 10-14 a transaction; then (segment 15) its commit marker, 16-19 plain, and half a batch.
  writeFileSync(join(p1, seg(0)), Buffer.concat([batch(0, 10), batch(10, 5, { pid: 7, txn: true })].map((b) => b.bytes)));
  const torn = batch(20, 5).bytes;
  writeFileSync(join(p1, seg(15)), Buffer.concat([batch(15, 1, { pid: 7, control: 'commit' }).bytes, batch(16, 4).bytes, torn.subarray(0, torn.length - 7)]));
  writeFileSync(join(p1, `${String(15).padStart(20, '0')}.index`), Buffer.alloc(80)); // preallocated index: not read
  const p2 = join(logs[1]!, 't-0');
  mkdirSync(p2, { recursive: true });
  writeFileSync(join(p2, seg(0)), batch(0, 10).bytes);
  mkdirSync(join(logs[1]!, 't-0.abc-delete'));
  mkdirSync(join(logs[1]!, 'other-3'));
  writeFileSync(join(logs[1]!, 'other-3', seg(0)), Buffer.alloc(0));
  const spec = {
    name: 'unit',
    kafka: { bootstrapServers: ['127.0.0.1:1'] },
    brokers: [1, 2].map((id) => ({ id, host: 'h1', logDirs: [logs[id - 1]!], configDir: join(dir, 'config'), control: { type: 'systemd', unit: 'kafka.service' } })),
    repository: { path: join(dir, 'repo'), password: { file: join(dir, 'pw') } },
  } as unknown as ClusterSpec;
  return { dir, spec, logs };
}

/** Every file's size and mtime: a read leaves them as they were. */
const snapshot = (root: string): string[] =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const st = statSync(join(e.parentPath, e.name));
      return `${join(e.parentPath, e.name)} ${st.size} ${st.mtimeMs}`;
    })
    .sort();

describe('partitionEndsFromDiskActivity', () => {
  it('the highest end among the replicas on the host, records counted from the mirrored position, files untouched', async () => {
    const { dir, spec } = layout();
    const before = snapshot(dir);
    const acts = createActivities(activityDeps());
    const r = (await new MockActivityEnvironment().run(() =>
      acts.partitionEndsFromDiskActivity({ spec, brokerIds: [1, 2], topics: ['t', 'missing'], from: [{ topic: 't', partition: 0, offset: 5 }], cuts: [{ topic: 't', partition: 0, offset: 12 }] }),
    )) as DiskPartitions;
    expect(r.host).toBe('h1');
    expect(r.partitions).toEqual([
      {
        topic: 't',
        partition: 0,
        end: 20,
        epoch: 0,
        start: 0,
        brokerId: 1,
        logDir: join(dir, 'b1'),
        replicas: [
          { brokerId: 1, end: 20, epoch: 0 },
          { brokerId: 2, end: 10, epoch: 0 },
        ],
        from: 5,
        count: { records: 5 + 5 + 4, aborted: 0, open: 0, markers: 1 },
        cuts: [{ offset: 12, count: { records: 5 + 2, aborted: 0, open: 0, markers: 0 } }],
      },
    ]);
    expect(r.problems).toEqual(['topic missing: no replica in the log dirs of brokers 1, 2']);
    expect(snapshot(dir)).toEqual(before);
  });

  it('ends only where no position is given; fromStart counts a partition the mirror never copied', async () => {
    const { spec } = layout();
    const ends = await partitionEndsFromDisk(spec, [2], ['t', 'other']);
    expect(ends.partitions.map((p) => [p.topic, p.partition, p.end, p.count])).toEqual([
      ['other', 3, 0, undefined],
      ['t', 0, 10, undefined],
    ]);
    const all = await partitionEndsFromDisk(spec, [1], ['t'], { from: [], fromStart: true });
    expect(all.partitions[0]!.count).toEqual({ records: 19, aborted: 0, open: 0, markers: 1 });
  });

  it("starts at the segment's offset index where it is right, and from the segment's start where it is not", async () => {
    const { spec, logs } = layout();
    const p1 = join(logs[0]!, 't-0');
    const first = batch(0, 10).bytes.length; // the transaction's batch (10-14) starts here
    const entry = (rel: number, pos: number) => {
      const b = Buffer.alloc(8 * 4); // preallocated: zeros after the entries
      b.writeInt32BE(rel, 0);
      b.writeInt32BE(pos, 4);
      return b;
    };
    const counted = async () => (await partitionEndsFromDisk(spec, [1], ['t'], { from: [{ topic: 't', partition: 0, offset: 12 }] })).partitions[0]!.count;
    const expected = { records: 3 + 4, aborted: 0, open: 0, markers: 1 };
    writeFileSync(join(p1, `${String(0).padStart(20, '0')}.index`), entry(9, first)); // right: batch 10-14 starts there
    expect(await counted()).toEqual(expected);
    writeFileSync(join(p1, `${String(0).padStart(20, '0')}.index`), entry(4, first)); // wrong: says offset 4 starts where 10 does
    expect((await partitionEndsFromDisk(spec, [1], ['t'], { from: [{ topic: 't', partition: 0, offset: 5 }] })).partitions[0]!.count).toEqual({ records: 14, aborted: 0, open: 0, markers: 1 });
    writeFileSync(join(p1, `${String(0).padStart(20, '0')}.index`), entry(9, first + 5)); // inside a batch
    expect(await counted()).toEqual(expected);
  });

  it("the replica of the newest leader epoch is the partition's, even when an older leader's log is longer", async () => {
    // Broker 1 led epoch 3 and wrote 10-19 that never reached broker 2; broker 2 then led epoch 4 and
    // wrote 10-14 (acknowledged). Kafka truncates broker 1 to 10 when it rejoins: broker 2's log is the truth.
    const { spec, logs } = layout();
    writeFileSync(join(logs[0]!, 't-0', seg(0)), Buffer.concat([batch(0, 10, { epoch: 3 }), batch(10, 10, { epoch: 3 })].map((b) => b.bytes)));
    for (const f of readdirSync(join(logs[0]!, 't-0'))) if (f !== seg(0)) rmSync(join(logs[0]!, 't-0', f));
    writeFileSync(join(logs[1]!, 't-0', seg(0)), Buffer.concat([batch(0, 10, { epoch: 3 }), batch(10, 5, { epoch: 4 })].map((b) => b.bytes)));
    writeFileSync(join(logs[1]!, 't-0', seg(15)), Buffer.alloc(0)); // rolled, nothing written yet: the epoch is the older segment's
    const here = await partitionEndsFromDisk(spec, [1, 2], ['t'], { from: [{ topic: 't', partition: 0, offset: 5 }] });
    expect(here.partitions[0]).toMatchObject({ brokerId: 2, end: 15, epoch: 4, count: { records: 10 }, replicas: [{ brokerId: 2, end: 15, epoch: 4 }, { brokerId: 1, end: 20, epoch: 3 }] });
    // The same over two hosts (one worker each): merged by epoch first.
    const [h1, h2] = await Promise.all([partitionEndsFromDisk(spec, [1], ['t']), partitionEndsFromDisk(spec, [2], ['t'])]);
    expect(mergeDisk([h1, h2]).get('t/0')).toMatchObject({ brokerId: 2, end: 15, epoch: 4 });
    expect(mergeDisk([h2, h1]).get('t/0')).toMatchObject({ brokerId: 2, end: 15, epoch: 4 });
  });

  it('a closed segment that stops short is an error, not a guess', async () => {
    const { spec, logs } = layout();
    const p1 = join(logs[0]!, 't-0');
    const b = batch(0, 10).bytes;
    writeFileSync(join(p1, seg(0)), b.subarray(0, b.length - 3));
    await expect(partitionEndsFromDisk(spec, [1], ['t'], { from: [{ topic: 't', partition: 0, offset: 0 }] })).rejects.toThrow(/closed segment/);
  });
});
