/**
 * A repository on S3-compatible object storage (AWS S3, versitygw, MinIO, Ceph RGW...), through
 * @aws-sdk/client-s3. The layout under the prefix is the local one (config, keys/, data/xx/, index/,
 * snapshots/, locks/), so a repository directory copied into a bucket opens as is.
 *
 * A PUT is atomic on S3 (an object is there whole or not at all), so there are no temporaries:
 * an interrupted upload leaves nothing under its name, and the next run writes it again. Big objects
 * go up in parts (bounded memory); an interrupted multipart upload is invisible and aborted by
 * removeTemporaries. Every name but a lock's is written once (content-addressed, or the config):
 * those PUTs carry `If-None-Match: *` where the server supports it (else HEAD, then PUT), so a
 * repository is never re-initialised over another and an object already there is left alone.
 *
 * Errors become one line each: wrong credentials (WrongPassword), a missing bucket
 * (RepositoryNotFound), a server that cannot be reached or went away (Unreachable, retried by
 * activities), a clock too far off the server's (InvalidInput). A missing object is an
 * ENOENT-coded error, as the local backend's, so callers tell "not there" apart the same way.
 */
import type * as S3Sdk from '@aws-sdk/client-s3';
import { LifeboatError } from '../errors';
import type { Backend, FileKind } from './backend';
import { RangeIgnoredError, S3DirectRange } from './s3DirectRange';

/** Where an s3:// repository is and who we are there (secrets resolved). */
export interface S3Location {
  kind: 's3';
  bucket: string;
  /** Key prefix without leading or trailing "/" ('' for the bucket's root). */
  prefix: string;
  /** Default: AWS for the region. */
  endpoint?: string;
  region: string;
  pathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

export const s3Url = (l: Pick<S3Location, 'bucket' | 'prefix'>): string => `s3://${l.bucket}${l.prefix ? `/${l.prefix}` : ''}`;

/** Objects up to this size go up in one PUT; bigger ones in parts of PART_SIZE (bounded memory). */
const SINGLE_PUT_MAX = 64 * 1024 * 1024;
const PART_SIZE = 16 * 1024 * 1024;
/** Names written once (content-addressed, or the config): only lock files are rewritten. */
const WRITE_ONCE = new Set<FileKind>(['config', 'keys', 'data', 'index', 'snapshots']);
/** Kinds whose names are the SHA-256 of their bytes. */
const CONTENT_ADDRESSED = new Set<FileKind>(['keys', 'data', 'index', 'snapshots']);

interface AwsError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

const statusOf = (e: unknown): number | undefined => (e as AwsError).$metadata?.httpStatusCode;
const nameOf = (e: unknown): string => (e as AwsError).name ?? (e as AwsError).Code ?? (e as AwsError).code ?? '';
const NETWORK = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|socket hang up|TimeoutError|RequestTimeout|AbortError|aborted/i;

// The SDK warns once per process that its releases after January 2027 want Node 22; Lifeboat pins
// its SDK and supports Node 20, so that warning is noise on a command's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Errors that say who we are is wrong (versitygw answers an unknown access key with a 404 XAdminUserNotFound). */
const CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'Forbidden', 'XAdminUserNotFound']);
/** A 404 that means the object is not there (not the bucket, not the user). */
const objectMissing = (e: unknown): boolean => {
  const n = nameOf(e);
  return n === 'NoSuchKey' || (statusOf(e) === 404 && (n === 'NotFound' || n === 'Unknown' || n === ''));
};

const enoent = (what: string): Error => Object.assign(new Error(`${what} does not exist`), { code: 'ENOENT' });

// The AWS SDK is ~22 MB of modules: loaded when a repository on object storage is opened, so a
// local backup or restore does not carry it (peak RSS, issue 15).
let sdk: typeof S3Sdk | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadSdk = (): typeof S3Sdk => (sdk ??= require('@aws-sdk/client-s3') as typeof S3Sdk);

export class S3Backend implements Backend {
  readonly location: string;
  private readonly client: S3Sdk.S3Client;
  private readonly sdk = loadSdk();
  /** Learnt on the first write-once PUT: does the server honour If-None-Match? */
  private conditional: boolean | undefined;
  private readonly endpointName: string;
  /** The restore's ranged GETs straight into its buffers, on a plain-HTTP endpoint (s3DirectRange.ts). */
  private readonly direct: S3DirectRange | undefined;

