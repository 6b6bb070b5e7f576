/**
 * How the repository's chunk codec was chosen: ratio and single-thread speed of the codecs Node 20
 * has (gzip/deflate levels, brotli qualities) and @mongodb-js/zstd on 1 MiB chunks of Kafka-like data.
 *   npx tsx bench/repositoryCompression.ts
 */
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { loadZstd, ZSTD_LEVEL } from '../src/repository/compress';
import { kafkaLike } from './repositoryData';

const data = kafkaLike(64 * 1024 * 1024, 5);
const chunks: Buffer[] = [];
for (let o = 0; o < data.length; o += 1 << 20) chunks.push(data.subarray(o, o + (1 << 20)));
const secs = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

console.log('| codec | ratio | compress MB/s | decompress MB/s |\n| --- | --- | --- | --- |');
async function run(name: string, c: (b: Buffer) => Buffer | Promise<Buffer>, d: (b: Buffer) => Buffer | Promise<Buffer>): Promise<void> {
  let t = process.hrtime.bigint();
  const out: Buffer[] = [];
  for (const ch of chunks) out.push(await c(ch));
  const ct = secs(t);
  t = process.hrtime.bigint();
  for (const o of out) await d(o);
  const dt = secs(t);
  const size = out.reduce((n, b) => n + b.length, 0);
  console.log(`| ${name} | ${(data.length / size).toFixed(2)} | ${(data.length / 1e6 / ct).toFixed(0)} | ${(data.length / 1e6 / dt).toFixed(0)} |`);
}
async function main(): Promise<void> {
  for (const l of [1, 3, 6]) await run(`gzip/deflate -${l}`, (b) => deflateRawSync(b, { level: l, memLevel: 9 }), inflateRawSync);
  for (const q of [0, 1, 2, 4, 5]) {
    await run(`brotli q${q}`, (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: q, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } }), brotliDecompressSync);
  }
  // The package's wrapper ignores the level (always 3); the repository calls its binding, which takes it.
  await run('zstd level 3 (package wrapper)', (b) => zstdCompress(b, 3), zstdDecompress);
  const z = (await loadZstd())!;
  for (const l of [1, 3]) await run(`zstd level ${l} (binding)${l === ZSTD_LEVEL ? ', the repository\'s `auto`' : ''}`, (b) => z.compress(b, l), (b) => z.decompress(b));

}
void main();
