/** The lab's Prometheus config: valid for the installed Prometheus (promtool, which also loads the shipped rules), where the lab says. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { LAB_SCRAPE_JOB, prometheusConfig, prometheusProcess, prometheusUrl, ruleFiles, RULES_DIR } from '../../lab/prometheus';
import { labEnv, labTopology } from '../../lab/topology';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-prom-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const topo = labTopology({ LIFEBOAT_LAB_DIR: dir, LIFEBOAT_LAB_KAFKA_PORT_BASE: '22000' });

describe('lab Prometheus', () => {
  it('sits at kafka base + 797 on loopback; lab env says where', () => {
    expect(prometheusUrl(topo.prometheus)).toBe('http://127.0.0.1:22797');
    expect(labEnv(topo).LIFEBOAT_LAB_PROMETHEUS_URL).toBe('http://127.0.0.1:22797');
    expect(prometheusProcess('/usr/bin/prometheus', topo.prometheus).args).toContain('--web.listen-address=127.0.0.1:22797');
  });

  it('scrapes the receiver, loads the shipped rules, alerts to both Alertmanagers, and promtool accepts it', () => {
    const text = prometheusConfig(topo);
    const cfg = parse(text) as {
      global: Record<string, string>;
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(cfg.global).toMatchObject({ scrape_interval: '1s', evaluation_interval: '1s' });
    expect(cfg.rule_files).toEqual([join(RULES_DIR, 'lifeboat-backup.rules.yml')]);
    expect(ruleFiles()).toEqual(cfg.rule_files);
    expect(cfg.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(['127.0.0.1:22793', '127.0.0.1:22794']);
    expect(cfg.scrape_configs).toEqual([{ job_name: LAB_SCRAPE_JOB, static_configs: [{ targets: ['127.0.0.1:22795'] }] }]);
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, text);
    const out = execFileSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: 1 rule files found/);
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });
});
