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
