/**
 * Per-chunk compression. The stored plaintext of a blob is one codec byte followed by the payload,
 * so a repository can hold chunks written with different settings. The codecs and levels were
 * chosen by measurement (docs/benchmarks.md, "Compression"): Node 20's zlib has no zstd.
 * Compression runs in libuv's thread pool (async zlib), so several chunks compress in parallel.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants, deflateRaw, inflateRaw } from 'node:zlib';

export type CompressionMode = 'auto' | 'off' | 'max';
export const CODEC = { none: 0, deflate: 1, brotli: 2 } as const;

const deflateAsync = promisify(deflateRaw);
const inflateAsync = promisify(inflateRaw);
const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

/** Data that shrinks by less than this is stored as is (already compressed, random). */
const WORTH_IT = 0.95;

export async function compress(data: Buffer, mode: CompressionMode): Promise<{ codec: number; payload: Buffer }> {
  if (mode === 'off' || data.length < 64) return { codec: CODEC.none, payload: data };
  const payload =
    mode === 'max'
      ? await brotliAsync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 6, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } })
      : await deflateAsync(data, { level: 1, memLevel: 9 });
  if (payload.length > data.length * WORTH_IT) return { codec: CODEC.none, payload: data };
  return { codec: mode === 'max' ? CODEC.brotli : CODEC.deflate, payload };
}

export async function decompress(codec: number, payload: Buffer): Promise<Buffer> {
  switch (codec) {
    case CODEC.none:
      return payload;
    case CODEC.deflate:
      return inflateAsync(payload);
    case CODEC.brotli:
      return unbrotliAsync(payload);
    default:
      throw new Error(`unknown compression codec ${codec}`);
  }
}
