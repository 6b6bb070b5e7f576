/**
 * Kafka-like data for the repository tests and benchmark: JSON-ish records (keys, ids, amounts,
 * random tokens) that compress about 2:1, never repeating exactly, deterministic per seed.
 */
import { createHash } from 'node:crypto';

/** A cheap deterministic byte stream (SHA-256 in counter mode) so data sets are reproducible. */
function randomBytes32(seed: number, counter: number): Buffer {
  return createHash('sha256').update(`${seed}:${counter}`).digest();
}

export function kafkaLike(bytes: number, seed = 0): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  let i = 0;
  while (n < bytes) {
    const b = randomBytes32(seed, i);
    const r = b.toString('base64url');
    const rec = Buffer.from(
      `{"offset":${i},"ts":${1700000000000 + i * 7},"key":"user-${b.readUInt32LE(0) % 100000}","value":{"order":"${r.slice(6, 22)}","sku":"SKU-${b[20]! % 50}","amount":${b.readUInt16LE(24) % 10007},"status":"${i % 3 ? 'paid' : 'open'}","token":"${r.slice(22, 43)}","sig":"${randomBytes32(seed, -i - 1).toString('base64url')}"}}\n`,
    );
    parts.push(rec);
    n += rec.length;
    i++;
  }
  return Buffer.concat(parts).subarray(0, bytes);
}
