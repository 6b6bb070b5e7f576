/**
 * `copy`: snapshots from one repository to another (the off-site tier). Only blobs the destination
 * lacks are sent; every blob is verified as it is read from the source, every pack is read back
 * and re-hashed after it is written; packs of an interrupted copy are reused by the next run
 * (resumable); `limitRate` caps the bytes written per second.
 */
import type { BlobType, SnapshotFile, TreeBlob } from './format';
import { compress } from './compress';
import { sha256 } from './crypto';
import { PackWriter, type PackInfo } from './pack';
import type { LocalRepository } from './repo';
import { abortReason, sleep, throwIfAborted } from '../core/poll';
import { LifeboatError } from '../errors';
import type { SnapshotFilter } from './types';

export interface CopyResult {
  copied: { id: string; newId: string; blobs: number; bytes: number }[];
  skipped: string[];
  bytesWritten: number;
  reusedPacks: number;
}

/** Average-rate cap: each write waits until the budget for all bytes so far has accrued. */
export class RateLimiter {
  private sent = 0;
  private readonly start = Date.now();
  constructor(private readonly bytesPerSecond: number) {}
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    this.sent += bytes;
    const due = this.start + (this.sent / this.bytesPerSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait, signal);
  }
}

/** "10M", "512K", "2.5MB", "100" (bytes/s). */
export function parseRate(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?(?:\/s)?$/i.exec(s.trim());
  if (!m) throw new LifeboatError('InvalidInput', `invalid rate "${s}" (e.g. 10M for 10 MiB/s, 512K)`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  const v = Number(m[1]) * mult;
  if (!(v > 0)) throw new LifeboatError('InvalidInput', `rate must be positive: ${s}`);
  return v;
}

export async function copySnapshots(
  src: LocalRepository,
  dst: LocalRepository,
  opts: {
    refs?: string[];
    filter?: SnapshotFilter;
    limitRate?: number;
    progress?: (m: string) => void;
    /**
     * Stops the copy between blobs when it aborts: the blobs being read finish, the snapshot is not
     * written; packs already in the destination are taken up by the next copy (resumable).
     */
    signal?: AbortSignal;
  } = {},
): Promise<CopyResult> {
  const progress = opts.progress ?? (() => undefined);
  await src.ensureShared('copy');
  await dst.ensureShared('copy');
  const wanted = opts.refs?.length
    ? await Promise.all(opts.refs.map((r) => src.resolveRef(r, opts.filter)))
    : (await src.snapshots(opts.filter)).map((s) => s.id);
  let pending: PackInfo[] = await dst.recoverPacks();
  const result: CopyResult = { copied: [], skipped: [], bytesWritten: 0, reusedPacks: pending.length };
  // The destination's snapshot for a source one, by id or by the id in the first repository it was
  // taken in (`original`): copies down several tiers stay idempotent.
  const inDst = new Map<string, string>();
  for (const id of await dst.snapshotIds()) {
    inDst.set(id, id);
    const f = await dst.loadSnapshotFile(id).catch(() => undefined);
    if (f?.original) inDst.set(f.original, id);
  }
  const srcIds = new Set(await src.snapshotIds());
  const copyOf = async (id: string): Promise<string | undefined> => {
    const original = inDst.has(id) || !srcIds.has(id) ? undefined : (await src.loadSnapshotFile(id)).original;
    return inDst.get(id) ?? (original ? inDst.get(original) : undefined);
  };
  const limiter = opts.limitRate ? new RateLimiter(opts.limitRate) : undefined;

  // An incremental snapshot (ZooKeeper, topics) needs its parent chain: the links the destination
  // lacks are copied first, oldest first, and each copy names its parent's id in the destination.
  const order: string[] = [];
  const queued = new Set<string>();
  for (const id of wanted) {
    const links: string[] = [];
    let at: string | undefined = id;
    while (at && !queued.has(at) && (at === id || !(await copyOf(at)))) {
      if (links.length > 1000) throw new LifeboatError('CorruptBackup', `copy: snapshot ${id.slice(0, 12)} in ${src.path} has a parent chain longer than 1000 (a cycle?)`);
      links.push(at);
      if (await copyOf(at)) break; // already there (skipped below): so are its parents
      const parent: string | undefined = (await src.loadSnapshotFile(at)).parent;
      // A parent gone from the source: the copy names it as the source does (verify reports it missing).
      at = parent && srcIds.has(parent) ? parent : undefined;
    }
    for (const l of links.reverse()) {
      queued.add(l);
      order.push(l);
    }
  }
  const wantedSet = new Set(wanted);
  const sameCompression = src.config.compression === dst.config.compression;

  for (const id of order) {
    throwIfAborted(opts.signal);
    if (await copyOf(id)) {
      result.skipped.push(id);
      continue;
    }
    const snap = await src.loadSnapshotFile(id);
    const parent = snap.parent ? ((await copyOf(snap.parent)) ?? snap.parent) : undefined;
    const reader = await src.openSnapshot(id); // verifies the tree
    const tree = JSON.parse((await src.loadBlob(snap.tree)).toString('utf8')) as TreeBlob;
    const blobs: [BlobType, string][] = [['t', snap.tree]];
    for (const e of tree.entries) for (const c of e.chunks ?? []) blobs.push(['d', c]);
    const writer = new PackWriter(dst.backend, dst.key, dst.config.packSize, dst.boundIds, limiter && ((n) => limiter.take(n, opts.signal)));
    const sent = new Set<string>();
    let bytes = 0;
    const jobs: Promise<void>[] = [];
    /**
     * Cancelled: the blobs in flight are added, the packs being written land whole (written
     * atomically, taken up by the next copy's recoverPacks), and nothing writes after this throws.
     */
    const stop = async (): Promise<never> => {
      await Promise.allSettled(jobs);
      await writer.finish().catch(() => undefined);
      throw abortReason(opts.signal!);
    };
    for (const [type, blob] of blobs) {
      if (opts.signal?.aborted) await stop();
      if (sent.has(blob) || dst.index.has(blob)) continue;
      sent.add(blob);
      const job = src
        .loadBlobStored(blob)
        .catch((e: unknown) => {
          throw new LifeboatError('CorruptBackup', `copy stopped: snapshot ${id.slice(0, 12)} (${reader.meta.time}) is damaged in the source: ${(e as Error).message}`, { snapshot: id });
        })
        .then(async (stored) => {
          // Verified in full (decompressed, SHA-256 against its id); the same compression on both sides
          // stores the source's payload again under the destination's key: no second zstd pass.
          const { codec, payload } = sameCompression ? stored : await compress(stored.data, dst.config.compression);
          await writer.addPlain(type, blob, codec, payload, stored.data.length);
          bytes += stored.data.length;
        });
      job.catch(() => undefined);
      jobs.push(job);
      while (jobs.length >= 4) await jobs.shift();
    }
    while (jobs.length) await jobs.shift();
    if (opts.signal?.aborted) await stop();
    const packs = await writer.finish();
    for (const p of packs) {
      const back = await dst.backend.read('data', p.id);
      if (sha256(back) !== p.id) throw new LifeboatError('CorruptBackup', `copy: pack ${p.id.slice(0, 12)} read back from ${dst.path} does not match what was written`);
      result.bytesWritten += p.size;
    }
    // The interrupted run's packs are indexed with this snapshot's (check no longer calls them unindexed).
    await dst.writeIndex([...pending, ...packs]);
    pending = [];
    const newId = await dst.writeSealedJson('snapshots', { ...snap, ...(parent ? { parent } : {}), original: snap.original ?? id } satisfies SnapshotFile);
    inDst.set(id, newId);
    if (snap.original) inDst.set(snap.original, newId);
    result.copied.push({ id, newId, blobs: sent.size, bytes });
    progress(`copied ${wantedSet.has(id) ? 'snapshot' : 'parent snapshot'} ${id.slice(0, 12)} as ${newId.slice(0, 12)} (${sent.size} new chunks, ${(bytes / 1e6).toFixed(1)} MB)`);
  }
  return result;
}
