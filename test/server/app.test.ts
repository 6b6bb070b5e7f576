/**
 * The receiver's HTTP answers that need no Temporal (auth, bad bodies, not matching), and the 503 a
 * sender retries when Temporal is down: a real client of a Temporal that is not there (a closed port).
 */
import { createServer } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildReceiver } from '../../src/server/app';
import { hmacSignature } from '../../src/server/auth';
import type { ServerConfig } from '../../src/server/config';

const TOKEN = 'unit-token';
const lines: Record<string, unknown>[] = [];
const audit = pino(
  { base: null },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  }),
);

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

let app: FastifyInstance;
let signed: FastifyInstance;
let connection: Connection;
const config = (over: Partial<ServerConfig> = {}): ServerConfig => ({
  listen: '127.0.0.1:0',
  token: TOKEN,
  match: { labels: { lifeboat_action: 'failover' }, clusterLabel: 'lifeboat_cluster', clusters: ['primary'] },
  temporalTimeoutMs: 3000,
  ...over,
});

beforeAll(async () => {
  connection = Connection.lazy({ address: `127.0.0.1:${await closedPort()}`, connectTimeout: 1000 });
  const client = new Client({ connection });
  app = buildReceiver({ config: config(), client, audit });
  signed = buildReceiver({ config: config({ hmac: { secret: 'hm', skewSeconds: 300, header: 'X-Sig', timestampHeader: 'X-Ts', routes: ['generic'] } }), client, audit });
});
afterAll(async () => {
  await app?.close();
  await signed?.close();
  await connection?.close().catch(() => {});
});

const am = (labels: Record<string, string>) =>
  JSON.stringify({ version: '4', status: 'firing', groupKey: 'g', receiver: 'r', alerts: [{ status: 'firing', labels, annotations: {}, startsAt: '2026-12-03T15:00:00Z', fingerprint: 'f1' }] });
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

describe('lifeboat serve routes', () => {
  it('401 without or with a wrong token, logged without the body', async () => {
    const body = am({ alertname: 'SECRET-BODY', lifeboat_action: 'failover', lifeboat_cluster: 'primary' });
    const none = await app.inject({ method: 'POST', url: '/v1/alerts/alertmanager', headers: { 'content-type': 'application/json' }, payload: body });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ error: 'unauthorized: no Authorization header' });
    const wrong = await app.inject({ method: 'POST', url: '/v1/alerts/grafana', headers: { ...auth, authorization: 'Bearer nope' }, payload: body });
    expect(wrong.statusCode).toBe(401);
    const refused = lines.filter((l) => l.event === 'unauthorized');
    expect(refused.map((l) => l.reason)).toEqual(['no Authorization header', 'wrong bearer token']);
    expect(JSON.stringify(lines)).not.toContain('SECRET-BODY');
  });

  it('400 with one line for a body that is not JSON or not the route\'s format', async () => {
    const notJson = await app.inject({ method: 'POST', url: '/v1/alerts/alertmanager', headers: auth, payload: '{"version":' });
    expect(notJson.statusCode).toBe(400);
    expect((notJson.json() as { error: string }).error).toMatch(/^the body is not JSON: /);
    const v3 = await app.inject({ method: 'POST', url: '/v1/alerts/alertmanager', headers: auth, payload: JSON.stringify({ version: '3', status: 'firing', groupKey: 'g', alerts: [] }) });
    expect(v3.statusCode).toBe(400);
    expect((v3.json() as { error: string }).error).toMatch(/^not an Alertmanager webhook body \(version 4\): version: /);
    const generic = await app.inject({ method: 'POST', url: '/v1/alerts/generic', headers: auth, payload: JSON.stringify({ cluster: 'primary', status: 'firing' }) });
    expect(generic.statusCode).toBe(400);
    expect(generic.json()).toEqual({ error: 'give "incident" or "startsAt": one of them names the incident' });
  });

  it('202 and an audit line for alerts that do not match (Temporal is never asked)', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/alerts/alertmanager', headers: auth, payload: am({ alertname: 'DiskFull', lifeboat_cluster: 'primary' }) });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ results: [{ action: 'ignored', reason: 'labels do not match (lifeboat_action=failover)' }] });
    expect(lines.at(-1)).toMatchObject({ event: 'alert', route: 'alertmanager', action: 'ignored', alertname: 'DiskFull' });
  });

  it('503 (the sender retries) when Temporal cannot be reached, and /healthz says so', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/alerts/alertmanager', headers: auth, payload: am({ alertname: 'KafkaDown', lifeboat_action: 'failover', lifeboat_cluster: 'primary' }) });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: expect.stringMatching(/^Temporal did not answer, try again: /), results: [{ action: 'temporal-unavailable', cluster: 'primary' }] });
    expect(lines.at(-1)).toMatchObject({ event: 'alert', action: 'temporal-unavailable' });
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(503);
  });

  it('HMAC where configured: the signature over timestamp:raw body, within the skew window', async () => {
    const payload = JSON.stringify({ cluster: 'elsewhere', status: 'firing', incident: 'x' });
    const ts = String(Math.floor(Date.now() / 1000));
    const good = await signed.inject({ method: 'POST', url: '/v1/alerts/generic', headers: { ...auth, 'x-ts': ts, 'x-sig': hmacSignature('hm', ts, payload) }, payload });
    // Signed correctly; the cluster is not allowed, so nothing reaches Temporal.
    expect(good.statusCode).toBe(202);
    const bad = await signed.inject({ method: 'POST', url: '/v1/alerts/generic', headers: { ...auth, 'x-ts': ts, 'x-sig': hmacSignature('other', ts, payload) }, payload });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toEqual({ error: 'unauthorized: wrong signature' });
    const old = String(Number(ts) - 3600);
    const stale = await signed.inject({ method: 'POST', url: '/v1/alerts/generic', headers: { ...auth, 'x-ts': old, 'x-sig': hmacSignature('hm', old, payload) }, payload });
    expect(stale.statusCode).toBe(401);
    expect((stale.json() as { error: string }).error).toMatch(/^unauthorized: the timestamp is 36\d\d s away/);
    // The same JSON re-serialised differently is not what was signed.
    const reformatted = await signed.inject({ method: 'POST', url: '/v1/alerts/generic', headers: { ...auth, 'x-ts': ts, 'x-sig': hmacSignature('hm', ts, payload) }, payload: JSON.stringify(JSON.parse(payload), null, 1) });
    expect(reformatted.statusCode).toBe(401);
    // Routes outside hmac.routes need only the token.
    const amRoute = await signed.inject({ method: 'POST', url: '/v1/alerts/alertmanager', headers: auth, payload: am({ alertname: 'DiskFull' }) });
    expect(amRoute.statusCode).toBe(202);
  });

  it('404 with the routes for anything else', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/alerts/pagerduty', headers: auth, payload: '{}' });
    expect(res.statusCode).toBe(404);
    expect((res.json() as { error: string }).error).toMatch(/^no route POST \/v1\/alerts\/pagerduty/);
  });
});
