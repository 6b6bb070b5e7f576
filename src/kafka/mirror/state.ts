/**
 * The mirror's durable state, kept ON THE TARGET in the compacted topic `__lifeboat_mirror` (one
 * partition), so that a lost source or a new worker loses nothing. Keys (UTF-8, last one wins):
 *
 *   <pair>/<topic>/<partition>          the partition's position (PartitionState, JSON)
 *   <pair>/<topic>/<partition>/seg/<i>  closed runs of its offset map, in order ({ runs }, JSON)
 *   <pair>/<topic>/<partition>/claim    the producer of the run that took the partition last
 *
 * A position names the batches about to be produced (`sent`: producer id, epoch, base sequence and
 * the source offsets each holds) before they are sent; where they landed goes with a later write.
 * A worker that starts after a kill looks for them in the target by producer id and sequence
 * (lostAnswers.ts), the way a topic restore does with its offset map file.
 *
 * Fencing: each partition is written by a producer of its own, under a transactional id of its own
 * (fenceId), whose epoch every new run bumps (InitProducerId). A run first writes its claim with the
 * new epoch; from then on the state partition refuses every write of an older run of the partition
 * (INVALID_PRODUCER_EPOCH), and since the older run names each batch here before sending it, it
 * stops before it sends another. (The data partitions refuse the old epoch too, but only once the
 * new run wrote there, and they may forget a producer whose records carry old timestamps.) Limits:
 * the mirror's principal needs Write on the transactional ids lifeboat-mirror/*; after 32,767 runs
 * of a partition (about 23 days of 60 s rounds) the coordinator hands out a new producer id, and a
 * run still alive across that switch is not fenced by the broker (the target-end checks of shard.ts
 * still stop a write that lands where the mirror did not expect it).
 *
 * Writes are idempotent (the partition's producer id and its own sequence on the state partition)
 * and group-committed per partition: positions waiting while a write is in flight go in the next
 * one, as one batch (a batch is appended atomically: a position and the segment it closes land
 * together).
 */
import type { Admin, Kafka } from 'kafkajs';
import { LifeboatError } from '../../errors';
import { sleep } from '../../core/poll';
import type { Run } from '../offsetMap';
import { ABORT_GRACE_MS, CONNECTION_ERRORS } from '../lostAnswers';
import { WireClient, abortable, protocolError } from '../wire/client';
import { WireConnectionError } from '../wire/connection';
import { readBatches } from '../wire/readBatches';
import { decodeBatch, encodeBatch, encodeBody } from '../wire/recordBatch';

export const STATE_TOPIC = '__lifeboat_mirror';

/** A batch about to be produced (or produced without an answer). */
export interface SentState {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** [source offset, index in the batch, count]. */
  runs: Run[];
  /** The source position once it is in. */
  next: number;
  records: number;
  bytes: number;
  lastTimestamp?: number;
}

export interface PartitionState {
  pair: string;
  topic: string;
  partition: number;
  /** Next source offset to copy. */
  next: number;
  /** The target's next offset (its end once everything known is in). */
  targetNext: number;
  mode: 'identical' | 'mapped';
  records: number;
  bytes: number;
  lastTimestamp?: number;
  sourceEnd: number;
  /** Runs [source, target, count] not yet closed into a segment. */
  runs: Run[];
  /** Segments written so far (keys .../seg/0 .. seg/<segments-1>). */
  segments: number;
  /** Batches named before they were sent, in order, not known to have landed (see shard.ts on when they may still land). */
  sent?: SentState[];
  /** When this position was written (ms). */
  at: number;
}

export const stateKey = (pair: string, topic: string, partition: number): string => `${pair}/${topic}/${partition}`;
const segmentKey = (pair: string, topic: string, partition: number, i: number): string => `${stateKey(pair, topic, partition)}/seg/${i}`;
const claimKey = (pair: string, topic: string, partition: number): string => `${stateKey(pair, topic, partition)}/claim`;

/** The transactional id whose producer writes a partition of a mirror (its epoch fences older runs). */
export const fenceId = (pair: string, topic: string, partition: number): string => `lifeboat-mirror/${stateKey(pair, topic, partition)}`;

/** Open runs kept in the position before they are closed into a segment record. */
const OPEN_RUNS = 64;

