/**
 * The parallel, verified restore of a repository whose packs are not local files (S3): a file's
 * chunks are grouped by pack, neighbours in a pack (gaps up to GAP_BYTES) coalesced into one ranged
 * read of up to GROUP_BYTES, several reads in flight at once; every chunk is opened (as itself, in
 * format 2), decompressed and checked (length; SHA-256 in format 1) before it is written at its place.
 *
 * Where the backend reads into the caller's memory and the restore workers can start, this thread
 * only fetches: each ranged GET's body goes into one of a few reused SharedArrayBuffers, and a
 * restore worker (restorePool.ts) opens, decompresses, verifies and writes its chunks, as it does
 * for local packs. Before, AES-GCM, SHA-256, the zstd calls and a fresh 8 MiB buffer per read ran
 * on this thread, which also parses HTTP: 0.80x restic's S3 restore (docs/benchmarks.md).
 */
import { write } from 'node:fs';
import { promisify } from 'node:util';
import { LifeboatError } from '../errors';
import type { Backend } from './backend';
import type { BlobLocation } from './blobIndex';
import { decompress } from './compress';
import { blobAadIf, open, sha256 } from './crypto';
import type { FileEntry, ParallelFileRestore, SnapshotMeta } from './types';
import type { PlacementFailure, RestorePool } from './restorePool';

const writeAt = promisify(write);
/** Unneeded bytes between two chunks of a pack that one read still spans (cheaper than another request). */
const GAP_BYTES = 256 * 1024;
/** The most one ranged read fetches. */
const GROUP_BYTES = 8 * 1024 * 1024;

interface Piece {
  id: string;
  loc: BlobLocation;
  pos: number;
}

export interface RangedSource {
  backend: Backend;
  key: Buffer;
  /** Blobs sealed with their ids (format 2): the tag proves each is itself, so it is not hashed again. */
  boundIds: boolean;
  meta: SnapshotMeta;
  locate(id: string): Promise<BlobLocation | undefined>;
  /** The entry and its chunk ids (throws SnapshotNotFound / InvalidInput for a bad path). */
  entry(path: string): FileEntry & { chunks?: string[] };
}

/** Runs at most `n` of the given tasks at once. */
class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly n: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * `pool`: restore workers that verify and write what this thread fetches (the backend must have
 * readRangeInto); without it every chunk is verified on this thread.
 */
