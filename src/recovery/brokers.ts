/**
 * The brokers in a recovery: stopping one for good (until ZooKeeper has forgotten it), and what is
 * left on a failed broker's disks (enough to start from, or lost: a new disk, a wiped dir).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import { brokerControlFor } from '../host/brokerControl';
import { untilUnregistered } from '../host/logdirs';

/**
 * Stops a broker and waits until ZooKeeper has forgotten it: a killed broker stays registered
 * until its session expires, and its log dirs must not be replaced while it might be live.
 */
export async function stopBrokerAndWait(
  spec: ClusterSpec,
  brokerId: number,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ wasRunning: boolean }> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const control = brokerControlFor(spec, brokerId);
  const wasRunning = (await control.status()) === 'running';
  if (wasRunning) await control.stop();
  await untilUnregistered(spec, brokerId, { timeoutMs, intervalMs: 1000, signal: opts.signal, why: 'after it stopped' });
  return { wasRunning };
}

export interface BrokerDiskState {
  brokerId: number;
  /** Log dirs without meta.properties (missing, empty or wiped). */
  lost: string[];
  /** Partition directories found over all log dirs. */
  partitions: number;
}

export async function brokerDiskState(spec: ClusterSpec, brokerId: number): Promise<BrokerDiskState> {
  const b = spec.brokers.find((x) => x.id === brokerId);
  if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  const state: BrokerDiskState = { brokerId, lost: [], partitions: 0 };
  for (const dir of b.logDirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    if (!(await stat(join(dir, 'meta.properties')).then(() => true, () => false))) state.lost.push(dir);
    state.partitions += names.filter((n) => /-\d+$/.test(n)).length;
  }
  return state;
}
