/**
 * The lab's S3 server (versitygw) for tests: a spec repository section or an S3 location for a
 * fresh prefix of the lab's bucket, and the removal of what a test wrote under its prefixes.
 * Reads the lab env (`lab env`: LIFEBOAT_LAB_S3_*), falling back to the lab topology.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { labTopology, s3Endpoint } from '../../lab/topology';
import { labPasswordFile } from '../../lab/specs';
import type { S3Location } from '../../src/repository';

const topo = labTopology();
const env = process.env;
export const S3_ENDPOINT = env.LIFEBOAT_LAB_S3_ENDPOINT ?? s3Endpoint(topo);
export const S3_BUCKET = env.LIFEBOAT_LAB_S3_BUCKET ?? topo.s3.bucket;
export const S3_ACCESS_KEY_FILE = env.LIFEBOAT_LAB_S3_ACCESS_KEY_FILE ?? topo.s3.accessKeyFile;
export const S3_SECRET_KEY_FILE = env.LIFEBOAT_LAB_S3_SECRET_KEY_FILE ?? topo.s3.secretKeyFile;

const used: string[] = [];

/** A fresh prefix in the lab's bucket (removed by `cleanS3`). */
export function s3Prefix(label = 'test'): string {
  const p = `tests/${label}-${randomUUID().slice(0, 8)}`;
  used.push(p);
  return p;
}

/** A spec's repository section for a fresh prefix (credentials by the lab's key files). */
export function s3Repository(prefix = s3Prefix()): {
  path: string;
  password: { file: string };
  compression: 'auto';
  s3: { endpoint: string; region: string; pathStyle: boolean; accessKeyId: { file: string }; secretAccessKey: { file: string } };
} {
  return {
    path: `s3://${S3_BUCKET}/${prefix}`,
    password: { file: labPasswordFile(topo) },
    compression: 'auto',
    s3: { endpoint: S3_ENDPOINT, region: 'us-east-1', pathStyle: true, accessKeyId: { file: S3_ACCESS_KEY_FILE }, secretAccessKey: { file: S3_SECRET_KEY_FILE } },
  };
}

/** The lab's credentials. */
export const s3Credentials = (): { accessKeyId: string; secretAccessKey: string } => ({
  accessKeyId: readFileSync(S3_ACCESS_KEY_FILE, 'utf8').trim(),
  secretAccessKey: readFileSync(S3_SECRET_KEY_FILE, 'utf8').trim(),
});

/** An S3 location (secrets resolved) for a fresh prefix, for openRepository/initRepository. */
export function s3Location(prefix = s3Prefix(), over: Partial<S3Location> = {}): S3Location {
  return { kind: 's3', bucket: S3_BUCKET, prefix, endpoint: S3_ENDPOINT, region: 'us-east-1', pathStyle: true, ...s3Credentials(), ...over };
}

export function labS3(): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: s3Credentials() });
}

/** Keys (and sizes) under a prefix. */
export async function s3Keys(prefix: string): Promise<{ key: string; size: number }[]> {
  const c = labS3();
  const out: { key: string; size: number }[] = [];
  try {
    let token: string | undefined;
    do {
      const r = await c.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: `${prefix}/`, ContinuationToken: token }));
      for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  } finally {
    c.destroy();
  }
  return out;
}

/** Removes everything under the prefixes this file made (afterAll). */
export async function cleanS3(prefixes: string[] = used.splice(0)): Promise<void> {
  const c = labS3();
  try {
    for (const p of prefixes) {
      const keys = await s3Keys(p);
      for (let i = 0; i < keys.length; i += 500) {
        await c.send(new DeleteObjectsCommand({ Bucket: S3_BUCKET, Delete: { Objects: keys.slice(i, i + 500).map((k) => ({ Key: k.key })) } }));
      }
    }
  } finally {
    c.destroy();
  }
}
