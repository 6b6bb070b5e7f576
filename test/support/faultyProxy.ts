/**
 * A TCP proxy in front of one Kafka listener that breaks chosen Produce requests on purpose:
 * - `lose-answer`: the request reaches the broker (the batch is written), its answer is swallowed
 *   and the connection cut;
 * - `drop-request`: the request never reaches the broker, and the connection is cut;
 * - an error code: the request reaches the broker, and its answer comes back with that error
 *   instead (e.g. 6 NOT_LEADER_OR_FOLLOWER, which Kafka also sends for a batch it wrote when
 *   leadership moved while it awaited the replicas).
 * Kafka frames are read on both sides only to find those requests and answers; every other byte
 * passes as it is. The broker must advertise the proxy's port, so that clients reach it through
 * the proxy after their metadata request too.
 */
import { type AddressInfo, createServer, type Server, type Socket, connect } from 'node:net';

export type ProduceFault = 'lose-answer' | 'drop-request' | number;

/** A Produce request seen, by its first partition. */
export interface SeenProduce {
  /** Its number among the Produce requests through the proxy, from 1. */
  n: number;
  at: number;
  topic: string;
  partition: number;
  fault?: ProduceFault;
}

/** Calls `onFrame` with each whole Kafka frame (size prefix included) as the bytes come in. */
function frames(onFrame: (frame: Buffer) => void, onMalformed: () => void): (data: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  return (data) => {
    buffered = buffered.length ? Buffer.concat([buffered, data]) : data;
    while (buffered.length >= 4) {
      const size = buffered.readInt32BE(0);
      if (size < 0) return onMalformed();
      if (buffered.length < 4 + size) return;
      onFrame(buffered.subarray(0, 4 + size));
      buffered = buffered.subarray(4 + size);
    }
  };
}

/** Topic and partition of the first batch of a Produce request (v3-v8, header v1). */
function firstPartition(frame: Buffer): { topic: string; partition: number } {
  const version = frame.readInt16BE(6);
  if (version < 3 || version > 8) throw new Error(`faultyProxy reads Produce v3-v8 requests, got v${version}`);
  let at = 12;
  at += 2 + Math.max(0, frame.readInt16BE(at)); // client id (-1: null)
  const txn = frame.readInt16BE(at);
  at += 2 + Math.max(0, txn); // transactional id
  at += 2 + 4 + 4; // acks, timeout, topic count
  const len = frame.readInt16BE(at);
  const topic = frame.toString('utf8', at + 2, at + 2 + len);
  return { topic, partition: frame.readInt32BE(at + 2 + len + 4) };
}

/** Sets every partition's error code in a Produce answer (v5-v7, header v0) to `code`. */
function withErrorCode(frame: Buffer, code: number): Buffer {
  const out = Buffer.from(frame);
  let at = 8;
  const topics = out.readInt32BE(at);
  at += 4;
  for (let t = 0; t < topics; t++) {
    at += 2 + out.readInt16BE(at);
    const partitions = out.readInt32BE(at);
    at += 4;
    for (let p = 0; p < partitions; p++) {
      out.writeInt16BE(code, at + 4);
      at += 4 + 2 + 8 + 8 + 8; // partition, error, base offset, log append time, log start offset
    }
  }
  return out;
}

export class FaultyProxy {
  /** Request number → the fault to apply to it. */
  private readonly armed = new Map<number, ProduceFault>();
  private readonly sockets = new Set<Socket>();
  private count = 0;
  /** Every Produce request through the proxy since the last reset, in order. */
  seen: SeenProduce[] = [];
  /** Produce requests still unanswered when a broker closed its connection (killed, restarted). */
  cutByBroker = 0;

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<FaultyProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new FaultyProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (client) => proxy.relay(client, targetPort));
    return proxy;
  }

  /** Forgets what was seen and armed; requests count from 1 again. */
  reset(): void {
    this.armed.clear();
    this.count = 0;
    this.seen = [];
    this.cutByBroker = 0;
  }

  /** Breaks the `n`th Produce request from now on (counting from 1 after a reset). */
  arm(n: number, fault: ProduceFault): void {
    this.armed.set(n, fault);
  }

  get broken(): SeenProduce[] {
    return this.seen.filter((s) => s.fault !== undefined);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, targetPort: number): void {
    const broker = connect(targetPort, '127.0.0.1');
    for (const s of [client, broker]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
    }
    /** Closed by the proxy or the client: the broker did not cut the requests on it. */
    let notByBroker = false;
    const cut = () => {
      notByBroker = true;
      client.destroy();
      broker.destroy();
    };
    /** Produce requests forwarded and not answered yet: correlation id → the fault for its answer. */
    const pending = new Map<number, ProduceFault | undefined>();
    client.on('close', () => {
      notByBroker = true;
      broker.destroy();
    });
    broker.on('close', () => {
      if (!notByBroker) this.cutByBroker += pending.size;
      client.destroy();
    });
    client.on(
      'data',
      frames((frame) => {
        if (frame.readInt16BE(4) === 0) {
          const fault = this.armed.get(++this.count);
          this.seen.push({ n: this.count, at: Date.now(), ...firstPartition(frame), fault });
          if (fault === 'drop-request') return cut();
          if (typeof fault === 'number' && frame.readInt16BE(6) > 7) throw new Error('faultyProxy rewrites the answers of Produce v5-v7 only');
          pending.set(frame.readInt32BE(8), fault);
        }
        broker.write(frame);
      }, cut),
    );
    broker.on(
      'data',
      frames((frame) => {
        const correlationId = frame.readInt32BE(4);
        if (pending.has(correlationId)) {
          const fault = pending.get(correlationId);
          pending.delete(correlationId);
          if (fault === 'lose-answer') return cut();
          if (typeof fault === 'number') return void client.write(withErrorCode(frame, fault));
        }
        client.write(frame);
      }, cut),
    );
  }
}
