/** What is left on a failed broker's disks: enough to start from, or lost (a new disk, a wiped dir). */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';

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
