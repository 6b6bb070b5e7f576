/**
 * The alert receiver's HTTP routes (Fastify):
 *   POST /v1/alerts/alertmanager   Alertmanager webhook, version 4
 *   POST /v1/alerts/grafana        Grafana webhook contact point
 *   POST /v1/alerts/generic        one alert as documented JSON (docs/cli.md, "serve")
 *   GET  /healthz                  200 when Temporal answers, else 503
 *   GET  /metrics                  Prometheus exposition of the watched specs' backup facts (config `metrics`)
 * Fail closed: the bearer token is checked before the body is read (a 401 never logs or parses it);
 * the HMAC, where configured, over the raw bytes. Answers: 200 once Temporal has the alert (a run
 * started or joined, or the incident already handled), 202 when nothing was to be done (labels or
 * cluster not matching; a resolved alert without a running failover), 400 for a body that cannot be
 * read, 401 for auth, 503 when Temporal could not be reached (senders retry 5xx), 500 when Temporal
 * refused for a reason of its own. Every alert is one audit line (pino) with the action taken.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { alertmanagerBody, genericBody, grafanaBody, normalizeGeneric, normalizeWebhook, type Normalized, type Route, zodLine } from './alerts';
import { checkBearer, checkHmac } from './auth';
import type { ServerConfig } from './config';
import { type IntakeResult, signalResolved, startOrSignal, temporalAnswers } from './intake';

export interface ReceiverDeps {
  config: ServerConfig;
  client: Client;
  /** The audit log: one line per alert, one per refused request. */
  audit: Logger;
  /** The exposition for GET /metrics (src/monitoring/metrics.ts), when the config watches specs. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

/** One alert's outcome in the answer. */
export interface AlertOutcome {
  status: 'firing' | 'resolved';
  action: string;
  cluster?: string;
  incident?: string;
  workflowId?: string;
  runId?: string;
  alertname?: string;
  fingerprint?: string;
  reason?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

const ROUTES: Record<string, Route> = {
  '/v1/alerts/alertmanager': 'alertmanager',
  '/v1/alerts/grafana': 'grafana',
  '/v1/alerts/generic': 'generic',
};

const BODY_NAMES: Record<Route, string> = {
  alertmanager: 'an Alertmanager webhook body (version 4)',
  grafana: 'a Grafana webhook body',
  generic: 'a generic alert ({cluster, status, incident?, summary?, labels?, startsAt?})',
};

const bad = (reply: FastifyReply, code: number, error: string) => reply.code(code).send({ error });

export function buildReceiver(deps: ReceiverDeps): FastifyInstance {
  const { config, client, audit, metrics } = deps;
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, return503OnClosing: true, forceCloseConnections: 'idle' });

  // The raw bytes are kept: the HMAC is over what was sent, not over a re-serialised object.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    try {
      done(null, body.length ? JSON.parse(body.toString('utf8')) : undefined);
    } catch (e) {
      done(Object.assign(new Error(`the body is not JSON: ${(e as Error).message}`), { statusCode: 400 }), undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    const route = ROUTES[req.routeOptions.url ?? ''];
    if (!route) return;
    const refused = checkBearer(req.headers.authorization, config.token);
    if (refused) {
      // Without the body: an unauthenticated body is never read.
      audit.warn({ event: 'unauthorized', route, remote: req.ip, reason: refused }, 'request refused');
      return bad(reply, 401, `unauthorized: ${refused}`);
    }
  });

  app.addHook('preHandler', async (req, reply) => {
    const route = ROUTES[req.routeOptions.url ?? ''];
    const hmac = config.hmac;
    if (!route || !hmac || !hmac.routes.includes(route)) return;
    const header = (name: string) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    };
    const refused = checkHmac(hmac, header(hmac.header), header(hmac.timestampHeader), req.rawBody ?? Buffer.alloc(0));
    if (refused) {
      audit.warn({ event: 'unauthorized', route, remote: req.ip, reason: refused }, 'request refused');
      return bad(reply, 401, `unauthorized: ${refused}`);
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return bad(reply, code, err.message.split('\n')[0]!);
  });
  app.setNotFoundHandler((req, reply) => bad(reply, 404, `no route ${req.method} ${req.url} (POST /v1/alerts/alertmanager, /v1/alerts/grafana, /v1/alerts/generic; GET /healthz, /metrics)`));

  app.get('/healthz', async (_req, reply) => {
    const problem = await temporalAnswers(client, Math.min(config.temporalTimeoutMs, 3000));
    return problem ? reply.code(503).send({ ok: false, temporal: problem }) : { ok: true };
  });

  // Read-only, and without the token unless the config asks for it (serve listens on loopback by default).
  app.get('/metrics', async (req, reply) => {
    if (!metrics) return bad(reply, 404, 'no metrics: the receiver config has no "metrics" section naming the cluster specs to watch (docs/monitoring.md)');
    const refused = config.metrics?.requireToken ? checkBearer(req.headers.authorization, config.token) : undefined;
    if (refused) {
      audit.warn({ event: 'unauthorized', route: 'metrics', remote: req.ip, reason: refused }, 'request refused');
      return bad(reply, 401, `unauthorized: ${refused}`);
    }
    const { contentType, body } = await metrics();
    return reply.code(200).header('content-type', contentType).send(body);
  });

  /** Acts on every alert of a request (in parallel), audits each, and answers once Temporal has answered for all. */
  async function act(route: Route, req: FastifyRequest, reply: FastifyReply, alerts: Normalized[]) {
    // Who sent it (Alertmanager/0.25.0, Grafana/…): HA pairs and retries show up as several senders.
    const agent = req.headers['user-agent'];
    const outcomes = await Promise.all(
      alerts.map(async (n): Promise<{ outcome: AlertOutcome; result?: IntakeResult }> => {
        if (!n.act) {
          const outcome: AlertOutcome = { status: n.status, action: 'ignored', cluster: n.cluster, alertname: n.alertname, fingerprint: n.fingerprint, reason: n.reason };
          audit.info({ event: 'alert', route, agent, ...outcome }, 'alert ignored');
          return { outcome };
        }
        const { alert, workflowId } = n;
        const result = alert.status === 'firing' ? await startOrSignal(client, workflowId, alert, config.temporalTimeoutMs) : await signalResolved(client, workflowId, alert, config.temporalTimeoutMs);
        const outcome: AlertOutcome = {
          status: alert.status,
          action: result.ok ? result.action : result.transient ? 'temporal-unavailable' : 'temporal-refused',
          cluster: alert.cluster,
          incident: alert.incident,
          workflowId,
          ...(result.ok && result.runId ? { runId: result.runId } : {}),
          ...(alert.alertname ? { alertname: alert.alertname } : {}),
          fingerprint: alert.fingerprint,
          ...(result.ok ? {} : { reason: result.error }),
        };
        (result.ok ? audit.info.bind(audit) : audit.error.bind(audit))({ event: 'alert', route, agent, ...outcome }, `alert ${outcome.action}`);
        return { outcome, result };
      }),
    );
    const results = outcomes.map((o) => o.outcome);
    const failed = outcomes.map((o) => o.result).filter((r): r is Extract<IntakeResult, { ok: false }> => !!r && !r.ok);
    if (failed.some((r) => r.transient)) return reply.code(503).send({ error: `Temporal did not answer, try again: ${failed[0]!.error}`, results });
    if (failed.length) return reply.code(500).send({ error: failed[0]!.error, results });
    const handled = outcomes.some((o) => o.result?.ok && o.result.action !== 'resolved-no-run');
    return reply.code(handled ? 200 : 202).send({ results });
  }

  function parse<T>(schema: ZodType<T>, req: FastifyRequest, reply: FastifyReply, route: Route): T | undefined {
    const parsed = schema.safeParse(req.body);
    if (parsed.success) return parsed.data;
    const error = `not ${BODY_NAMES[route]}: ${zodLine(parsed.error)}`;
    audit.warn({ event: 'bad-request', route, remote: req.ip, reason: error }, 'request refused');
    void bad(reply, 400, error);
    return undefined;
  }

  app.post('/v1/alerts/alertmanager', async (req, reply) => {
    const body = parse(alertmanagerBody, req, reply, 'alertmanager');
    if (!body) return reply;
    return act('alertmanager', req, reply, normalizeWebhook('alertmanager', body, config.match, new Date().toISOString()));
  });
  app.post('/v1/alerts/grafana', async (req, reply) => {
    const body = parse(grafanaBody, req, reply, 'grafana');
    if (!body) return reply;
    return act('grafana', req, reply, normalizeWebhook('grafana', body, config.match, new Date().toISOString()));
  });
  app.post('/v1/alerts/generic', async (req, reply) => {
    const body = parse(genericBody, req, reply, 'generic');
    if (!body) return reply;
    const n = normalizeGeneric(body, config.match, new Date().toISOString());
    if ('error' in n) {
      audit.warn({ event: 'bad-request', route: 'generic', remote: req.ip, reason: n.error }, 'request refused');
      return bad(reply, 400, n.error);
    }
    return act('generic', req, reply, [n]);
  });
  return app;
}