  constructor(readonly where: S3Location) {
    this.location = s3Url(where);
    // Signed by the server's clock as far as the answers so far tell (the SDK corrects its own the same way).
    this.direct = S3DirectRange.for(where, 8, () => new Date(Date.now() + (this.skew ?? 0)));
    this.endpointName = where.endpoint ?? `AWS S3 (${where.region})`;
    this.client = new this.sdk.S3Client({
      endpoint: where.endpoint,
      region: where.region,
      forcePathStyle: where.pathStyle,
      credentials: { accessKeyId: where.accessKeyId, secretAccessKey: where.secretAccessKey },
      // S3-compatible servers differ in the checksums they know; the repository verifies every
      // object by its own hashes (names are SHA-256 of the content).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 4,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    });
    // Every answer's Date header says how far our clock is off the server's (locks are dated by it).
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const sent = Date.now();
        const out = await next(args);
        const date = (out.response as { headers?: Record<string, string> } | undefined)?.headers?.date;
        const server = date ? Date.parse(date) : NaN;
        if (!Number.isNaN(server)) {
          // The header has whole seconds: compare its middle with the middle of the round trip, and
          // call anything within 2 s none.
          const off = server + 500 - (sent + Date.now()) / 2;
          this.skew = Math.abs(off) < 2000 ? 0 : off;
        }
        return out;
      },
      { step: 'deserialize', name: 'lifeboatServerClock' },
    );
  }

  /** The server's clock minus ours (ms), from the Date header of its last answer. */
  private skew: number | undefined;
  clockSkewMs(): number | undefined {
    return this.skew;
  }

  /** The object key of a repository file (the local layout under the prefix). */
  key(kind: FileKind, name: string): string {
    const p = this.where.prefix ? `${this.where.prefix}/` : '';
    if (kind === 'config') return `${p}config`;
    if (kind === 'data') return `${p}data/${name.slice(0, 2)}/${name}`;
    return `${p}${kind}/${name}`;
  }

  private dirKey(kind: FileKind): string {
    return `${this.where.prefix ? `${this.where.prefix}/` : ''}${kind}/`;
  }

