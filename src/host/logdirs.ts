/**
 * File-level copies of a broker's log dirs into a snapshot's `logdirs/` component, and their
 * restore into a stopped broker.
 *
 *   logdirs/<host>/manifest.json            LogDirManifest (mode, cluster id, offsets covered per partition)
 *   logdirs/<host>/<i>/<path in log dir i>  files of the broker's i-th log dir (spec order)
 *
 * Hot copy (broker running): everything is listed and measured first, which fixes the point the
 * copy represents. Checkpoint files and meta.properties are read before any segment length, so
 * recovery points and high watermarks never point past the copied data. Closed segments and their
 * indexes are copied whole; the active segment only up to its last complete batch within the
 * length read at the start (Kafka only appends). The active segment's preallocated index files are
 * left out: Kafka rebuilds missing indexes when it recovers the segment on start. Temporary files
 * (*.tmp, *.swap, *.deleted, *.cleaned), directories being deleted, moved or cleaned up
 * (-delete, -future, -stray) and the .lock file are skipped.
 *
 * Cold copy: stop the broker through its control adapter, copy everything as it is (a clean
 * shutdown leaves consistent files and .kafka_cleanshutdown), start it, wait until it is back in
 * the ISR of all its partitions. Incremental copies cost only new segment bytes through the
 * repository's content-defined dedupe.
 */
