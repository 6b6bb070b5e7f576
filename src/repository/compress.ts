/**
 * Per-chunk compression. The stored plaintext of a blob is one codec byte followed by the payload,
 * so a repository can hold chunks written with different settings. Chosen by measurement
 * (docs/benchmarks.md, "Repository"): Node 20's zlib has no zstd; @mongodb-js/zstd 1.2 (binaries
 * shipped inside npm packages, no download at install) compresses Kafka-like JSON better than
 * brotli q1/q2 and gzip -1 at about brotli q1's speed, and decompresses 3-4x faster than brotli.
 * `auto` = zstd (brotli q1 if the zstd binding cannot load on this platform), `max` = brotli q5.
 * All codecs run in libuv's thread pool, so several chunks compress in parallel.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';

export type CompressionMode = 'auto' | 'off' | 'max';
export const CODEC = { none: 0, brotli: 1, zstd: 2 } as const;

const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

type Zstd = { compress(data: Buffer, level?: number): Promise<Buffer>; decompress(data: Buffer): Promise<Buffer> };
let zstd: Promise<Zstd | null> | undefined;
/** The zstd binding, or null where its native package is not installed. */
export function loadZstd(): Promise<Zstd | null> {
  zstd ??= import('@mongodb-js/zstd').then(
    (m) => m as Zstd,
    () => null,
  );
  return zstd;
}

/** Data that shrinks by less than this is stored as is (already compressed, random). */
const WORTH_IT = 0.95;

const brotli = (data: Buffer, quality: number) =>
  brotliAsync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } });

export async function compress(data: Buffer, mode: CompressionMode): Promise<{ codec: number; payload: Buffer }> {
  if (mode === 'off' || data.length < 64) return { codec: CODEC.none, payload: data };
  let codec: number;
  let payload: Buffer;
  const z = mode === 'auto' ? await loadZstd() : null;
  if (z) {
    codec = CODEC.zstd;
    payload = await z.compress(data, 3);
  } else {
    codec = CODEC.brotli;
    payload = await brotli(data, mode === 'max' ? 5 : 1);
  }
  if (payload.length > data.length * WORTH_IT) return { codec: CODEC.none, payload: data };
  return { codec, payload };
}

export async function decompress(codec: number, payload: Buffer): Promise<Buffer> {
  switch (codec) {
    case CODEC.none:
      return payload;
    case CODEC.brotli:
      return unbrotliAsync(payload);
    case CODEC.zstd: {
      const z = await loadZstd();
      if (!z) throw new Error('this chunk is zstd-compressed but the @mongodb-js/zstd binding is not installed for this platform');
      return z.decompress(payload);
    }
    default:
      throw new Error(`unknown compression codec ${codec}`);
  }
}
