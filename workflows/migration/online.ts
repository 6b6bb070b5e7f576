/** migration — online migration with a gated cut-over (being built; see docs/workflows.md once it lands). */
import { ApplicationFailure } from '@temporalio/workflow';

export async function migration(_input: unknown): Promise<never> {
  throw ApplicationFailure.nonRetryable('online migration is not built yet', 'InvalidInput');
}
