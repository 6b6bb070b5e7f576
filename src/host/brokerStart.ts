/**
 * Starting a broker in a recovery. A broker that died (SIGKILL, a host crash, a drill's kill) stays
 * registered in ZooKeeper until its session expires, and Kafka in ZooKeeper mode refuses to register
 * again while that registration exists (NodeExists: the new process exits at start-up). So a broker
 * that is not running is started only once its old registration is gone: the wait belongs to the
 * recovery (and its RTO), whatever controls the broker (the lab's adapter waits the same way).
 */
import type { ClusterSpec } from '../config/spec';
import { brokerControlFor } from './brokerControl';
import { registeredInZookeeper, untilUnregistered } from './logdirs';

export interface StartBrokerOptions {
  /** How long a stale registration may take to expire (default 120 s; a session timeout is 6–40 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/** Waits until ZooKeeper no longer holds the registration of a broker that is not running; true when it had to wait. */
export async function waitForStaleRegistration(spec: ClusterSpec, brokerId: number, opts: StartBrokerOptions = {}): Promise<boolean> {
  if (!spec.zookeeper) return false;
  const control = brokerControlFor(spec, brokerId);
  if ((await control.status()) === 'running') return false;
  if (!(await registeredInZookeeper(spec, brokerId))) return false;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  opts.onProgress?.(`waiting for the stale registration of broker ${brokerId} to expire`);
  await untilUnregistered(spec, brokerId, { timeoutMs, intervalMs: 250, signal: opts.signal, why: 'while not running: another process may hold its id' });
  return true;
}

/** Starts a broker (idempotent: a running one is left as it is) once a dead predecessor's registration is gone. */
export async function startBrokerWhenUnregistered(spec: ClusterSpec, brokerId: number, opts: StartBrokerOptions = {}): Promise<{ waitedForRegistration: boolean; control: string }> {
  const waited = await waitForStaleRegistration(spec, brokerId, opts);
  const control = brokerControlFor(spec, brokerId);
  opts.onProgress?.(`starting broker ${brokerId}`);
  await control.start();
  return { waitedForRegistration: waited, control: control.describe };
}
