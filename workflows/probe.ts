/**
 * clusterProbe: the smallest end-to-end proof that a cluster is usable. One activity writes
 * records to a scratch topic with acks=all and reads them back.
 */
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { LifeboatActivities } from '../activities';
import type { ProbeResult } from '../src/kafka/probe';
import type { SpecRef } from '../src/report/report.pure';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND, LIFEBOAT_STEP } from '../src/temporal/searchAttributes';
import { type ClusterRef, resolveCluster } from './support/cluster';

const { produceConsumeProbeActivity } = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '20 seconds', maximumAttempts: 5 },
});

export interface ClusterProbeInput extends ClusterRef {
  records?: number;
}

export async function clusterProbe(input: ClusterProbeInput): Promise<ProbeResult & { workflowId: string; spec?: SpecRef }> {
  const { spec, source } = await resolveCluster(input);
  upsertSearchAttributes([
    { key: LIFEBOAT_CLUSTER, value: spec.name },
    { key: LIFEBOAT_KIND, value: 'probe' },
    { key: LIFEBOAT_STEP, value: 'probe' },
  ]);
  const result = await produceConsumeProbeActivity({ spec, records: input.records });
  upsertSearchAttributes([{ key: LIFEBOAT_STEP, value: result.ok ? 'done' : 'failed' }]);
  return { ...result, workflowId: workflowInfo().workflowId, ...(source ? { spec: source } : {}) };
}
