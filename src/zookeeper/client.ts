/**
 * A small promise face over node-zookeeper-client: connect with a deadline (the library retries
 * forever on its own), and the read calls the rest of Lifeboat builds on. Errors keep ZooKeeper's
 * own codes (NO_NODE, NODE_EXISTS, ...) in `code` so callers can branch on them.
 */
import { connect as tcpConnect } from 'node:net';
import zookeeper from 'node-zookeeper-client';
import { abortReason } from '../core/poll';

export type ZkClient = zookeeper.Client;
export type ZkStat = zookeeper.Stat;

export class ZkError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** Set when no session could be set up: how long it was waited for. */
    readonly waitedMs?: number,
  ) {
    super(message);
    this.name = 'ZkError';
  }
}

/** What a connect is waiting for, while it waits. */
export interface ZkWaiting {
  /** e.g. "ZooKeeper 127.0.0.1:2181 (connection refused)". */
  waiting: string;
  waitedMs: number;
}

export interface ZkConnectOptions {
  /** How long to wait for a session (ZooKeeper restarts within it are waited out). */
  timeoutMs?: number;
  sessionTimeoutMs?: number;
  /** scheme:credentials pairs, e.g. digest "user:password". */
  auth?: { scheme: string; credentials: string }[];
  /** Called every few seconds while no session is set up, with what it waits for and why. */
  onWaiting?: (w: ZkWaiting) => void;
  /** Stops waiting for a session when it aborts. */
  signal?: AbortSignal;
}

/** The servers of a connect string ("h1:2181,h2/chroot" → h1:2181, h2:2181). */
export function zkServers(connectString: string): { host: string; port: number }[] {
  const slash = connectString.indexOf('/');
  return (slash >= 0 ? connectString.slice(0, slash) : connectString)
    .split(',')
    .filter(Boolean)
    .map((s) => {
      const [host, port] = s.split(':');
      return { host: host!, port: port ? Number(port) : 2181 };
    });
}

const PROBE_MS = 1_500;

/**
 * Why a server does not give us a session, found by a plain TCP connect (the client library
 * retries quietly and keeps the socket error to itself).
 */
function probe(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host, port });
    const done = (reason: string) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done('no answer'), PROBE_MS);
    sock.once('connect', () => done('accepts connections but sets up no session'));
    sock.once('error', (e: NodeJS.ErrnoException) => {
      const byCode: Record<string, string> = {
        ECONNREFUSED: 'connection refused',
        ENOTFOUND: 'host not found',
        EAI_AGAIN: 'host not found',
        EHOSTUNREACH: 'host unreachable',
        ENETUNREACH: 'network unreachable',
        ETIMEDOUT: 'no answer',
      };
      done(byCode[e.code ?? ''] ?? e.code ?? e.message);
    });
  });
}

/** "(connection refused)" when every server says the same, else each server's reason. */
async function diagnose(connectString: string): Promise<{ reason: string; hint: string }> {
  const servers = zkServers(connectString);
  const reasons = await Promise.all(servers.map((s) => probe(s.host, s.port)));
  const same = reasons.every((r) => r === reasons[0]);
  const reason = same ? reasons[0]! : servers.map((s, i) => `${s.host}:${s.port} ${reasons[i]}`).join('; ');
  const hints: Record<string, string> = {
    'connection refused': 'is it running, and listening on that port?',
    'host not found': 'check the host name',
    'no answer': 'is the host up, or a firewall in the way?',
    'accepts connections but sets up no session': 'is it a ZooKeeper server, and does its ensemble have a quorum?',
  };
  return { reason, hint: (same && hints[reasons[0]!]) || 'is it running, and reachable from this host?' };
}

export function connectZk(connectString: string, opts: ZkConnectOptions = {}): Promise<ZkClient> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  if (opts.signal?.aborted) return Promise.reject(abortReason(opts.signal));
  const client = zookeeper.createClient(connectString, {
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    spinDelay: 200,
    retries: 1,
  });
  const t0 = Date.now();
  const servers = zkServers(connectString)
    .map((s) => `${s.host}:${s.port}`)
    .join(',');
  return new Promise((resolve, reject) => {
    let settled = false;
    // While it waits, say what for (and why) every few seconds; the first look after a second.
    const look = async () => {
      if (settled || !opts.onWaiting) return;
      const { reason } = await diagnose(connectString);
      if (!settled) opts.onWaiting({ waiting: `ZooKeeper ${servers} (${reason})`, waitedMs: Date.now() - t0 });
    };
    const first = setTimeout(() => void look(), 1_000);
    const every = setInterval(() => void look(), 3_000);
    const onAbort = () => {
      stop();
      client.close();
      reject(abortReason(opts.signal!));
    };
    const stop = () => {
      settled = true;
      clearTimeout(first);
      clearTimeout(timer);
      clearInterval(every);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      stop();
      client.close();
      const waited = Math.round((Date.now() - t0) / 1000);
      void diagnose(connectString).then(({ reason, hint }) =>
        reject(new ZkError(`unreachable for ${waited} s (${reason}): ${hint}`, 'CONNECTION_LOSS', Date.now() - t0)),
      );
    }, timeoutMs);
    client.once('connected', () => {
      stop();
      for (const a of opts.auth ?? []) client.addAuthInfo(a.scheme, Buffer.from(a.credentials));
      resolve(client);
    });
    client.connect();
  });
}

