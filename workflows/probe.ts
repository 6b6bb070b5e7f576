/**
 * clusterProbe: the smallest end-to-end proof that a cluster is usable. One activity writes
 * records to a scratch topic with acks=all and reads them back.
 */
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { ClusterSpec } from '../src/config/spec';
import type { ProbeResult } from '../src/kafka/probe';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND, LIFEBOAT_STEP } from '../src/temporal/searchAttributes';

const { produceConsumeProbeActivity } = proxyActivities<typeof activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '20 seconds', maximumAttempts: 5 },
});

export interface ClusterProbeInput {
  spec: ClusterSpec;
  records?: number;
}

export async function clusterProbe(input: ClusterProbeInput): Promise<ProbeResult & { workflowId: string }> {
  upsertSearchAttributes([
    { key: LIFEBOAT_CLUSTER, value: input.spec.name },
    { key: LIFEBOAT_KIND, value: 'probe' },
    { key: LIFEBOAT_STEP, value: 'probe' },
  ]);
  const result = await produceConsumeProbeActivity({ spec: input.spec, records: input.records });
  upsertSearchAttributes([{ key: LIFEBOAT_STEP, value: result.ok ? 'done' : 'failed' }]);
  return { ...result, workflowId: workflowInfo().workflowId };
}
