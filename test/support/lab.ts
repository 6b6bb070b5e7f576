/** Helpers for integration tests: the lab's topology and specs, and unique names per test run. */
import { randomUUID } from 'node:crypto';
import { loadSpec, type ClusterSpec } from '../../src/config/spec';
import { Kafka, logLevel } from 'kafkajs';
import { appBootstrapServers, findCluster, LAB_APP_USER, labTopology, type LabTopology, useLabEnv } from '../../lab/topology';
// Lab specs control their brokers through the lab's adapter; the tests' workers run in this process.
import '../../lab/brokerControl';

export const topo: LabTopology = labTopology();
// Lifeboat has no lab default: point it (and every CLI child a test starts) at this lab.
useLabEnv(topo);
export const primarySpec = (): ClusterSpec => loadSpec(findCluster(topo, 'primary').specFile);
export const standbySpec = (): ClusterSpec => loadSpec(findCluster(topo, 'standby').specFile);

/** A name no other test (or earlier run against the same lab) uses. */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

process.env.LIFEBOAT_PASSWORD ??= 'lab-password';
export const nextSpec = (): ClusterSpec => loadSpec(topo.kraft.specFile);

/**
 * A client of the cluster's applications' listener (SASL/PLAIN as User:app): ACLs bind it, unlike
 * Lifeboat's own PLAINTEXT connections (User:ANONYMOUS, a lab super user).
 */
export function appKafka(cluster: 'primary' | 'standby' | 'next', clientId = 'lab-app'): Kafka {
  const c = cluster === 'next' ? topo.kraft : findCluster(topo, cluster);
  return new Kafka({
    clientId,
    brokers: appBootstrapServers(c),
    sasl: { mechanism: 'plain', ...LAB_APP_USER },
    logLevel: logLevel.NOTHING,
  });
}

/** One record written by an application (the applications' listener, no retries): "accepted", or why not. */
export async function appWrite(cluster: 'primary' | 'standby' | 'next', topic: string): Promise<string> {
  const producer = appKafka(cluster, 'lab-app-write').producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: 'app' }] });
    return 'accepted';
  } catch (e) {
    return `${(e as { type?: string }).type ?? ''} ${(e as Error).message}`;
  } finally {
    await producer.disconnect();
  }
}
