/**
 * Ranged GETs whose bodies the kernel reads straight into the caller's buffer, for the restore's
 * fetches from an S3 endpoint over plain HTTP (on-premises object stores, the lab's versitygw).
 *
 * Why not the SDK's HTTP path: a restore receives every byte of its packs, and through node:http
 * each 64 KiB read is a fresh buffer, a parser callback and a stream event before it is copied into
 * the restore's buffer. Receiving 470 MB in 8 MiB ranges, 6 at a time, from versitygw cost
 * 1.2 s of CPU through the SDK, 0.9 s through bare node:http, and 0.25 s (nearly all of it the
 * kernel's copy) with net.Socket's `onread` pointed at the restore's own buffer. No HTTP library
 * reads into a caller's memory, so this module speaks the little HTTP it needs: one signed GET
 * (SigV4 by the SDK's own signer), a 206 or 200 answer with a Content-Length and no transfer coding.
 *
 * Anything else is not this module's to interpret: an error status, a chunked or unsized body, a
 * socket that fails or closes early all answer `undefined`, and the caller asks again through the
 * SDK, which retries and names the error. The one answer it refuses itself is a body longer than
 * the range (a server that ignored it). Every byte it returns is verified by the restore (SHA-256
 * and length of each chunk), as the SDK path's are.
 */
import { createHash, createHmac } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type * as Smithy from '@smithy/signature-v4';
import type { S3Location } from './s3Backend';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: SourceData): string | Uint8Array => (typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d));

/** The SHA-256 constructor SignatureV4 wants (hash, or HMAC with a secret), over node:crypto. */
class Sha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

/** Thrown (not answered `undefined`) for a body longer than the range: the SDK's path refuses it too. */
export class RangeIgnoredError extends Error {}

const HEAD_MAX = 16 * 1024;
const CONNECT_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = 120_000;

/** How a request ended: its body read (`got` bytes), or an answer that is not ours to read. */
type Outcome = { plain: true; got: number } | { plain: false };

/** One request on a socket: where its body goes as the kernel reads it. */
interface Exchange {
  into: Uint8Array;
  offset: number;
  length: number;
  /** Body bytes expected (Content-Length), once the head is in. */
  expected?: number;
  got: number;
  done: (r: Outcome | Error) => void;
}

/** A keep-alive connection whose reads land where its current exchange says. */
class Connection {
  readonly socket: Socket;
  private ex: Exchange | undefined;
  /**
   * Where an answer's head goes. Node asks for the buffer of each read right after the read before
   * it (and once when the socket opens), so between answers it is already this one, from its start.
   */
  private readonly head = Buffer.allocUnsafe(HEAD_MAX);
  private headLen = 0;
  /** Whether any byte of the current answer came (a kept connection that fails before is tried again). */
  answered = false;
  reusable = true;

