/**
 * The lab's Prometheus (Debian's prometheus, installed by provisioning): it scrapes `lifeboat serve`
 * on the lab's receiver port (GET /metrics; down while no test runs one), loads Lifeboat's shipped
 * rules (monitoring/*.rules.yml, straight from the checkout) and sends alerts to both lab
 * Alertmanagers. Scrape and rule intervals are 1 s so tests see a rule fire within seconds; the TSDB
 * keeps a day. `--web.enable-lifecycle`: a test may POST /-/reload after changing the rules.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ManagedProcess, runningPid, startDetached, stopProcess, tail, waitUntil } from '../src/host/processes';
import { ensurePrometheus } from './provision';
import type { LabPrometheus, LabTopology } from './topology';

/** The rules every lab Prometheus loads: the files Lifeboat ships. */
export const RULES_DIR = resolve(__dirname, '..', 'monitoring');
export const ruleFiles = (): string[] =>
  readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.rules.yml'))
    .sort()
    .map((f) => join(RULES_DIR, f));

/** The job name of the lab's scrape of lifeboat serve (the `job` label of its series). */
export const LAB_SCRAPE_JOB = 'lifeboat';

export function prometheusConfig(topo: LabTopology): string {
  return [
    '# Lifeboat lab Prometheus: scrapes lifeboat serve, Lifeboat rules, both lab Alertmanagers (written by lab up)',
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    ...ruleFiles().map((f) => `  - ${JSON.stringify(f)}`),
    'alerting:',
    // Nothing scraped is the lab's normal state (only tests run lifeboat serve): that alert would reach
    // every test's receiver. Tests ask Prometheus for it (/api/v1/alerts) instead.
    '  alert_relabel_configs:',
    '    - source_labels: [alertname]',
    '      regex: LifeboatBackupMetricsAbsent',
    '      action: drop',
    '  alertmanagers:',
    '    - api_version: v2',
    '      static_configs:',
    `        - targets: [${topo.alertmanager.instances.map((a) => `'127.0.0.1:${a.port}'`).join(', ')}]`,
    'scrape_configs:',
    `  - job_name: ${LAB_SCRAPE_JOB}`,
    '    static_configs:',
    `      - targets: ['127.0.0.1:${topo.alertmanager.receiverPort}']`,
    '',
  ].join('\n');
}

export function prometheusProcess(binary: string, p: LabPrometheus): ManagedProcess {
  return {
    name: 'prometheus',
    command: binary,
    args: [
      `--config.file=${p.configFile}`,
      `--storage.tsdb.path=${p.dataDir}`,
      '--storage.tsdb.retention.time=1d',
      `--web.listen-address=127.0.0.1:${p.port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
    ],
    pidFile: p.pidFile,
    logFile: p.logFile,
    marker: p.configFile,
  };
}

const managed = (p: LabPrometheus): Pick<ManagedProcess, 'pidFile' | 'marker'> => ({ pidFile: p.pidFile, marker: p.configFile });

export const prometheusPid = (p: LabPrometheus): number | undefined => runningPid(managed(p));
export const prometheusUrl = (p: LabPrometheus): string => `http://127.0.0.1:${p.port}`;

export async function prometheusReady(p: LabPrometheus): Promise<boolean> {
  try {
    const res = await fetch(`${prometheusUrl(p)}/-/ready`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Writes the config (every `up`: ports and rule files follow the lab and the checkout) and starts Prometheus. */
export async function startPrometheus(topo: LabTopology, log: (m: string) => void): Promise<void> {
  const p = topo.prometheus;
  const binary = ensurePrometheus(log);
  mkdirSync(p.dataDir, { recursive: true });
  const config = prometheusConfig(topo);
  const changed = !existsSync(p.configFile) || readFileSync(p.configFile, 'utf8') !== config;
  writeFileSync(p.configFile, config);
  const proc = prometheusProcess(binary, p);
  if (changed && runningPid(proc) !== undefined) await stopProcess(proc, { graceMs: 15_000 });
  // Running with this config: the rule files may have changed in the checkout; reload reads them again.
  else if (runningPid(proc) !== undefined && (await prometheusReady(p))) await reloadPrometheus(p);
  if (runningPid(proc) === undefined) log(`starting Prometheus on 127.0.0.1:${p.port}`);
  startDetached(proc);
  await waitUntil('Prometheus to be ready', async () => (runningPid(proc) === undefined ? true : prometheusReady(p)), {
    timeoutMs: 60_000,
    intervalMs: 200,
    onTimeout: () => tail(p.logFile),
  });
  if (runningPid(proc) === undefined) throw new Error(`Prometheus exited during start-up; last lines of ${p.logFile}:\n${tail(p.logFile, 15)}`);
}

/** Reads the config and the rule files again (POST /-/reload, --web.enable-lifecycle). */
export async function reloadPrometheus(p: LabPrometheus): Promise<void> {
  const res = await fetch(`${prometheusUrl(p)}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`Prometheus refused to reload (${res.status}): ${(await res.text()).trim()} (see ${p.logFile})`);
}

export async function stopPrometheus(topo: LabTopology): Promise<boolean> {
  return stopProcess(managed(topo.prometheus), { graceMs: 15_000 });
}
