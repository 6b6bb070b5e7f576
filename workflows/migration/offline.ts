/** offlineMigration — log dirs moved through the repository to another ZooKeeper-mode cluster (being built). */
import { ApplicationFailure } from '@temporalio/workflow';

export async function offlineMigration(_input: unknown): Promise<never> {
  throw ApplicationFailure.nonRetryable('offline migration is not built yet', 'InvalidInput');
}