  constructor(host: string, port: number, onClose: () => void) {
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: () => this.target(), callback: (n: number) => this.received(n) },
    });
    this.socket.setTimeout(CONNECT_TIMEOUT_MS);
    this.socket.once('connect', () => this.socket.setTimeout(IDLE_TIMEOUT_MS));
    this.socket.on('timeout', () => this.socket.destroy(new Error('timed out')));
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => {
      this.fail(new Error('the server closed the connection'));
      onClose();
    });
  }

  /** Where the next read goes: the head buffer, then the rest of the body's place in the caller's buffer. */
  private target(): Uint8Array {
    const ex = this.ex;
    if (!ex || ex.expected === undefined) return this.head.subarray(this.headLen);
    return ex.into.subarray(ex.got, ex.expected);
  }

  /** A protocol failure: the connection is closed, the request fails (the caller asks the SDK). */
  private refuse(e: Error): false {
    this.socket.destroy();
    this.fail(e);
    return false;
  }

  private received(n: number): boolean {
    const ex = this.ex;
    if (!ex) return this.refuse(new Error('bytes nobody asked for'));
    this.answered = true;
    if (ex.expected !== undefined) {
      ex.got += n;
      if (ex.got >= ex.expected) this.finish({ plain: true, got: ex.got });
      return true;
    }
    this.headLen += n;
    const end = this.head.subarray(0, this.headLen).indexOf('\r\n\r\n');
    if (end < 0) return this.headLen < this.head.length || this.refuse(new Error(`an answer head over ${HEAD_MAX} bytes`));
    const lines = this.head.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) return this.refuse(new Error('not an HTTP/1.x answer'));
    const status = Number(m[2]);
    const headers = new Map<string, string[]>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i <= 0) return this.refuse(new Error(`a malformed header line`));
      const name = l.slice(0, i).trim().toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), l.slice(i + 1).trim()]);
    }
    const one = (name: string): string | undefined => (headers.get(name)?.length === 1 ? headers.get(name)![0] : undefined);
    // HTTP/1.0 closes after the answer unless it says otherwise; HTTP/1.1 keeps it unless it says close.
    const connection = (headers.get('connection') ?? []).join(',');
    if (m[1] === '0' ? !/keep-alive/i.test(connection) : /close/i.test(connection)) this.reusable = false;
    const size = one('content-length');
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(one('content-range') ?? '');
    // The range's own bytes: a 206 for exactly what it says it holds, from the offset asked, ending
    // where asked or at the object's end; or a 200 (the whole object) when asked from its start.
    const sized = size !== undefined && /^\d+$/.test(size) && !headers.has('transfer-encoding');
    const expected = sized ? Number(size) : -1;
    const ours =
      sized &&
      (status === 206
        ? range !== null && Number(range[1]) === ex.offset && Number(range[2]) - Number(range[1]) + 1 === expected && (expected >= ex.length || Number(range[2]) + 1 === Number(range[3]))
        : status === 200 && ex.offset === 0);
    if (ours && expected > ex.length) return this.refuse(new RangeIgnoredError(`sent ${expected} bytes for a range of ${ex.length}`));
    if (!ours) {
      // Not ours to read: the caller asks through the SDK, which reads and names it.
      this.finish({ plain: false });
      this.socket.destroy();
      return false;
    }
    const early = this.headLen - end - 4;
    if (early > expected) return this.refuse(new Error('more bytes than the Content-Length'));
    ex.expected = expected;
    ex.into.set(this.head.subarray(end + 4, this.headLen), 0);
    this.headLen = 0;
    ex.got = early;
    if (ex.got >= expected) this.finish({ plain: true, got: ex.got });
    return true;
  }

  private finish(r: Outcome): void {
    const ex = this.ex;
    this.ex = undefined;
    ex?.done(r);
  }

  private fail(e: Error): void {
    this.reusable = false;
    const ex = this.ex;
    this.ex = undefined;
    ex?.done(e);
  }

  usable(): boolean {
    return this.reusable && !this.socket.destroyed;
  }

  /** Sends one request; settles when its whole body is in `into`, with an answer not ours, or with the failure. */
  exchange(request: string, into: Uint8Array, offset: number, length: number): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      if (!this.usable()) return reject(new Error('the connection is closed'));
      this.answered = false;
      this.ex = { into, offset, length, got: 0, done: (r) => (r instanceof Error ? reject(r) : resolve(r)) };
      this.socket.ref();
      this.socket.write(request);
    });
  }
}

/** Answers not ours in a row after which the direct path is left for the SDK's (a server it does not suit). */
const GIVE_UP_AFTER = 8;

/** Ranged GETs straight into caller buffers for one plain-HTTP S3 endpoint and bucket (path style). */
export class S3DirectRange {
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();
  private readonly signer: Smithy.SignatureV4;
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private closed = false;
  private notOurs = 0;
  /** What it did: connections opened, ranges read directly, answers left to the SDK. */
  readonly stats = { connections: 0, read: 0, leftToSdk: 0 };

