/** Broker process control, run on the broker's host queue (lifeboat-host-<host>). */
import type { ClusterSpec } from '../src/config/spec';
import { brokerControlFor } from '../src/host/brokerControl';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export function brokerActivities(_deps: ActivityDeps) {
  return {
    async startBrokerActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<{ started: boolean; control: string }> {
      const control = brokerControlFor(input.spec, input.brokerId);
      // Idempotent: starting a running broker only waits for its registration (lab) or is a no-op (systemd).
      await withHeartbeat({ phase: 'start broker', subject: `broker ${input.brokerId}` }, () => control.start());
      return { started: true, control: control.describe };
    },
  };
}
