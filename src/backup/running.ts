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

/**
 * The run a reset run was reset from (its set is named after that one; workflows/backup.ts), from
 * the first event of its history: the listing does not carry it. The run's own id when it was not reset.
 */
async function originalRunOf(client: Client, workflowId: string, runId: string): Promise<string> {
  const page = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId, runId }, maximumPageSize: 1 });
  return page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.originalExecutionRunId || runId;
}

/** The set ids of every running backup; undefined when Temporal cannot be asked or `signal` aborts first (then nothing incomplete is removed). */
export async function runningBackupSets(client: Client | undefined, signal?: AbortSignal): Promise<Set<string> | undefined> {
  if (!client) return undefined;
  try {
    const out = new Set<string>();
    const listing = (async () => {
      const originals: Promise<void>[] = [];
      for await (const w of client.workflow.list({ query: RUNNING_BACKUPS_QUERY })) {
        signal?.throwIfAborted();
        const setOf = w.type === OFFLINE_MIGRATION ? offlineMigrationSetIdOf : backupSetIdOf;
        // Both the run's own set (runs started before sets were named after the original run) and its original run's.
        out.add(setOf(w.runId));
        const original = originalRunOf(client, w.workflowId, w.runId).then((run) => void out.add(setOf(run)));
        original.catch(() => undefined);
        originals.push(original);
      }
      await Promise.all(originals);
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
