/**
 * The direct ranged GET's HTTP handling against a scripted server (what versitygw never sends: the
 * real server's answers are in s3DirectRange.int): a plain 206 read into the caller's buffer on a
 * kept connection; every answer that is not a plain body of the range left to the SDK (undefined);
 * a body longer than the range refused; a connection the server closed while idle replaced.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { RangeIgnoredError, S3DirectRange } from '../../src/repository/s3DirectRange';

const OBJECT = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Asked {
  path: string;
  range: string;
  authorization: string;
  headers: Record<string, string>;
}

/** A server that answers each request with `answer(asked, socket)`; counts connections. */
async function scripted(answer: (asked: Asked, socket: Socket) => void): Promise<{ server: Server; port: number; connections: () => number; asked: Asked[] }> {
  let connections = 0;
  const asked: Asked[] = [];
  const server = createServer((socket) => {
    connections++;
    let pending = '';
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const [line, ...headers] = pending.slice(0, end).split('\r\n');
        pending = pending.slice(end + 4);
        const h = Object.fromEntries(headers.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const a = { path: line!.split(' ')[1]!, range: h.range ?? '', authorization: h.authorization ?? '', headers: h };
        asked.push(a);
        answer(a, socket);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, connections: () => connections, asked };
}

/** The bytes a Range header asks for, as a 206 with a Content-Range. */
function partial(a: Asked, over: { status?: string; start?: number; extraHeaders?: string; body?: Buffer } = {}): Buffer {
  const [from, to] = /bytes=(\d+)-(\d+)/.exec(a.range)!.slice(1).map(Number) as [number, number];
  const body = over.body ?? OBJECT.subarray(from, Math.min(to + 1, OBJECT.length));
  const start = over.start ?? from;
  const head = `HTTP/1.1 ${over.status ?? '206 Partial Content'}\r\nContent-Range: bytes ${start}-${start + body.length - 1}/${OBJECT.length}\r\nContent-Length: ${body.length}\r\n${over.extraHeaders ?? ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

let open: { server: Server; reader: S3DirectRange }[] = [];
afterEach(async () => {
  for (const o of open) {
    o.reader.close();
    await new Promise((r) => o.server.close(r));
  }
  open = [];
});

function readerFor(server: Server, port: number): S3DirectRange {
  const reader = S3DirectRange.for({ kind: 's3', bucket: 'bk', prefix: '', endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', pathStyle: true, accessKeyId: 'AKID', secretAccessKey: 'secret' }, 4)!;
  open.push({ server, reader });
  return reader;
}

describe('direct ranged GETs', () => {
  it('reads a 206 into the buffer, signed, and keeps the connection for the next range', async () => {
    const s = await scripted((a, socket) => socket.write(partial(a)));
    const reader = readerFor(s.server, s.port);
    const into = new Uint8Array(new SharedArrayBuffer(1000));
    expect(await reader.read('data/ab/pack1', 100, 1000, into)).toBe(1000);
    expect(Buffer.from(into)).toEqual(OBJECT.subarray(100, 1100));
    expect(await reader.read('data/ab/pack1', OBJECT.length - 500, 1000, into)).toBe(500); // the object's end: fewer bytes
    expect(Buffer.from(into.subarray(0, 500))).toEqual(OBJECT.subarray(OBJECT.length - 500));
    expect(s.connections()).toBe(1);
    expect(s.asked.map((a) => [a.path, a.range])).toEqual([
      ['/bk/data/ab/pack1', 'bytes=100-1099'],
      ['/bk/data/ab/pack1', `bytes=${OBJECT.length - 500}-${OBJECT.length + 499}`],
    ]);
    // The signature is SigV4's for what was sent, at the time it says (computed again here by the same signer).
    const a = s.asked[0]!;
    const date = a.headers['x-amz-date']!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
    class Sha {
      private readonly h;
      constructor(k?: string | Uint8Array) {
        this.h = k === undefined ? createHash('sha256') : createHmac('sha256', k);
      }
      update(d: string | Uint8Array) {
        this.h.update(d);
      }
      async digest() {
        return new Uint8Array(this.h.digest());
      }
    }
    const again = await new SignatureV4({ credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, region: 'us-east-1', service: 's3', sha256: Sha as never, uriEscapePath: false }).sign(
      { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: s.port, path: a.path, query: {}, headers: { host: a.headers.host!, range: a.range, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
      { signingDate: new Date(date) },
    );
    expect(a.authorization).toBe(again.headers.authorization);
    expect(a.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/);
  });

  it('leaves every answer that is not a plain body of the range to the SDK', async () => {
    const answers: ((a: Asked, s: Socket) => void)[] = [
      (_a, s) => s.write('HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: 20\r\n\r\n<Error>NoSuchKey</E>'),
      (a, s) => s.write(partial(a, { extraHeaders: 'Transfer-Encoding: chunked\r\n' })),
      (a, s) => s.write(partial(a, { start: 0 })), // a 206 of other bytes than asked
      (a, s) => s.write(partial(a, { status: '200 OK' })), // the whole object, asked from 100
      (a, s) => s.end(partial(a).subarray(0, 300)), // the server went away mid-body
      (_a, s) => s.end('garbage\r\n\r\n'),
      (_a, s) => s.end('HTTP/1.1 000 Nothing\r\nContent-Length: 0\r\n\r\n'),
      (a, s) => s.write(partial(a, { body: OBJECT.subarray(100, 600) })), // short, though not at the object's end
      (a, s) => s.write(Buffer.concat([partial(a), Buffer.from('and more')])), // bytes past the Content-Length
      (_a, s) => s.write(`HTTP/1.1 206 Partial Content\r\nX-Long: ${'x'.repeat(17 * 1024)}\r\n\r\n`), // a head over 16 KiB
    ];
    let n = 0;
    const s = await scripted((a, socket) => answers[n++]!(a, socket));
    const reader = readerFor(s.server, s.port);
    const into = new Uint8Array(1000);
    for (let i = 0; i < answers.length; i++) expect(await reader.read('k', 100, 1000, into), `answer ${i}`).toBeUndefined();
  });

  it('takes a 200 asked from the start, and refuses a body longer than the range', async () => {
    let whole = false;
    const s = await scripted((_a, socket) => socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${whole ? OBJECT.length : 800}\r\n\r\n`), whole ? OBJECT : OBJECT.subarray(0, 800)])));
    const reader = readerFor(s.server, s.port);
    const into = new Uint8Array(1000);
    expect(await reader.read('k', 0, 1000, into)).toBe(800);
    expect(Buffer.from(into.subarray(0, 800))).toEqual(OBJECT.subarray(0, 800));
    whole = true;
    await expect(reader.read('k', 0, 1000, into)).rejects.toBeInstanceOf(RangeIgnoredError);
  });

  it('refuses a 206 longer than the range', async () => {
    const s = await scripted((a, socket) => socket.write(partial(a, { body: OBJECT.subarray(100, 2100) })));
    await expect(readerFor(s.server, s.port).read('k', 100, 1000, new Uint8Array(1000))).rejects.toBeInstanceOf(RangeIgnoredError);
  });

  it('reads a body bigger than the head buffer, its head and body arriving in pieces, into its place', async () => {
    const s = await scripted((a, socket) => {
      const answer = partial(a);
      void (async () => {
        for (const [from, to] of [[0, 10], [10, 40], [40, 30_000], [30_000, 90_000], [90_000, answer.length]] as [number, number][]) {
          socket.write(answer.subarray(from, to));
          await sleep(15);
        }
      })();
    });
    const reader = readerFor(s.server, s.port);
    const into = new Uint8Array(new SharedArrayBuffer(150_000));
    expect(await reader.read('k', 20_000, 150_000, into)).toBe(150_000);
    expect(Buffer.from(into).equals(OBJECT.subarray(20_000, 170_000))).toBe(true);
  });

  it('does not keep a connection the answer closes (Connection: close, or HTTP/1.0)', async () => {
    let n = 0;
    const s = await scripted((a, socket) => {
      const answer = partial(a, n++ === 0 ? { extraHeaders: 'Connection: close\r\n' } : {});
      socket.write(n === 2 ? Buffer.from(answer.toString('latin1').replace('HTTP/1.1', 'HTTP/1.0'), 'latin1') : answer);
    });
    const reader = readerFor(s.server, s.port);
    const into = new Uint8Array(100);
    for (let i = 0; i < 3; i++) expect(await reader.read('k', i * 100, 100, into)).toBe(100);
    expect(s.connections()).toBe(3);
  });

  it('replaces a kept connection the server closed while it was idle', async () => {
    const s = await scripted((a, socket) => {
      socket.write(partial(a));
      // Closed right after each answer, as a server with a short keep-alive would.
      setTimeout(() => socket.destroy(), 20);
    });
    const reader = readerFor(s.server, s.port);
    const into = new Uint8Array(500);
    expect(await reader.read('k', 0, 500, into)).toBe(500);
    await new Promise((r) => setTimeout(r, 100));
    expect(await reader.read('k', 500, 500, into)).toBe(500);
    expect(Buffer.from(into)).toEqual(OBJECT.subarray(500, 1000));
    expect(s.connections()).toBe(2);
  });

  it('asks once more on a new connection when a kept one is dropped before any answer', async () => {
    let answers = 0;
    const s = await scripted((a, socket) => {
      // The kept connection's second request: dropped unanswered, as a server timing it out at that moment.
      if (answers++ === 1) socket.destroy();
      else socket.write(partial(a));
    });
    const reader = readerFor(s.server, s.port);
    const into = new Uint8Array(300);
    expect(await reader.read('k', 0, 300, into)).toBe(300);
    expect(await reader.read('k', 300, 300, into)).toBe(300);
    expect(Buffer.from(into)).toEqual(OBJECT.subarray(300, 600));
    expect(s.connections()).toBe(2);
    expect(reader.stats).toEqual({ connections: 2, read: 2, leftToSdk: 0 });
  });

  it('is only for plain http:// endpoints addressed path-style', () => {
    const base = { kind: 's3' as const, bucket: 'b', prefix: '', region: 'us-east-1', pathStyle: true, accessKeyId: 'a', secretAccessKey: 's' };
    expect(S3DirectRange.for({ ...base, endpoint: 'https://s3.example.com' }, 4)).toBeUndefined();
    expect(S3DirectRange.for({ ...base }, 4)).toBeUndefined();
    expect(S3DirectRange.for({ ...base, endpoint: 'http://127.0.0.1:9000', pathStyle: false }, 4)).toBeUndefined();
    expect(S3DirectRange.for({ ...base, endpoint: 'http://127.0.0.1:9000' }, 4)).toBeInstanceOf(S3DirectRange);
  });
});
