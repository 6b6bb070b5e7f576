/** Broker process control, run on the broker's host queue (lifeboat-host-<host>). */
import type { ClusterSpec } from '../src/config/spec';
import { brokerControlFor } from '../src/host/brokerControl';
import { checkedSpec, mapped } from './errors';
import { withHeartbeat } from './heartbeat';

export async function startBrokerActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<{ started: boolean; control: string }> {
  return mapped(async () => {
    const control = brokerControlFor(checkedSpec(input.spec), input.brokerId);
    // Idempotent: starting a running broker only waits for its registration (lab) or is a no-op (systemd).
    await withHeartbeat({ step: 'starting', broker: input.brokerId }, () => control.start());
    return { started: true, control: control.describe };
  });
}
