/**
 * `lifeboat demo`: the main job on the lab. For now: the clusterProbe workflow on both lab clusters
 * through a real worker, with links to the runs in the Temporal UI.
 */
import { Client, Connection } from '@temporalio/client';
import { EXIT } from '../../errors';
import { loadSpec } from '../../config/spec';
import { labTopology } from '../../lab/topology';
import { TASK_QUEUE, temporalSettings, workflowUiLink } from '../../temporal/connection';
import { createWorkers } from '../../temporal/worker';
import { output, parseCli } from '../output';

export const summary = 'run the lab demo (needs `npm run lab -- up`)';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { json: { type: 'boolean' } }, 'usage: lifeboat demo [--json]');
  const out = output(values.json ?? false);
  const settings = temporalSettings();
  const workers = await createWorkers({ settings });
  const connection = await Connection.connect(settings.connection);
  let ok = true;
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    await workers.runUntil(
      (async () => {
        for (const cluster of labTopology().clusters) {
          const spec = loadSpec(cluster.specFile);
          const workflowId = `probe-${spec.name}-${Date.now()}`;
          out.progress(`probing "${spec.name}" through workflow ${workflowId} ...`);
          const r = await client.workflow.execute('clusterProbe', { taskQueue: TASK_QUEUE, workflowId, args: [{ spec }] });
          ok &&= r.ok;
          out.result(
            { cluster: spec.name, workflowId, ui: workflowUiLink(settings, workflowId), ...r },
            `${spec.name}: ${r.ok ? 'ok' : 'FAILED'} — ${r.consumed}/${r.produced} records round-tripped in ${r.roundTripMs} ms\n  ${workflowUiLink(settings, workflowId) ?? workflowId}`,
          );
        }
      })(),
    );
  } finally {
    await connection.close();
  }
  return ok ? EXIT.OK : EXIT.PARTIAL;
}
