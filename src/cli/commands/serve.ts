/**
 * `lifeboat serve --config <receiver.yaml> [--listen host:port]`: the HTTP alert receiver
 * (src/server). Alerting systems POST alerts; a matching firing alert starts (or joins) the failover
 * of its cluster and incident in Temporal. Temporal from its env conventions (TEMPORAL_ADDRESS …).
 * The connection is lazy: the receiver starts while Temporal is down and answers 503 until it is
 * back (Alertmanager retries). SIGTERM/SIGINT: stop accepting, finish the requests under way, exit 0.
 * With a `metrics` section in the config, GET /metrics exports the backup facts of the specs it names
 * (src/monitoring/metrics.ts), gathered on scrape.
 */
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { EXIT, LifeboatError } from '../../errors';
import { kafkaFor } from '../../kafka/client';
import { readState } from '../../kafka/mirror/state';
import { mirrorLagOf, renderMetrics } from '../../monitoring/metrics';
import { factsWatcher } from '../../monitoring/metricsSource';
import { gatherBackupFacts } from '../../monitoring/facts';
import { buildReceiver } from '../../server/app';
import { DEFAULT_LISTEN, listenAddress, loadServerConfig, splitListen } from '../../server/config';
import { temporalSettings } from '../../temporal/connection';
import { BadValue, commandLine, text } from '../options';

export const summary = 'the HTTP alert receiver: Alertmanager/Grafana alerts start failovers';
const CLI = commandLine(
  'lifeboat serve',
  'usage: lifeboat serve --config <receiver.yaml> [--listen host:port]',
  [
    text('config', '<receiver.yaml>', 'the receiver config: token, optional hmac, match labels, allowed clusters'),
    text('listen', '<host:port>', `where to listen (default: the config's listen, else ${DEFAULT_LISTEN})`, (raw) => {
      const r = listenAddress.safeParse(raw);
      if (!r.success) throw new BadValue(`must be host:port such as ${DEFAULT_LISTEN}, got ${JSON.stringify(raw)}`);
      return raw;
    }),
  ],
  `Routes: POST /v1/alerts/alertmanager, /v1/alerts/grafana, /v1/alerts/generic (Authorization: Bearer <token>); GET /healthz;
GET /metrics (the backup facts of the config's metrics.specs, Prometheus format).
One JSON audit line per alert on stdout. See docs/cli.md, "serve".`,
);

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = CLI.parse(argv);
  if (positionals.length) throw CLI.error(`unexpected argument ${positionals[0]}`);
  if (!values.config) throw CLI.error('--config <receiver.yaml> is required (the token lives there: the receiver never runs open)');
  const config = loadServerConfig(values.config);
  if (values.listen) config.listen = values.listen;
  const settings = temporalSettings();
  const audit = pino({ base: { name: 'lifeboat-serve' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 1, sync: true }));
  const connection = Connection.lazy({ ...settings.connection, connectTimeout: 5000 });
  const client = new Client({ connection, namespace: settings.namespace });
  const m = config.metrics;
  const watch =
    m &&
    factsWatcher({
      paths: m.specs,
      gather: (spec) => gatherBackupFacts(spec, { temporal: client }),
      // A watched cluster that is a mirror's target holds its state: the lag, without asking the source.
      mirror: async (spec, signal) => mirrorLagOf((await readState(kafkaFor(spec, 'metrics'), undefined, signal)).positions.values()),
      timeoutMs: m.timeoutMs,
      cacheMs: m.cacheMs,
    });
  const app = buildReceiver({ config, client, audit, ...(watch ? { metrics: async () => renderMetrics(await watch()) } : {}) });
  const { host, port } = splitListen(config.listen);
  try {
    await app.listen({ host, port });
  } catch (e) {
    await connection.close().catch(() => {});
    throw new LifeboatError('InvalidInput', `cannot listen on ${config.listen}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  audit.info({ event: 'listening', listen: config.listen, temporal: settings.address, namespace: settings.namespace, clusters: config.match.clusters, ...(m ? { metricsSpecs: m.specs } : {}) }, 'lifeboat serve listening');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      audit.info({ event: 'stopping', signal }, 'lifeboat serve stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // Requests under way are answered (each after Temporal answered it); new ones get 503.
  await app.close();
  await connection.close().catch(() => {});
  audit.info({ event: 'stopped' }, 'lifeboat serve stopped');
  return EXIT.OK;
}
