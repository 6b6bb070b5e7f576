/**
 * The lab's two Alertmanagers (Debian's prometheus-alertmanager, installed by provisioning): an HA
 * pair that does not gossip (`--cluster.listen-address=`), so both notify, as a pair whose gossip is
 * cut would. Each has one route to one webhook receiver, `lifeboat serve` on the lab's receiver port
 * (`POST /v1/alerts/alertmanager`, bearer token from the token file the lab writes), grouped per alert
 * and quick (group_wait 0s, group_interval 1s) so tests see a posted alert within a second or two.
 * Alerts are posted to their API (`POST /api/v2/alerts`). Start-up takes well under a second.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ManagedProcess, runningPid, startDetached, stopProcess, tail, waitUntil } from '../src/host/processes';
import { ensureAlertmanager } from './provision';
import type { LabAlertmanager, LabTopology } from './topology';

/** The receiver's bearer token, made once per lab (the receiver's config and Alertmanager read the file). */
export function ensureReceiverToken(topo: LabTopology): string {
  const file = topo.alertmanager.tokenFile;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

/**
 * Tests' own webhook (kafka base + 798): alerts labelled lifeboat_test_webhook="true" go there
 * instead of to lifeboat serve, so a test can run a receiver and see what Alertmanager delivers.
 */
export const testWebhookPort = (topo: LabTopology): number => topo.alertmanager.receiverPort + 3;
export const TEST_WEBHOOK_LABEL = 'lifeboat_test_webhook';

export function alertmanagerConfig(topo: LabTopology): string {
  return [
    '# Lifeboat lab Alertmanager: every alert to lifeboat serve, tests\' alerts to their webhook (written by lab up)',
    'global:',
    '  resolve_timeout: 1m',
    'route:',
    '  receiver: lifeboat',
    "  group_by: ['...']",
    '  group_wait: 0s',
    '  group_interval: 1s',
    '  repeat_interval: 1m',
    '  routes:',
    '    - receiver: test-webhook',
    `      matchers: ['${TEST_WEBHOOK_LABEL}="true"']`,
    'receivers:',
    '  - name: lifeboat',
    '    webhook_configs:',
    `      - url: http://127.0.0.1:${topo.alertmanager.receiverPort}/v1/alerts/alertmanager`,
    '        send_resolved: true',
    '        max_alerts: 0',
    '        http_config:',
    '          authorization:',
    '            type: Bearer',
    `            credentials_file: ${topo.alertmanager.tokenFile}`,
    '  - name: test-webhook',
    '    webhook_configs:',
    `      - url: http://127.0.0.1:${testWebhookPort(topo)}/alerts`,
    '        send_resolved: true',
    '',
  ].join('\n');
}

export function alertmanagerProcess(binary: string, am: LabAlertmanager): ManagedProcess {
  return {
    name: am.name,
    command: binary,
    args: ['--config.file', am.configFile, `--storage.path=${am.storageDir}`, `--web.listen-address=127.0.0.1:${am.port}`, '--cluster.listen-address=', '--log.level=warn'],
    pidFile: am.pidFile,
    logFile: am.logFile,
    marker: am.configFile,
  };
}

/** The process as `down`/`status` know it (by pid file and marker; the binary does not matter there). */
const managed = (am: LabAlertmanager): Pick<ManagedProcess, 'pidFile' | 'marker'> => ({ pidFile: am.pidFile, marker: am.configFile });

export const alertmanagerPid = (am: LabAlertmanager): number | undefined => runningPid(managed(am));

export async function alertmanagerReady(am: LabAlertmanager): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${am.port}/-/ready`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Writes the configs (every `up`: the receiver port follows the lab's ports) and starts both. */
export async function startAlertmanagers(topo: LabTopology, log: (m: string) => void): Promise<void> {
  const binary = ensureAlertmanager(log);
  ensureReceiverToken(topo);
  await Promise.all(
    topo.alertmanager.instances.map(async (am) => {
      mkdirSync(am.storageDir, { recursive: true });
      const config = alertmanagerConfig(topo);
      const changed = !existsSync(am.configFile) || readFileSync(am.configFile, 'utf8') !== config;
      writeFileSync(am.configFile, config);
      const p = alertmanagerProcess(binary, am);
      // A changed config is read at start: restart one that runs with the old one.
      if (changed && runningPid(p) !== undefined) await stopProcess(p, { graceMs: 10_000 });
      if (runningPid(p) === undefined) log(`starting ${am.name} on 127.0.0.1:${am.port}`);
      startDetached(p);
      await waitUntil(`${am.name} to be ready`, async () => (runningPid(p) === undefined ? true : alertmanagerReady(am)), {
        timeoutMs: 30_000,
        intervalMs: 100,
        onTimeout: () => tail(am.logFile),
      });
      if (runningPid(p) === undefined) throw new Error(`${am.name} exited during start-up; last lines of ${am.logFile}:\n${tail(am.logFile, 15)}`);
    }),
  );
}

/** Stops both; returns the names of those that ran. */
export async function stopAlertmanagers(topo: LabTopology): Promise<string[]> {
  const stopped: string[] = [];
  await Promise.all(
    topo.alertmanager.instances.map(async (am) => {
      if (await stopProcess(managed(am), { graceMs: 10_000 })) stopped.push(am.name);
    }),
  );
  return stopped;
}
