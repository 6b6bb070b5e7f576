/**
 * Content fingerprints of partition ranges: SHA-256 over every record in [from, to) in offset order,
 * each record in Lifeboat's exact stored encoding (offset, timestamp and its type, key, value,
 * headers in wire order). Taken at backup time over the newest records a backup holds, and again
 * after a recovery over the same ranges: equal hashes mean the records came back bit for bit.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { encodeRecord } from './recordFormat';
import { readRanges, toStoredRecord } from './topicReader';

export interface RangeFingerprint {
  from: number;
  to: number;
  records: number;
  sha256: string;
}

/** topic → partition → range */
export type RangeMap = Record<string, Record<string, { from: number; to: number }>>;
export type Fingerprints = Record<string, Record<string, RangeFingerprint>>;

export async function fingerprintRanges(kafka: Kafka, ranges: RangeMap, onProgress?: (topic: string) => void): Promise<Fingerprints> {
  const out: Fingerprints = {};
  for (const [topic, parts] of Object.entries(ranges)) {
    onProgress?.(topic);
    const hashes = new Map<number, { hash: Hash; records: number }>();
    const wanted = new Map<number, { from: number; to: number }>();
    for (const [p, r] of Object.entries(parts)) {
      wanted.set(Number(p), r);
      hashes.set(Number(p), { hash: createHash('sha256'), records: 0 });
    }
    await readRanges(kafka, topic, wanted, async (partition, records) => {
      const h = hashes.get(partition)!;
      const r = wanted.get(partition)!;
      for (const m of records) {
        const offset = Number(m.offset);
        if (offset < r.from || offset >= r.to) continue;
        h.hash.update(encodeRecord(toStoredRecord(m)));
        h.records++;
      }
    });
    out[topic] = {};
    for (const [p, r] of wanted) {
      const h = hashes.get(p)!;
      out[topic][String(p)] = { from: r.from, to: r.to, records: h.records, sha256: h.hash.digest('hex') };
    }
  }
  return out;
}

/** Partitions whose fingerprint differs ("topic-partition: why"). */
export function compareFingerprints(expected: Fingerprints, actual: Fingerprints): string[] {
  const bad: string[] = [];
  for (const [topic, parts] of Object.entries(expected)) {
    for (const [p, e] of Object.entries(parts)) {
      const a = actual[topic]?.[p];
      if (!a) bad.push(`${topic}-${p}: not read back`);
      else if (a.records !== e.records) bad.push(`${topic}-${p}: ${a.records} records in [${e.from}, ${e.to}), the backup had ${e.records}`);
      else if (a.sha256 !== e.sha256) bad.push(`${topic}-${p}: content differs in [${e.from}, ${e.to})`);
    }
  }
  return bad;
}
