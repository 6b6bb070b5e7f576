/**
 * A broker connection that frames its own requests, for Produce: a record batch goes from its
 * buffer to the socket without a copy. Through kafkajs's request path every request is copied
 * three times into zero-filled buffers (its encoders, then the size-prefixed frame); at a GB of
 * batches that copying and the garbage it leaves were a third of a topic restore's CPU.
 *
 * kafkajs still does what it is good at: it opens the connection (its socket factory, TLS) and
 * authenticates it (SASL, with the broker's API versions); then this class takes the socket's
 * incoming bytes over. The connection is this class's alone, never in kafkajs's pools.
 */
import type { Logger } from 'kafkajs';
import { LifeboatError } from '../../errors';
import { type KafkajsConnection, type KafkajsPoolOptions, newConnection } from './transport';

export type { KafkajsPoolOptions };

/** A connection that failed, closed or timed out: every request on it failed and may be retried on a new one. */
export class WireConnectionError extends Error {
  override name = 'WireConnectionError';
  /**
   * @param inFlight the request had been written to the socket: the broker may have acted on it
   *   (a produce may be written) although no answer came.
   */
  constructor(
    message: string,
    readonly inFlight = false,
  ) {
    super(message);
  }
}

interface Pending {
  correlationId: number;
  resolve: (payload: Buffer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const SASL_AUTHENTICATE = 36;

export class RawConnection {
  private nextCorrelationId = 0;
  /** Kafka answers the requests of one connection in order. */
  private readonly pending: Pending[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: Error | undefined;
  private retiring = false;
  private readonly header: Buffer;

  private constructor(
    private readonly conn: KafkajsConnection,
    private readonly where: string,
    clientId: string,
  ) {
    const id = Buffer.from(clientId, 'utf8');
    // Request header v1: size, api key, api version, correlation id, client id (the same for every request).
    this.header = Buffer.alloc(14 + id.length);
    this.header.writeInt16BE(id.length, 12);
    id.copy(this.header, 14);
    conn.processData = (data) => this.onData(data);
    conn.socket.on('close', () => this.fail(new WireConnectionError(`connection to ${where} closed`)));
    conn.socket.on('error', (e) => this.fail(new WireConnectionError(`connection to ${where}: ${e.message}`)));
  }

  /** Connects and authenticates as kafkajs would, with the options of a broker's connection pool. */
  static async open(pool: KafkajsPoolOptions, versions: Record<number, unknown> | null, logger: Logger): Promise<RawConnection> {
    const conn = newConnection({
      host: pool.host,
      port: pool.port,
      ssl: pool.ssl,
      sasl: pool.sasl,
      clientId: pool.clientId,
      socketFactory: pool.socketFactory,
      connectionTimeout: pool.connectionTimeout,
      requestTimeout: 30_000,
      logger,
    });
    conn.setVersions(versions);
    conn.setSupportAuthenticationProtocol(versions?.[SASL_AUTHENTICATE] !== undefined);
    try {
      await conn.connect();
      await conn.authenticate();
    } catch (e) {
      conn.socket?.destroy();
      // Also stops kafkajs's request-timeout timer, which would keep the process alive.
      await conn.disconnect().catch(() => {});
      const err = e as Error;
      // Wrong credentials do not get better by retrying.
      if (/SASL|Authentication/i.test(err.name)) {
        throw new LifeboatError('InvalidSpec', `SASL authentication to ${pool.host}:${pool.port} failed: ${err.message}; check kafka.sasl in the spec`);
      }
      throw new WireConnectionError(`cannot connect to ${pool.host}:${pool.port}: ${err.message}`);
    }
    return new RawConnection(conn, `${pool.host}:${pool.port}`, pool.clientId);
  }

  /**
   * Usable for new requests: not failed, and its SASL session (where the broker limits it with
   * connections.max.reauth.ms) not about to expire — the broker would drop the connection at the
   * first request after that. kafkajs re-authenticates its own connections; this one is replaced.
   */
  get alive(): boolean {
    return this.failed === undefined && !this.retiring && (this.conn.sasl == null || this.conn.isAuthenticated());
  }

  /** Takes no new requests and closes once the ones on it are answered (it has been replaced). */
  retire(): void {
    this.retiring = true;
    if (this.pending.length === 0) this.close();
  }

  /**
   * Sends one request (header v1) whose body is `parts`, written as they are, and resolves with
   * the response after its correlation id. A timeout fails the connection (later answers could
   * no longer be matched) and every request on it.
   */
  request(apiKey: number, apiVersion: number, parts: Buffer[], timeoutMs: number): Promise<Buffer> {
    if (this.failed) return Promise.reject(new WireConnectionError(this.failed.message));
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) % 2 ** 31;
    const head = Buffer.from(this.header);
    const size = head.length - 4 + parts.reduce((n, p) => n + p.length, 0);
    head.writeInt32BE(size, 0);
    head.writeInt16BE(apiKey, 4);
    head.writeInt16BE(apiVersion, 6);
    head.writeInt32BE(correlationId, 8);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new WireConnectionError(`no answer from ${this.where} within ${timeoutMs} ms`)), timeoutMs);
      this.pending.push({ correlationId, resolve, reject, timer });
      const socket = this.conn.socket;
      // One writev for the frame: nothing is copied into a request buffer.
      socket.cork();
      socket.write(head);
      for (const p of parts) socket.write(p);
      socket.uncork();
    });
  }

  close(): void {
    this.fail(new WireConnectionError(`connection to ${this.where} closed by Lifeboat`));
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    const inFlight = e instanceof WireConnectionError ? new WireConnectionError(e.message, true) : e;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(inFlight);
    }
    this.conn.socket.destroy();
    // Stops kafkajs's request-timeout timer for this connection (its queue is empty).
    void this.conn.disconnect().catch(() => {});
  }

  private onData(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
    while (this.buffered >= 4) {
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const size = this.chunks[0]!.readInt32BE(0);
      if (size < 4) {
        this.fail(new WireConnectionError(`${this.where} sent a malformed frame (size ${size})`));
        return;
      }
      if (this.buffered < 4 + size) return;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      this.answer(frame);
    }
  }

  private answer(frame: Buffer): void {
    const next = this.pending.shift();
    const correlationId = frame.readInt32BE(0);
    if (!next || next.correlationId !== correlationId) {
      if (next) this.pending.unshift(next);
      this.fail(new WireConnectionError(`${this.where} answered request ${correlationId}, expected ${next?.correlationId ?? 'none'}`));
      return;
    }
    clearTimeout(next.timer);
    next.resolve(frame.subarray(4));
    if (this.retiring && this.pending.length === 0) this.close();
  }
}