  /**
   * Undefined unless the endpoint is plain http:// and addressed path-style: TLS, and the SDK's
   * rules for virtual-hosted buckets (DNS names, fallbacks for IP endpoints), stay with the SDK.
   * `now`: the time to sign with (the backend corrects it by the server's clock).
   */
  static for(where: S3Location, maxIdle: number, now: () => Date = () => new Date()): S3DirectRange | undefined {
    if (!where.endpoint || !where.pathStyle) return undefined;
    const url = new URL(where.endpoint);
    if (url.protocol !== 'http:' || (url.pathname !== '/' && url.pathname !== '')) return undefined;
    return new S3DirectRange(where, url, maxIdle, now);
  }

  private constructor(
    private readonly where: S3Location,
    url: URL,
    private readonly maxIdle: number,
    private readonly now: () => Date,
  ) {
    this.port = Number(url.port || 80);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.hostHeader = url.host;
    // Loaded with the S3 backend's SDK, not by every command that imports the repository (peak RSS).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SignatureV4: Signer } = require('@smithy/signature-v4') as typeof Smithy;
    this.signer = new Signer({
      credentials: { accessKeyId: where.accessKeyId, secretAccessKey: where.secretAccessKey },
      region: where.region,
      service: 's3',
      sha256: Sha256,
      // S3 signs the path as sent (no second encoding).
      uriEscapePath: false,
    });
  }

  /**
   * The bytes of `key` from `offset` into `into` (up to `length`): their count (fewer at the object's
   * end), or undefined when the answer is not a plain body of the range or the exchange failed (ask
   * the SDK). Throws only RangeIgnoredError.
   */
  async read(key: string, offset: number, length: number, into: Uint8Array): Promise<number | undefined> {
    if (this.closed || this.notOurs >= GIVE_UP_AFTER) return undefined;
    let request: string;
    try {
      request = await this.request(key, offset, length);
    } catch {
      return undefined;
    }
    // A kept connection that fails before any byte of its answer (the server closed it meanwhile) is
    // tried once more, on a new one; anything else is the SDK's to ask again and name.
    for (let attempt = 0; attempt < 2; attempt++) {
      const kept = attempt === 0 ? this.takeIdle() : undefined;
      const conn = kept ?? this.connect();
      try {
        const r = await conn.exchange(request, into, offset, length);
        if (!r.plain) break;
        this.notOurs = 0;
        this.stats.read++;
        this.release(conn);
        return r.got;
      } catch (e) {
        conn.socket.destroy();
        if (e instanceof RangeIgnoredError) throw e;
        if (!kept || conn.answered) break;
      }
    }
    this.notOurs++;
    this.stats.leftToSdk++;
    return undefined;
  }

  private async request(key: string, offset: number, length: number): Promise<string> {
    // The SDK's encoding of a key: encodeURIComponent, and !'()* too.
    const enc = (x: string) => encodeURIComponent(x).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const path = `/${enc(this.where.bucket)}/${key.split('/').map(enc).join('/')}`;
    const signed = await this.signer.sign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: this.host,
        port: this.port,
        path,
        query: {},
        headers: { host: this.hostHeader, range: `bytes=${offset}-${offset + length - 1}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      { signingDate: this.now() },
    );
    return `GET ${path} HTTP/1.1\r\n${Object.entries(signed.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n`;
  }

  /** A kept connection still open (the server closes them when it likes: those are dropped here). */
  private takeIdle(): Connection | undefined {
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (c.usable()) return c;
      c.socket.destroy();
    }
    return undefined;
  }

  private connect(): Connection {
    const conn: Connection = new Connection(this.host, this.port, () => this.open.delete(conn));
    this.open.add(conn);
    this.stats.connections++;
    return conn;
  }

  private release(conn: Connection): void {
    if (!conn.usable() || this.closed || this.idle.length >= this.maxIdle) {
      conn.socket.destroy();
      return;
    }
    // An idle connection does not keep the process alive.
    conn.socket.unref();
    this.idle.push(conn);
  }

  /** Closes every connection, idle or in use (a request in flight fails: its caller asks the SDK). */
  close(): void {
    this.closed = true;
    this.idle.length = 0;
    for (const c of this.open) c.socket.destroy();
  }
}
