/**
 * The repository's contract with the rest of Lifeboat. A snapshot is a tree of files (like a
 * restic snapshot) plus metadata; each capture module writes its component under its own top-level
 * directory:
 *
 *   zookeeper/...        ZooKeeper tree export          kafka-metadata/...  topics, configs, offsets, ACLs
 *   configs/<host>/...   broker config files            logdirs/<host>/...  broker log-dir files
 *   topics/...           logical topic records          registry/...        service-registry export
 *   baseline/...         content fingerprints and throughput measured at backup time, for verification
 *   drill/...            a DR drill's record and report (src/drills/history.ts; never forgotten by retention)
 *
 * Nothing of a snapshot is visible until `commit()` (data, then index, then the snapshot file).
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

export const COMPONENTS = ['zookeeper', 'kafka-metadata', 'configs', 'logdirs', 'topics', 'registry', 'baseline', 'drill'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

export interface SnapshotMeta {
  /** 64 hex chars (SHA-256 of the snapshot file); commands accept any unique prefix of >= 8. */
  id: string;
  /** ISO-8601 time the backup started (the point it represents). */
  time: string;
  cluster: string;
  hostname: string;
  components: ComponentName[];
  tags: string[];
  /** Id of the snapshot this one was taken incrementally against, if any. */
  parent?: string;
  /**
   * What the snapshot starts from, per component, recorded by the capture modules, e.g.
   * `{ zookeeper: { zxid: "0x1a2b" }, topics: { orders: { "0": 1234 } } }`.
   */
  points: Record<string, unknown>;
  /** Free-form facts for reports (throughput baselines, counts). */
  extra: Record<string, unknown>;
  summary: { files: number; bytes: number; newBytes: number; durationMs: number };
}

export interface NewSnapshotOptions {
  cluster: string;
  components: ComponentName[];
  tags?: string[];
  /** The snapshot this one builds on (incremental): kept by retention while this one is. */
  parent?: string;
  /**
   * A snapshot whose unchanged files `reuseUnchanged` may take over without reading them (default:
   * the parent). Only a cache: this snapshot is complete without it and retention ignores it.
   */
  reuseFrom?: string;
  points?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  /** Defaults to now. */
  time?: Date;
}

export interface FileEntry {
  /** Relative path with "/" separators, never starting with "/" and never containing "..". */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
  mode: number;
  mtime: string;
  /** Inode number (decimal) and ctime of the source file, where the writer gave them (log-dir copies): reuse needs them unchanged. */
  inode?: string;
  ctime?: string;
  linkTarget?: string;
}

/**
 * A file open for reading, backed up from its start: read straight into the chunker's windows (no
 * stream, no copy), up to `length` bytes when given (a file that grows meanwhile is cut there).
 */
export interface FileSource {
  file: FileHandle;
  length?: number;
}

export interface WriteFileOptions {
  mode?: number;
  mtime?: Date;
  /** The source file's inode number (decimal: it may exceed 2^53) and ctime, recorded for `reuseUnchanged`. */
  inode?: string;
  ctime?: Date;
  /**
   * Where chunks are cut: by content (default; an appended or edited file stores only what
   * changed) or at fixed sizes, for a buffer that is never appended to and dedupes only whole
   * (Lifeboat's own topic chunks): no content scan and no copy.
   */
  cut?: 'content' | 'fixed';
}

/** What `reuseUnchanged` compares: a file replaced under the same size and mtime has another inode or ctime. */
export interface FileStat {
  size: number;
  mtime: Date;
  mode?: number;
  /** Decimal (it may exceed 2^53). Not compared when undefined. */
  inode?: string;
  ctime?: Date;
}

/**
 * Leaves the inode or ctime out of `reuseUnchanged`'s comparison (restic's --ignore-inode /
 * --ignore-ctime): unstable inode numbers (FUSE, CIFS), tools that touch files.
 */
export interface ReuseIgnore {
  inode?: boolean;
  ctime?: boolean;
}

