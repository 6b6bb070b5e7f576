/**
 * Updating a CRC-32C after a few bytes at the start of the checksummed data changed, without
 * reading the rest: a restore rewrites a record batch's producer fields (27 bytes) and would
 * otherwise checksum every byte of a GB of batches again.
 *
 * A CRC is linear over GF(2): for two messages of the same length, crc(a) ^ crc(b) is the pure
 * (init 0, no final xor) CRC of a ^ b. a ^ b is the changed head's difference followed by zeros,
 * and running a CRC register through n zero bytes is a multiplication by x^(8n) modulo the
 * polynomial — the technique of zlib's crc32_combine. So a stored CRC that was wrong stays wrong
 * by exactly as much: corruption is never blessed with a fresh checksum.
 */
import { crc32c } from '@node-rs/crc32';

/** CRC-32C (Castagnoli), reflected. */
const POLY = 0x82f63b78;

/** a(x)·b(x) mod P(x), both reflected (bit 31 is x^0). */
export function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/**
 * x^(2^k) mod P(x) for k = 0..63: enough for any length a JavaScript number holds (n < 2^53 with
 * k starting at 3). Not folded by a period: zlib's `k & 31` holds for CRC-32's polynomial only.
 */
const X2N: number[] = [];
{
  let p = 0x40000000; // x^1
  for (let k = 0; k < 64; k++) {
    X2N.push(p);
    p = multModP(p, p);
  }
}

/** x^(n·2^k) mod P(x). */
export function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/**
 * The CRC-32C of `data` after its first `oldHead.length` bytes changed from `oldHead` to `newHead`,
 * given `crc`, its CRC-32C before (`length` = the data's whole length).
 */
export function updateCrc32c(crc: number, oldHead: Buffer, newHead: Buffer, length: number): number {
  if (oldHead.length !== newHead.length || length < oldHead.length) throw new RangeError('updateCrc32c: the heads must have the same length, within the data');
  const diff = Buffer.alloc(oldHead.length);
  for (let i = 0; i < diff.length; i++) diff[i] = oldHead[i]! ^ newHead[i]!;
  // The pure CRC of the difference: crc32c's init and final xor cancel against those of zeros.
  const pure = (crc32c(diff) ^ crc32c(Buffer.alloc(diff.length))) >>> 0;
  // ...carried through the unchanged bytes after the head (zeros in the difference).
  return (crc ^ multModP(x2nModP(length - oldHead.length, 3), pure)) >>> 0;
}
