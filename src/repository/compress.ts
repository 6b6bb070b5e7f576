/**
 * Per-chunk compression. The stored plaintext of a blob is one codec byte followed by the payload,
 * so a repository can hold chunks written with different settings. Chosen by measurement
 * (docs/benchmarks.md, "Repository"): Node 20's zlib has no zstd; @mongodb-js/zstd 1.2 (binaries
 * shipped inside npm packages, no download at install) compresses Kafka-like JSON better than
 * brotli q1/q2 and gzip -1 at about brotli q1's speed, and decompresses 3-4x faster than brotli.
 * `auto` = zstd level 1 (brotli q1 if the zstd binding cannot load on this platform), `max` = brotli q5.
 * All codecs run in libuv's thread pool, so several chunks compress in parallel.
 *
 * The package's wrapper (index.js) drops the level argument (always level 3); its napi binding
 * (bindings.js) takes it. On the benchmark's Kafka-like data, level 1 needs half the CPU of level 3
 * and compresses slightly better (2.72:1 vs 2.65:1 on 1 MiB chunks), so `auto` calls the binding
 * directly with level 1 and falls back to the wrapper (level 3) if the binding's path ever moves.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';

export type CompressionMode = 'auto' | 'off' | 'max';
export const CODEC = { none: 0, brotli: 1, zstd: 2 } as const;

const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

type Zstd = { compress(data: Buffer, level?: number): Promise<Buffer>; decompress(data: Buffer): Promise<Buffer> };
/** zstd level for `auto` (see above: faster and, on Kafka-like JSON, no larger than level 3). */
export const ZSTD_LEVEL = 1;
const BINDING: string = '@mongodb-js/zstd/bindings.js';
let zstd: Promise<Zstd | null> | undefined;
let zstdLoaded: boolean | undefined;
const asZstd = (m: unknown): Zstd | null => {
  const z = ((m as { default?: unknown }).default ?? m) as Partial<Zstd>;
  return typeof z.compress === 'function' && typeof z.decompress === 'function' ? (z as Zstd) : null;
};
/** The zstd binding (level-aware), else the package's wrapper, or null where neither loads. */
export function loadZstd(): Promise<Zstd | null> {
  zstd ??= import(BINDING)
    .then(asZstd, () => null)
    .then((z) =>
      z ??
      import('@mongodb-js/zstd').then(
        (m) => asZstd(m),
        () => null,
      ),
    )
    .then((z) => {
      zstdLoaded = z !== null;
      return z;
    });
  return zstd;
}

/** Whether this process can decode zstd (a `loadZstd` that already answered yes): only then is zstd written by other means. */
export const zstdReadable = (): boolean => zstdLoaded === true;

/** Data that shrinks by less than this is stored as is (already compressed, random). */
export const WORTH_IT = 0.95;

const brotli = (data: Buffer, quality: number) =>
  brotliAsync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } });

export async function compress(data: Buffer, mode: CompressionMode): Promise<{ codec: number; payload: Buffer }> {
  if (mode === 'off' || data.length < 64) return { codec: CODEC.none, payload: data };
  let codec: number;
  let payload: Buffer;
  const z = mode === 'auto' ? await loadZstd() : null;
  if (z) {
    codec = CODEC.zstd;
    payload = await z.compress(data, ZSTD_LEVEL);
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
