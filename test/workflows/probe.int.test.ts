/** A workflow from workflows/ runs on a real Worker against the lab's dev server and reaches Kafka. */
import { Client, Connection } from '@temporalio/client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWorkflowBundle } from '../../src/temporal/bundle';
import { TASK_QUEUE, temporalSettings } from '../../src/temporal/connection';
import { createWorkers } from '../../src/temporal/worker';
import { primarySpec, unique } from '../support/lab';

describe('clusterProbe workflow', () => {
  it('runs through a Worker (its workflows bundled from source) and its activity produces to and consumes from the primary cluster', async () => {
    const settings = temporalSettings();
    // The integration run's prebuilt bundle (labSetup.ts) set aside: this worker bundles workflows/ itself, as a developer's does.
    const prebuilt = process.env.LIFEBOAT_WORKFLOW_BUNDLE;
    delete process.env.LIFEBOAT_WORKFLOW_BUNDLE;
    const workers = await createWorkers({ settings }).finally(() => {
      if (prebuilt !== undefined) process.env.LIFEBOAT_WORKFLOW_BUNDLE = prebuilt;
    });
    const connection = await Connection.connect(settings.connection);
    try {
      const client = new Client({ connection, namespace: settings.namespace });
      const workflowId = unique('probe-primary');
      const result = await workers.runUntil(
        client.workflow.execute('clusterProbe', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec: primarySpec(), records: 12 }] }),
      );
      expect(result).toMatchObject({ ok: true, produced: 12, consumed: 12, workflowId });
      const desc = await client.workflow.getHandle(workflowId).describe();
      expect(desc.status.name).toBe('COMPLETED');
      expect(desc.typedSearchAttributes.get({ name: 'LifeboatCluster', type: 'KEYWORD' } as never)).toBe('primary');
    } finally {
      await connection.close();
    }
  });

  it('runs from the prebuilt bundle (npm run build:workflows) that production workers use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bundle-'));
    const settings = temporalSettings();
    const before = process.env.LIFEBOAT_WORKFLOW_BUNDLE;
    try {
      const built = await buildWorkflowBundle(join(dir, 'workflows.js'));
      expect(built.bytes).toBeGreaterThan(10_000);
      process.env.LIFEBOAT_WORKFLOW_BUNDLE = built.file;
      const workers = await createWorkers({ settings });
      const connection = await Connection.connect(settings.connection);
      try {
        const client = new Client({ connection, namespace: settings.namespace });
        const result = await workers.runUntil(
          client.workflow.execute('clusterProbe', { taskQueue: TASK_QUEUE, workflowId: unique('probe-bundle'), args: [{ spec: primarySpec(), records: 5 }] }),
        );
        expect(result).toMatchObject({ ok: true, consumed: 5 });
      } finally {
        await connection.close();
      }
    } finally {
      if (before === undefined) delete process.env.LIFEBOAT_WORKFLOW_BUNDLE;
      else process.env.LIFEBOAT_WORKFLOW_BUNDLE = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
