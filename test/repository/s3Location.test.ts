/**
 * Where a repository is: a spec's repository section or a command line's --repo parsed into a
 * local path or an S3 location (no server needed: nothing is contacted here).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeLocation, locationOf, openBackend, s3FromEnv } from '../../src/repository/location';
import { LocalBackend } from '../../src/repository/backend';
import { S3Backend } from '../../src/repository/s3Backend';
import { RepositorySessions } from '../../src/repository';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-s3loc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'secret'), 'shh\n');

const section = (path: string) => ({
  path,
  s3: { endpoint: 'http://127.0.0.1:7070', region: 'eu-west-1', pathStyle: true, accessKeyId: { env: 'TEST_S3_KEY' }, secretAccessKey: { file: join(dir, 'secret') } },
});

describe('repository locations', () => {
  it('a spec section: s3:// with its s3 section resolved; a path stays a path', () => {
    process.env.TEST_S3_KEY = 'AKID';
    expect(locationOf(section('s3://my-bucket/kafka/prod/'))).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'kafka/prod',
      endpoint: 'http://127.0.0.1:7070',
      region: 'eu-west-1',
      pathStyle: true,
      accessKeyId: 'AKID',
      secretAccessKey: 'shh',
    });
    expect(locationOf(section('s3://my-bucket'))).toMatchObject({ bucket: 'my-bucket', prefix: '' });
    expect(locationOf({ path: '/srv/repo' })).toBe('/srv/repo');
    expect(() => locationOf({ path: 's3://my-bucket/x' })).toThrow(expect.objectContaining({ type: 'InvalidSpec', message: expect.stringContaining('add an s3 section') }));
    delete process.env.TEST_S3_KEY;
    expect(() => locationOf(section('s3://my-bucket/x'))).toThrow(/TEST_S3_KEY is not set/);
  });

  it('--repo s3://: the AWS variables; missing credentials and bad URLs are one clear line', () => {
    const env = { AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_ENDPOINT_URL: 'http://h:1', AWS_REGION: 'r' };
    expect(s3FromEnv('s3://b-1/p', env)).toEqual({ kind: 's3', bucket: 'b-1', prefix: 'p', endpoint: 'http://h:1', region: 'r', pathStyle: true, accessKeyId: 'k', secretAccessKey: 's' });
    expect(s3FromEnv('s3://b-1/p', { ...env, AWS_ENDPOINT_URL: '' }).pathStyle).toBe(false); // AWS: virtual-hosted
    expect(s3FromEnv('s3://b-1/p', { ...env, LIFEBOAT_S3_PATH_STYLE: '0' }).pathStyle).toBe(false);
    expect(s3FromEnv('s3://b-1/p', { ...env, AWS_ENDPOINT_URL_S3: 'http://s3:2' }).endpoint).toBe('http://s3:2');
    expect(() => s3FromEnv('s3://b-1/p', {})).toThrow(expect.objectContaining({ type: 'InvalidInput', message: expect.stringContaining('set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY') }));
    expect(() => s3FromEnv('s3://B/p', env)).toThrow(expect.objectContaining({ type: 'InvalidInput', message: expect.stringContaining('is not s3://bucket[/prefix]') }));
    expect(() => s3FromEnv('s3://bucket/a/../b', env)).toThrow(/"\." or "\.\."/);
  });

  it('opens the matching backend; messages and sessions name it by path or URL', () => {
    expect(openBackend(dir)).toBeInstanceOf(LocalBackend);
    const s3 = { kind: 's3' as const, bucket: 'bkt', prefix: 'a/b', region: 'us-east-1', pathStyle: true, accessKeyId: 'k', secretAccessKey: 's' };
    const b = openBackend(s3);
    expect(b).toBeInstanceOf(S3Backend);
    expect(b.location).toBe('s3://bkt/a/b');
    expect((b as S3Backend).key('data', 'ab12')).toBe('a/b/data/ab/ab12');
    expect((b as S3Backend).key('config', 'config')).toBe('a/b/config');
    expect(describeLocation(s3)).toBe('s3://bkt/a/b');
    // One session per repository and identity: another secret key is another session.
    const sessions = new RepositorySessions();
    expect(sessions.session(s3, 'pw')).toBe(sessions.session({ ...s3 }, 'pw'));
    expect(sessions.session(s3, 'pw')).not.toBe(sessions.session({ ...s3, secretAccessKey: 'other' }, 'pw'));
    expect(sessions.session(s3, 'pw').path).toBe('s3://bkt/a/b');
  });
});