  /** One clear line for what the server or the network said; anything else passes through. */
  private fail(e: unknown, doing: string): unknown {
    if (e instanceof LifeboatError) return e;
    const status = statusOf(e);
    // A HEAD's error has no body to name it: the SDK says "Unknown" (or "NotFound", "Forbidden").
    const named = nameOf(e);
    const name = named === 'Unknown' ? '' : named;
    const msg = (e as AwsError).message ?? String(e);
    if (name === 'NoSuchBucket') {
      return new LifeboatError('RepositoryNotFound', `no bucket "${this.where.bucket}" on ${this.endpointName} (for ${this.location}): create it, or correct the path (Lifeboat never creates buckets)`);
    }
    if (CREDENTIALS.has(name) || status === 403) {
      return new LifeboatError(
        'WrongPassword',
        `${this.endpointName} refused the credentials for ${this.location} while ${doing} (${name || `HTTP ${status}`}): check the s3 accessKeyId and secretAccessKey secrets and the key's permissions on the bucket`,
      );
    }
    if (name === 'BadDigest' || name === 'XAmzContentSHA256Mismatch') {
      // Bytes damaged on the way (or a caller naming them wrongly): not stored; a retry sends them again.
      return new Error(`${this.endpointName} refused ${doing.replace(/^writing /, '')}: the bytes it received do not match their SHA-256 (${name}); nothing was stored`);
    }
    if (name === 'RequestTimeTooSkewed') {
      return new LifeboatError('InvalidInput', `this machine's clock differs from ${this.endpointName}'s by too much (RequestTimeTooSkewed) while ${doing}: set the clock (NTP)`);
    }
    if (NETWORK.test(name) || NETWORK.test(msg) || NETWORK.test((e as AwsError).code ?? '') || (status !== undefined && status >= 500)) {
      const why = status !== undefined && status >= 500 ? `HTTP ${status} ${name}` : ((e as AwsError).code ?? (name || msg.split('\n')[0]));
      const writing = /^(writing|uploading|starting|completing)/.test(doing);
      return new LifeboatError('Unreachable', `S3 server ${this.endpointName} failed while ${doing} in ${this.location} (${why})${writing ? '; nothing is left half-written: a re-run goes on' : ''}`);
    }
    return e;
  }

  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.fail(e, doing);
    }
  }

  /** Checks that the bucket is there and the credentials work (a listing: unlike HEAD, its errors have a body that names them). */
  async init(): Promise<void> {
    await this.call('looking for the bucket', () => this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: this.dirKey('keys'), MaxKeys: 1 })));
  }

  async list(kind: FileKind): Promise<{ name: string; size: number }[]> {
    const dir = this.dirKey(kind);
    const out: { name: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const r = await this.call(`listing ${kind}`, () => this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: dir, ContinuationToken: token })));
      for (const o of r.Contents ?? []) {
        const rest = o.Key!.slice(dir.length);
        const parts = rest.split('/');
        // data/xx/<name>; every other kind is flat.
        const name = kind === 'data' ? (parts.length === 2 && /^[0-9a-f]{2}$/.test(parts[0]!) ? parts[1]! : '') : parts.length === 1 ? parts[0]! : '';
        if (name) out.push({ name, size: o.Size ?? 0 });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async stat(kind: FileKind, name: string): Promise<{ size: number } | null> {
    try {
      const r = await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.where.bucket, Key: this.key(kind, name) }));
      return { size: r.ContentLength ?? 0 };
    } catch (e) {
      if (objectMissing(e)) {
        // HEAD cannot say why: a missing bucket (or, on some servers, an unknown user) answers 404 too.
        if (kind === 'config') await this.init();
        return null;
      }
      throw this.fail(e, `looking at ${this.key(kind, name)}`);
    }
  }

  private async get(kind: FileKind, name: string, range?: string): Promise<Buffer> {
    const key = this.key(kind, name);
    try {
      const r = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.where.bucket, Key: key, Range: range }));
      const bytes = await r.Body!.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      if (objectMissing(e)) throw enoent(`${this.location}/${key.slice(this.where.prefix ? this.where.prefix.length + 1 : 0)}`);
      if (nameOf(e) === 'InvalidRange' || statusOf(e) === 416) return Buffer.alloc(0);
      throw this.fail(e, `reading ${key}`);
    }
  }

  read(kind: FileKind, name: string): Promise<Buffer> {
    return this.get(kind, name);
  }

  /** One ranged GET; fewer bytes when the object is shorter (a truncated object). */
  async readRange(kind: FileKind, name: string, offset: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    return this.get(kind, name, `bytes=${offset}-${offset + length - 1}`);
  }

  /**
   * One ranged GET read straight into `into` (no buffer per request; the restore reuses a few):
   * resolves with the bytes received, fewer when the object is shorter (a truncated object). A body
   * longer than asked (a server that ignored the range) is refused, never taken for the range.
   */
  async readRangeInto(kind: FileKind, name: string, offset: number, length: number, into: Uint8Array): Promise<number> {
    if (length <= 0) return 0;
    if (length > into.length) throw new RangeError(`readRangeInto: ${length} bytes asked, ${into.length} bytes of room`);
    const key = this.key(kind, name);
    try {
      // The plain answer read by the kernel into `into`; anything else (an error, a failed socket) through the SDK.
      const direct = await this.direct?.read(key, offset, length, into);
      if (direct !== undefined) return direct;
    } catch (e) {
      if (!(e instanceof RangeIgnoredError)) throw e;
      throw new Error(`${this.endpointName} sent more than the ${length} bytes asked for ${key} (the range was ignored)`, { cause: e });
    }
    try {
      const r = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.where.bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }));
      const body = r.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
      let n = 0;
      try {
        for await (const c of body) {
          if (n + c.length > length) throw new Error(`${this.endpointName} sent more than the ${length} bytes asked for ${key} (the range was ignored)`);
          into.set(c, n);
          n += c.length;
        }
      } catch (e) {
        body.destroy?.();
        throw e;
      }
      return n;
    } catch (e) {
      if (objectMissing(e)) throw enoent(`${this.location}/${key.slice(this.where.prefix ? this.where.prefix.length + 1 : 0)}`);
      if (nameOf(e) === 'InvalidRange' || statusOf(e) === 416) return 0;
      throw this.fail(e, `reading ${key}`);
    }
  }

  async write(kind: FileKind, name: string, data: Buffer | Buffer[]): Promise<void> {
    const parts = Array.isArray(data) ? data : [data];
    const size = parts.reduce((n, p) => n + p.length, 0);
    const key = this.key(kind, name);
    const once = WRITE_ONCE.has(kind);
    if (once && this.conditional === false && (await this.stat(kind, name))) return this.exists(kind);
    if (size > SINGLE_PUT_MAX) return this.writeParts(kind, key, parts, size, once);
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    // A content-addressed name is the SHA-256 of the bytes: the server checks the upload against it
    // (x-amz-checksum-sha256) and refuses one damaged on the way.
    const hashed = CONTENT_ADDRESSED.has(kind) && /^[0-9a-f]{64}$/.test(name);
    const sum = hashed ? { ChecksumSHA256: Buffer.from(name, 'hex').toString('base64') } : {};
    // The signature covers the payload's SHA-256 (x-amz-content-sha256), which the SDK would compute
    // again on this thread (~0.5 s per GB of packs); a content-addressed name is that hash already.
    const put = (extra: { IfNoneMatch?: string }) => {
      const cmd = new this.sdk.PutObjectCommand({ Bucket: this.where.bucket, Key: key, Body: body, ContentLength: size, ...extra, ...sum });
      if (hashed) {
        cmd.middlewareStack.add(
          (next) => async (args) => {
            (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = name;
            return next(args);
          },
          { step: 'build', name: 'lifeboatPayloadHash' },
        );
      }
      return this.client.send(cmd);
    };
    await this.call(`writing ${key}`, async () => {
      if (!once || this.conditional === false) {
        await put({});
        return;
      }
      try {
        await put({ IfNoneMatch: '*' });
        this.conditional = true;
      } catch (e) {
        const st = statusOf(e);
        if (st === 412 || nameOf(e) === 'PreconditionFailed' || nameOf(e) === 'ConditionalRequestConflict') {
          this.conditional = true;
          return this.exists(kind);
        }
        if (st === 501 || nameOf(e) === 'NotImplemented') {
          // The server does not know conditional writes: HEAD, then PUT, from now on.
          this.conditional = false;
          if (await this.stat(kind, name)) return this.exists(kind);
          await put({});
          return;
        }
        throw e;
      }
    });
  }

  /** A write-once name already there: the same content (content-addressed), except the config's. */
  private exists(kind: FileKind): void {
    if (kind === 'config') throw new LifeboatError('InvalidInput', `a repository already exists at ${this.location}`);
  }

  /** Multipart upload in parts of PART_SIZE; an interrupted one is aborted (invisible either way). */
  private async writeParts(kind: FileKind, key: string, parts: Buffer[], size: number, once: boolean): Promise<void> {
    if (once && this.conditional !== false) {
      // Complete would replace an object there: look first (content-addressed: the same bytes).
      const [name] = key.split('/').slice(-1);
      if (await this.stat(kind, name!)) return this.exists(kind);
    }
    const { UploadId } = await this.call(`starting the upload of ${key}`, () => this.client.send(new this.sdk.CreateMultipartUploadCommand({ Bucket: this.where.bucket, Key: key })));
    try {
      const done: { ETag: string; PartNumber: number }[] = [];
      let i = 0;
      let off = 0;
      const take = (n: number): Buffer => {
        const out: Buffer[] = [];
        while (n > 0 && i < parts.length) {
          const p = parts[i]!;
          const piece = p.subarray(off, off + n);
          out.push(piece);
          n -= piece.length;
          off += piece.length;
          if (off >= p.length) {
            i++;
            off = 0;
          }
        }
        return Buffer.concat(out);
      };
      for (let n = 1, left = size; left > 0; n++) {
        const body = take(Math.min(PART_SIZE, left));
        left -= body.length;
        const r = await this.call(`uploading part ${n} of ${key}`, () =>
          this.client.send(new this.sdk.UploadPartCommand({ Bucket: this.where.bucket, Key: key, UploadId, PartNumber: n, Body: body, ContentLength: body.length })),
        );
        done.push({ ETag: r.ETag!, PartNumber: n });
      }
      await this.call(`completing the upload of ${key}`, () =>
        this.client.send(new this.sdk.CompleteMultipartUploadCommand({ Bucket: this.where.bucket, Key: key, UploadId, MultipartUpload: { Parts: done } })),
      );
    } catch (e) {
      await this.client.send(new this.sdk.AbortMultipartUploadCommand({ Bucket: this.where.bucket, Key: key, UploadId })).catch(() => undefined);
      throw e;
    }
  }

  async remove(kind: FileKind, name: string): Promise<void> {
    const key = this.key(kind, name);
    await this.call(`deleting ${key}`, () => this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.where.bucket, Key: key })));
  }

  /** Aborts the multipart uploads left under the prefix by interrupted writes (only under an exclusive lock). */
  async removeTemporaries(): Promise<number> {
    let n = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    const prefix = this.where.prefix ? `${this.where.prefix}/` : '';
    for (;;) {
      const r = await this.call('listing interrupted uploads', () =>
        this.client.send(new this.sdk.ListMultipartUploadsCommand({ Bucket: this.where.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })),
      );
      for (const u of r.Uploads ?? []) {
        await this.call(`aborting the upload of ${u.Key}`, () => this.client.send(new this.sdk.AbortMultipartUploadCommand({ Bucket: this.where.bucket, Key: u.Key, UploadId: u.UploadId })));
        n++;
      }
      if (!r.IsTruncated) return n;
      keyMarker = r.NextKeyMarker;
      uploadIdMarker = r.NextUploadIdMarker;
    }
  }

  async close(): Promise<void> {
    this.direct?.close();
    this.client.destroy();
  }
}
