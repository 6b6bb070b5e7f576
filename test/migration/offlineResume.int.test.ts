/**
 * The offline migration's target restore is resumable and never writes over the target's own data:
 * a restore SIGKILLed mid-copy (as a worker would be) is run again and finishes with the files the
 * killed one completed kept (resumedFiles), every byte as in the source broker's log dir, the
 * checkpoints merged and meta.properties the target's. A second migration onto the same partition
 * directories, and a running target broker, are refused before anything is written.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { backupPart, findPart } from '../../src/backup/parts';
import { type ClusterSpec, parseSpec } from '../../src/config/spec';
import type { PartitionCover } from '../../src/host/logdirs';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { poll } from '../../src/core/poll';
import { type PartitionCopy, restoreMigratedPartitions } from '../../src/migration/offline/restore';
import { openRepositoryForSpec } from '../../src/repository';
import { primarySpec, unique } from '../support/lab';
import { createTopicsReady } from '../support/kafka';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('offline migration: the target restore resumes after a kill and keeps off the target\'s data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-offline-resume-'));
  const lab = primarySpec();
  const source: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
  const sourceFile = join(dir, 'primary.yaml');
  const topic = unique('ofl-resume');
  const targetDir = join(dir, 'target-7');
  const scratchTarget = (status: string) => ({
    name: 'ofl-scratch',
    kafka: { bootstrapServers: ['127.0.0.1:9'], mode: 'zookeeper' },
    zookeeper: { connect: lab.zookeeper!.connect, chroot: `/${unique('lifeboat-test')}` },
    brokers: [{ id: 7, host: 'scratch-7', logDirs: [targetDir], configDir: join(dir, 'config-7'), control: { type: 'command', start: 'true', stop: 'true', status } }],
  });
  const target = parseSpec(scratchTarget('false'), 'scratch target');
  const clusterId = 'ScratchTargetClusterId';
  let copies: PartitionCopy[] = [];
  let hw: string[] = [];

  beforeAll(async () => {
    writeFileSync(sourceFile, stringify(source));
    // Small segments: many files, so the kill lands between files.
    await createTopicsReady(source, [{ topic, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'segment.bytes', value: String(256 * 1024) }] }]);
    const producer = kafkaFor(source).producer({ idempotent: true });
    await producer.connect();
    for (let i = 0; i < 80; i++) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 25 }, (_, j) => ({ key: `k${i}-${j}`, value: createHash('sha512').update(`${i}-${j}`).digest('hex').repeat(16) })) });
    }
    await producer.disconnect();
    // The high watermarks reach broker 1's checkpoint file within 5 s (a stopped source has all of them).
    const hwFile = join(source.brokers.find((b) => b.id === 1)!.logDirs[0]!, 'replication-offset-checkpoint');
    await poll(() => [0, 1].every((p) => readFileSync(hwFile, 'utf8').includes(`${topic} ${p} `)), { what: 'the high watermarks checkpointed', timeoutMs: 30_000, intervalMs: 500 });
    hw = readFileSync(hwFile, 'utf8').split('\n').filter((l) => l.startsWith(`${topic} `));
    const repo = await openRepositoryForSpec(source, 'primary', { create: true });
    try {
      const set = { setId: unique('resume-set'), tier: 'manual' as const, parts: ['logdirs:1'] };
      await backupPart(source, repo, set, 'logdirs:1', { logdirMode: 'hot' });
      const snap = (await findPart(repo, source.name, set.setId, 'logdirs:1'))!;
      const perHost = snap.points.logdirs as Record<string, Record<string, PartitionCover>>;
      const host = Object.keys(perHost)[0]!;
      copies = [0, 1].map((p) => ({ topic, partition: p, fromBroker: 1, snapshotId: snap.id, fromHost: host, dir: perHost[host]![`${topic}-${p}`]!.dir, end: perHost[host]![`${topic}-${p}`]!.end }));
    } finally {
      await repo.close();
    }
  });

  afterAll(async () => {
    await withAdmin(kafkaFor(lab), lab.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the restore in a child process and SIGKILLs it once it reports `killAt` bytes. */
  function restoreUntilKilled(killAt: number, migration: { id: string; targetClusterId: string; copies: PartitionCopy[] }): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx'), [join(__dirname, 'offlineResumeChild.ts')], {
        env: { ...process.env, LIFEBOAT_TEST_OFFLINE: JSON.stringify({ sourceFile, target: scratchTarget('false'), brokerId: 7, migration }) },
        stdio: ['ignore', 'pipe', 'inherit'],
        detached: true, // its own process group: the kill reaches tsx's node child too
      });
      let seen = 0;
      let killed = false;
      child.stdout.on('data', (d: Buffer) => {
        for (const m of d.toString().matchAll(/bytes (\d+)/g)) seen = Math.max(seen, Number(m[1]));
        if (!killed && seen >= killAt) {
          killed = true;
          process.kill(-child.pid!, 'SIGKILL');
        }
      });
      child.on('exit', () => (killed ? resolve(seen) : reject(new Error(`the restore ended before it was killed (${seen} bytes)`))));
    });
  }

  it('finishes after a SIGKILL mid-copy, byte for byte, and refuses to write over what is not its own', { timeout: 150_000 }, async () => {
    const migration = { id: 'offlineMigration:test-resume', targetClusterId: clusterId, copies };
    const killedAt = await restoreUntilKilled(300 * 1024, migration);
    expect(killedAt).toBeGreaterThanOrEqual(300 * 1024);

    const r = await restoreMigratedPartitions(source, target, 7, migration);
    expect(r.partitions).toBe(2);
    expect(r.resumedFiles).toBeGreaterThan(0);
    expect(r.resumedFiles).toBeLessThan(r.files);
    expect(r.metaWritten).toBe(0); // the killed attempt wrote it already

    // Every restored file as in primary broker 1's log dir (nothing was written to the topic since the copy).
    const sourceDir = source.brokers.find((b) => b.id === 1)!.logDirs[0]!;
    let files = 0;
    for (const p of [0, 1]) {
      for (const f of readdirSync(join(targetDir, `${topic}-${p}`))) {
        expect(sha(join(targetDir, `${topic}-${p}`, f)), f).toBe(sha(join(sourceDir, `${topic}-${p}`, f)));
        files++;
      }
    }
    expect(files).toBe(r.files);
    expect(files).toBeGreaterThan(20);
    expect(readFileSync(join(targetDir, 'meta.properties'), 'utf8')).toBe(`version=0\nbroker.id=7\ncluster.id=${clusterId}\n`);
    // The source's high watermarks of the two partitions, merged into the target's checkpoint file.
    expect(hw).toHaveLength(2);
    const merged = readFileSync(join(targetDir, 'replication-offset-checkpoint'), 'utf8').split('\n');
    expect(merged.slice(0, 2)).toEqual(['0', '2']);
    expect(merged.slice(2).filter(Boolean).sort()).toEqual([...hw].sort());

    // Run again: nothing to do but recognise its own work.
    const again = await restoreMigratedPartitions(source, target, 7, migration);
    expect(again.resumedFiles).toBe(again.files);

    // Another migration onto the same partition directories: they are not its own.
    const other = await restoreMigratedPartitions(source, target, 7, { ...migration, id: 'offlineMigration:other' }).then(() => 'no error', (e: Error & { type?: string }) => `${e.type}: ${e.message}`);
    expect(other).toBe(`UnsafeTarget: ${join(targetDir, `${topic}-0`)} already exists on broker 7 of ofl-scratch and is not this migration's: the target's own data is never overwritten`);
    // A running target broker is refused before anything.
    const running = await restoreMigratedPartitions(source, parseSpec(scratchTarget('true'), 'scratch'), 7, migration).then(() => 'no error', (e: Error & { type?: string }) => `${e.type}: ${e.message}`);
    expect(running).toBe('UnsafeTarget: broker 7 of ofl-scratch is running (command (true)): stop it before partitions are put into its log dirs');
  });
});
