/** Helpers for integration tests: the lab's topology and specs, and unique names per test run. */
import { randomUUID } from 'node:crypto';
import { loadSpec, type ClusterSpec } from '../../src/config/spec';
import { findCluster, labTopology, type LabTopology } from '../../src/lab/topology';

export const topo: LabTopology = labTopology();
export const primarySpec = (): ClusterSpec => loadSpec(findCluster(topo, 'primary').specFile);
export const standbySpec = (): ClusterSpec => loadSpec(findCluster(topo, 'standby').specFile);

/** A name no other test (or earlier run against the same lab) uses. */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

process.env.LIFEBOAT_PASSWORD ??= 'lab-password';