import { mkdir, open, readFile, readdir, rename, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { poll, throwIfAborted } from '../core/poll';
import { LifeboatError } from '../errors';
import { type BrokerSpec, type ClusterSpec, zkAuthOf } from '../config/spec';
import { describeTopics, withAdmin } from '../kafka/admin';
import { kafkaFor } from '../kafka/client';
import { checkEntryPath } from '../repository/repo';
import { defaultRestoreWorkers, restoreFileEntry } from '../repository/restore';
import type { FileEntry, SnapshotReader, SnapshotWriter } from '../repository/types';
import { chrootPath, exists, getData, withZk } from '../zookeeper/client';
import { waitUntil } from './processes';
import { type BrokerControl, brokerControlFor } from './brokerControl';
import { forEachLimited } from '../concurrency';

export const LOGDIR_MANIFEST_FORMAT = 'lifeboat-logdirs/1';

export interface PartitionCover {
  /** Index of the log dir (spec order). */
  dir: number;
  /** Base offset of the first copied segment. */
  start: number;
  /** Exclusive end: one past the last offset of the last complete batch copied. */
  end: number;
  segments: number;
  bytes: number;
}

export interface LogDirManifest {
  format: typeof LOGDIR_MANIFEST_FORMAT;
  host: string;
  brokerId: number;
  mode: 'hot' | 'cold';
  clusterId?: string;
  logDirs: string[];
  files: number;
  bytes: number;
  newBytes: number;
  /** Bytes of files unchanged since the copy reused from (size, mtime, inode, ctime), recorded without reading them. */
  reusedBytes?: number;
  durationMs: number;
  /** Keyed "<topic>-<partition>". */
  partitions: Record<string, PartitionCover>;
}

export interface LogDirProgress {
  host: string;
  files: number;
  bytes: number;
}

const SKIP_SUFFIXES = ['.tmp', '.swap', '.deleted', '.cleaned'];
const SKIP_DIR = /-(delete|future|stray)$/;
const PARTITION_DIR = /^(.+)-(\d+)$/;

const skipFile = (name: string) => name === '.lock' || SKIP_SUFFIXES.some((s) => name.endsWith(s));

export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([^#!=\s][^=]*)=(.*)$/.exec(line);
    if (m) out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}

/**
 * Walks the batch headers of a segment up to `length` bytes: returns the length of the complete
 * batches and the offset after the last one (v2 batches: last offset = base + lastOffsetDelta;
 * older message sets carry their last offset in the entry header), and the partition leader epoch
 * of the last batch (-1 when none or an older message set).
 */
export async function scanSegment(file: string, length: number, baseOffset: number): Promise<{ validLength: number; endOffset: number; lastEpoch: number }> {
  const fh = await open(file, 'r');
  const head = Buffer.alloc(27);
  let pos = 0;
  let endOffset = baseOffset;
  let lastEpoch = -1;
  try {
    while (pos + 12 <= length) {
      const { bytesRead } = await fh.read(head, 0, 27, pos);
      if (bytesRead < 12) break;
      const base = Number(head.readBigInt64BE(0));
      const size = head.readInt32BE(8);
      const next = pos + 12 + size;
      if (size <= 0 || next > length) break;
      const magic = bytesRead >= 17 ? head.readInt8(16) : -1;
      endOffset = (magic >= 2 && bytesRead >= 27 ? base + head.readInt32BE(23) : base) + 1;
      lastEpoch = magic >= 2 ? head.readInt32BE(12) : -1;
      pos = next;
    }
  } finally {
    await fh.close();
  }
  return { validLength: pos, endOffset, lastEpoch };
}

/** A segment's files: `<partition dir>/<20-digit base offset>` and the kind. */
const SEGMENT_FILE = /^(.+\/\d{20})\.(?:log|index|timeindex|txnindex)$/;

interface PlannedFile {
  rel: string;
  abs: string;
  length: number;
  mtime: Date;
  mode: number;
  inode: string;
  ctime: Date;
}

/** Lists one log dir as of now: checkpoint contents and the files with their lengths. */
async function planLogDir(root: string, mode: 'hot' | 'cold', dirIndex: number, partitions: Record<string, PartitionCover>) {
  const top = await readdir(root, { withFileTypes: true });
  // Top-level files first (checkpoints, meta.properties): before any segment length is read.
  const early: { rel: string; data: Buffer; mtime: Date; mode: number }[] = [];
  for (const e of top) {
    if (!e.isFile() || skipFile(e.name)) continue;
    const abs = join(root, e.name);
    try {
      const [data, st] = await Promise.all([readFile(abs), stat(abs)]);
      early.push({ rel: e.name, data, mtime: st.mtime, mode: st.mode & 0o777 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const files: PlannedFile[] = [];
  for (const e of top) {
    if (!e.isDirectory() || SKIP_DIR.test(e.name) || !PARTITION_DIR.test(e.name)) continue;
    const pdir = join(root, e.name);
    let names: string[];
    try {
      names = (await readdir(pdir)).filter((n) => !skipFile(n));
    } catch {
      continue; // deleted meanwhile
    }
    const bases = names.filter((n) => n.endsWith('.log')).map((n) => Number(n.slice(0, -4))).sort((a, b) => a - b);
    const active = bases[bases.length - 1];
    const activeStem = active === undefined ? undefined : String(active).padStart(20, '0');
    const cover: PartitionCover = { dir: dirIndex, start: bases[0] ?? 0, end: active ?? 0, segments: bases.length, bytes: 0 };
    for (const n of names) {
      const abs = join(pdir, n);
      let st;
      try {
        st = await stat(abs, { bigint: true }); // inode numbers may exceed 2^53
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      let length = Number(st.size);
      if (mode === 'hot' && activeStem !== undefined && n.startsWith(activeStem)) {
        if (n.endsWith('.index') || n.endsWith('.timeindex')) continue; // preallocated, rebuilt by Kafka
        if (n.endsWith('.log')) {
          const scan = await scanSegment(abs, Number(st.size), active!);
          length = scan.validLength;
          cover.end = scan.endOffset;
        }
      } else if (mode === 'cold' && activeStem !== undefined && n === `${activeStem}.log`) {
        cover.end = (await scanSegment(abs, Number(st.size), active!)).endOffset;
      }
      if (n.endsWith('.log')) cover.bytes += length;
      files.push({ rel: `${e.name}/${n}`, abs, length, mtime: st.mtime, mode: Number(st.mode) & 0o777, inode: st.ino.toString(), ctime: st.ctime });
    }
    partitions[e.name] = cover;
  }
  return { early, files };
}

export interface CopyOptions {
  mode: 'hot' | 'cold';
  /** Default: from the spec's control field. */
  control?: BrokerControl;
  onProgress?: (p: LogDirProgress) => void;
  /** How long a cold copy waits for the broker to rejoin every ISR. */
  isrTimeoutMs?: number;
  /** Default: the broker spec's (see BrokerSpec.ignoreInode). */
  ignoreInode?: boolean;
  ignoreCtime?: boolean;
  /**
   * Stops the copy between files when it aborts (the snapshot is then not sealed; what reached the
   * repository is reused by the next copy). A cold copy still starts the broker again.
   */
  signal?: AbortSignal;
}

/** Every log dir of the broker is a directory here: checked before anything (a cold copy stops the broker). */
async function checkLogDirs(spec: ClusterSpec, b: BrokerSpec): Promise<void> {
  const field = (i: number) => `brokers[${spec.brokers.indexOf(b)}].logDirs[${i}]`;
  for (const [i, dir] of b.logDirs.entries()) {
    let isDir: boolean;
    try {
      isDir = (await stat(dir)).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read by this process' : `cannot be read (${code ?? String(e)})`;
      throw new LifeboatError('InvalidSpec', `${field(i)}: log dir ${dir} of broker ${b.id} ${why} on ${hostname()}`);
    }
    if (!isDir) throw new LifeboatError('InvalidSpec', `${field(i)}: log dir ${dir} of broker ${b.id} is not a directory on ${hostname()}`);
  }
}

/** How many partition replicas the cluster places on the broker (all topics, internal ones too). */
async function replicasOn(spec: ClusterSpec, brokerId: number): Promise<number> {
  return withAdmin(kafkaFor(spec, 'logdirs'), spec.name, async (admin) => {
    const described = await describeTopics(admin, await admin.listTopics(), { cluster: spec.name, listed: true });
    return described.reduce((n, t) => n + t.partitions.filter((p) => p.replicas.includes(brokerId)).length, 0);
  });
}

/**
 * A hot copy that finds no partition directory at all is wrong (log dirs that are not the broker's
 * log.dirs) unless the broker really holds no replica: that is asked of the cluster, never assumed.
 */
async function checkFoundPartitions(spec: ClusterSpec, b: BrokerSpec): Promise<void> {
  let hosted: number | Error;
  try {
    hosted = await replicasOn(spec, b.id);
  } catch (e) {
    hosted = e as Error;
  }
  if (hosted === 0) return;
  const why = typeof hosted === 'number' ? `while the cluster places ${hosted} partition replicas on it` : `and Kafka could not say whether it holds any (${hosted.message})`;
  throw new LifeboatError(
    'InvalidSpec',
    `hot copy of broker ${b.id}: no partition directory in ${b.logDirs.join(', ')} ${why}: are brokers[${spec.brokers.indexOf(b)}].logDirs the broker's log.dirs (server.properties)?`,
  );
}

export async function copyLogDirs(spec: ClusterSpec, brokerId: number, writer: SnapshotWriter, opts: CopyOptions): Promise<LogDirManifest> {
  const b = spec.brokers.find((x) => x.id === brokerId);
  if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  await checkLogDirs(spec, b);
  const t0 = Date.now();
  const control = opts.control ?? brokerControlFor(spec, brokerId);
  if (opts.mode === 'cold') {
    if ((await control.status()) === 'running') await control.stop();
    let manifest: LogDirManifest | undefined;
    try {
      manifest = await copyFiles();
      return manifest;
    } finally {
      await control.start();
      const topics = new Set(Object.keys(manifest?.partitions ?? {}).map((tp) => PARTITION_DIR.exec(tp)![1]!));
      await waitForIsr(spec, brokerId, opts.isrTimeoutMs ?? 180_000, [...topics], opts.signal);
    }
  }
  return copyFiles();

  async function copyFiles(): Promise<LogDirManifest> {
    const manifest: LogDirManifest = {
      format: LOGDIR_MANIFEST_FORMAT,
      host: b!.host,
      brokerId,
      mode: opts.mode,
      logDirs: b!.logDirs,
      files: 0,
      bytes: 0,
      newBytes: 0,
      reusedBytes: 0,
      durationMs: 0,
      partitions: {},
    };
    const ignore = { inode: opts.ignoreInode ?? b!.ignoreInode, ctime: opts.ignoreCtime ?? b!.ignoreCtime };
    const plans = [];
    for (const [i, root] of b!.logDirs.entries()) plans.push({ i, ...(await planLogDir(root, opts.mode, i, manifest.partitions)) });
    if (opts.mode === 'hot' && Object.keys(manifest.partitions).length === 0) await checkFoundPartitions(spec, b!);
    const prefix = (i: number) => `logdirs/${b!.host}/${i}`;
    for (const plan of plans) {
      for (const f of plan.early) {
        throwIfAborted(opts.signal);
        if (f.rel === 'meta.properties') manifest.clusterId ??= parseProperties(f.data.toString())['cluster.id'];
        const r = await writer.writeFile(`${prefix(plan.i)}/${f.rel}`, f.data, { mode: f.mode, mtime: f.mtime });
        manifest.files++;
        manifest.bytes += r.size;
        manifest.newBytes += r.newBytes;
      }
      // A segment's .log before its indexes: those are taken over only with an unchanged .log (the
      // log cleaner rewrites a segment's files keeping their old mtime; a same-size index would
      // otherwise pass for unchanged).
      const changed = new Set<string>();
      const ordered = [...plan.files.filter((f) => f.rel.endsWith('.log')), ...plan.files.filter((f) => !f.rel.endsWith('.log'))];
      for (const f of ordered) {
        throwIfAborted(opts.signal);
        const segment = SEGMENT_FILE.exec(f.rel)?.[1];
        // Closed segments and their indexes never change otherwise: a file the previous copy has with
        // the same size, mtime, inode and ctime is recorded again without reading it (a TB log dir is
        // not re-read hourly).
        const mayReuse = segment === undefined || !changed.has(segment);
        const stat = { size: f.length, mtime: f.mtime, mode: f.mode, inode: f.inode, ctime: f.ctime };
        if (mayReuse && (await writer.reuseUnchanged(`${prefix(plan.i)}/${f.rel}`, stat, ignore))) {
          manifest.files++;
          manifest.bytes += f.length;
          manifest.reusedBytes! += f.length;
          opts.onProgress?.({ host: b!.host, files: manifest.files, bytes: manifest.bytes });
          continue;
        }
        if (segment !== undefined) changed.add(segment);
        let r;
        try {
          if (f.length === 0) r = await writer.writeFile(`${prefix(plan.i)}/${f.rel}`, Buffer.alloc(0), stat);
          else {
            // Read straight into the writer's chunking windows, up to the listed length (an active segment grows meanwhile).
            const fh = await open(f.abs, 'r');
            try {
              r = await writer.writeFile(`${prefix(plan.i)}/${f.rel}`, { file: fh, length: f.length }, stat);
            } finally {
              await fh.close();
            }
          }
        } catch (e) {
          // Retention or compaction removed a closed segment after the listing: it is simply not in this copy.
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw e;
        }
        manifest.files++;
        manifest.bytes += r.size;
        manifest.newBytes += r.newBytes;
        opts.onProgress?.({ host: b!.host, files: manifest.files, bytes: manifest.bytes });
      }
    }
    manifest.durationMs = Date.now() - t0;
    await writer.writeJson(`logdirs/${b!.host}/manifest.json`, manifest);
    return manifest;
  }
}

/** Waits until the broker is in the ISR of every partition it replicates. */
/**
 * Waits until the broker is in the ISR of every partition it replicates. `topics` are the ones it
 * holds on disk: a broker that has just started may answer metadata before it knows them.
 */
export async function waitForIsr(spec: ClusterSpec, brokerId: number, timeoutMs: number, topics: string[] = [], signal?: AbortSignal): Promise<void> {
  const admin = kafkaFor(spec, 'isr-wait').admin();
  await admin.connect();
  try {
    await waitUntil(
      `broker ${brokerId} of ${spec.name} to rejoin the ISR of all its partitions`,
      async () => {
        const listed = await admin.listTopics();
        if (!topics.every((t) => listed.includes(t))) return false;
        // Throws (and is retried) while any partition reports an error such as "not hosted yet".
        const described = await describeTopics(admin, listed, { cluster: spec.name, listed: true });
        return described.every((t) => t.partitions.every((p) => !p.replicas.includes(brokerId) || (p.isr.includes(brokerId) && p.leader >= 0)));
      },
      { timeoutMs, intervalMs: 1000, signal },
    );
  } finally {
    await admin.disconnect();
  }
}

/** The cluster id ZooKeeper holds for the spec's cluster (undefined when it has none yet). */
export async function zookeeperClusterId(spec: ClusterSpec): Promise<string | undefined> {
  if (!spec.zookeeper) return undefined;
  const zkc = spec.zookeeper;
  return withZk(zkc.connect, async (zk) => {
    const path = chrootPath(zkc.chroot, '/cluster/id');
    if (!(await exists(zk, path))) return undefined;
    const { data } = await getData(zk, path);
    return (JSON.parse(data?.toString() ?? '{}') as { id?: string }).id;
  });
}

/** Whether ZooKeeper still holds the broker's registration (a killed broker's lasts until its session expires). */
export async function registeredInZookeeper(spec: ClusterSpec, brokerId: number): Promise<boolean> {
  if (!spec.zookeeper) return false;
  const zkc = spec.zookeeper;
  return withZk(zkc.connect, async (zk) => (await exists(zk, chrootPath(zkc.chroot, `/brokers/ids/${brokerId}`))) !== null, { auth: zkAuthOf(spec) });
}

/**
 * Waits until ZooKeeper no longer holds the broker's registration (a controlled shutdown drops it at
 * once, a dead broker's lasts until its session expires); `why` ends the timeout's message.
 */
export async function untilUnregistered(
  spec: ClusterSpec,
  brokerId: number,
  opts: { timeoutMs: number; intervalMs: number; signal?: AbortSignal; why: string },
): Promise<void> {
  if (!spec.zookeeper) return;
  await poll(async () => !(await registeredInZookeeper(spec, brokerId)), {
    what: `broker ${brokerId} to leave ZooKeeper`,
    timeoutMs: opts.timeoutMs,
    intervalMs: opts.intervalMs,
    signal: opts.signal,
    message: (reason) => `broker ${brokerId} is still registered in ZooKeeper ${Math.round(opts.timeoutMs / 1000)} s ${opts.why}${reason ? ` (${reason})` : ''}`,
  });
}

export interface RestoreLogDirsOptions {
  control?: BrokerControl;
  /**
   * Continue an interrupted restore of this same snapshot: keep what is in the log dirs and skip
   * files already restored whole (size and mtime as in the snapshot; mtime is set last).
   */
  resume?: boolean;
  /** Host whose copy to restore (default: the target broker's own host name). */
  fromHost?: string;
  onProgress?: (p: LogDirProgress) => void;
  /**
   * Stops the restore between files when it aborts: the files being written finish (each takes its
   * name only once complete and verified), no new one starts. Run again with `resume` to continue.
   */
  signal?: AbortSignal;
}

export interface RestoreLogDirsResult {
  host: string;
  files: number;
  bytes: number;
  /** Non-empty log dirs that were moved aside (never deleted). */
  movedAside: string[];
  /** Files found already restored by an interrupted attempt (resume). */
  resumedFiles: number;
  clusterId?: string;
  warnings: string[];
}

/**
 * Restores one broker's log dirs from a snapshot. Refuses a running broker (UnsafeTarget), a
 * copy whose meta.properties names another cluster than ZooKeeper does (ClusterIdMismatch) and an
 * entry that would land outside its log dir (UnsafeTarget), all before anything is written.
 * Chunks are restored by the repository's worker threads (`parallelRestore`) where it offers them,
 * several files at a time, else on this thread; each file is verified (every chunk, then its size)
 * under a temporary name before it takes its own name and time.
 */
export async function restoreLogDirs(spec: ClusterSpec, brokerId: number, reader: SnapshotReader, opts: RestoreLogDirsOptions = {}): Promise<RestoreLogDirsResult> {
  const b = spec.brokers.find((x) => x.id === brokerId);
  if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  const host = opts.fromHost ?? b.host;
  const control = opts.control ?? brokerControlFor(spec, brokerId);
  if ((await control.status()) === 'running' || (await registeredInZookeeper(spec, brokerId))) {
    throw new LifeboatError('UnsafeTarget', `broker ${brokerId} of ${spec.name} is running (${control.describe}): stop it before restoring its log dirs`);
  }
  const manifestPath = `logdirs/${host}/manifest.json`;
  if (!reader.exists(manifestPath)) {
    throw new LifeboatError('InvalidInput', `snapshot ${reader.meta.id.slice(0, 8)} holds no log dirs of host ${host}`);
  }
  const manifest = await reader.readJson<LogDirManifest>(manifestPath);
  if (manifest.logDirs.length > b.logDirs.length) {
    throw new LifeboatError('InvalidInput', `the copy has ${manifest.logDirs.length} log dirs, broker ${brokerId} has ${b.logDirs.length} in the spec`);
  }
  const warnings: string[] = [];
  const metaPath = `logdirs/${host}/0/meta.properties`;
  const meta = reader.exists(metaPath) ? parseProperties((await reader.readBuffer(metaPath)).toString()) : {};
  if (meta['broker.id'] !== undefined && meta['broker.id'] !== String(brokerId)) {
    throw new LifeboatError('InvalidInput', `the copy of ${host} belongs to broker ${meta['broker.id']}, not broker ${brokerId}`);
  }
  const zkId = await zookeeperClusterId(spec);
  if (zkId && meta['cluster.id'] && zkId !== meta['cluster.id']) {
    throw new LifeboatError(
      'ClusterIdMismatch',
      `the copy's meta.properties has cluster.id ${meta['cluster.id']} but ZooKeeper of ${spec.name} has ${zkId}: restore ZooKeeper from the same snapshot first`,
    );
  }
  if (!zkId) warnings.push(`ZooKeeper of ${spec.name} has no cluster id yet: the broker will only start once /cluster/id is ${meta['cluster.id']}`);

  // Every entry's place, checked before anything is moved or written.
  const plans = manifest.logDirs.map((_, i) => {
    const prefix = `logdirs/${host}/${i}/`;
    const files = reader
      .list(`logdirs/${host}/${i}`)
      .filter((e) => e.type === 'file' && e.path.startsWith(prefix))
      .map((e) => ({ e, dest: join(b.logDirs[i]!, ...checkEntryPath(e.path.slice(prefix.length)).split('/')) }));
    return { target: b.logDirs[i]!, files };
  });

  const result: RestoreLogDirsResult = { host, files: 0, bytes: 0, movedAside: [], resumedFiles: 0, clusterId: meta['cluster.id'], warnings };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const { target } of plans) {
    throwIfAborted(opts.signal);
    const current = await readdir(target).catch(() => [] as string[]);
    if (!opts.resume && current.filter((n) => n !== 'lost+found').length > 0) {
      const aside = `${target}.lifeboat-before-restore-${stamp}`;
      await rename(target, aside);
      result.movedAside.push(aside);
    }
    await mkdir(target, { recursive: true });
  }
  const r = await restoreEntries(reader, plans.flatMap((p) => p.files), {
    resume: opts.resume,
    signal: opts.signal,
    onProgress: (p) => opts.onProgress?.({ host, ...p }),
  });
  Object.assign(result, r);
  return result;
}


export interface EntryToRestore {
  e: FileEntry;
  dest: string;
}

/**
 * Restores snapshot files to their places (directories created as needed). Chunks are decrypted,
 * decompressed, verified and written by the repository's worker threads where it offers them,
 * several files at a time, else on this thread one at a time; each file is verified under a
 * temporary name before it takes its own name and time. With `resume`, a file already there with
 * the snapshot's size and mtime (set last) counts as restored and is not written again.
 */
export async function restoreEntries(
  reader: SnapshotReader,
  files: EntryToRestore[],
  opts: { resume?: boolean; signal?: AbortSignal; onProgress?: (p: { files: number; bytes: number }) => void } = {},
): Promise<{ files: number; bytes: number; resumedFiles: number }> {
  const result = { files: 0, bytes: 0, resumedFiles: 0 };
  const session = reader.parallelRestore ? await reader.parallelRestore(defaultRestoreWorkers()).catch(() => null) : null;
  try {
    const dirs = new Map<string, Promise<unknown>>();
    const one = async ({ e, dest }: EntryToRestore) => {
      throwIfAborted(opts.signal);
      const mtime = new Date(e.mtime);
      if (opts.resume) {
        const st = await stat(dest).catch(() => undefined);
        if (st && st.size === e.size && st.mtime.getTime() === mtime.getTime()) {
          result.files++;
          result.bytes += e.size;
          result.resumedFiles++;
          return;
        }
      }
      const dir = dirname(dest);
      if (!dirs.has(dir)) dirs.set(dir, mkdir(dir, { recursive: true }));
      await dirs.get(dir);
      await restoreFileEntry(reader, session, e, dest);
      result.files++;
      result.bytes += e.size;
      opts.onProgress?.({ files: result.files, bytes: result.bytes });
    };
    // With workers, enough files in flight to keep each busy (a small file is one task).
    await forEachLimited(files, session ? 2 * defaultRestoreWorkers() + 2 : 1, one);
  } finally {
    await session?.close();
  }
  return result;
}
