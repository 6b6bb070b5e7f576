/**
 * Runs before each integration test file: any lab broker a previous file left stopped (a failed
 * fault test, say) is started again, so one failure does not cascade through the suite, and each
 * cluster is in agreement (every broker names the same live controller) before the file starts. A
 * cluster whose brokers cannot start or agree (a recovery test that failed half-way leaves log dirs
 * and ZooKeeper out of step) is wiped and started empty: the tests after it need a cluster, not its data.
 */
import { beforeAll } from 'vitest';
import { labDisaster } from '../../lab/disaster';
import { brokerRunning, startBroker, waitForLabAgreement } from '../../lab/lab';
import { labTopology, useLabEnv } from '../../lab/topology';
// Lab specs control their brokers through the lab's adapter; tests' workers run in this process.
import '../../lab/brokerControl';

// Lifeboat has no lab default: point it (and every CLI child a test starts) at this lab's Temporal.
useLabEnv(labTopology());

beforeAll(async () => {
  const topo = labTopology();
  for (const cluster of topo.clusters) {
    const stopped = cluster.brokers.filter((b) => !brokerRunning(topo, b));
    const log = (m: string) => console.log(`[lab] ${m} (left stopped by an earlier test)`);
    const all = cluster.brokers.map((b) => b.id);
    try {
      await Promise.all(stopped.map((b) => startBroker(topo, b, log)));
      await waitForLabAgreement(topo, cluster.name, { present: all });
    } catch (e) {
      console.log(`[lab] cluster ${cluster.name} does not start or agree (${(e as Error).message.split('\n')[0]}): wiping it and starting it empty`);
      await labDisaster(topo, cluster.name);
      await Promise.all(cluster.brokers.map((b) => startBroker(topo, b, log)));
      await waitForLabAgreement(topo, cluster.name, { present: all });
    }
  }
  // The KRaft cluster has no ZooKeeper registration to agree on: a node that runs serves once started.
  for (const b of topo.kraft.brokers) if (!brokerRunning(topo, b)) await startBroker(topo, b, (m) => console.log(`[lab] ${m} (left stopped by an earlier test)`));
}, 300_000);
