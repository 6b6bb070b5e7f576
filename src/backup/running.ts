/**
 * Which backup sets are still being written: the sets of the backup workflows and offline
 * migrations (which write their source's parts to a set of their own) Temporal has running.
 * Retention removes an incomplete set only once it is known to be no running backup's (retention.ts):
 * a daily backup still writing its parts when an hourly or a manual one finishes is not a failed one.
 * And which runs read a cluster's sets: retention removes none while one does.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
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
  const sets = await listRunning(client, RUNNING_BACKUPS_QUERY, signal, async (w) => {
    const setOf = w.type === OFFLINE_MIGRATION ? offlineMigrationSetIdOf : backupSetIdOf;
    // Both the run's own set (runs started before sets were named after the original run) and its original run's.
    return [setOf(w.runId), setOf(await originalRunOf(client, w.workflowId, w.runId))];
  });
  return sets && new Set(sets.flat());
}

/**
 * What `each` makes of every workflow `query` lists (run at once); undefined when Temporal cannot be
 * asked or `signal` aborts first. The listing itself takes no signal: an abort (a timeout) answers
 * "unknown" without waiting for it.
 */
async function listRunning<T>(client: Client | undefined, query: string, signal: AbortSignal | undefined, each: (w: WorkflowExecutionInfo) => Promise<T>): Promise<T[] | undefined> {
  if (!client) return undefined;
  try {
    const listing = (async () => {
      const out: Promise<T>[] = [];
      for await (const w of client.workflow.list({ query })) {
        signal?.throwIfAborted();
        const one = each(w);
        one.catch(() => undefined);
        out.push(one);
      }
      return Promise.all(out);
    })();
    const aborted = new Promise<undefined>((resolve) => signal?.addEventListener('abort', () => resolve(undefined), { once: true }));
    listing.catch(() => undefined);
    return await Promise.race([listing, aborted]);
  } catch {
    return undefined;
  }
}

/**
 * Runs that read a cluster's backup sets (a recovery chooses one and restores it, perhaps after an
 * approval's wait; a drill recovers from its set; an offline migration reads its own), by their
 * LifeboatCluster search attribute: while one runs, retention removes none of the cluster's sets.
 */
const SET_READERS = ['fullClusterRecovery', 'brokerRecovery', 'restoreState', 'restoreData', 'verifyCluster', 'drill', OFFLINE_MIGRATION];
export const setReadersQuery = (cluster: string): string =>
  `WorkflowType IN (${SET_READERS.map((t) => `'${t}'`).join(', ')}) AND ExecutionStatus = 'Running' AND LifeboatCluster = '${cluster.replace(/['\\]/g, '')}'`;

/** The workflow ids of the runs reading `cluster`'s sets; undefined when Temporal cannot be asked or `signal` aborts first. */
export async function runningSetReaders(client: Client | undefined, cluster: string, signal?: AbortSignal): Promise<string[] | undefined> {
  return listRunning(client, setReadersQuery(cluster), signal, async (w) => w.workflowId);
}