export async function ensureStateTopic(admin: Admin): Promise<void> {
  if ((await admin.listTopics()).includes(STATE_TOPIC)) return;
  const brokers = (await admin.describeCluster()).brokers.length;
  await admin
    .createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: STATE_TOPIC,
          numPartitions: 1,
          replicationFactor: Math.min(3, brokers),
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'min.insync.replicas', value: String(Math.min(2, brokers)) },
            { name: 'message.timestamp.type', value: 'CreateTime' },
            // Every shard reads the whole topic when it starts (each round): small segments that
            // roll often let the cleaner keep it near one record per key (a position is written
            // for every fetch answer of every partition; the default 1 GB / 7-day active segment
            // is never compacted and grew by 20 MB in half an hour of the lab's tests).
            { name: 'segment.bytes', value: String(8 * 1024 * 1024) },
            { name: 'segment.ms', value: String(10 * 60_000) },
            { name: 'min.cleanable.dirty.ratio', value: '0.1' },
          ],
        },
      ],
    })
    .catch((e: unknown) => {
      // Another worker created it first.
      if (!/already exists/i.test((e as Error).message) && !((e as { errors?: { type?: string }[] }).errors ?? []).every((x) => x.type === 'TOPIC_ALREADY_EXISTS')) throw e;
    });
}

export interface MirrorState {
  positions: Map<string, PartitionState>;
  segments: Map<string, Run[]>;
}

/** Everything the target holds for `pair` (all pairs when undefined). */
export async function readState(kafka: Kafka, pair?: string, signal?: AbortSignal): Promise<MirrorState> {
  const state: MirrorState = { positions: new Map(), segments: new Map() };
  const client = await WireClient.open(kafka, [], signal);
  let ranges: Map<number, { from: number; to: number }>;
  try {
    await abortable(client.addTopics([STATE_TOPIC]), signal).catch((e: unknown) => {
      if (signal?.aborted) throw e;
    });
    if (client.partitionCount(STATE_TOPIC) === 0) return state;
    const low = await abortable(client.listOffsets(STATE_TOPIC, 'earliest'), signal);
    const high = await abortable(client.listOffsets(STATE_TOPIC, 'end'), signal);
    ranges = new Map([...high].map(([p, to]) => [p, { from: low.get(p) ?? 0, to }]));
  } finally {
    await client.close();
  }
  const prefix = pair === undefined ? '' : `${pair}/`;
  const reading = readBatches(
    kafka,
    STATE_TOPIC,
    ranges,
    async (_p, batches) => {
      for (const b of batches) {
        for (const r of await decodeBatch(b, STATE_TOPIC)) {
          const key = r.key?.toString('utf8') ?? '';
          if (!key.startsWith(prefix) || key.endsWith('/claim')) continue;
          const isSeg = key.includes('/seg/');
          const map = isSeg ? state.segments : state.positions;
          if (r.value === null) map.delete(key);
          else if (isSeg) state.segments.set(key, (JSON.parse(r.value.toString('utf8')) as { runs: Run[] }).runs);
          else state.positions.set(key, positionFrom(JSON.parse(r.value.toString('utf8')) as PartitionState));
        }
      }
    },
    { readCommitted: false, ...(signal ? { signal } : {}) },
  );
  await abortable(reading, signal);
  return state;
}

/** A position as stored; before fencing, `sent` held one batch (an object), now a list. */
function positionFrom(p: PartitionState): PartitionState {
  const sent = p.sent as SentState[] | SentState | undefined;
  if (sent === undefined || Array.isArray(sent)) return sent?.length === 0 ? { ...p, sent: undefined } : p;
  return { ...p, sent: [sent] };
}

/** The whole offset map of a partition: its closed segments, then its open runs. */
export function runsOf(state: MirrorState, p: PartitionState): Run[] {
  const out: Run[] = [];
  for (let i = 0; i < p.segments; i++) out.push(...(state.segments.get(segmentKey(p.pair, p.topic, p.partition, i)) ?? []));
  return [...out, ...p.runs];
}

/** Errors after which nothing was written: the write is sent again as it is. */
const NOT_WRITTEN = new Set([3, 5, 6, 7, 9, 19, 20, 56]);

