/** Broker process control, run on the broker's host queue (lifeboat-host-<host>). */
import type { ClusterSpec } from '../src/config/spec';
import { startBrokerWhenUnregistered } from '../src/host/brokerStart';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export function brokerActivities(_deps: ActivityDeps) {
  return {
    async startBrokerActivity(input: { spec: ClusterSpec; brokerId: number }): Promise<{ started: boolean; control: string }> {
      // Idempotent: starting a running broker only waits for its registration (lab) or is a no-op (systemd).
      // A killed broker's registration lingers until its ZooKeeper session expires: the start waits for it.
      const r = await withHeartbeat({ phase: 'start broker', subject: `broker ${input.brokerId}` }, (_beat, signal) => startBrokerWhenUnregistered(input.spec, input.brokerId, { signal }));
      return { started: true, control: r.control };
    },
  };
}
