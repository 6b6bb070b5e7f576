/**
 * Fetch and Produce at the record-batch level, over connections kafkajs opens.
 *
 * kafkajs decodes every fetched record into objects and encodes every produced one from objects,
 * which made logical backup and restore CPU-bound at a fraction of kcat's speed. Its transport
 * (TLS, SASL, API version negotiation, metadata, broker connections) is fine, so this module
 * sends its own Fetch (v11) and Produce (v7) requests: record sets travel as the raw bytes the
 * broker stores. Fetch goes through kafkajs's connection pools; Produce on a connection per broker
 * that kafkajs connects and authenticates and Lifeboat frames (connection.ts), so batches are not
 * copied on the way. The kafkajs internals used (its Cluster, Broker.connectionPool, Connection
 * class and protocol errors) come from transport.ts, the one module that touches them.
 */
import type { Kafka, Logger } from 'kafkajs';
import { abortReason, backoff, retry } from '../../core/poll';
import { LifeboatError } from '../../errors';
import { RawConnection } from './connection';
import { clusterOf, type KafkajsBroker, type KafkajsCluster, protocolError, type WireRequest, type WireResponse } from './transport';

export { protocolError };

const API = { Produce: 0, Fetch: 1 } as const;
const FETCH_VERSION = 11;
const PRODUCE_VERSION = 7;

/** Errors after which the partition's leader must be looked up again. */
export const STALE_LEADER_ERRORS = new Set([3, 5, 6, 9, 56, 74, 75]); // unknown partition, leader n/a, not leader, replica n/a, storage, fenced/unknown epoch

// ---- encoding helpers (request bodies are small, except Produce's record sets) ----

class Writer {
  private parts: Buffer[] = [];
  private size = 0;
  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  i8(v: number) {
    const b = Buffer.allocUnsafe(1);
    b.writeInt8(v);
    return this.push(b);
  }
  i16(v: number) {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    return this.push(b);
  }
  i32(v: number) {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    return this.push(b);
  }
  i64(v: number) {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(v));
    return this.push(b);
  }
  str(s: string | null) {
    if (s === null) return this.i16(-1);
    const b = Buffer.from(s, 'utf8');
    return this.i16(b.length).push(b);
  }
  bytes(b: Buffer) {
    return this.i32(b.length).push(b);
  }
  done(): { buf: Buffer; buffer: Buffer } {
    const b = Buffer.concat(this.parts, this.size);
    return { buf: b, buffer: b };
  }
}

class Reader {
  p = 0;
  constructor(private readonly b: Buffer) {}
  i16() {
    const v = this.b.readInt16BE(this.p);
    this.p += 2;
    return v;
  }
  i32() {
    const v = this.b.readInt32BE(this.p);
    this.p += 4;
    return v;
  }
  i64() {
    const v = Number(this.b.readBigInt64BE(this.p));
    this.p += 8;
    return v;
  }
  str() {
    const n = this.i16();
    if (n < 0) return null;
    const s = this.b.toString('utf8', this.p, this.p + n);
    this.p += n;
    return s;
  }
  bytes(): Buffer | null {
    const n = this.i32();
    if (n < 0) return null;
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
  array<T>(item: () => T): T[] {
    const n = this.i32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }
}

/**
 * `p`, or the abort error once `signal` aborts (`graceMs` later: time for a request already on its
 * way to be answered, e.g. a last state write of a stopped run). kafkajs's connection attempts and
 * metadata refreshes retry for a long time against a broker that is down and take no signal: this
 * lets a caller stop waiting for them (what `p` does later is ignored).
 */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, graceMs = 0): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => reject(abortReason(signal)), graceMs);
    };
    const done = () => {
      signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
    };
    p.then(
      (v) => {
        done();
        resolve(v);
      },
      (e: unknown) => {
        done();
        reject(e);
      },
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

const respond = <T>(decode: (r: Reader) => T): WireResponse<T> => ({ decode: async (raw) => decode(new Reader(raw)), parse: async (d) => d });

// ---- the requests ----

export interface FetchPartition {
  partition: number;
  offset: number;
  maxBytes: number;
}

export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: { producerId: number; firstOffset: number }[];
  records: Buffer;
}

export interface ProducedPartition {
  partition: number;
  errorCode: number;
  baseOffset: number;
}

export class WireClient {
  private connected = false;
  /** Per broker: the connection Produce requests go on (see connection.ts), once opened. */
  private readonly produceConnections = new Map<number, { opening: Promise<RawConnection>; conn?: RawConnection; failed?: boolean }>();
  private constructor(
    private readonly cluster: KafkajsCluster,
    private readonly logger: Logger,
  ) {}

