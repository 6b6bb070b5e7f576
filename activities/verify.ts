/** Verification activities: what a recovered cluster must prove before we call it recovered. */
import { heartbeat } from '@temporalio/activity';
import { kafkaFor } from '../src/kafka/client';
import { type ProbeResult, produceConsumeProbe } from '../src/kafka/probe';
import type { ClusterSpec } from '../src/config/spec';
import { checkedSpec, mapped } from './errors';

export interface ProbeInput {
  spec: ClusterSpec;
  records?: number;
}

export async function produceConsumeProbeActivity(input: ProbeInput): Promise<ProbeResult> {
  return mapped(async () => {
    const spec = checkedSpec(input.spec);
    heartbeat({ step: 'probe' });
    return produceConsumeProbe(kafkaFor(spec, 'probe'), { records: input.records ?? 30, spec });
  });
}
