/**
 * Which backup sets are still being written: the sets of the backup workflows and offline
 * migrations (which write their source's parts to a set of their own) Temporal has running.
 * Retention removes an incomplete set only once it is known to be no running backup's (retention.ts):
 * a daily backup still writing its parts when an hourly or a manual one finishes is not a failed one.
 */
import type { Client } from '@temporalio/client';
import { backupSetIdOf, offlineMigrationSetIdOf } from './plan.pure';

const OFFLINE_MIGRATION = 'offlineMigration';

/** Running backup workflows (a drill's fresh backup is one too) and offline migrations, whatever their cluster: a set id is unique. */
export const RUNNING_BACKUPS_QUERY = `WorkflowType IN ('backup', '${OFFLINE_MIGRATION}') AND ExecutionStatus = 'Running'`;

/** The set ids of every running backup; undefined when Temporal cannot be asked or `signal` aborts first (then nothing incomplete is removed). */
export async function runningBackupSets(client: Client | undefined, signal?: AbortSignal): Promise<Set<string> | undefined> {
  if (!client) return undefined;
  try {
    const out = new Set<string>();
    const listing = (async () => {
      for await (const w of client.workflow.list({ query: RUNNING_BACKUPS_QUERY })) {
        signal?.throwIfAborted();
        out.add(w.type === OFFLINE_MIGRATION ? offlineMigrationSetIdOf(w.runId) : backupSetIdOf(w.runId));
      }
      return out;
    })();
    // The listing itself takes no signal: an abort (a timeout) answers "unknown" without waiting for it.
    const aborted = new Promise<undefined>((resolve) => signal?.addEventListener('abort', () => resolve(undefined), { once: true }));
    listing.catch(() => undefined);
    return await Promise.race([listing, aborted]);
  } catch {
    return undefined;
  }
}