  /**
   * A client with its own connections to every broker, with metadata for these topics. When
   * `signal` aborts first, rejects at once (a client that opens later is closed).
   */
  static async open(kafka: Kafka, topics: string[], signal?: AbortSignal): Promise<WireClient> {
    const c = new WireClient(clusterOf(kafka), kafka.logger());
    c.connected = true;
    const opening = (async () => {
      await c.cluster.connect();
      await c.cluster.addMultipleTargetTopics(topics);
    })();
    try {
      await abortable(opening, signal);
    } catch (e) {
      // An abandoned attempt may still connect: close after it ends too.
      void opening.then(
        () => c.cluster.disconnect().catch(() => {}),
        () => c.cluster.disconnect().catch(() => {}),
      );
      await c.close();
      throw e;
    }
    return c;
  }

  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    for (const c of this.produceConnections.values()) await c.opening.then((x) => x.close()).catch(() => {});
    this.produceConnections.clear();
    await this.cluster.disconnect().catch(() => {});
  }

  async addTopics(topics: string[]): Promise<void> {
    await this.cluster.addMultipleTargetTopics(topics);
  }

  async refresh(): Promise<void> {
    await this.cluster.refreshMetadata();
  }

  /** Partition → leader node id (partitions without a leader are left out). */
  leaders(topic: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const p of this.cluster.findTopicPartitionMetadata(topic)) if (p.leader !== null && p.leader >= 0) out.set(p.partitionId, p.leader);
    return out;
  }

  partitionCount(topic: string): number {
    return this.cluster.findTopicPartitionMetadata(topic).length;
  }

  private async broker(nodeId: number, api: number, version: number, name: string): Promise<KafkajsBroker> {
    const b = await this.cluster.findBroker({ nodeId });
    const v = b.versions?.[api];
    if (v && v.maxVersion < version) {
      throw new LifeboatError('InvalidInput', `broker ${nodeId} supports ${name} up to v${v.maxVersion}; Lifeboat needs v${version} (Kafka 2.3 or later)`);
    }
    return b;
  }

  /** One Fetch (read_committed) of several partitions of a topic from their leader. */
  async fetch(nodeId: number, topic: string, partitions: FetchPartition[], opts: { maxWaitMs: number; maxBytes: number; readCommitted?: boolean }): Promise<FetchedPartition[]> {
    const broker = await this.broker(nodeId, API.Fetch, FETCH_VERSION, 'Fetch');
    const request: WireRequest = {
      apiKey: API.Fetch,
      apiVersion: FETCH_VERSION,
      apiName: 'Fetch',
      encode: async () => {
        const w = new Writer()
          .i32(-1) // replica id: a consumer
          .i32(opts.maxWaitMs)
          .i32(1)
          .i32(opts.maxBytes)
          .i8(opts.readCommitted === false ? 0 : 1)
          .i32(0) // no fetch session
          .i32(-1)
          .i32(1)
          .str(topic)
          .i32(partitions.length);
        for (const p of partitions) w.i32(p.partition).i32(-1).i64(p.offset).i64(-1).i32(p.maxBytes);
        return w.i32(0).str('').done();
      },
    };
    const response = respond((r) => {
      r.i32(); // throttle
      const errorCode = r.i16();
      if (errorCode !== 0) throw protocolError(errorCode);
      r.i32(); // session
      const out: FetchedPartition[] = [];
      r.array(() => {
        r.str();
        r.array(() => {
          const partition = r.i32();
          const errorCode = r.i16();
          const highWatermark = r.i64();
          const lastStableOffset = r.i64();
          const logStartOffset = r.i64();
          const n = r.i32();
          const abortedTransactions: FetchedPartition['abortedTransactions'] = [];
          for (let i = 0; i < n; i++) abortedTransactions.push({ producerId: r.i64(), firstOffset: r.i64() });
          r.i32(); // preferred read replica
          const records = r.bytes() ?? Buffer.alloc(0);
          out.push({ partition, errorCode, highWatermark, lastStableOffset, logStartOffset, abortedTransactions, records });
        });
      });
      return out;
    });
    return (await broker.connectionPool.send({ request, response: response as WireResponse<unknown>, requestTimeout: opts.maxWaitMs + 30_000 })) as FetchedPartition[];
  }

  /**
   * One Produce (acks=all) of one record batch per partition to their leader, on this client's
   * own connection to that broker: the batches are written to the socket as they are.
   */
  async produce(nodeId: number, topic: string, batches: { partition: number; batch: Buffer }[], timeoutMs = 30_000): Promise<ProducedPartition[]> {
    const conn = await this.produceConnection(nodeId);
    const head = new Writer().str(null).i16(-1).i32(timeoutMs).i32(1).str(topic).i32(batches.length).done().buf;
    const parts = [head];
    for (const b of batches) parts.push(new Writer().i32(b.partition).i32(b.batch.length).done().buf, b.batch);
    const r = new Reader(await conn.request(API.Produce, PRODUCE_VERSION, parts, timeoutMs + 10_000));
    const out: ProducedPartition[] = [];
    r.array(() => {
      r.str();
      r.array(() => {
        const partition = r.i32();
        const errorCode = r.i16();
        const baseOffset = r.i64();
        r.i64(); // log append time
        r.i64(); // log start offset
        out.push({ partition, errorCode, baseOffset });
      });
    });
    return out;
  }

  /**
   * The broker's produce connection, opened again after it failed. Decided without awaiting, so
   * the partitions that retry together after a failure share one new connection.
   */
  private produceConnection(nodeId: number): Promise<RawConnection> {
    const known = this.produceConnections.get(nodeId);
    if (known && !known.failed && (!known.conn || known.conn.alive)) return known.opening;
    known?.conn?.retire();
    const entry = {} as { opening: Promise<RawConnection>; conn?: RawConnection; failed?: boolean };
    entry.opening = this.broker(nodeId, API.Produce, PRODUCE_VERSION, 'Produce')
      .then((b) => RawConnection.open(b.connectionPool, b.versions, this.logger))
      .then(
        (conn) => (entry.conn = conn),
        (e: unknown) => {
          entry.failed = true;
          throw e;
        },
      );
    this.produceConnections.set(nodeId, entry);
    return entry.opening;
  }

  /**
   * Per partition (those with a leader): the log start offset (`earliest`), the last stable
   * offset (`committed`: the end a read_committed reader reaches; below the high watermark while
   * a transaction is open) or the high watermark (`end`), from each partition's leader.
   */
  async listOffsets(topic: string, which: 'earliest' | 'committed' | 'end'): Promise<Map<number, number>> {
    const byLeader = new Map<number, number[]>();
    for (const [p, l] of this.leaders(topic)) byLeader.set(l, [...(byLeader.get(l) ?? []), p]);
    const out = new Map<number, number>();
    for (const [nodeId, partitions] of byLeader) {
      const b = await this.cluster.findBroker({ nodeId });
      const r = await b.listOffsets({
        replicaId: -1,
        isolationLevel: which === 'end' ? 0 : 1,
        topics: [{ topic, partitions: partitions.map((partition) => ({ partition, timestamp: which === 'earliest' ? -2 : -1 })) }],
      });
      for (const x of r.responses.flatMap((t) => t.partitions)) {
        if (x.errorCode !== 0) throw protocolError(x.errorCode);
        out.set(x.partition, Number(x.offset));
      }
    }
    return out;
  }

  /**
   * A producer id and epoch for idempotent produce (no transactions). Retried while the brokers
   * are still loading their transaction state (a cluster that just started).
   *
   * With a transactional id (asked of its transaction coordinator) the id stays the same from one
   * call to the next and the epoch goes up: the brokers then refuse the previous epoch's writes to
   * a partition once they saw the new one there (the mirror fences an older run of a shard so).
   * Nothing else of transactions is used: batches stay non-transactional, no markers are written.
   */
  async initProducerId(signal?: AbortSignal, transactionalId?: string): Promise<{ producerId: number; producerEpoch: number }> {
    return retry(
      async (attempt) => {
        const ids = this.cluster.getNodeIds();
        const nodeId = ids[attempt % Math.max(1, ids.length)]!;
        const asked = (async () => {
          const b = transactionalId === undefined ? await this.cluster.findBroker({ nodeId }) : await this.cluster.findGroupCoordinator({ groupId: transactionalId, coordinatorType: 1 });
          return b.initProducerId({ transactionalId: transactionalId ?? null, transactionTimeout: 60_000 });
        })();
        const r = await abortable(asked, signal);
        return { producerId: Number(r.producerId), producerEpoch: r.producerEpoch };
      },
      {
        timeoutMs: 120_000,
        intervalMs: backoff(200, 2000),
        signal,
        retryIf: (e) => (e as { retriable?: boolean }).retriable === true || /Connection|NotFound|Timeout/.test((e as Error).name ?? ''),
      },
    );
  }
}
