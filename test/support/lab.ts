/** Helpers for integration tests: the lab's topology and specs, and unique names per test run. */
import { randomUUID } from 'node:crypto';
import { loadSpec, type ClusterSpec } from '../../src/config/spec';
import { findCluster, labTopology, type LabTopology, useLabEnv } from '../../lab/topology';
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
