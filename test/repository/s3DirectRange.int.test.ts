/**
 * Direct ranged GETs against the lab's S3 server (versitygw): the bytes the SDK reads, for ranges
 * inside, across the end of and at the start of an object, six at a time on kept connections; the
 * server's signature check passes (a wrong secret is refused, and the backend then names it through
 * the SDK: WrongPassword); a missing object is left to the SDK (ENOENT through the backend).
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3Backend } from '../../src/repository/s3Backend';
import { S3DirectRange } from '../../src/repository/s3DirectRange';
import { cleanS3, labS3, S3_BUCKET, s3Location, s3Prefix } from '../support/s3';

const prefix = s3Prefix('direct-range');
/** Where the backend keeps a data file named "object" (data/<first two characters>/). */
const key = `${prefix}/data/ob/object`;
const object = randomBytes(3 * 1024 * 1024 + 17);
const s3 = labS3();

beforeAll(async () => {
  await s3.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: key, Body: object }));
});
afterAll(async () => {
  s3.destroy();
  await cleanS3();
});

async function viaSdk(offset: number, length: number): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: S3_BUCKET, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

describe('direct ranged GETs on versitygw', () => {
  it('read what the SDK reads, six at a time on kept connections', async () => {
    const reader = S3DirectRange.for(s3Location(prefix), 6)!;
    try {
      const ranges: [number, number][] = [
        [0, 1],
        [0, 1024 * 1024],
        [12345, 2 * 1024 * 1024],
        [object.length - 1000, 1000],
        [object.length - 1000, 8 * 1024 * 1024], // past the end: fewer bytes
        [1, object.length - 1],
      ];
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          ranges.map(async ([offset, length]) => {
            const into = new Uint8Array(new SharedArrayBuffer(length));
            const got = await reader.read(key, offset, length, into);
            const want = await viaSdk(offset, length);
            expect(got).toBe(want.length);
            expect(Buffer.from(into.subarray(0, got)).equals(want)).toBe(true);
          }),
        );
      }
      // Every range read directly, on at most as many connections as were in flight at once.
      expect(reader.stats.read).toBe(3 * ranges.length);
      expect(reader.stats.leftToSdk).toBe(0);
      expect(reader.stats.connections).toBeLessThanOrEqual(ranges.length);
    } finally {
      reader.close();
    }
  });

  it('leaves a missing object and refused credentials to the SDK, which names them', async () => {
    const into = new Uint8Array(1024);
    const good = S3DirectRange.for(s3Location(prefix), 2)!;
    const wrong = S3DirectRange.for(s3Location(prefix, { secretAccessKey: 'not-the-secret' }), 2)!;
    try {
      expect(await good.read(`${prefix}/data/mi/missing`, 0, 1024, into)).toBeUndefined();
      expect(await wrong.read(key, 0, 1024, into)).toBeUndefined();
    } finally {
      good.close();
      wrong.close();
    }
    const backend = new S3Backend(s3Location(prefix));
    const refused = new S3Backend(s3Location(prefix, { secretAccessKey: 'not-the-secret' }));
    try {
      await expect(backend.readRangeInto('data', 'missing', 0, 1024, into)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(refused.readRangeInto('data', 'object', 0, 1024, into)).rejects.toMatchObject({ type: 'WrongPassword' });
      // And the backend's own read takes the direct path's bytes.
      const direct = vi.spyOn(S3DirectRange.prototype, 'read');
      expect(await backend.readRangeInto('data', 'object', 100, 1024, into)).toBe(1024);
      expect(await direct.mock.results.at(-1)?.value).toBe(1024);
      direct.mockRestore();
      expect(Buffer.from(into).equals(object.subarray(100, 1124))).toBe(true);
    } finally {
      await backend.close();
      await refused.close();
    }
  });
});
