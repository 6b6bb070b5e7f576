/**
 * The set-up drill tests share: a lab cluster's spec with a repository of the test's own (the drill's
 * fresh sets and its record land there, removed at the end), the test's workers (control queue and
 * the brokers' host queues), a unique drill workflow ID and a run of the `drill` workflow.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Client } from '@temporalio/client';
import { findCluster } from '../../../lab/topology';
import { loadSpecCatalog } from '../../../src/config/catalog';
import type { ClusterSpec } from '../../../src/config/spec';
import { drillWorkflowId } from '../../../src/drills/ids.pure';
import type { DrillRecord } from '../../../src/drills/records';
import { TASK_QUEUE } from '../../../src/temporal/connection';
import { exportTree } from '../../../src/zookeeper/export';
import { withZk } from '../../../src/zookeeper/client';
import { topo, unique } from '../../support/lab';
import { startTestWorkers, type TestWorkers } from '../../support/temporal';

export interface DrillLab {
  spec: ClusterSpec;
  client: Client;
  /** A drill workflow ID as `drill run` makes it, made unique for the test. */
  drillId(scenario: string): string;
  /** Runs the drill on `spec` (or `input.spec`) to its record. */
  run(workflowId: string, input: Record<string, unknown>): Promise<DrillRecord>;
  stop(): Promise<void>;
}

/** The lab spec `lab` with a scratch repository (no offsite copy) and `more` on top; workers for its brokers' hosts. */
export async function startDrillLab(lab: ClusterSpec, more: Partial<ClusterSpec> = {}, extraHosts: string[] = []): Promise<DrillLab> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-drill-'));
  const spec: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined, ...more };
  let temporal: TestWorkers | undefined;
  try {
    // The lab's specs by name: a datacenter-lost drill's failover resolves the standby by the name its spec gives.
    const specs = loadSpecCatalog({ dir: dirname(findCluster(topo, 'standby').specFile) });
    temporal = await startTestWorkers({ hosts: [...new Set([...spec.brokers.map((b) => b.host), ...extraHosts])], specs });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const client = temporal.client;
  return {
    spec,
    client,
    drillId: (scenario) => `${drillWorkflowId(spec.name, scenario, new Date().toISOString())}-${unique('t')}`,
    run: (workflowId, input) =>
      client.workflow.execute('drill', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec, probeIntervalSeconds: 2, ...input }] }) as Promise<DrillRecord>,
    stop: async () => {
      await temporal?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A record's phases and deductions, for an assertion's message. */
export const whyOf = (record: DrillRecord): string =>
  JSON.stringify({ phases: record.phases, deductions: record.score.deductions.map((d) => d.reason), problems: record.problems }, null, 1);

/** The persistent znodes under `root` with their data (base64, null for none): what a restore must bring back. */
export async function znodeData(connect: string, root: string, skip: (path: string) => boolean = () => false): Promise<Record<string, string | null>> {
  return withZk(connect, async (zk) => {
    const exp = await exportTree(zk, root);
    return Object.fromEntries(exp.nodes.filter((n) => !n.ephemeral && !skip(n.path)).map((n) => [n.path, n.data]));
  });
}
