/** Verification activities: what a recovered cluster must prove before we call it recovered. */
import { kafkaFor } from '../src/kafka/client';
import { type ProbeResult, produceConsumeProbe } from '../src/kafka/probe';
import type { ClusterSpec } from '../src/config/spec';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export interface ProbeInput {
  spec: ClusterSpec;
  records?: number;
  /** How long the probe waits to read its records back (default 60 s). */
  timeoutMs?: number;
}

export function verifyActivities(_deps: ActivityDeps) {
  return {
    async produceConsumeProbeActivity(input: ProbeInput): Promise<ProbeResult> {
      const records = input.records ?? 30;
      return withHeartbeat({ phase: 'probe', total: records, unit: 'records' }, () => produceConsumeProbe(kafkaFor(input.spec, 'probe'), { records, spec: input.spec, timeoutMs: input.timeoutMs }));
    },
  };
}
