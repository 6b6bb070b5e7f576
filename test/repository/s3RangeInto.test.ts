/**
 * S3Backend.readRangeInto (the S3 restore's reads into reused buffers) against a real HTTP server on
 * loopback that answers like an S3 server: a ranged GET's bytes land in the caller's buffer, a short
 * object gives fewer bytes, and a server that ignores the Range header (the whole object, 200) is
 * refused rather than its first bytes taken for the range.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Backend } from '../../src/repository/s3Backend';

const OBJECT = Buffer.from('0123456789abcdefghij');
let honourRange = true;
let server: Server;
let backend: S3Backend;

beforeAll(async () => {
  server = createServer((req, res) => {
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    if (!m || !honourRange) {
      res.writeHead(200, { 'content-length': OBJECT.length, date: new Date().toUTCString() });
      return res.end(OBJECT);
    }
    const from = Number(m[1]);
    const to = Math.min(Number(m[2]), OBJECT.length - 1);
    const body = OBJECT.subarray(from, to + 1);
    res.writeHead(206, { 'content-length': body.length, 'content-range': `bytes ${from}-${to}/${OBJECT.length}`, date: new Date().toUTCString() });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  backend = new S3Backend({
    kind: 's3',
    bucket: 'b',
    prefix: 'p',
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    pathStyle: true,
    accessKeyId: 'k',
    secretAccessKey: 's',
  });
});

afterAll(async () => {
  await backend.close();
  await new Promise((r) => server.close(r));
});

describe('S3Backend.readRangeInto', () => {
  it('reads a range into the given buffer, fewer bytes where the object ends', async () => {
    honourRange = true;
    const into = new Uint8Array(new SharedArrayBuffer(16));
    expect(await backend.readRangeInto('data', 'ab'.repeat(32), 3, 4, into)).toBe(4);
    expect(Buffer.from(into.subarray(0, 4)).toString()).toBe('3456');
    expect(await backend.readRangeInto('data', 'ab'.repeat(32), 16, 10, into)).toBe(4);
    expect(Buffer.from(into.subarray(0, 4)).toString()).toBe('ghij');
  });

  it('refuses a body longer than the range (a server that ignored it)', async () => {
    honourRange = false;
    const into = new Uint8Array(new SharedArrayBuffer(16));
    await expect(backend.readRangeInto('data', 'ab'.repeat(32), 5, 4, into)).rejects.toThrow(/sent more than the 4 bytes asked/);
  });
});
