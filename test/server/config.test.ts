import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServerConfig, resolveServerConfig, splitListen } from '../../src/server/config';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-serve-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('receiver config', () => {
  it('reads the token from a file relative to the config, and fills the defaults', () => {
    writeFileSync(join(dir, 'token'), 'tok-1\n');
    writeFileSync(join(dir, 'r.yaml'), 'token: {file: token}\nclusters: [primary, east-1]\n');
    expect(loadServerConfig(join(dir, 'r.yaml'))).toEqual({
      listen: '127.0.0.1:9464',
      token: 'tok-1',
      match: { labels: { lifeboat_action: 'failover' }, clusterLabel: 'lifeboat_cluster', clusters: ['primary', 'east-1'] },
      temporalTimeoutMs: 10_000,
    });
  });

  it('reads the HMAC secret from the environment, with Grafana\'s header names by default', () => {
    const c = resolveServerConfig({ token: { env: 'TOK' }, hmac: { secret: { env: 'HM' }, skewSeconds: 60 }, clusters: ['primary'], match: { labels: { page: 'dr' }, clusterLabel: 'kafka' } }, 'x.yaml', dir, {
      TOK: 't',
      HM: 'h',
    });
    expect(c.hmac).toEqual({ secret: 'h', skewSeconds: 60, header: 'X-Grafana-Alerting-Signature', timestampHeader: 'X-Grafana-Alerting-Timestamp', routes: ['alertmanager', 'grafana', 'generic'] });
    expect(c.match).toEqual({ labels: { page: 'dr' }, clusterLabel: 'kafka', clusters: ['primary'] });
  });

  it('refuses to start without a token, without clusters, or with a secret it cannot read: one line per field', () => {
    expect(() => resolveServerConfig({ clusters: ['primary'] }, 'r.yaml', dir, {})).toThrow(/invalid receiver config r.yaml:\n {2}token: /);
    expect(() => resolveServerConfig({ token: { env: 'T' } }, 'r.yaml', dir, { T: 'x' })).toThrow(/clusters: /);
    expect(() => resolveServerConfig({ token: { env: 'T' }, clusters: ['primary'] }, 'r.yaml', dir, {})).toThrow('token: T is not set in the environment of lifeboat serve');
    expect(() => resolveServerConfig({ token: { file: 'missing' }, clusters: ['primary'] }, 'r.yaml', dir, {})).toThrow(`token: cannot read ${join(dir, 'missing')}: ENOENT`);
    expect(() => resolveServerConfig({ token: { env: 'T' }, clusters: ['Primary'] }, 'r.yaml', dir, { T: 'x' })).toThrow(/clusters.0: a cluster spec name/);
    expect(() => resolveServerConfig({ token: { env: 'T' }, clusters: ['primary'], listen: 'nowhere' }, 'r.yaml', dir, { T: 'x' })).toThrow(/listen: host:port/);
    writeFileSync(join(dir, 'bad.yaml'), 'token: [\n');
    expect(() => loadServerConfig(join(dir, 'bad.yaml'))).toThrow(/is not valid YAML/);
  });

  it('splits listen addresses, IPv6 included', () => {
    expect(splitListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(splitListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
  });
});
