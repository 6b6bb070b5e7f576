/**
 * A small promise face over node-zookeeper-client: connect with a deadline (the library retries
 * forever on its own), and the read calls the rest of Lifeboat builds on. Errors keep ZooKeeper's
 * own codes (NO_NODE, NODE_EXISTS, ...) in `code` so callers can branch on them.
 */
import zookeeper from 'node-zookeeper-client';

export type ZkClient = zookeeper.Client;
export type ZkStat = zookeeper.Stat;

export class ZkError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ZkError';
  }
}

export interface ZkConnectOptions {
  timeoutMs?: number;
  sessionTimeoutMs?: number;
  /** scheme:credentials pairs, e.g. digest "user:password". */
  auth?: { scheme: string; credentials: string }[];
}

export function connectZk(connectString: string, opts: ZkConnectOptions = {}): Promise<ZkClient> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const client = zookeeper.createClient(connectString, {
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    spinDelay: 200,
    retries: 1,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new ZkError(`could not connect to ZooKeeper at ${connectString} within ${timeoutMs / 1000}s`, 'CONNECTION_LOSS'));
    }, timeoutMs);
    client.once('connected', () => {
      clearTimeout(timer);
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
