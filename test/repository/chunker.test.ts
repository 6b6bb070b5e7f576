import { describe, expect, it } from 'vitest';
import { Chunker, DEFAULT_CHUNKER } from '../../src/repository';
import { kafkaLike } from './helpers';

const P = { min: 4096, avg: 16384, max: 65536 };
function cut(data: Buffer, feed: number, params = P): Buffer[] {
  const c = new Chunker(params);
  const out: Buffer[] = [];
  for (let o = 0; o < data.length; o += feed) for (const ch of c.push(data.subarray(o, o + feed))) out.push(ch);
  const last = c.finish();
  if (last) out.push(last);
  return out;
}

describe('content-defined chunker', () => {
  const data = kafkaLike(2_000_000, 7);

  it('cuts the same way however the data is fed, within min/max, and loses nothing', () => {
    const a = cut(data, data.length);
    const b = cut(data, 1000);
    const c = cut(data, 70_001);
    expect(b.map((x) => x.length)).toEqual(a.map((x) => x.length));
    expect(c.map((x) => x.length)).toEqual(a.map((x) => x.length));
    expect(Buffer.concat(a).equals(data)).toBe(true);
    for (const ch of a.slice(0, -1)) {
      expect(ch.length).toBeGreaterThan(P.min);
      expect(ch.length).toBeLessThanOrEqual(P.max);
    }
    const mean = data.length / a.length;
    expect(mean).toBeGreaterThan(P.min);
    expect(mean).toBeLessThan(P.max / 2);
  });

  it('keeps every chunk but the last when data is appended, and resynchronises after an insertion', () => {
    const before = cut(data, 65536);
    const after = cut(Buffer.concat([data, kafkaLike(100_000, 8)]), 65536);
    expect(after.slice(0, before.length - 1).map((x) => x.toString('base64'))).toEqual(before.slice(0, -1).map((x) => x.toString('base64')));
    const inserted = cut(Buffer.concat([data.subarray(0, 500_000), Buffer.from('INSERTED'), data.subarray(500_000)]), 65536);
    const set = new Set(before.map((x) => x.toString('base64')));
    const shared = inserted.filter((x) => set.has(x.toString('base64'))).length;
    expect(shared).toBeGreaterThanOrEqual(before.length - 3);
  });

  it('defaults to ~1 MiB chunks', () => {
    const big = kafkaLike(24 * 1024 * 1024, 3);
    const chunks = cut(big, 1 << 20, DEFAULT_CHUNKER);
    const mean = big.length / chunks.length;
    expect(mean).toBeGreaterThan(0.75 * 1024 * 1024);
    expect(mean).toBeLessThan(2 * 1024 * 1024);
  });
});
