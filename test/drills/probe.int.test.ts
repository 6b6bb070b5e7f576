/**
 * The drill's independent probe (src/drills/probe.ts) on the lab's primary: a broker killed (SIGKILL,
 * its ZooKeeper registration still there until the session expires) makes the probe not green at once,
 * before it creates a scratch topic (one with a replica on the dead broker stays half-deleted until that
 * broker returns, and leadership moving off the dead broker made the produce work: the probe went green
 * with a broker down). Started again, the probe is green.
 */
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { brokerRunning, killBroker, startBroker } from '../../lab/lab';
import { findBroker } from '../../lab/topology';
import { poll } from '../../src/core/poll';
import { drillProbe } from '../../src/drills/probe';
import { registeredInZookeeper } from '../../src/host/logdirs';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { waitForBrokerInIsr } from '../../src/kafka/cluster';
import { primarySpec, topo } from '../support/lab';

/** Whether something accepts connections on the port (loopback). */
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('drill probe', () => {
  const spec = primarySpec();
  const lb = findBroker(topo, 'primary', 3);
  const probeTopics = () => withAdmin(kafkaFor(spec, 'test-admin'), spec.name, async (a) => (await a.listTopics()).filter((t) => t.startsWith('lifeboat-probe-')));

  afterAll(async () => {
    if (!brokerRunning(topo, lb)) await startBroker(topo, lb, () => {});
    await waitForBrokerInIsr(spec, 3, { timeoutMs: 120_000 }).catch(() => undefined);
  }, 180_000);

  it('is not green while a killed broker is still registered, and creates no scratch topic; green once it is back', { timeout: 180_000 }, async () => {
    expect((await drillProbe(spec)).green).toBe(true);
    const topicsBefore = await probeTopics();
    expect(await killBroker(topo, lb, { settle: false })).toBe(true);
    const killedAt = Date.now();
    // The dead JVM's listening socket goes a moment after the process.
    await poll(async () => !(await portOpen(lb.port)), { what: 'broker 3 to stop listening', timeoutMs: 5_000, intervalMs: 20 });
    expect(await registeredInZookeeper(spec, 3)).toBe(true);
    const p = await drillProbe(spec);
    // Well inside the session (6 s) and before the controller tells the others: every broker still lists broker 3.
    expect(Date.now() - killedAt).toBeLessThan(4_000);
    expect(p.green).toBe(false);
    expect(p.detail).toMatch(/not green: broker 3 registered but not reachable$/);
    expect(await probeTopics()).toEqual(topicsBefore);

    await startBroker(topo, lb, () => {});
    await waitForBrokerInIsr(spec, 3, { timeoutMs: 120_000 });
    const back = await drillProbe(spec);
    expect(back, back.detail).toMatchObject({ green: true });
  });
});
