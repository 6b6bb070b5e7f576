/**
 * Encryption and key wrapping. Every object is sealed with AES-256-GCM under the repository's
 * random master key: nonce (12 bytes) || ciphertext || tag (16 bytes). The master key itself is
 * sealed the same way under a key derived from a password with scrypt (one key file per password).
 *
 * From format 2 a blob is sealed with its id (the SHA-256 of its plaintext, 32 bytes) as GCM's
 * associated data: the tag then proves not only that the bytes are unaltered but that the writer
 * sealed them as that blob, so a blob read from the wrong place (an index or a pack header that
 * points elsewhere) fails to open like an altered one.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt } from 'node:crypto';
import { isHexId } from './format';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

export const sha256 = (data: Buffer | Buffer[]): string => {
  const h = createHash('sha256');
  for (const part of Array.isArray(data) ? data : [data]) h.update(part);
  return h.digest('hex');
};

/** The associated data a format-2 blob is sealed with: its id's 32 bytes. */
export function blobAad(id: string): Buffer {
  if (!isHexId(id)) throw new Error(`blob id ${id.slice(0, 70)} is not 64 lowercase hex digits`);
  return Buffer.from(id, 'hex');
}

/** What blob `id` is sealed and opened with in a repository that binds ids (`bindsBlobIds`), or nothing (format 1). */
export const blobAadIf = (boundIds: boolean, id: string): Buffer | undefined => (boundIds ? blobAad(id) : undefined);

/** Seals `parts` (concatenated) under `key`, with `aad` authenticated beside them; returns the parts of the sealed object, to avoid a copy. */
export function seal(key: Buffer, parts: Buffer[], aad?: Buffer): Buffer[] {
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  if (aad) c.setAAD(aad);
  const out: Buffer[] = [nonce];
  for (const p of parts) out.push(c.update(p));
  out.push(c.final(), c.getAuthTag());
  return out;
}

export const sealBuffer = (key: Buffer, data: Buffer): Buffer => Buffer.concat(seal(key, [data]));

/** Opens a sealed object; throws if it was altered, the key is wrong or it was sealed with other associated data. */
export function open(key: Buffer, sealed: Buffer, aad?: Buffer): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new Error(`sealed object too short (${sealed.length} bytes)`);
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
  if (aad) d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plain = d.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
  const rest = d.final(); // GCM is a stream mode: empty, but it is what checks the tag
  return rest.length ? Buffer.concat([plain, rest]) : plain;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}
/** ~100 ms and 32 MiB on a laptop core: slow enough for guessing, fast enough for every command. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

export function deriveKey(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}
