/**
 * A TCP proxy in front of one Kafka listener that breaks a chosen Produce request on purpose: it
 * either lets the request reach the broker and swallows its answer (the batch is written, the
 * client never hears of it) or drops the request itself; then it cuts that connection. Kafka
 * frames are read on both sides (size, api key, correlation id) only to find that request and
 * its answer; every other byte passes as it is. The broker must advertise the proxy's port, so
 * that clients reach it through the proxy after their metadata request too.
 */
import { type AddressInfo, createServer, type Server, type Socket, connect } from 'node:net';

export type ProduceFault = 'lose-answer' | 'drop-request';

interface Armed {
  fault: ProduceFault;
  /** Produce requests to let through first. */
  skip: number;
  done: () => void;
}

/** Calls `onFrame` with each whole Kafka frame (size prefix included) as the bytes come in. */
function frames(onFrame: (frame: Buffer) => void): (data: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  return (data) => {
    buffered = buffered.length ? Buffer.concat([buffered, data]) : data;
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      const size = 4 + buffered.readInt32BE(0);
      onFrame(buffered.subarray(0, size));
      buffered = buffered.subarray(size);
    }
  };
}

export class FaultyProxy {
  private armed: Armed | undefined;
  private readonly sockets = new Set<Socket>();
  /** Produce requests that went through the proxy so far. */
  produceRequests = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, port = 0): Promise<FaultyProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const proxy = new FaultyProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (client) => proxy.relay(client, targetPort));
    return proxy;
  }

  /** Breaks the Produce request after the next `skip` ones; resolves once it was broken. */
  arm(fault: ProduceFault, skip = 0): Promise<void> {
    return new Promise((done) => (this.armed = { fault, skip, done }));
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
    const cut = () => {
      client.destroy();
      broker.destroy();
    };
    client.on('close', cut);
    broker.on('close', cut);
    /** The correlation id whose answer is swallowed, and the fault to report once it is. */
    let swallow: { correlationId: number; done: () => void } | undefined;
    client.on(
      'data',
      frames((frame) => {
        const apiKey = frame.readInt16BE(4);
        if (apiKey === 0) {
          this.produceRequests++;
          const armed = this.armed;
          if (armed && armed.skip-- <= 0) {
            this.armed = undefined;
            if (armed.fault === 'drop-request') {
              cut();
              armed.done();
              return;
            }
            swallow = { correlationId: frame.readInt32BE(8), done: armed.done };
          }
        }
        broker.write(frame);
      }),
    );
    broker.on(
      'data',
      frames((frame) => {
        if (swallow && frame.readInt32BE(4) === swallow.correlationId) {
          cut();
          swallow.done();
          swallow = undefined;
          return;
        }
        client.write(frame);
      }),
    );
  }
}