function wrap(err: unknown, op: string, path: string): ZkError {
  const e = err as { name?: string; code?: number; message?: string };
  const code = e.name && /^[A-Z_]+$/.test(e.name) ? e.name : (e.message ?? 'UNKNOWN').split('[')[0]!.trim();
  return new ZkError(`ZooKeeper ${op} ${path}: ${code}`, code);
}

export function getChildren(client: ZkClient, path: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    client.getChildren(path, (err, children) => (err ? reject(wrap(err, 'getChildren', path)) : resolve(children))),
  );
}

export function getData(client: ZkClient, path: string): Promise<{ data: Buffer | null; stat: ZkStat }> {
  return new Promise((resolve, reject) =>
    client.getData(path, (err, data, stat) => (err ? reject(wrap(err, 'getData', path)) : resolve({ data: data ?? null, stat }))),
  );
}

export function exists(client: ZkClient, path: string): Promise<ZkStat | null> {
  return new Promise((resolve, reject) =>
    client.exists(path, (err, stat) => (err ? reject(wrap(err, 'exists', path)) : resolve(stat ?? null))),
  );
}

export async function withZk<T>(connectString: string, fn: (c: ZkClient) => Promise<T>, opts?: ZkConnectOptions): Promise<T> {
  const client = await connectZk(connectString, opts);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** Joins a chroot and a path the way ZooKeeper would see them ("/primary" + "/brokers/ids"). */
export function chrootPath(chroot: string | undefined, path: string): string {
  const root = (chroot ?? '').replace(/\/+$/, '');
  const rel = path.startsWith('/') ? path : `/${path}`;
  return rel === '/' ? root || '/' : `${root}${rel}`;
}

// ---- write calls, ACLs, multi and the session's zxid (used by export/restore) ----

export type ZkAcl = zookeeper.ACL;
export const { ACL, Id, Permission, CreateMode } = zookeeper;

export function getACL(client: ZkClient, path: string): Promise<{ acl: ZkAcl[]; stat: ZkStat }> {
  return new Promise((resolve, reject) =>
    client.getACL(path, (err, acl, stat) => (err ? reject(wrap(err, 'getACL', path)) : resolve({ acl, stat }))),
  );
}

export function create(client: ZkClient, path: string, data: Buffer | null, acl: ZkAcl[], mode: number = CreateMode.PERSISTENT): Promise<string> {
  return new Promise((resolve, reject) =>
    client.create(path, data ?? Buffer.alloc(0), acl, mode, (err, p) => (err ? reject(wrap(err, 'create', path)) : resolve(p))),
  );
}

export function setData(client: ZkClient, path: string, data: Buffer | null, version = -1): Promise<ZkStat> {
  return new Promise((resolve, reject) =>
    client.setData(path, data, version, (err, stat) => (err ? reject(wrap(err, 'setData', path)) : resolve(stat))),
  );
}

export function setACL(client: ZkClient, path: string, acl: ZkAcl[], version = -1): Promise<ZkStat> {
  return new Promise((resolve, reject) =>
    client.setACL(path, acl, version, (err, stat) => (err ? reject(wrap(err, 'setACL', path)) : resolve(stat))),
  );
}

export function remove(client: ZkClient, path: string, version = -1): Promise<void> {
  return new Promise((resolve, reject) => client.remove(path, version, (err) => (err ? reject(wrap(err, 'remove', path)) : resolve())));
}

export type MultiOp =
  | { op: 'create'; path: string; data: Buffer | null; acl: ZkAcl[]; mode?: number }
  | { op: 'setData'; path: string; data: Buffer | null; version?: number }
  | { op: 'remove'; path: string; version?: number };

/**
 * Runs ops atomically (ZooKeeper `multi`). On failure the error names the first op that failed
 * (the library itself only reports the code).
 */
export function multi(client: ZkClient, ops: MultiOp[]): Promise<void> {
  const tx = client.transaction();
  for (const o of ops) {
    if (o.op === 'create') tx.create(o.path, o.data ?? Buffer.alloc(0), o.acl, o.mode ?? CreateMode.PERSISTENT);
    else if (o.op === 'setData') tx.setData(o.path, o.data, o.version ?? -1);
    else tx.remove(o.path, o.version ?? -1);
  }
  return new Promise((resolve, reject) =>
    tx.commit((err, results: { err?: number }[] | undefined) => {
      if (!err) return resolve();
      // OK (0) before the failing op, RUNTIME_INCONSISTENCY (-2) after it.
      const i = (results ?? []).findIndex((r) => r.err !== undefined && r.err !== 0 && r.err !== -2);
      const failed = i >= 0 ? ops[i] : undefined;
      reject(wrap(err, failed ? `multi ${failed.op}` : 'multi', failed?.path ?? `(${ops.length} ops)`));
    }),
  );
}

/**
 * The last zxid this session saw in a reply header: after any request it is the server's
 * last processed zxid at the time it answered (the library keeps it for reconnects).
 */
export function sessionZxid(client: ZkClient): bigint {
  const buf = (client as unknown as { connectionManager?: { zxid?: Buffer } }).connectionManager?.zxid;
  return buf && buf.length === 8 ? buf.readBigUInt64BE(0) : 0n;
}

/** A round trip to the server, then the zxid it answered at. */
export async function currentZxid(client: ZkClient): Promise<bigint> {
  await exists(client, '/');
  return sessionZxid(client);
}

export const zxidHex = (z: bigint): string => `0x${z.toString(16)}`;
export const parseZxid = (hex: string): bigint => BigInt(hex);
