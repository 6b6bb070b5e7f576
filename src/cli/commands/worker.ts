/**
 * `lifeboat worker [--spec <file>]... [--specs-dir <dir>] [--host <name>]... [--adapter <module>]... [--no-control]`:
 * the Temporal worker. Connection from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY /
 * TEMPORAL_TLS_*. The specs it is started with are the clusters its workflows can name
 * (`{ "cluster": "<name>" }`); it serves the host queues of every broker in them (what the lab and
 * single-host installs want) and of each --host.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { loadSpecCatalog } from '../../config/catalog';
import { EXIT } from '../../errors';
import { loadAdapterModules } from '../../host/adapterModules';
import { temporalSettings } from '../../temporal/connection';
import { createWorkers } from '../../temporal/worker';
import { commandLine, flag, repeated, specs, text } from '../options';

export const summary = 'run the Temporal worker (control queue and host queues)';
const CLI = commandLine(
  'lifeboat worker',
  'usage: lifeboat worker [--spec <cluster.yaml>]... [--specs-dir <dir>] [--host <name>]... [--adapter <module>]... [--no-control]',
  [
    specs,
    text('specs-dir', '<dir>', 'every cluster spec (*.yaml, *.yml) in this directory'),
    repeated('host', '<name>', "also serve this host's queue, lifeboat-host-<name> (repeatable)"),
    repeated('adapter', '<module>', 'load a module that registers broker-control adapters (a path from here, or a package; repeatable; also LIFEBOAT_ADAPTERS)'),
    flag('no-control', 'serve only host queues, not the control queue (which runs the workflows)'),
  ],
  `Workflows started with { "cluster": "<name>" } find their spec among the --spec files and the --specs-dir;
the worker serves the host queue of every broker in them.`,
);

export async function run(argv: string[]): Promise<number> {
  const { values } = CLI.parse(argv);
  // Adapters first: a spec may name one (control: {type: adapter, adapter: <name>}).
  // A path as typed (lab/brokerControl.ts, ./x.ts, /abs/x.ts) is a file from here; otherwise a package name.
  await loadAdapterModules((values.adapter ?? []).map((m) => (!m.startsWith('.') && !isAbsolute(m) && existsSync(m) ? resolve(m) : m)));
  const catalog = values.spec?.length || values['specs-dir'] !== undefined ? loadSpecCatalog({ files: values.spec, dir: values['specs-dir'] }) : undefined;
  const hosts = new Set(values.host ?? []);
  for (const name of catalog?.names() ?? []) for (const b of catalog!.get(name).spec.brokers) hosts.add(b.host);
  const settings = temporalSettings();
  const workers = await createWorkers({ settings, hosts: [...hosts], control: !values['no-control'], ...(catalog ? { specs: catalog } : {}) });
  const stop = () => workers.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const clusters = catalog?.names().length ? `, clusters: ${catalog.names().join(', ')}` : '';
  console.error(`lifeboat worker: ${settings.address} namespace ${settings.namespace}, queues: ${workers.workers.map((w) => w.options.taskQueue).join(', ')}${clusters}`);
  await workers.run();
  return EXIT.OK;
}
