/** The lab's Alertmanager config: valid for the installed Alertmanager (amtool), pointing at the lab's receiver port and token file. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { alertmanagerConfig } from '../../lab/alertmanager';
import { alertmanagerUrls, labEnv, labTopology, receiverListen } from '../../lab/topology';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-am-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const topo = labTopology({ LIFEBOAT_LAB_DIR: dir, LIFEBOAT_LAB_KAFKA_PORT_BASE: '22000' });

describe('lab Alertmanagers', () => {
  it('sit at kafka base + 793/794 and notify the receiver at base + 795; lab env says where', () => {
    expect(alertmanagerUrls(topo)).toEqual(['http://127.0.0.1:22793', 'http://127.0.0.1:22794']);
    expect(receiverListen(topo)).toBe('127.0.0.1:22795');
    expect(labEnv(topo)).toMatchObject({
      LIFEBOAT_LAB_ALERTMANAGER_URLS: 'http://127.0.0.1:22793,http://127.0.0.1:22794',
      LIFEBOAT_LAB_RECEIVER_LISTEN: '127.0.0.1:22795',
      LIFEBOAT_LAB_RECEIVER_TOKEN_FILE: join(dir, 'alertmanager', 'receiver.token'),
    });
    expect(new Set(topo.alertmanager.instances.map((a) => a.storageDir)).size).toBe(2);
  });

  it('have one route to lifeboat serve with the bearer token file, resolved alerts included, and amtool accepts the config', () => {
    const text = alertmanagerConfig(topo);
    const cfg = parse(text) as { route: Record<string, unknown>; receivers: { name: string; webhook_configs: Record<string, unknown>[] }[] };
    expect(cfg.route).toMatchObject({ receiver: 'lifeboat', group_wait: '0s', group_by: ['...'] });
    // The second receiver is tests' own webhook, for alerts labelled lifeboat_test_webhook="true" only.
    expect(cfg.receivers.map((r) => r.name)).toEqual(['lifeboat', 'test-webhook']);
    expect(cfg.route.routes).toEqual([{ receiver: 'test-webhook', matchers: ['lifeboat_test_webhook="true"'] }]);
    expect(cfg.receivers[1]!.webhook_configs[0]).toMatchObject({ url: 'http://127.0.0.1:22798/alerts', send_resolved: true });
    expect(cfg.receivers[0]!.webhook_configs[0]).toMatchObject({
      url: 'http://127.0.0.1:22795/v1/alerts/alertmanager',
      send_resolved: true,
      http_config: { authorization: { type: 'Bearer', credentials_file: join(dir, 'alertmanager', 'receiver.token') } },
    });
    const file = join(dir, 'alertmanager.yml');
    writeFileSync(file, text);
    const out = execFileSync('amtool', ['check-config', file], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
  });
});
