import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { multModP, updateCrc32c, x2nModP } from '../../../src/kafka/wire/crc32cUpdate';

describe('updateCrc32c', () => {
  it('equals a full recomputation after the head changed, for any length', () => {
    for (const length of [36, 37, 64, 1000, 65_537, 1 << 20, 5 * (1 << 20) + 3, 64 * (1 << 20) + 101]) {
      const data = randomBytes(length);
      const crc = crc32c(data);
      const before = Buffer.from(data.subarray(0, 36));
      randomBytes(36).copy(data, 0);
      expect(updateCrc32c(crc, before, data.subarray(0, 36), length)).toBe(crc32c(data));
    }
  });

  it('shifts by any length: x^(2^k) beyond k = 31 is not folded (the period of x is 31 for this polynomial, not 32)', () => {
    let p = 0x40000000; // x
    const squares = [p];
    for (let k = 1; k <= 40; k++) squares.push((p = multModP(p, p)));
    for (let k = 3; k <= 40; k++) expect(x2nModP(2 ** (k - 3), 3), `k=${k}`).toBe(squares[k]);
    // n with many bits: the product of its powers.
    const n = 2 ** 36 + 2 ** 31 + 5;
    expect(x2nModP(n, 3)).toBe(multModP(multModP(squares[39]!, squares[34]!), multModP(squares[3]!, squares[5]!)));
  });

  it('is the same CRC when nothing changed', () => {
    const data = randomBytes(4096);
    const head = data.subarray(0, 10);
    expect(updateCrc32c(crc32c(data), head, head, data.length)).toBe(crc32c(data));
  });

  it('keeps a damaged body detectable: the error carries over exactly', () => {
    const data = randomBytes(100_000);
    const goodCrc = crc32c(data);
    data[50_000]! ^= 0x10; // damage after the CRC was taken
    const before = Buffer.from(data.subarray(0, 36));
    data.writeUInt32BE(12345, 20);
    const updated = updateCrc32c(goodCrc, before, data.subarray(0, 36), data.length);
    expect(updated).not.toBe(crc32c(data));
    expect((updated ^ crc32c(data)) >>> 0).toBe((goodCrc ^ crc32c(Buffer.concat([before, data.subarray(36)]))) >>> 0);
  });

  it('refuses heads of different lengths', () => {
    expect(() => updateCrc32c(0, Buffer.alloc(3), Buffer.alloc(4), 10)).toThrow(RangeError);
  });
});
