/**
 * The on-disk structures (docs/repository-format.md describes them for people and for auditors).
 *
 *   config                 plain JSON: format version, repository id, chunker and pack parameters
 *   keys/<sha256>          plain JSON: scrypt parameters + the master key sealed under the derived key
 *   data/<xx>/<sha256>     pack files: sealed blobs, then a sealed header, then its length (u32 LE)
 *   index/<sha256>         sealed JSON: which blob is where
 *   snapshots/<sha256>     sealed JSON: snapshot metadata + the id of its tree blob (the commit point)
 *   locks/<random>         plain JSON: host, pid, time, exclusive
 *
 * Every name except config and locks is the SHA-256 of the file's bytes, so `sha256sum` audits it.
 */
import type { ChunkerParams } from './chunker';
import type { CompressionMode } from './compress';
import type { ComponentName, FileEntry } from './types';

/**
 * 2: every blob is sealed with its id as associated data (crypto.ts), so a blob opens only as
 * itself and a restore trusts the tag instead of hashing every byte again. Version 1 repositories
 * stay version 1 (their blobs carry no id) and are read as before, re-hashed.
 */
export const FORMAT_VERSION = 2;
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

export interface RepoConfig {
  version: number;
  id: string;
  created: string;
  chunker: ChunkerParams;
  compression: CompressionMode;
  packSize: number;
}

export interface KeyFile {
  version: 1;
  created: string;
  hostname: string;
  username: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  /** base64 of seal(derivedKey, masterKey) */
  sealed: string;
}

/** d: file content chunk, t: tree (the file list of a snapshot). */
export type BlobType = 'd' | 't';
/** [type, id, offset in pack, stored length, plaintext length] */
export type BlobTuple = [BlobType, string, number, number, number];

export interface IndexFile {
  version: 1;
  packs: { id: string; size: number; blobs: BlobTuple[] }[];
}

export interface TreeEntry extends FileEntry {
  chunks?: string[];
}
export interface TreeBlob {
  version: 1;
  entries: TreeEntry[];
}

export interface SnapshotFile {
  version: 1;
  time: string;
  cluster: string;
  hostname: string;
  components: ComponentName[];
  tags: string[];
  parent?: string;
  points: Record<string, unknown>;
  extra: Record<string, unknown>;
  summary: { files: number; bytes: number; newBytes: number; durationMs: number };
  tree: string;
  /** For a snapshot copied from another repository: its id there (so copy is idempotent). */
  original?: string;
}

/** Whether the repository's blobs are sealed with their ids (format 2 and later). */
export const bindsBlobIds = (config: Pick<RepoConfig, 'version'>): boolean => config.version >= 2;

export const isHexId = (s: string): boolean => /^[0-9a-f]{64}$/.test(s);
