/**
 * Runs before each integration test file: any lab broker a previous file left stopped (a failed
 * fault test, say) is started again, so one failure does not cascade through the suite.
 */
import { beforeAll } from 'vitest';
import { brokerRunning, startBroker } from '../../src/lab/lab';
import { labTopology } from '../../src/lab/topology';

beforeAll(async () => {
  const topo = labTopology();
  const stopped = topo.clusters.flatMap((c) => c.brokers).filter((b) => !brokerRunning(topo, b));
  await Promise.all(stopped.map((b) => startBroker(topo, b, (m) => console.log(`[lab] ${m} (left stopped by an earlier test)`))));
}, 180_000);
