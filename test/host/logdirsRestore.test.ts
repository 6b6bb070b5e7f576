/**
 * restoreLogDirs without a lab: a spec without ZooKeeper and a broker control that reports it
 * stopped, restoring a hand-made log-dir copy. Covers the worker-thread path and the calling-thread
 * fallback (byte-identical files, modes, times, nothing left behind), resuming an interrupted
 * restore, damaged backups and hostile entry paths. The real-broker round trip is in
 * logdirs.int.test.ts.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSpec, type ClusterSpec } from '../../src/config/spec';
import type { BrokerControl } from '../../src/host/brokerControl';
import { LOGDIR_MANIFEST_FORMAT, restoreLogDirs, type LogDirManifest } from '../../src/host/logdirs';
import { openRepository, type SnapshotReader } from '../../src/repository';
import { RestorePool } from '../../src/repository/restorePool';
import { PASSWORD, kafkaLike, tempDir, tempRepo, flipBit, packFiles, withoutWorkers } from '../repository/helpers';

const HOST = 'broker-a';
const stopped: BrokerControl = { describe: 'test', start: async () => undefined, stop: async () => undefined, status: async () => 'stopped' };
const MTIME = new Date('2024-03-04T05:06:07.000Z');

/** What a log-dir copy of two log dirs holds, by snapshot path. */
function copyOf(): Record<string, Buffer> {
  return {
    [`logdirs/${HOST}/0/meta.properties`]: Buffer.from('version=0\nbroker.id=1\ncluster.id=abcdefghijklmnopqrstuv\n'),
    [`logdirs/${HOST}/0/recovery-point-offset-checkpoint`]: Buffer.from('0\n1\norders 0 3000\n'),
    [`logdirs/${HOST}/0/orders-0/00000000000000000000.log`]: kafkaLike(900_000, 1),
    [`logdirs/${HOST}/0/orders-0/00000000000000000000.index`]: Buffer.alloc(10_000),
    [`logdirs/${HOST}/0/orders-0/00000000000000003000.log`]: kafkaLike(300_000, 2),
    [`logdirs/${HOST}/0/orders-0/leader-epoch-checkpoint`]: Buffer.alloc(0),
    // > 8 MiB: several worker tasks, written at their offsets
    [`logdirs/${HOST}/0/orders-1/00000000000000000000.log`]: Buffer.concat(Array.from({ length: 9 }, (_, i) => kafkaLike(1024 * 1024, 10 + i))),
    [`logdirs/${HOST}/1/meta.properties`]: Buffer.from('version=0\nbroker.id=1\ncluster.id=abcdefghijklmnopqrstuv\n'),
    [`logdirs/${HOST}/1/payments-0/00000000000000000000.log`]: randomBytes(200_000),
    [`logdirs/${HOST}/1/payments-0/00000000000000000000.timeindex`]: Buffer.alloc(12),
  };
}

async function backedUp() {
  const repo = await tempRepo();
  const files = copyOf();
  const w = await repo.newSnapshot({ cluster: 't', components: ['logdirs'] });
  for (const [path, data] of Object.entries(files)) await w.writeFile(path, data, { mode: 0o640, mtime: MTIME });
  const manifest: Partial<LogDirManifest> = { format: LOGDIR_MANIFEST_FORMAT, host: HOST, brokerId: 1, mode: 'cold', logDirs: ['/x/0', '/x/1'], partitions: {} };
  await w.writeJson(`logdirs/${HOST}/manifest.json`, manifest);
  const meta = await w.commit();
  return { repo, files, meta };
}

function specFor(base: string): ClusterSpec {
  return parseSpec({
    name: 't',
    kafka: { bootstrapServers: ['127.0.0.1:1'] },
    brokers: [{ id: 1, host: HOST, logDirs: [join(base, 'd0'), join(base, 'd1')], configDir: base, control: { type: 'command', start: 'true', stop: 'true', status: 'false' } }],
  });
}

/** Where a snapshot path lands. */
const destOf = (spec: ClusterSpec, path: string) => {
  const [, , i, ...rest] = path.split('/');
  return join(spec.brokers[0]!.logDirs[Number(i)]!, ...rest);
};

