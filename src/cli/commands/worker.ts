/**
 * `lifeboat worker [--host <name> ...] [--no-control]`: the Temporal worker. Connection from
 * TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY / TEMPORAL_TLS_*; with `--spec`, serves
 * the host queues of every broker in that spec (what the lab and single-host installs want).
 */
import { EXIT } from '../../errors';
import { loadSpec } from '../../config/spec';
import { temporalSettings } from '../../temporal/connection';
import { createWorkers } from '../../temporal/worker';
import { parseCli } from '../output';

export const summary = 'run the Temporal worker (control queue and host queues)';
const USAGE = 'usage: lifeboat worker [--host <name>]... [--spec <cluster.yaml>]... [--no-control]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    { host: { type: 'string', multiple: true }, spec: { type: 'string', multiple: true }, 'no-control': { type: 'boolean' } },
    USAGE,
  );
  const hosts = new Set(values.host ?? []);
  for (const file of values.spec ?? []) for (const b of loadSpec(file).brokers) hosts.add(b.host);
  const settings = temporalSettings();
  const workers = await createWorkers({ settings, hosts: [...hosts], control: !values['no-control'] });
  const stop = () => workers.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.error(`lifeboat worker: ${settings.address} namespace ${settings.namespace}, queues: ${workers.workers.map((w) => w.options.taskQueue).join(', ')}`);
  await workers.run();
  return EXIT.OK;
}
