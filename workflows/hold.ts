/**
 * hold — a workflow that does nothing but run, so that no one else can start one under its ID
 * (src/temporal/hold.ts): the failover's promotion hold (type `promotion`, ID promotion-<primary>)
 * and the drills' lock (type `drillLock`, ID lock-drill-<cluster>). It ends by termination of its run.
 * Who holds it is in its memo and in its `hold` query.
 */
import { condition, defineQuery, setHandler } from '@temporalio/workflow';

export const holdQuery = defineQuery<unknown>('hold');

export async function hold(holder: unknown): Promise<never> {
  setHandler(holdQuery, () => holder);
  await condition(() => false);
  throw new Error('unreachable: a hold ends by termination');
}
