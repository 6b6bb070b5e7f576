/** backupMonitor (issue 15): per cluster and tier, is the newest set there, fresh, verified, off-site, scheduled. */
import type { BackupHealth } from '../src/monitoring/types';

export interface BackupMonitorInput {
  clusters: string[];
}

export async function backupMonitor(_input: BackupMonitorInput): Promise<BackupHealth[]> {
  throw new Error('backupMonitor: not built yet');
}
