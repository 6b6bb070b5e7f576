/**
 * Where a repository is: a local path (disk, NAS mount) or an s3://bucket/prefix URL with the
 * server and credentials to reach it. Parsed from a spec's repository section (its `s3` section,
 * secrets resolved here, where they are used) or from a command line's --repo (an s3:// URL there
 * takes the AWS SDK's usual variables), and opened as the matching Backend.
 */
import { resolve } from 'node:path';
import { resolveSecret, S3_URL, type SecretRef } from '../config/secrets';
import { LifeboatError } from '../errors';
import { LocalBackend, type Backend } from './backend';
import { S3Backend, s3Url, type S3Location } from './s3Backend';

export type { S3Location } from './s3Backend';

/** A local path, or an S3 location. A string that is an s3:// URL is read with `s3FromEnv`. */
export type RepositoryLocation = string | S3Location;

/** A spec's repository section, as far as its place goes. */
export interface RepositoryPlace {
  path: string;
  s3?: { endpoint?: string; region: string; pathStyle: boolean; accessKeyId: SecretRef; secretAccessKey: SecretRef };
}

export const isS3Url = (p: string): boolean => p.startsWith('s3://');

function parseUrl(url: string): { bucket: string; prefix: string } {
  const m = S3_URL.exec(url);
  if (!m) throw new LifeboatError('InvalidInput', `"${url}" is not s3://bucket[/prefix] (a bucket name of 3-63 lower-case letters, digits, dots and hyphens)`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((s) => s === '..' || s === '.')) throw new LifeboatError('InvalidInput', `"${url}" has "." or ".." in its prefix`);
  return { bucket: m[1]!, prefix };
}

/** The location of a spec's repository section (s3 secrets resolved now). */
export function locationOf(r: RepositoryPlace): RepositoryLocation {
  if (!isS3Url(r.path)) return resolve(r.path);
  if (!r.s3) throw new LifeboatError('InvalidSpec', `${r.path} is on object storage: add an s3 section (endpoint, region, pathStyle, accessKeyId, secretAccessKey)`);
  return {
    kind: 's3',
    ...parseUrl(r.path),
    endpoint: r.s3.endpoint,
    region: r.s3.region,
    pathStyle: r.s3.pathStyle,
    accessKeyId: resolveSecret(r.s3.accessKeyId),
    secretAccessKey: resolveSecret(r.s3.secretAccessKey),
  };
}

/**
 * An s3:// URL given on a command line: the server and credentials from the AWS SDK's variables
 * (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY);
 * path-style addressing when an endpoint is given, unless LIFEBOAT_S3_PATH_STYLE=0.
 */
export function s3FromEnv(url: string, env: NodeJS.ProcessEnv = process.env): S3Location {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new LifeboatError('InvalidInput', `${url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for a server other than AWS), or use --spec with an s3 section`);
  }
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const ps = env.LIFEBOAT_S3_PATH_STYLE;
  return {
    kind: 's3',
    ...parseUrl(url),
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    pathStyle: ps ? ps !== '0' && ps !== 'false' : endpoint !== undefined,
    accessKeyId,
    secretAccessKey,
  };
}

/** A location with s3:// strings parsed (credentials from the environment). */
export function normalize(where: RepositoryLocation): string | S3Location {
  if (typeof where !== 'string') return where;
  return isS3Url(where) ? s3FromEnv(where) : resolve(where);
}

/** What messages call it: the absolute path or the s3:// URL. */
export const describeLocation = (where: RepositoryLocation): string =>
  typeof where === 'string' ? (isS3Url(where) ? where : resolve(where)) : s3Url(where);

/** The same repository gives the same key (a session's): server, bucket, prefix and who asks. */
export function locationKey(where: RepositoryLocation): string {
  const w = normalize(where);
  return typeof w === 'string' ? w : `${w.endpoint ?? `aws:${w.region}`}\0${s3Url(w)}\0${w.accessKeyId}`;
}

export type OpenedBackend = Backend & { init(): Promise<void> };

/** The backend of a location. */
export function openBackend(where: RepositoryLocation): OpenedBackend {
  const w = normalize(where);
  return typeof w === 'string' ? new LocalBackend(w) : new S3Backend(w);
}