const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)).map((p) => `${e.name}/${p}`) : [e.name]));
const leftovers = (spec: ClusterSpec) => spec.brokers[0]!.logDirs.flatMap((d) => (existsSync(d) ? walk(d) : [])).filter((n) => n.includes('lifeboat-restore'));

function expectRestored(spec: ClusterSpec, files: Record<string, Buffer>): void {
  for (const [path, data] of Object.entries(files)) {
    const dest = destOf(spec, path);
    expect(readFileSync(dest).equals(data), path).toBe(true);
    expect(statSync(dest).mtime.toISOString(), path).toBe(MTIME.toISOString());
    expect(statSync(dest).mode & 0o777, path).toBe(0o640 & ~process.umask());
  }
  expect(leftovers(spec)).toEqual([]);
  expect(walk(spec.brokers[0]!.logDirs[0]!).length + walk(spec.brokers[0]!.logDirs[1]!).length).toBe(Object.keys(files).length);
}



afterEach(() => vi.restoreAllMocks());

describe('restoreLogDirs (no lab)', () => {
  it('restores every log dir through the restore workers: byte-identical files, modes and times, previous contents moved aside', async () => {
    const { repo, files } = await backedUp();
    const spec = specFor(tempDir('logdirs-restore'));
    mkdirSync(spec.brokers[0]!.logDirs[0]!, { recursive: true });
    writeFileSync(join(spec.brokers[0]!.logDirs[0]!, 'old'), 'previous');
    const writes = vi.spyOn(RestorePool.prototype, 'write');
    const progress: number[] = [];
    const r = await restoreLogDirs(spec, 1, await repo.openSnapshot('latest'), { control: stopped, onProgress: (p) => progress.push(p.files) });
    expect(writes).toHaveBeenCalled();
    expect(r).toMatchObject({ host: HOST, files: Object.keys(files).length, resumedFiles: 0, clusterId: 'abcdefghijklmnopqrstuv' });
    expect(r.bytes).toBe(Object.values(files).reduce((n, b) => n + b.length, 0));
    expect(r.movedAside).toHaveLength(1);
    expect(readFileSync(join(r.movedAside[0]!, 'old'), 'utf8')).toBe('previous');
    expect(progress).toEqual(Object.keys(files).map((_, i) => i + 1));
    expectRestored(spec, files);
    await repo.close();
  });

  for (const how of ['absent', 'null', 'rejects'] as const) {
    it(`restores on the calling thread when the reader has no workers to offer (parallelRestore ${how})`, async () => {
      const { repo, files } = await backedUp();
      const spec = specFor(tempDir('logdirs-fallback'));
      const writes = vi.spyOn(RestorePool.prototype, 'write');
      const r = await restoreLogDirs(spec, 1, withoutWorkers(await repo.openSnapshot('latest'), how), { control: stopped });
      expect(writes).not.toHaveBeenCalled();
      expect(r.files).toBe(Object.keys(files).length);
      expectRestored(spec, files);
      await repo.close();
    });
  }

  it('stops between files when its signal aborts, and a resumed run completes it byte for byte', async () => {
    const { repo, files } = await backedUp();
    const spec = specFor(tempDir('logdirs-abort'));
    const reader = await repo.openSnapshot('latest');
    const ac = new AbortController();
    let abortedAt = 0;
    const first = await restoreLogDirs(spec, 1, withoutWorkers(reader, 'absent'), {
      control: stopped,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.files === 3) {
          abortedAt = Date.now();
          ac.abort();
        }
      },
    }).catch((e: unknown) => e);
    expect((first as Error).name).toBe('AbortError');
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    // Three whole files, nothing half-written under a final name, no temporary file left.
    const written = spec.brokers[0]!.logDirs.flatMap((d) => (existsSync(d) ? walk(d) : []));
    expect(written).toHaveLength(3);
    expect(leftovers(spec)).toEqual([]);
    const r = await restoreLogDirs(spec, 1, reader, { control: stopped, resume: true });
    expect(r.resumedFiles).toBe(3);
    expect(r.files).toBe(Object.keys(files).length);
    expectRestored(spec, files);
    await repo.close();
  });

  it('resumes an interrupted restore: files already whole are kept as they are, the rest (partial, missing, a temporary file left by a kill) restored', async () => {
    const { repo, files } = await backedUp();
    const spec = specFor(tempDir('logdirs-resume'));
    const reader = await repo.openSnapshot('latest');
    await restoreLogDirs(spec, 1, reader, { control: stopped });
    const paths = Object.keys(files);
    const kept = destOf(spec, paths[2]!);
    const keptIno = statSync(kept).ino;
    // An attempt killed midway: one file written partly (it never got the snapshot's mtime), one not yet, one left as its temporary file.
    const partial = destOf(spec, paths[6]!);
    truncateSync(partial, 1000);
    const missing = destOf(spec, paths[4]!);
    writeFileSync(missing.replace(/[^/]+$/, (n) => `.${n}.lifeboat-restore`), 'half');
    rmSync(missing);
    // A file of the right size whose time was never set is not taken as whole either.
    const unstamped = destOf(spec, paths[3]!);
    utimesSync(unstamped, new Date(), new Date());
    const r = await restoreLogDirs(spec, 1, reader, { control: stopped, resume: true });
    expect(r.movedAside).toEqual([]);
    expect(r.files).toBe(paths.length);
    expect(r.resumedFiles).toBe(paths.length - 3);
    expect(statSync(kept).ino).toBe(keptIno);
    expectRestored(spec, files);
    await repo.close();
  });

  it('refuses a damaged backup with CorruptBackup naming the snapshot; every file at its own name is whole, no temporary file is left', async () => {
    const { repo, files, meta } = await backedUp();
    const path = repo.path;
    await repo.close();
    const pack = packFiles(repo).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    flipBit(pack, Math.floor(statSync(pack).size / 3));
    for (const workers of [true, false]) {
      const damaged = await openRepository(path, PASSWORD, { notice: () => undefined });
      const spec = specFor(tempDir('logdirs-damaged'));
      const reader = await damaged.openSnapshot(meta.id);
      const err = await restoreLogDirs(spec, 1, workers ? reader : withoutWorkers(reader, 'null'), { control: stopped }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `workers: ${workers}`).toMatchObject({ type: 'CorruptBackup', message: expect.stringContaining(meta.id.slice(0, 12)) });
      expect(leftovers(spec)).toEqual([]);
      let whole = 0;
      for (const [p, data] of Object.entries(files)) {
        const dest = destOf(spec, p);
        if (!existsSync(dest)) continue;
        expect(readFileSync(dest).equals(data), p).toBe(true);
        expect(statSync(dest).mtime.toISOString(), p).toBe(MTIME.toISOString());
        whole++;
      }
      expect(whole).toBeLessThan(Object.keys(files).length);
      await damaged.close();
    }
  });

  it('refuses entries that would land outside the log dir, before moving or writing anything', async () => {
    const { repo } = await backedUp();
    const real = await repo.openSnapshot('latest');
    const spec = specFor(tempDir('logdirs-hostile'));
    const d0 = spec.brokers[0]!.logDirs[0]!;
    mkdirSync(d0, { recursive: true });
    writeFileSync(join(d0, 'marker'), 'untouched');
    const hostile: SnapshotReader = {
      ...withoutWorkers(real, 'absent'),
      list: (p) => [...real.list(p), { path: `logdirs/${HOST}/0/../../../evil`, type: 'file', size: 4, mode: 0o644, mtime: MTIME.toISOString() }],
      readFile: (p) => (p.includes('evil') ? Readable.from([Buffer.from('evil')]) : real.readFile(p)),
    };
    await expect(restoreLogDirs(spec, 1, hostile, { control: stopped })).rejects.toMatchObject({ type: 'UnsafeTarget' });
    expect(readdirSync(d0)).toEqual(['marker']);
    expect(existsSync(spec.brokers[0]!.logDirs[1]!)).toBe(false);
    await repo.close();
  });
});
