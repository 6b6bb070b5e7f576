/**
 * The lab's broker-control adapter: specs of lab clusters say
 * `control: { type: adapter, adapter: lab, options: { cluster: primary } }`, and any process that
 * runs lifeboat's activities against the lab imports this module (tests through their setup, the
 * demo, `lifeboat worker --adapter lab/brokerControl.ts`), which registers "lab".
 */
import { type BrokerControl, registerBrokerControl } from '../src/host/brokerControl';
import { LifeboatError } from '../src/errors';
import { findBroker, labTopology, type LabTopology } from './topology';

/**
 * The lab's machinery (Temporal's client, kafkajs, provisioning) is loaded when a broker is first
 * controlled, not when this module registers: every lifeboat process of the lab loads this adapter,
 * and most never start or stop a broker (a `bin/lifeboat repo init` with it took 2.2 s loaded eagerly, 1.1-1.3 s lazily).
 */
const lab = () => import('./lab');

/** The lab's control of one broker of one of its clusters (a scratch topology in some tests). */
export function labBrokerControl(topo: LabTopology, cluster: string, brokerId: number): BrokerControl {
  const lb = findBroker(topo, cluster, brokerId);
  return {
    describe: `lab ${cluster}-${brokerId}`,
    start: async () => (await lab()).startBroker(topo, lb),
    stop: async () => {
      await (await lab()).stopBroker(topo, lb);
    },
    status: async () => ((await lab()).brokerRunning(topo, lb) ? 'running' : 'stopped'),
    // SIGKILL, as a host dies: returns once the process is gone, as `systemctl kill` does. Its
    // ZooKeeper registration lingers until the session expires (6 s in the lab), as after a real
    // crash; whoever starts it again or replaces its log dirs waits for that (startBroker here,
    // stopBrokerAndWait and startBrokerActivity in a recovery), so the wait is the recovery's, not the fault's.
    kill: async () => {
      await (await lab()).killBroker(topo, lb, { settle: false });
    },
  };
}

registerBrokerControl('lab', (broker, options, spec) => {
  if (!options.cluster) throw new LifeboatError('InvalidSpec', `broker ${broker.id} of ${spec.name}: the lab adapter needs options.cluster (the lab cluster's name)`);
  return labBrokerControl(labTopology(), options.cluster, broker.id);
});

/** The control section a lab cluster's spec gives each broker. */
export const labControl = (cluster: string) => ({ type: 'adapter' as const, adapter: 'lab', options: { cluster } });
