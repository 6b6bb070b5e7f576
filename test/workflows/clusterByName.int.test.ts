/**
 * Workflows started by cluster name, as an operator does from the Temporal UI or the `temporal` CLI:
 * a worker started with the lab's spec files resolves `{ "cluster": "primary" }`, and the report
 * records which spec file and which version of it (sha256 of its bytes) the run used. Started with
 * the real Temporal CLI binary the lab provisions, with nothing but the JSON an operator would type.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTemporalCli } from '../../lab/provision';
import { findCluster } from '../../lab/topology';
import { loadSpecCatalog } from '../../src/config/catalog';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import type { RunReport } from '../../src/report/report.pure';
import { temporalSettings } from '../../src/temporal/connection';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { createTopicsReady } from '../support/kafka';
import { primarySpec, topo, unique } from '../support/lab';

const run = promisify(execFile);

describe('workflows started with only a cluster name (the Temporal CLI)', () => {
  const spec = primarySpec();
  const specFile = findCluster(topo, 'primary').specFile;
  const settings = temporalSettings();
  const topic = unique('by-name');
  let temporalBin: string;
  let workers: RunningWorkers;
  let running: Promise<void>;

  /** `temporal workflow execute` with the JSON input; its exit code, and the run's result or failure. */
  async function execute(type: string, input: unknown): Promise<{ code: number; result?: unknown; output: string }> {
    const args = ['workflow', 'execute', '--address', settings.address, '--namespace', settings.namespace, '--task-queue', CONTROL_TASK_QUEUE, '--type', type, '--workflow-id', unique(`by-name-${type}`), '--input', JSON.stringify(input), '--output', 'json'];
    try {
      const { stdout } = await run(temporalBin, args, { maxBuffer: 64 * 1024 * 1024 });
      return { code: 0, result: (JSON.parse(stdout) as { result?: unknown }).result, output: stdout };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: err.code ?? 1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  }

  beforeAll(async () => {
    temporalBin = ensureTemporalCli(topo, (m) => console.log(`[temporal-cli] ${m}`));
    workers = await createWorkers({ settings, hosts: spec.brokers.map((b) => b.host), specs: loadSpecCatalog({ files: [specFile] }) });
    running = workers.run();
    await createTopicsReady(spec, [{ topic, numPartitions: 3, replicationFactor: 3 }]);
    const producer = kafkaFor(spec).producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
  });

  afterAll(async () => {
    await withAdmin(kafkaFor(spec), spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    workers?.shutdown();
    await running;
  });

  it('backup and a recovery dry run by name; the report names the spec file and its digest', { timeout: 300_000 }, async () => {
    const digest = createHash('sha256').update(readFileSync(specFile)).digest('hex');
    // A small set (state, and one topic's data): cheap, and the newest; partial (some topics), so the
    // recovery's dry run names its parts.
    const backup = await execute('backup', { cluster: 'primary', parts: ['zookeeper', 'kafka-metadata', 'topics'], topics: [topic], skipRetention: true, skipOffsite: true });
    expect(backup.code, backup.output).toBe(0);
    const made = backup.result as { setId: string; report: RunReport };
    expect(made.report.spec).toEqual({ name: 'primary', digest, file: specFile });

    const plan = await execute('fullClusterRecovery', { cluster: 'primary', dryRun: true, parts: ['zookeeper', 'kafka-metadata', 'topics'] });
    expect(plan.code, plan.output).toBe(0);
    const report = plan.result as RunReport;
    expect(report.outcome).toBe('planned');
    expect(report.cluster).toBe('primary');
    expect(report.spec).toEqual({ name: 'primary', digest, file: specFile });
    expect(report.snapshot?.id).toBe(made.setId);
    expect(report.steps.find((s) => s.name === 'choose-set')).toMatchObject({ status: 'done', detail: expect.stringContaining(`set ${made.setId}`) });
    expect(report.steps.filter((s) => s.name !== 'choose-set').every((s) => s.status === 'skipped')).toBe(true);

    // The probe by name, and a name the worker does not know: one line naming the clusters it knows.
    const probe = await execute('clusterProbe', { cluster: 'primary', records: 5 });
    expect(probe.code, probe.output).toBe(0);
    expect(probe.result).toMatchObject({ ok: true, spec: { name: 'primary', digest } });
    const unknown = await execute('fullClusterRecovery', { cluster: 'no-such-cluster', dryRun: true });
    expect(unknown.code).not.toBe(0);
    // The CLI prints the failure as JSON (quotes escaped).
    expect(unknown.output).toContain(JSON.stringify('unknown cluster "no-such-cluster": this worker knows "primary"').slice(1, -1));
    expect(unknown.output).toContain('RETRY_STATE_NON_RETRYABLE_FAILURE');
  });
});
