/** Helpers for the mirror tests: whole partitions read back (read_committed), numbered records produced. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { WireClient } from '../../../src/kafka/wire/client';
import { readBatches } from '../../../src/kafka/wire/readBatches';
import { type DecodedRecord, decodeBatch } from '../../../src/kafka/wire/recordBatch';

/** Every record a read_committed consumer gets, per partition, with its offset. */
export async function readTopic(kafka: Kafka, topic: string): Promise<Map<number, DecodedRecord[]>> {
  const client = await WireClient.open(kafka, [topic]);
  const low = await client.listOffsets(topic, 'earliest');
  const high = await client.listOffsets(topic, 'committed');
  await client.close();
  const out = new Map<number, DecodedRecord[]>([...high.keys()].map((p) => [p, []]));
  await readBatches(kafka, topic, new Map([...high].map(([p, to]) => [p, { from: low.get(p) ?? 0, to }])), async (p, batches) => {
    for (const b of batches) out.get(p)!.push(...(await decodeBatch(b)));
  });
  return out;
}

/** What a consumer sees of a record, offset aside. */
export const content = (r: DecodedRecord) => ({
  key: r.key?.toString('hex') ?? null,
  value: r.value?.toString('hex') ?? null,
  headers: r.headers.map((h) => [h.key, h.value?.toString('hex') ?? null]),
  timestamp: r.timestamp,
});

/** Sequence numbers (header "seq") of the records, in order. */
export const seqs = (rs: DecodedRecord[]) => rs.map((r) => Number(r.headers.find((h) => h.key === 'seq')?.value?.toString()));

/** `n` numbered records (header seq, ~`size` bytes value) over `partitions`, idempotent, acks=all. */
export async function produceNumbered(kafka: Kafka, topic: string, n: number, partitions: number, size = 100, from = 0): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = from; i < from + n; i += 1000) {
    const m = Math.min(1000, from + n - i);
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: m }, (_, j) => ({ partition: (i + j) % partitions, key: `k${i + j}`, value: `${i + j}:`.padEnd(size, '.'), headers: { seq: String(i + j) } })),
    });
  }
  await producer.disconnect();
}

/** What the child mirror shard (mirrorChild.ts) copies: spec files, pair, topic and partitions. */
export interface ChildMirror {
  source: string;
  target: string;
  pair: string;
  topic: string;
  partitions: number[];
  maxBatchBytes: number;
}

/** Runs the mirror shard in a child (mirrorChild.ts) and SIGKILLs it once it reports at least `killAt` records mirrored. */
export function mirrorUntilKilled(args: ChildMirror, killAt: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx'), [join(__dirname, 'mirrorChild.ts')], {
      env: { ...process.env, LIFEBOAT_TEST_MIRROR: JSON.stringify(args) },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true, // its own process group: the kill reaches tsx's node child too
    });
    let seen = 0;
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/mirrored (\d+)/g)) seen = Math.max(seen, Number(m[1]));
      if (!killed && seen >= killAt) {
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
      }
    });
    child.on('exit', () => (killed ? resolve(seen) : reject(new Error(`child mirror ended before it was killed (${seen} mirrored)`))));
  });
}
