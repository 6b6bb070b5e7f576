import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Chunker, DEFAULT_CHUNKER } from '../../src/repository';
import { gearWindow } from '../../src/repository/gearScan';
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

  it('cuts where the format says (docs/repository-format.md), with the WebAssembly scan as with JavaScript', () => {
    // The gear hash written out plainly: the oracle for both scans.
    const gear = Int32Array.from({ length: 256 }, (_, i) => createHash('sha256').update(`lifeboat-gear-${i}`).digest().readInt32BE(0));
    const cutsOf = (d: Buffer, p: typeof P): number[] => {
      const bits = Math.log2(p.avg);
      const maskS = (0xffffffff << (32 - (bits + 2))) | 0;
      const maskL = (0xffffffff << (32 - (bits - 2))) | 0;
      const out: number[] = [];
      for (let start = 0; start < d.length; ) {
        let len = Math.min(p.max, d.length - start);
        let h = 0;
        for (let i = p.min; i < Math.min(p.max, d.length - start); i++) {
          h = ((h << 1) + gear[d[start + i]!]!) | 0;
          if ((h & (i < p.avg ? maskS : maskL)) === 0) {
            len = i + 1;
            break;
          }
        }
        out.push(len);
        start += len;
      }
      return out;
    };
    // The backup's windows are WebAssembly memory where it is available (as here).
    expect(gearWindow(1 << 20, gear)).not.toBeNull();
    const mixed = Buffer.concat([kafkaLike(700_000, 4), randomBytes(300_000), Buffer.alloc(200_000), kafkaLike(500_000, 5)]);
    for (const params of [P, { min: 64, avg: 256, max: 1024 }, { min: 1000, avg: 8192, max: 20_000 }]) {
      const want = cutsOf(mixed, params);
      for (const feed of [mixed.length, 4096, 77_777]) expect(cut(mixed, feed, params).map((x) => x.length), `feed ${feed}`).toEqual(want);
    }
    expect(cut(data, 65536).map((x) => x.length)).toEqual(cutsOf(data, P));
  });
});