export interface WriteResult {
  size: number;
  /** Bytes of content that were not yet in the repository (after dedupe). */
  newBytes: number;
}

export interface SnapshotWriter {
  writeFile(path: string, content: Readable | Buffer | FileSource, opts?: WriteFileOptions): Promise<WriteResult>;
  writeJson(path: string, value: unknown): Promise<WriteResult>;
  /**
   * If the snapshot to reuse from (`NewSnapshotOptions.reuseFrom`, else `parent`) has `path` with this
   * size and mtime (and, when given and not ignored, inode number and ctime, as restic compares
   * them), records it again without reading it, with the file's stat of now, and returns true;
   * otherwise false (the caller then writes it).
   */
  reuseUnchanged(path: string, stat: FileStat, ignore?: ReuseIgnore): Promise<boolean>;
  /** Records a symbolic link (restore refuses one that points outside its target). */
  writeSymlink(path: string, target: string, opts?: { mtime?: Date }): void;
  /** Records a directory (only needed for empty ones; files imply their parents). */
  writeDir(path: string, opts?: { mode?: number; mtime?: Date }): void;
  /** Records extra points/facts learned during the backup (merged into the metadata at commit). */
  setPoints(component: ComponentName, points: unknown): void;
  setExtra(key: string, value: unknown): void;
  /** Makes the snapshot visible and returns its metadata. */
  commit(): Promise<SnapshotMeta>;
  /** Drops the unfinished snapshot (stored data stays until prune and is reused by a re-run). */
  abort(): Promise<void>;
}

export interface SnapshotReader {
  readonly meta: SnapshotMeta;
  list(prefix?: string): FileEntry[];
  exists(path: string): boolean;
  /** Streams a file's content; every chunk is verified (hash) as it is read. */
  readFile(path: string): Readable;
  /** The whole file in a new buffer that the caller owns (and may change). */
  readBuffer(path: string): Promise<Buffer>;
  readJson<T = unknown>(path: string): Promise<T>;
  /**
   * Optional fast path for restoring into local files (worker threads, positional writes), or null
   * where this reader cannot offer it; `restoreFiles` uses it for large restores.
   */
  parallelRestore?(workers: number): Promise<ParallelFileRestore | null>;
}

export interface ParallelFileRestore {
  /** Writes the snapshot's file `path` into `fd` (a file opened for writing) at its offsets, every chunk verified. */
  writeFile(path: string, fd: number): Promise<void>;
  /** The whole file, read and verified (SHA-256, length) by the workers, in a buffer the caller owns (and may change): new, or one handed back with `recycle`. */
  readBuffer(path: string): Promise<Buffer>;
  /**
   * Hands a buffer from readBuffer back once nothing refers to it any more (views included): a
   * later readBuffer may fill it again. Optional for callers; buffers not handed back are garbage.
   */
  recycle(buf: Buffer): void;
  /** Stops the workers (after the last writeFile or readBuffer settled). */
  close(): Promise<void>;
}

export interface SnapshotFilter {
  cluster?: string;
  tags?: string[];
  component?: ComponentName;
}

export interface Repository {
  readonly path: string;
  snapshots(filter?: SnapshotFilter): Promise<SnapshotMeta[]>;
  /** By id or unique id prefix, or "latest" (newest matching the filter). */
  openSnapshot(ref: string, filter?: SnapshotFilter): Promise<SnapshotReader>;
  newSnapshot(opts: NewSnapshotOptions): Promise<SnapshotWriter>;
  /**
   * Opens a writer, lets `fill` write into it and commits; if `fill` throws, the writer is aborted
   * (its stored data is reused by a re-run) and the error goes on. Prefer this to newSnapshot.
   */
  saveSnapshot<T>(opts: NewSnapshotOptions, fill: (w: SnapshotWriter) => Promise<T>): Promise<{ meta: SnapshotMeta; value: T }>;
  close(): Promise<void>;
}
