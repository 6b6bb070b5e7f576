/** ZooKeeper failures as errors an operator can act on (one line, stable type). */
import { LifeboatError } from '../errors';
import { connectZk, ZkError, type ZkClient, type ZkConnectOptions } from './client';

export function zkFailure(e: unknown, context: string): unknown {
  if (!(e instanceof ZkError)) return e;
  switch (e.code) {
    case 'NO_AUTH':
      return new LifeboatError('InvalidInput', `${context}: ${e.message} — the node's ACL denies this session; pass the digest credentials (spec zookeeper.auth or --auth user:password)`);
    case 'AUTH_FAILED':
      return new LifeboatError('InvalidInput', `${context}: ZooKeeper rejected the credentials (${e.message})`);
    case 'CONNECTION_LOSS':
      // No session within the connect's wait: "ZooKeeper h:2181 unreachable for 20 s (connection refused): …".
      if (e.waitedMs !== undefined) return new LifeboatError('Unreachable', `${context} ${e.message}`, { waitedMs: e.waitedMs });
      return new LifeboatError('Unreachable', `${context}: ${e.message}`);
    case 'SESSION_EXPIRED':
    case 'OPERATION_TIMEOUT':
      return new LifeboatError('Unreachable', `${context}: ${e.message}`);
    default:
      return e;
  }
}

/** connectZk with failures mapped (an unreachable ensemble becomes LifeboatError 'Unreachable'). */
export async function openZk(connect: string, opts: ZkConnectOptions = {}): Promise<ZkClient> {
  try {
    return await connectZk(connect, opts);
  } catch (e) {
    throw zkFailure(e, `ZooKeeper ${connect}`);
  }
}

export async function withZkSession<T>(connect: string, opts: ZkConnectOptions, fn: (zk: ZkClient) => Promise<T>): Promise<T> {
  const zk = await openZk(connect, opts);
  try {
    return await fn(zk);
  } finally {
    zk.close();
  }
}
