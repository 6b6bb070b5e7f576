/**
 * GET /metrics on the receiver: the exposition without the token (as /healthz), 404 with the reason
 * when the config watches no specs, and the serve config's `metrics` section (paths from the config's
 * directory, defaults, unknown keys refused).
 */
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReceiver } from '../../src/server/app';
import { resolveServerConfig, type ServerConfig } from '../../src/server/config';
import { renderMetrics } from '../../src/monitoring/metrics';

const connection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 500 });
const client = new Client({ connection });
const audit = pino({ level: 'silent' });
const config: ServerConfig = {
  listen: '127.0.0.1:0',
  token: 't',
  match: { labels: { lifeboat_action: 'failover' }, clusterLabel: 'lifeboat_cluster', clusters: ['primary'] },
  temporalTimeoutMs: 1000,
};
afterAll(() => connection.close().catch(() => {}));

describe('GET /metrics', () => {
  it('answers the exposition, no token needed', async () => {
    const app = buildReceiver({
      config,
      client,
      audit,
      metrics: () =>
        renderMetrics([
          { spec: '/s/p.yaml', cluster: 'primary', facts: { cluster: 'primary', gatheredAt: '2026-12-03T12:00:00Z', expectedIntervalSeconds: 600, schedule: { id: 'b', exists: false, paused: false }, tiers: [], failures: [] } },
        ]),
    });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('lifeboat_backup_expected_interval_seconds{cluster="primary"} 600');
    await app.close();
  });

  it('with metrics.requireToken, a scrape needs the bearer token', async () => {
    const app = buildReceiver({ config: { ...config, metrics: { specs: ['/s'], cacheMs: 0, timeoutMs: 1000, requireToken: true } }, client, audit, metrics: () => renderMetrics([]) });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer t' } })).statusCode).toBe(200);
    await app.close();
  });

  it('404 with what to configure when no specs are watched', async () => {
    const app = buildReceiver({ config, client, audit });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatch(/no "metrics" section/);
    await app.close();
  });
});

describe('serve config: metrics', () => {
  const base = { token: { env: 'T' }, clusters: ['primary'] };
  const env = { T: 'tok' };
  it('resolves spec paths against the config file and applies the defaults', () => {
    const c = resolveServerConfig({ ...base, metrics: { specs: ['specs/', '/abs/p.yaml'] } }, 'r.yaml', '/etc/lifeboat', env);
    expect(c.metrics).toEqual({ specs: ['/etc/lifeboat/specs', '/abs/p.yaml'], cacheMs: 10_000, timeoutMs: 20_000, requireToken: false });
    expect(resolveServerConfig(base, 'r.yaml', '/etc/lifeboat', env).metrics).toBeUndefined();
  });
  it('refuses an empty list and unknown keys, naming the field', () => {
    expect(() => resolveServerConfig({ ...base, metrics: { specs: [] } }, 'r.yaml', '/x', env)).toThrow(/metrics\.specs/);
    expect(() => resolveServerConfig({ ...base, metrics: { specs: ['a'], every: 5 } }, 'r.yaml', '/x', env)).toThrow(/metrics.*every/);
  });
});
