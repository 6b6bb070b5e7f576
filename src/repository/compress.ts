/**
 * Per-chunk compression. The stored plaintext of a blob is one codec byte followed by the payload,
 * so a repository can hold chunks written with different settings. Chosen by measurement
 * (docs/benchmarks.md, "Compression"): Node 20's zlib has no zstd; brotli quality 1 compresses
 * Kafka-like JSON better than gzip -1 at twice its speed and close to zstd -1, with no dependency.
 * It runs in libuv's thread pool (async zlib), so several chunks compress in parallel.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';

export type CompressionMode = 'auto' | 'off' | 'max';
export const CODEC = { none: 0, brotli: 1 } as const;
const QUALITY: Record<Exclude<CompressionMode, 'off'>, number> = { auto: 1, max: 5 };

const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

/** Data that shrinks by less than this is stored as is (already compressed, random). */
const WORTH_IT = 0.95;

export async function compress(data: Buffer, mode: CompressionMode): Promise<{ codec: number; payload: Buffer }> {
  if (mode === 'off' || data.length < 64) return { codec: CODEC.none, payload: data };
  const payload = await brotliAsync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: QUALITY[mode], [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  if (payload.length > data.length * WORTH_IT) return { codec: CODEC.none, payload: data };
  return { codec: CODEC.brotli, payload };
}

export async function decompress(codec: number, payload: Buffer): Promise<Buffer> {
  switch (codec) {
    case CODEC.none:
      return payload;
    case CODEC.brotli:
      return unbrotliAsync(payload);
    default:
      throw new Error(`unknown compression codec ${codec}`);
  }
}