export function rangedRestore(src: RangedSource, parallel: number, pool?: RestorePool | null): ParallelFileRestore {
  const gate = new Gate(Math.max(2, parallel));
  const readInto = pool && src.backend.readRangeInto ? src.backend.readRangeInto.bind(src.backend) : null;
  // Read buffers of GROUP_BYTES, reused: at most one per read in flight (the gate). A fresh one per
  // read was zero-filled and page-faulted in, and left its 8 MiB to the GC.
  const spare: SharedArrayBuffer[] = [];
  const takeBuf = (size: number): SharedArrayBuffer => (size <= GROUP_BYTES ? spare.pop() : undefined) ?? new SharedArrayBuffer(Math.max(size, GROUP_BYTES));
  const giveBuf = (b: SharedArrayBuffer) => {
    if (b.byteLength === GROUP_BYTES) spare.push(b);
  };
  const damaged = (id: string, pack: string | undefined, reason: string): LifeboatError =>
    new LifeboatError(
      'CorruptBackup',
      `snapshot ${src.meta.id.slice(0, 12)} (${src.meta.cluster}, ${src.meta.time}) is damaged: chunk ${id.slice(0, 12)}${pack ? ` in pack ${pack.slice(0, 12)}` : ''} ${reason}; run 'lifeboat repo check --read-data'`,
      { snapshot: src.meta.id, blob: id, ...(pack ? { pack } : {}) },
    );

  const pieces = async (path: string): Promise<{ list: Piece[]; size: number }> => {
    const e = src.entry(path);
    if (e.type !== 'file') throw new LifeboatError('InvalidInput', `${path} in snapshot ${src.meta.id.slice(0, 12)} is a ${e.type}, not a file`);
    const list: Piece[] = [];
    let pos = 0;
    for (const id of e.chunks ?? []) {
      const loc = await src.locate(id);
      if (!loc) throw damaged(id, undefined, 'is not in any index or pack');
      list.push({ id, loc, pos });
      pos += loc.raw;
    }
    if (pos !== e.size) throw new LifeboatError('CorruptBackup', `snapshot ${src.meta.id.slice(0, 12)}: ${path} has chunks of ${pos} bytes but is listed with ${e.size}`, { snapshot: src.meta.id });
    return { list, size: pos };
  };

  /** Pieces in runs of one ranged read each. */
  const groups = (list: Piece[]): Piece[][] => {
    const sorted = [...list].sort((a, b) => (a.loc.pack < b.loc.pack ? -1 : a.loc.pack > b.loc.pack ? 1 : a.loc.offset - b.loc.offset));
    const out: Piece[][] = [];
    let cur: Piece[] = [];
    let start = 0;
    let end = 0;
    for (const p of sorted) {
      const last = cur[cur.length - 1];
      const pEnd = p.loc.offset + p.loc.length;
      if (last && last.loc.pack === p.loc.pack && p.loc.offset <= end + GAP_BYTES && Math.max(end, pEnd) - start <= GROUP_BYTES) {
        cur.push(p);
        end = Math.max(end, pEnd);
        continue;
      }
      if (cur.length) out.push(cur);
      cur = [p];
      start = p.loc.offset;
      end = pEnd;
    }
    if (cur.length) out.push(cur);
    return out;
  };

  /** Reads one group into a reused buffer; a restore worker verifies its chunks and writes them into `target`. */
  const fetchGroupPooled = (group: Piece[], target: number | SharedArrayBuffer, stopped: () => boolean): Promise<void> =>
    gate.run(async () => {
      if (stopped()) return;
      const pack = group[0]!.loc.pack;
      const start = group[0]!.loc.offset;
      const end = Math.max(...group.map((p) => p.loc.offset + p.loc.length));
      const buf = takeBuf(end - start);
      try {
        let got: number;
        try {
          got = await readInto!('data', pack, start, end - start, new Uint8Array(buf));
        } catch (e) {
          if (e instanceof LifeboatError) throw e;
          throw damaged(group[0]!.id, pack, `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        if (stopped()) return;
        try {
          await pool!.writeFrom(target, buf, got, group.map((p) => ({ id: p.id, pack, offset: p.loc.offset - start, length: p.loc.length, raw: p.loc.raw, pos: p.pos })));
        } catch (err) {
          const f = (err as { failure?: PlacementFailure }).failure;
          // A chunk that fails verification is a damaged backup; anything else (a full disk) is not.
          throw f ? damaged(f.blob, pack, f.reason) : err;
        }
      } finally {
        giveBuf(buf);
      }
    });

  /** Reads one group and hands every verified chunk to `put` (nothing once `stopped()`). */
  const fetchGroup = (group: Piece[], put: (p: Piece, data: Buffer) => Promise<void>, stopped: () => boolean): Promise<void> =>
    gate.run(async () => {
      if (stopped()) return;
      const pack = group[0]!.loc.pack;
      const start = group[0]!.loc.offset;
      const end = Math.max(...group.map((p) => p.loc.offset + p.loc.length));
      let bytes: Buffer;
      try {
        bytes = await src.backend.readRange('data', pack, start, end - start);
      } catch (e) {
        if (e instanceof LifeboatError) throw e;
        throw damaged(group[0]!.id, pack, `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      for (const p of group) {
        const at = p.loc.offset - start;
        if (at + p.loc.length > bytes.length) throw damaged(p.id, pack, `is truncated (the pack ends ${at + p.loc.length - bytes.length} bytes early)`);
        let plain: Buffer;
        try {
          plain = open(src.key, bytes.subarray(at, at + p.loc.length), blobAadIf(src.boundIds, p.id));
        } catch {
          throw damaged(p.id, pack, 'fails authentication (altered)');
        }
        let data: Buffer;
        try {
          data = await decompress(plain[0]!, plain.subarray(1));
        } catch (e) {
          throw damaged(p.id, pack, `cannot be decompressed: ${(e as Error).message}`);
        }
        if (data.length !== p.loc.raw) throw damaged(p.id, pack, `decodes to ${data.length} bytes, the index says ${p.loc.raw}`);
        if (!src.boundIds && sha256(data) !== p.id) throw damaged(p.id, pack, 'does not match its hash');
        if (stopped()) return;
        await put(p, data);
      }
    });

  /**
   * Fetches every group; on the first failure the rest stop, and it is thrown only once none is
   * still writing: the caller closes the file next, and a late write could land in a file that
   * reused its descriptor.
   */
  const fill = async (list: Piece[], put: ((p: Piece, data: Buffer) => Promise<void>) | { target: number | SharedArrayBuffer }): Promise<void> => {
    let failed = false;
    const all = groups(list).map((g) =>
      (typeof put === 'function' ? fetchGroup(g, put, () => failed) : fetchGroupPooled(g, put.target, () => failed)).catch((e: unknown) => {
        failed = true;
        throw e;
      }),
    );
    const results = await Promise.allSettled(all);
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
  };

  if (readInto) {
    return {
      writeFile: async (path, fd) => fill((await pieces(path)).list, { target: fd }),
      readBuffer: async (path) => {
        const { list, size } = await pieces(path);
        if (size === 0) return Buffer.alloc(0);
        // Filled by the workers in place; once they are done the buffer is the caller's alone.
        const out = new SharedArrayBuffer(size);
        await fill(list, { target: out });
        return Buffer.from(out, 0, size);
      },
      recycle: () => undefined,
      close: () => pool!.close(),
    };
  }
  return {
    writeFile: async (path, fd) => {
      const { list } = await pieces(path);
      await fill(list, async (p, data) => {
        let done = 0;
        while (done < data.length) done += (await writeAt(fd, data, done, data.length - done, p.pos + done)).bytesWritten;
      });
    },
    readBuffer: async (path) => {
      const { list, size } = await pieces(path);
      const out = Buffer.allocUnsafe(size);
      await fill(list, async (p, data) => void data.copy(out, p.pos));
      return out;
    },
    recycle: () => undefined,
    close: async () => void (await pool?.close()),
  };
}
