import { describe, expect, it } from 'vitest';
import { compareFingerprints, type Fingerprints } from '../../src/kafka/fingerprint';

const fp = (records: number, sha256: string) => ({ from: 10, to: 10 + records, records, sha256 });

describe('fingerprint comparison', () => {
  it('names each partition that came back short, different or not at all', () => {
    const expected: Fingerprints = { orders: { '0': fp(5, 'aa'), '1': fp(5, 'bb'), '2': fp(5, 'cc') }, payments: { '0': fp(3, 'dd') } };
    const actual: Fingerprints = { orders: { '0': fp(5, 'aa'), '1': fp(4, 'bb'), '2': fp(5, 'xx') } };
    expect(compareFingerprints(expected, actual)).toEqual([
      'orders-1: 4 records in [10, 15), the backup had 5',
      'orders-2: content differs in [10, 15)',
      'payments-0: not read back',
    ]);
    expect(compareFingerprints(expected, structuredClone(expected))).toEqual([]);
  });
});
