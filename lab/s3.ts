/**
 * The lab's S3-compatible server: versitygw (Apache-2.0) with its posix backend on the lab dir,
 * built once with `go install` into the cache. Root credentials are made once per lab and kept in
 * two files (0600) of the lab dir, passed to the server in its environment (never on its command
 * line); `lab up` creates one bucket that tests share under prefixes of their own.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type ManagedProcess, runningPid, startDetached, stopProcess, tail, waitUntil } from '../src/host/processes';
import { type LabTopology, s3Endpoint } from './topology';

export const VERSITYGW_VERSION = 'v1.8.0';
export const VERSITYGW_MODULE = `github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}`;

const executable = (p: string): boolean => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** `go` from PATH, else the usual install place. */
function goBinary(): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/local/go/bin']) if (dir && executable(join(dir, 'go'))) return join(dir, 'go');
  throw new Error(`"go" is not on PATH (nor in /usr/local/go/bin); the lab needs it to build versitygw (${VERSITYGW_MODULE})`);
}

/** The versitygw binary, built into the cache (GOBIN) the first time (about two minutes). */
export function ensureVersitygw(topo: Pick<LabTopology, 'cacheDir'>, log: (msg: string) => void): string {
  const binDir = join(topo.cacheDir, `versitygw-${VERSITYGW_VERSION}`);
  const binary = join(binDir, 'versitygw');
  if (executable(binary)) return binary;
  log(`building versitygw once: go install ${VERSITYGW_MODULE} (a few minutes)`);
  mkdirSync(binDir, { recursive: true });
  const r = spawnSync(goBinary(), ['install', VERSITYGW_MODULE], {
    env: { ...process.env, GOBIN: binDir, GOFLAGS: process.env.GOFLAGS ?? '-trimpath' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0 || !executable(binary)) throw new Error(`go install ${VERSITYGW_MODULE} failed (exit ${r.status})`);
  return binary;
}

/** The root credentials, made once per lab. */
export function ensureS3Credentials(topo: LabTopology): { accessKeyId: string; secretAccessKey: string } {
  const { accessKeyFile, secretKeyFile, dir } = topo.s3;
  mkdirSync(dir, { recursive: true });
  if (!existsSync(accessKeyFile) || !existsSync(secretKeyFile)) {
    writeFileSync(accessKeyFile, `lab${randomBytes(8).toString('hex')}\n`, { mode: 0o600 });
    writeFileSync(secretKeyFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  }
  return { accessKeyId: readFileSync(accessKeyFile, 'utf8').trim(), secretAccessKey: readFileSync(secretKeyFile, 'utf8').trim() };
}

export function versitygwProcess(binary: string, topo: LabTopology): ManagedProcess {
  const creds = ensureS3Credentials(topo);
  return {
    name: 'versitygw',
    command: binary,
    // Keep-alive: clients reuse connections, as they do with real S3 (the server closes each by default).
    args: ['--port', `127.0.0.1:${topo.s3.port}`, '--keep-alive', '--quiet', 'posix', topo.s3.dataDir],
    env: { ...process.env, ROOT_ACCESS_KEY_ID: creds.accessKeyId, ROOT_SECRET_ACCESS_KEY: creds.secretAccessKey },
    pidFile: topo.s3.pidFile,
    logFile: topo.s3.logFile,
    marker: topo.s3.dataDir,
  };
}

const readCmdline = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '');
  } catch {
    return undefined;
  }
};

const managed = (topo: LabTopology): Pick<ManagedProcess, 'pidFile' | 'marker'> => ({ pidFile: topo.s3.pidFile, marker: topo.s3.dataDir });
export const versitygwPid = (topo: LabTopology): number | undefined => runningPid(managed(topo));

/** An S3 client with the lab's root credentials. */
export function labS3Client(topo: LabTopology): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // Node 20 is supported here
  const creds = ensureS3Credentials(topo);
  return new S3Client({ endpoint: s3Endpoint(topo), region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 });
}

/** True when the server answers and the lab's bucket is there. */
export async function s3Ready(topo: LabTopology): Promise<boolean> {
  const client = labS3Client(topo);
  try {
    await client.send(new HeadBucketCommand({ Bucket: topo.s3.bucket }), { abortSignal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

async function answers(topo: LabTopology): Promise<boolean> {
  try {
    await fetch(s3Endpoint(topo), { signal: AbortSignal.timeout(2000) });
    return true; // any HTTP answer (403 without credentials) means it listens
  } catch {
    return false;
  }
}

/** Starts versitygw (if it is not running) and creates the lab's bucket (if it is not there). */
export async function startS3(topo: LabTopology, log: (m: string) => void): Promise<void> {
  const binary = ensureVersitygw(topo, log);
  mkdirSync(topo.s3.dataDir, { recursive: true });
  const p = versitygwProcess(binary, topo);
  // One started with other arguments (an older lab's) is restarted with these.
  const pid = runningPid(p);
  if (pid !== undefined && readCmdline(pid) !== [p.command, ...p.args].join('\0')) {
    log('restarting versitygw with new arguments');
    await stopProcess(p, { graceMs: 10_000 });
  }
  if (runningPid(p) === undefined) log(`starting versitygw (S3) on ${s3Endpoint(topo)}`);
  startDetached(p);
  await waitUntil('versitygw to answer', async () => runningPid(p) === undefined || (await answers(topo)), {
    timeoutMs: 30_000,
    intervalMs: 100,
    onTimeout: () => tail(topo.s3.logFile),
  });
  if (runningPid(p) === undefined) throw new Error(`versitygw exited during start-up; last lines of ${topo.s3.logFile}:\n${tail(topo.s3.logFile, 15)}`);
  if (await s3Ready(topo)) return;
  const client = labS3Client(topo);
  try {
    await client.send(new CreateBucketCommand({ Bucket: topo.s3.bucket }));
  } catch (e) {
    if ((e as Error).name !== 'BucketAlreadyOwnedByYou') throw e;
  } finally {
    client.destroy();
  }
}

/** Stops versitygw; true when it ran. */
export const stopS3 = (topo: LabTopology): Promise<boolean> => stopProcess(managed(topo), { graceMs: 10_000 });
