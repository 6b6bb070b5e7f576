/** Broker process control, run on the broker's host queue (lifeboat-host-<host>). */
import type { ClusterSpec } from '../src/config/spec';
import { LifeboatError } from '../src/errors';
import { startBroker } from '../src/lab/lab';
import { findBroker, labTopology } from '../src/lab/topology';
import { checkedSpec, mapped } from './errors';
import { withHeartbeat } from './heartbeat';

export async function startBrokerActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<{ started: boolean }> {
  return mapped(async () => {
    const spec = checkedSpec(input.spec);
    const b = spec.brokers.find((x) => x.id === input.brokerId);
    if (!b) throw new LifeboatError('InvalidInput', `spec ${spec.name} has no broker ${input.brokerId}`);
    if (b.control.type !== 'lab') throw new LifeboatError('InvalidSpec', `broker control "${b.control.type}" is not wired into recovery workflows yet`);
    const labBroker = findBroker(labTopology(), b.control.cluster, b.id);
    // Idempotent: starting a running broker only waits for its registration.
    await withHeartbeat({ step: 'starting', broker: b.id }, () => startBroker(labTopology(), labBroker));
    return { started: true };
  });
}