/** Group-committed, idempotent writes of one partition's positions to the state topic, under its producer (see the file comment). */
export class StateLog {
  private waiting: { records: { key: string; value: string }[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private pumping = false;
  private sequence = 0;
  private failure: unknown;

  /**
   * @param fenced the error when a newer run of the partition took over (its producer epoch is newer).
   * @param signal once it aborts, a write is tried once more (a stopped run's last position) and
   *   not retried; a write on its way gets ABORT_GRACE_MS to be answered, then fails with the abort.
   */
  constructor(
    private readonly client: WireClient,
    private readonly producer: { producerId: number; producerEpoch: number },
    private readonly fenced: () => Error = () => new LifeboatError('UnsafeTarget', `a newer run of this mirror took over (producer epoch ${producer.producerEpoch} fenced)`),
    private readonly signal?: AbortSignal,
  ) {}

  /** Takes the partition: from now on the state partition refuses the writes of older runs. */
  claim(pair: string, topic: string, partition: number): Promise<void> {
    return this.append([{ key: claimKey(pair, topic, partition), value: JSON.stringify({ ...this.producer, at: Date.now() }) }]);
  }

  /**
   * Writes a partition's position (closing its open runs into a segment when they grow); resolves
   * with the time stamped in it (`at`) once it is written.
   */
  async write(p: PartitionState): Promise<number> {
    const records: { key: string; value: string }[] = [];
    if (p.runs.length > OPEN_RUNS) {
      const closed = p.runs.splice(0, p.runs.length - 1);
      records.push({ key: segmentKey(p.pair, p.topic, p.partition, p.segments), value: JSON.stringify({ runs: closed }) });
      p.segments++;
    }
    const at = (p.at = Date.now());
    records.push({ key: stateKey(p.pair, p.topic, p.partition), value: JSON.stringify(p.sent?.length === 0 ? { ...p, sent: undefined } : p) });
    await this.append(records);
    return at;
  }

  private append(records: { key: string; value: string }[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ records, resolve, reject });
      if (!this.pumping) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiting.length) {
        const group = this.waiting.splice(0);
        try {
          await this.send(group.flatMap((g) => g.records));
          for (const g of group) g.resolve();
        } catch (e) {
          this.failure = e;
          for (const g of [...group, ...this.waiting.splice(0)]) g.reject(e);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async send(records: { key: string; value: string }[]): Promise<void> {
    const now = Date.now();
    const batch = encodeBatch(
      records.map((r) => ({ timestamp: now, body: encodeBody({ key: Buffer.from(r.key), value: Buffer.from(r.value), headers: [] }) })),
      { ...this.producer, baseSequence: this.sequence },
    );
    const t0 = Date.now();
    for (let attempt = 1; ; attempt++) {
      let why: string;
      try {
        const leader = this.client.leaders(STATE_TOPIC).get(0);
        if (leader === undefined) throw new WireConnectionError(`${STATE_TOPIC} has no leader`, false);
        const [r] = await abortable(this.client.produce(leader, STATE_TOPIC, [{ partition: 0, batch }]), this.signal, ABORT_GRACE_MS);
        // A resend of a batch the broker already has is answered as written (idempotence).
        if (r && (r.errorCode === 0 || r.errorCode === 46)) {
          this.sequence = (this.sequence + records.length) % 2 ** 31;
          return;
        }
        const code = r?.errorCode ?? -1;
        // INVALID_PRODUCER_EPOCH, PRODUCER_FENCED: a newer run of the partition claimed it.
        if (code === 47 || code === 90) throw this.fenced();
        if (code === 29) throw new LifeboatError('InvalidInput', `not allowed to write the mirror's state topic ${STATE_TOPIC} on the target: grant the mirror's principal Write on it`);
        if (!NOT_WRITTEN.has(code)) throw new Error(`writing the mirror state to ${STATE_TOPIC}: ${protocolError(code).message}`);
        why = protocolError(code).type;
      } catch (e) {
        if (!CONNECTION_ERRORS.has((e as Error).name)) throw e;
        why = (e as Error).message;
      }
      if (Date.now() - t0 > 180_000) throw new Error(`writing the mirror state to ${STATE_TOPIC}: still failing after ${Math.round((Date.now() - t0) / 1000)} s (${why})`);
      await sleep(Math.min(200 * attempt, 2000), this.signal);
      await abortable(this.client.refresh(), this.signal).catch(() => {});
    }
  }
}

/**
 * Forgets a removed topic's positions of a pair: tombstones its partitions' position keys in the
 * state topic on the target (compaction then drops them), so that a later failover of the pair does
 * not count partitions that are gone. The offset-map segments stay until compacted by their own keys.
 */
export async function forgetPositions(kafka: Kafka, pair: string, topic: string, partitions: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic: STATE_TOPIC, messages: Array.from({ length: partitions }, (_, p) => ({ key: stateKey(pair, topic, p), value: null })) });
  } finally {
    await producer.disconnect();
  }
}
